//! Prices and exact cost arithmetic. Money is never a float: amounts are
//! [`rust_decimal::Decimal`] throughout, prices are read from decimal strings, and
//! storage uses whole nano-units in an `i64` ([`Money::to_nano_units`]).
//!
//! A cost is computed from a [`Usage`] as OpenAI reports it, where `prompt_tokens`
//! counts every input token (cache reads and cache writes included):
//!
//! ```text
//! cost = ( (prompt - cached - cache_write) × input
//!        + cached                          × cached_input  (or input)
//!        + cache_write                     × cache_write   (or input)
//!        + completion                      × output ) / 1_000_000
//! ```

use std::fmt;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::types::Usage;

/// Tokens per unit of a per-million price.
const PER_MILLION: u32 = 1_000_000;

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

/// Prices of one model, per million tokens.
///
/// Amounts are read only from decimal strings (`input = "0.15"`): a number such as
/// `input = 0.15` is rejected, because it would pass through a binary float, and so
/// is a negative price. They are written back as strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Currency of every price here.
    pub currency: Currency,
    /// Per million uncached input tokens.
    #[serde(deserialize_with = "decimal_string::required")]
    pub input: Decimal,
    /// Per million input tokens read from the prompt cache; `input` when absent.
    #[serde(default, deserialize_with = "decimal_string::optional")]
    pub cached_input: Option<Decimal>,
    /// Per million input tokens written to the prompt cache; `input` when absent.
    #[serde(default, deserialize_with = "decimal_string::optional")]
    pub cache_write: Option<Decimal>,
    /// Per million output tokens (reasoning tokens included).
    #[serde(deserialize_with = "decimal_string::required")]
    pub output: Decimal,
    /// Date the price was read from its source (YYYY-MM-DD).
    pub as_of: String,
    /// Where the price was published.
    pub source: String,
}

impl Price {
    /// The exact cost of `usage` at these prices.
    ///
    /// `prompt_tokens` is taken to include cached and cache-write tokens, as in
    /// [`Usage`]. When a provider reports inconsistent counts, the arithmetic
    /// saturates instead of going negative: cached tokens are capped at
    /// `prompt_tokens` and cache-write tokens at what remains, so no more than
    /// `prompt_tokens` input tokens are ever billed and the uncached remainder is
    /// never below zero. (Cache reads win over cache writes when both cannot fit,
    /// because they are what OpenAI-style usage reports.)
    pub fn cost(&self, usage: &Usage) -> Money {
        let prompt = usage.prompt_tokens;
        let cached = usage.cached_tokens().min(prompt);
        let written = usage.cache_write_tokens().min(prompt - cached);
        let uncached = prompt - cached - written;
        let micro_units = sum([
            times(uncached, self.input),
            times(cached, self.cached_input.unwrap_or(self.input)),
            times(written, self.cache_write.unwrap_or(self.input)),
            times(usage.completion_tokens, self.output),
        ]);
        Money::new(per_million(micro_units), self.currency)
    }

    /// The most a request could cost: `prompt_tokens` at the highest input-side
    /// price (uncached, cache read or cache write, whichever is dearest) plus
    /// `max_output_tokens` at the output price. Meant for budget reservations
    /// before the request is sent; the real cost from [`Price::cost`] never exceeds it
    /// for a usage with at most these counts.
    pub fn estimate(&self, prompt_tokens: u64, max_output_tokens: u64) -> Money {
        let dearest_input = [self.cached_input, self.cache_write]
            .into_iter()
            .flatten()
            .fold(self.input, Decimal::max);
        let micro_units = sum([
            times(prompt_tokens, dearest_input),
            times(max_output_tokens, self.output),
        ]);
        Money::new(per_million(micro_units), self.currency)
    }
}

/// The cost of `usage` on `model` (a catalog id or alias), or `None` when the model
/// is not in the catalog or has no price.
pub fn cost_for_model(catalog: &Catalog, model: &str, usage: &Usage) -> Option<Money> {
    catalog
        .get(model)
        .and_then(|info| info.price.as_ref())
        .map(|price| price.cost(usage))
}

/// Token counts for an estimate, as the SDKs' `estimate_cost` takes them. `prompt_tokens`
/// includes `cached_tokens` and `cache_write_tokens`, as OpenAI reports usage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenCounts {
    /// Every input token.
    #[serde(alias = "prompt_tokens")]
    pub prompt_tokens: u64,
    /// Output tokens (reasoning included).
    #[serde(alias = "completion_tokens")]
    pub completion_tokens: u64,
    /// Input tokens read from the prompt cache.
    #[serde(alias = "cached_tokens")]
    pub cached_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(alias = "cache_write_tokens")]
    pub cache_write_tokens: u64,
}

