//! Reading prices from decimal strings, and the saturating arithmetic of costs.

use rust_decimal::Decimal;

/// Tokens per unit of a per-million price.
const PER_MILLION: u32 = 1_000_000;

/// Prices as decimal strings, never numbers.
pub(super) mod decimal_string {
    use rust_decimal::Decimal;
    use serde::de::{Deserialize, Deserializer, Error};

    /// A non-negative decimal from a string, exactly (too many digits is an error,
    /// not a rounding).
    pub(crate) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        parse(&String::deserialize(d)?)
    }

    /// As [`required`], for an optional field.
    pub(crate) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| parse(&s))
            .transpose()
    }

    fn parse<E: Error>(s: &str) -> Result<Decimal, E> {
        let value = Decimal::from_str_exact(s.trim())
            .map_err(|e| E::custom(format!("price {s:?} is not a decimal number: {e}")))?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(E::custom(format!("price {s:?} is negative")));
        }
        Ok(value)
    }
}

/// `tokens × price`, saturating at `Decimal::MAX` (unreachable with real prices:
/// `u64::MAX` tokens at a million per million tokens is about 1.8e25).
pub(super) fn times(tokens: u64, price: Decimal) -> Decimal {
    Decimal::from(tokens)
        .checked_mul(price)
        .unwrap_or(Decimal::MAX)
}

/// The sum of the terms, saturating at `Decimal::MAX`.
pub(super) fn sum<const N: usize>(terms: [Decimal; N]) -> Decimal {
    terms.into_iter().fold(Decimal::ZERO, |acc, t| {
        acc.checked_add(t).unwrap_or(Decimal::MAX)
    })
}

/// `amount / 1_000_000`, exact (a decimal shift) and normalized.
pub(super) fn per_million(amount: Decimal) -> Decimal {
    amount
        .checked_div(Decimal::from(PER_MILLION))
        .unwrap_or(Decimal::ZERO)
        .normalize()
}
