//! Money as the management API writes it: exact decimal strings with their currency, never
//! floats.

use rust_decimal::Decimal;
use serde::Serialize;

/// Nano-units as an exact decimal string (`"0.000510300"` → `"0.0005103"`).
pub fn nanos_to_string(nanos: i64) -> String {
    Decimal::new(nanos, 9).normalize().to_string()
}

/// An amount of money: `{currency, amount}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amount {
    /// ISO 4217 code (`USD`, `CNY`).
    pub currency: String,
    /// Exact decimal string, without trailing zeros (`"29"`, `"0.0005103"`).
    pub amount: String,
}

impl Amount {
    /// `nanos` nano-units of `currency`.
    pub fn from_nanos(currency: &str, nanos: i64) -> Self {
        Self {
            currency: currency.to_owned(),
            amount: nanos_to_string(nanos),
        }
    }

    /// A decimal amount of `currency`.
    pub fn from_decimal(currency: &str, amount: Decimal) -> Self {
        Self {
            currency: currency.to_owned(),
            amount: amount.normalize().to_string(),
        }
    }
}

/// One amount per currency, as `[{currency, amount}]`.
pub fn amounts(costs: &[(String, i64)]) -> Vec<Amount> {
    costs
        .iter()
        .map(|(currency, nanos)| Amount::from_nanos(currency, *nanos))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nano_units_print_exactly() {
        assert_eq!(nanos_to_string(510_300), "0.0005103");
        assert_eq!(nanos_to_string(1_500_000_000), "1.5");
        assert_eq!(nanos_to_string(0), "0");
        assert_eq!(nanos_to_string(1), "0.000000001");
    }

    #[test]
    fn amounts_keep_their_currency() {
        let a = amounts(&[("USD".into(), 6_000), ("CNY".into(), 2_000_000_000)]);
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::json!([
                {"currency": "USD", "amount": "0.000006"},
                {"currency": "CNY", "amount": "2"},
            ])
        );
        let price = Amount::from_decimal("USD", Decimal::new(2900, 2));
        assert_eq!(price.amount, "29");
    }
}
