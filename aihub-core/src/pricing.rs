//! Prices and exact cost arithmetic. Money is never a float: amounts are
//! [`rust_decimal::Decimal`] throughout.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A currency AI Hub prices in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    /// US dollars.
    #[serde(rename = "USD")]
    Usd,
    /// Chinese yuan (renminbi).
    #[serde(rename = "CNY")]
    Cny,
}

/// An exact amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Amount in whole currency units (dollars, yuan), exact.
    pub amount: Decimal,
    /// Currency.
    pub currency: Currency,
}

/// Prices of one model, per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Currency of every price here.
    pub currency: Currency,
    /// Per million uncached input tokens.
    pub input: Decimal,
    /// Per million input tokens read from the prompt cache; `input` when absent.
    #[serde(default)]
    pub cached_input: Option<Decimal>,
    /// Per million input tokens written to the prompt cache; `input` when absent.
    #[serde(default)]
    pub cache_write: Option<Decimal>,
    /// Per million output tokens (reasoning tokens included).
    pub output: Decimal,
    /// Date the price was read from its source (YYYY-MM-DD).
    pub as_of: String,
    /// Where the price was published.
    pub source: String,
}
