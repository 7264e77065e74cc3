//! Prices and exact cost arithmetic. Money is never a float: amounts are
//! [`rust_decimal::Decimal`] throughout, prices are read from decimal strings, and
//! storage uses whole nano-units in an `i64` ([`Money::to_nano_units`]).
//!
//! A cost is computed from a [`Usage`](crate::Usage) as OpenAI reports it, where
//! `prompt_tokens` counts every input token (cache reads and cache writes included), at the
//! rates of the price's tier for that many prompt tokens (the last tier whose
//! `above_prompt_tokens` is below `prompt`; the base rates when there is none):
//!
//! ```text
//! cost = ( (prompt - cached - cache_write) × input
//!        + cached                          × cached_input    (or input)
//!        + (cache_write - cache_write_1h)  × cache_write     (or input)
//!        + cache_write_1h                  × cache_write_1h  (or cache_write)
//!        + completion                      × output ) / 1_000_000
//!        + per_request                     (once, when any token is billed)
//! ```
//!
//! `cache_write` counts every token written to the prompt cache and `cache_write_1h` those of
//! them written for an hour (Anthropic's 1-hour cache), so the rest were written for five
//! minutes. The price of what a catalog model used is [`crate::catalog::cost_for_model`].

mod counts;
mod decimal;
mod price;

use std::fmt;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

pub use counts::TokenCounts;
pub use price::{Price, PriceTier, Rates};

/// Decimal places of a nano-unit (10⁻⁹ of a dollar or yuan).
const NANO_SCALE: u32 = 9;

/// A currency AI Hub prices in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Currency {
    /// US dollars.
    #[serde(rename = "USD")]
    Usd,
    /// Chinese yuan (renminbi).
    #[serde(rename = "CNY")]
    Cny,
}

impl Currency {
    /// The ISO 4217 code (`"USD"`, `"CNY"`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Usd => "USD",
            Self::Cny => "CNY",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An exact amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Amount in whole currency units (dollars, yuan), exact.
    pub amount: Decimal,
    /// Currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in a currency.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Nothing, in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency)
    }

    /// The sum of two amounts in the same currency; `None` when the currencies differ
    /// (AI Hub never converts) or the sum overflows.
    pub fn checked_add(&self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        let amount = self.amount.checked_add(other.amount)?;
        Some(Self::new(amount, self.currency))
    }

    /// The amount in whole nano-units (10⁻⁹ of the currency unit), for integer storage.
    ///
    /// Digits below a nano-unit are rounded half away from zero (half-up for the
    /// non-negative amounts costs produce: 0.0000000005 becomes 1, 0.0000000004
    /// becomes 0). `None` when the amount does not fit an `i64` (more than about
    /// 9.2 billion units).
    pub fn to_nano_units(&self) -> Option<i64> {
        let scale = Decimal::from(1_000_000_000u64);
        self.amount
            .checked_mul(scale)?
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64()
    }

    /// An amount from whole nano-units, exactly (the inverse of [`Money::to_nano_units`]).
    pub fn from_nano_units(nanos: i64, currency: Currency) -> Self {
        Self::new(Decimal::new(nanos, NANO_SCALE).normalize(), currency)
    }
}

/// Shows the exact amount with at least six decimal places and the currency code,
/// e.g. `0.000150 USD` or `0.00038085 USD`; digits are never rounded away.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let amount = self.amount.normalize();
        if amount.scale() >= 6 {
            write!(f, "{amount} {}", self.currency)
        } else {
            write!(f, "{amount:.6} {}", self.currency)
        }
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