impl TokenCounts {
    /// The [`Usage`] these counts stand for.
    pub fn to_usage(self) -> Usage {
        let mut usage = Usage::new(self.prompt_tokens, self.completion_tokens);
        if self.cached_tokens > 0 || self.cache_write_tokens > 0 {
            usage.prompt_tokens_details = Some(crate::types::PromptTokensDetails {
                cached_tokens: Some(self.cached_tokens),
                cache_write_tokens: Some(self.cache_write_tokens),
                ..Default::default()
            });
        }
        usage
    }
}

/// The exact cost of `usage` on `model` for the SDKs: `Ok(None)` when the model has no
/// price, a [`crate::Error::NotFound`] naming `model` when the catalog does not know it.
pub fn estimate_cost(
    catalog: &Catalog,
    model: &str,
    usage: &Usage,
) -> crate::error::Result<Option<Money>> {
    let info = catalog.get(model).ok_or_else(|| {
        crate::Error::NotFound(crate::ErrorDetail {
            message: format!("model {model:?} is not in the catalog"),
            param: Some("model".to_owned()),
            ..crate::ErrorDetail::default()
        })
    })?;
    Ok(info.price.as_ref().map(|price| {
        let cost = price.cost(usage);
        Money::new(cost.amount.normalize(), cost.currency)
    }))
}

/// Prices as decimal strings, never numbers.
mod decimal_string {
    use rust_decimal::Decimal;
    use serde::de::{Deserialize, Deserializer, Error};

    /// A non-negative decimal from a string, exactly (too many digits is an error,
    /// not a rounding).
    pub(super) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        parse(&String::deserialize(d)?)
    }

    /// As [`required`], for an optional field.
    pub(super) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
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
fn times(tokens: u64, price: Decimal) -> Decimal {
    Decimal::from(tokens)
        .checked_mul(price)
        .unwrap_or(Decimal::MAX)
}

/// The sum of the terms, saturating at `Decimal::MAX`.
fn sum<const N: usize>(terms: [Decimal; N]) -> Decimal {
    terms.into_iter().fold(Decimal::ZERO, |acc, t| {
        acc.checked_add(t).unwrap_or(Decimal::MAX)
    })
}

/// `amount / 1_000_000`, exact (a decimal shift) and normalized.
fn per_million(amount: Decimal) -> Decimal {
    amount
        .checked_div(Decimal::from(PER_MILLION))
        .unwrap_or(Decimal::ZERO)
        .normalize()
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::types::PromptTokensDetails;

    fn usd(input: Decimal, cached: Option<Decimal>, output: Decimal) -> Price {
        Price {
            currency: Currency::Usd,
            input,
            cached_input: cached,
            cache_write: None,
            output,
            as_of: "2026-11-22".to_owned(),
            source: "test".to_owned(),
        }
    }

    fn gpt_4o_mini() -> Price {
        usd(dec!(0.15), Some(dec!(0.075)), dec!(0.60))
    }

    fn claude_sonnet_4_5() -> Price {
        Price {
            cache_write: Some(dec!(3.75)),
            ..usd(dec!(3), Some(dec!(0.30)), dec!(15))
        }
    }

    fn with_cache_write(usage: Usage, written: u64) -> Usage {
        let mut usage = usage;
        usage
            .prompt_tokens_details
            .get_or_insert_with(PromptTokensDetails::default)
            .cache_write_tokens = Some(written);
        usage
    }

    #[test]
    fn gpt_4o_mini_with_cached_tokens() {
        // 1234 prompt tokens of which 200 cached, 567 completion tokens:
        //   (1234 - 200) × 0.15  = 1034 × 0.15 = 155.1
        //            200 × 0.075 =                15.0
        //            567 × 0.60  =               340.2
        //   155.1 + 15.0 + 340.2 = 510.3 per million → 0.0005103 USD
        let usage = Usage::new(1234, 567).with_cached_tokens(200);
        let cost = gpt_4o_mini().cost(&usage);
        assert_eq!(cost, Money::new(dec!(0.0005103), Currency::Usd));
        assert_eq!(cost.to_string(), "0.0005103 USD");
        assert_eq!(cost.to_nano_units(), Some(510_300));
    }

    #[test]
    fn cny_model() {
        // qwen-max at 2.4 CNY in / 9.6 CNY out per million, 3000 in, 1500 out:
        //   3000 × 2.4 = 7200;  1500 × 9.6 = 14400;  21600 / 1e6 = 0.0216 CNY
        let price = Price {
            currency: Currency::Cny,
            ..usd(dec!(2.4), None, dec!(9.6))
        };
        let cost = price.cost(&Usage::new(3000, 1500));
        assert_eq!(cost, Money::new(dec!(0.0216), Currency::Cny));
        assert_eq!(cost.to_string(), "0.021600 CNY");
    }

    #[test]
    fn anthropic_cache_write_and_read() {
        // 10 000 prompt tokens = 1000 uncached + 6000 cache reads + 3000 cache writes,
        // 800 output tokens, at 3 / 0.30 / 3.75 / 15 per million:
        //   1000 × 3    =  3000
        //   6000 × 0.30 =  1800
        //   3000 × 3.75 = 11250
        //    800 × 15   = 12000
        //   28050 / 1e6 = 0.02805 USD
        let usage = with_cache_write(Usage::new(10_000, 800).with_cached_tokens(6000), 3000);
        let cost = claude_sonnet_4_5().cost(&usage);
        assert_eq!(cost, Money::new(dec!(0.02805), Currency::Usd));
        assert_eq!(cost.to_nano_units(), Some(28_050_000));
    }

    #[test]
    fn missing_cache_prices_fall_back_to_input() {
        // No cached or cache-write price: all 1000 prompt tokens at 2 per million.
        let price = usd(dec!(2), None, dec!(8));
        let usage = with_cache_write(Usage::new(1000, 0).with_cached_tokens(400), 100);
        assert_eq!(price.cost(&usage).amount, dec!(0.002));
    }

    #[test]
    fn zero_usage_costs_nothing() {
        let cost = claude_sonnet_4_5().cost(&Usage::default());
        assert_eq!(cost, Money::zero(Currency::Usd));
        assert_eq!(cost.to_string(), "0.000000 USD");
        assert_eq!(cost.to_nano_units(), Some(0));
    }

    #[test]
    fn inconsistent_counts_saturate() {
        // 5000 cached reported for 1000 prompt tokens: billed as 1000 cached.
        //   1000 × 0.075 = 75;  10 × 0.60 = 6;  81 / 1e6 = 0.000081
        let usage = Usage::new(1000, 10).with_cached_tokens(5000);
        assert_eq!(gpt_4o_mini().cost(&usage).amount, dec!(0.000081));

        // 700 cached + 700 written for 1000 prompt tokens: 700 read, 300 written.
        //   700 × 0.30 = 210;  300 × 3.75 = 1125;  1335 / 1e6 = 0.001335
        let usage = with_cache_write(Usage::new(1000, 0).with_cached_tokens(700), 700);
        assert_eq!(claude_sonnet_4_5().cost(&usage).amount, dec!(0.001335));
    }

    #[test]
    fn estimate_is_the_worst_case() {
        // 10 000 prompt tokens at the dearest input price (cache write, 3.75) and
        // 1000 output tokens at 15: 37500 + 15000 = 52500 / 1e6 = 0.0525 USD.
        let price = claude_sonnet_4_5();
        let estimate = price.estimate(10_000, 1000);
        assert_eq!(estimate.amount, dec!(0.0525));
        let usage = with_cache_write(Usage::new(10_000, 1000).with_cached_tokens(2000), 8000);
        assert!(price.cost(&usage).amount <= estimate.amount);

        // Without cache prices the input price is the dearest:
        //   2000 × 0.15 = 300;  100 × 0.60 = 60;  360 / 1e6 = 0.00036
        let plain = usd(dec!(0.15), None, dec!(0.60));
        assert_eq!(plain.estimate(2000, 100).amount, dec!(0.00036));
    }

    #[test]
    fn nano_units_round_half_up() {
        let at = |amount| Money::new(amount, Currency::Usd).to_nano_units();
        assert_eq!(at(dec!(0.0000000005)), Some(1));
        assert_eq!(at(dec!(0.00000000049999)), Some(0));
        assert_eq!(at(dec!(0.0000000014999)), Some(1));
        assert_eq!(at(dec!(0.0000000015)), Some(2));
        assert_eq!(at(dec!(1.2345678905)), Some(1_234_567_891));
        assert_eq!(at(dec!(9223372036.854775807)), Some(i64::MAX));
        assert_eq!(at(dec!(9223372036.854775808)), None);

        // A sub-nano cost from a real computation: one token at 0.0005 per million
        // is 0.0000000005, stored as one nano-unit; at 0.0004 it rounds to zero.
        let cheap = |p| usd(p, None, p).cost(&Usage::new(1, 0)).to_nano_units();
        assert_eq!(cheap(dec!(0.0005)), Some(1));
        assert_eq!(cheap(dec!(0.0004)), Some(0));
    }

    #[test]
    fn nano_units_round_trip() {
        let money = Money::from_nano_units(510_300, Currency::Usd);
        assert_eq!(money.amount, dec!(0.0005103));
        assert_eq!(money.to_nano_units(), Some(510_300));
        assert_eq!(
            Money::from_nano_units(-25, Currency::Cny).amount,
            dec!(-0.000000025)
        );
    }

    #[test]
    fn adding_money() {
        let a = Money::new(dec!(0.0005103), Currency::Usd);
        let b = Money::new(dec!(0.02805), Currency::Usd);
        assert_eq!(
            a.checked_add(b),
            Some(Money::new(dec!(0.0285603), Currency::Usd))
        );
        assert_eq!(a.checked_add(Money::zero(Currency::Cny)), None);
        let max = Money::new(Decimal::MAX, Currency::Usd);
        assert_eq!(max.checked_add(max), None);
    }

    #[test]
    fn display() {
        let show = |amount, currency| Money::new(amount, currency).to_string();
        assert_eq!(show(dec!(0.00015), Currency::Usd), "0.000150 USD");
        assert_eq!(show(dec!(0.000150000), Currency::Usd), "0.000150 USD");
        assert_eq!(show(dec!(12), Currency::Cny), "12.000000 CNY");
        assert_eq!(show(dec!(0.0000000025), Currency::Usd), "0.0000000025 USD");
    }

    #[test]
    fn price_from_toml_strings() {
        let price: Price = toml::from_str(
            r#"
            currency = "CNY"
            input = "4"
            cached_input = "1"
            output = "16"
            as_of = "2025-09-05"
            source = "https://platform.moonshot.cn/docs/pricing/chat"
            "#,
        )
        .unwrap();
        assert_eq!(price.currency, Currency::Cny);
        assert_eq!(price.input, dec!(4));
        assert_eq!(price.cached_input, Some(dec!(1)));
        assert_eq!(price.cache_write, None);
        assert_eq!(price.output, dec!(16));

        // Digits survive exactly, however many there are.
        let price: Price = toml::from_str(
            r#"
            currency = "USD"
            input = "0.000000123456789"
            output = "0.1"
            as_of = "2026-11-22"
            source = "test"
            "#,
        )
        .unwrap();
        assert_eq!(price.input, dec!(0.000000123456789));

        // Unknown fields and unknown currencies are errors, not silently dropped.
        let extra = "currency = \"USD\"\ninput = \"1\"\noutput = \"2\"\nas_of = \"x\"\nsource = \"y\"\nbatch = \"0.5\"\n";
        assert!(toml::from_str::<Price>(extra).is_err());
        let eur =
            "currency = \"EUR\"\ninput = \"1\"\noutput = \"2\"\nas_of = \"x\"\nsource = \"y\"\n";
        assert!(toml::from_str::<Price>(eur).is_err());

        // Numbers (binary floats), negative and malformed prices are refused.
        let with_input = |input: &str| {
            toml::from_str::<Price>(&format!(
                "currency = \"USD\"\ninput = {input}\noutput = \"2\"\nas_of = \"x\"\nsource = \"y\"\n"
            ))
        };
        assert!(with_input("0.15").is_err());
        assert!(with_input("1").is_err());
        assert!(with_input("\"-0.15\"").is_err());
        assert!(with_input("\"0.15 USD\"").is_err());
        assert!(with_input("\"0.15\"").is_ok());
        assert_eq!(
            with_input("\"-0\"").map(|p| p.input).ok(),
            Some(Decimal::ZERO)
        );
    }

    #[test]
    fn price_serializes_amounts_as_strings() {
        let json = serde_json::to_value(gpt_4o_mini()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "currency": "USD",
                "input": "0.15",
                "cached_input": "0.075",
                "cache_write": null,
                "output": "0.60",
                "as_of": "2026-11-22",
                "source": "test"
            })
        );
    }

    #[test]
    fn cost_for_catalog_models() {
        let catalog = Catalog::builtin();
        // Same arithmetic as `gpt_4o_mini_with_cached_tokens`, through the alias.
        let usage = Usage::new(1234, 567).with_cached_tokens(200);
        assert_eq!(
            cost_for_model(catalog, "gpt-4o-mini", &usage),
            Some(Money::new(dec!(0.0005103), Currency::Usd))
        );
        assert_eq!(
            cost_for_model(catalog, "openai/gpt-4o-mini", &usage),
            Some(Money::new(dec!(0.0005103), Currency::Usd))
        );
        // qwen-max, priced in CNY: 3000 × 2.4 + 1500 × 9.6 = 21600 → 0.0216 CNY.
        assert_eq!(
            cost_for_model(catalog, "qwen/qwen-max", &Usage::new(3000, 1500)),
            Some(Money::new(dec!(0.0216), Currency::Cny))
        );
        assert_eq!(
            cost_for_model(catalog, "openai/no-such-model", &usage),
            None
        );
        assert_eq!(cost_for_model(catalog, "ollama/llama3.2", &usage), None);
    }
}
