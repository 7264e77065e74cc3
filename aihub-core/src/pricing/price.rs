//! A model's price: per-million-token rates, their prompt-length tiers and a per-request fee,
//! and the exact cost of a usage at them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::decimal::{decimal_string, per_million, sum, times};
use super::{Currency, Money};
use crate::types::Usage;

/// Prices of one model, per million tokens, plus an optional fee per request.
///
/// Amounts are read only from decimal strings (`input = "0.15"`): a number such as
/// `input = 0.15` is rejected, because it would pass through a binary float, and so
/// is a negative price. They are written back as strings.
///
/// A price with `tiers` charges a request whose prompt is longer than a tier's
/// `above_prompt_tokens` at that tier's rates, for all its tokens (the way Google prices
/// Gemini 2.5 Pro above 200K prompt tokens and Anthropic its long-context requests).
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
    /// Per million input tokens written to the prompt cache (Anthropic's 5-minute cache);
    /// `input` when absent.
    #[serde(default, deserialize_with = "decimal_string::optional")]
    pub cache_write: Option<Decimal>,
    /// Per million input tokens written to the 1-hour prompt cache (Anthropic's); the
    /// `cache_write` price when absent.
    #[serde(default, deserialize_with = "decimal_string::optional")]
    pub cache_write_1h: Option<Decimal>,
    /// Per million output tokens (reasoning tokens included).
    #[serde(deserialize_with = "decimal_string::required")]
    pub output: Decimal,
    /// A fixed amount added once to every request that is billed any token (a search or
    /// tool-call fee); nothing when absent.
    #[serde(default, deserialize_with = "decimal_string::optional")]
    pub per_request: Option<Decimal>,
    /// Dearer (or cheaper) rates for longer prompts, by ascending `above_prompt_tokens`.
    #[serde(default, deserialize_with = "ascending_tiers")]
    pub tiers: Vec<PriceTier>,
    /// Date the price was read from its source (YYYY-MM-DD).
    pub as_of: String,
    /// Where the price was published.
    pub source: String,
}

/// The rates of a request whose prompt has more than `above_prompt_tokens` tokens.
///
/// Absent cache prices fall back within the tier as in [`Price`]: `cached_input` and
/// `cache_write` to the tier's `input`, `cache_write_1h` to the tier's `cache_write`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTier {
    /// The tier applies to prompts of more than this many tokens.
    pub above_prompt_tokens: u64,
    /// Per million uncached input tokens.
    #[serde(deserialize_with = "decimal_string::required")]
    pub input: Decimal,
    /// Per million input tokens read from the prompt cache.
    #[serde(default, deserialize_with = "decimal_string::optional")]
    pub cached_input: Option<Decimal>,
    /// Per million input tokens written to the 5-minute prompt cache.
    #[serde(default, deserialize_with = "decimal_string::optional")]
    pub cache_write: Option<Decimal>,
    /// Per million input tokens written to the 1-hour prompt cache.
    #[serde(default, deserialize_with = "decimal_string::optional")]
    pub cache_write_1h: Option<Decimal>,
    /// Per million output tokens.
    #[serde(deserialize_with = "decimal_string::required")]
    pub output: Decimal,
}

/// The per-million rates that apply to one request, every fallback resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    /// Uncached input.
    pub input: Decimal,
    /// Input read from the prompt cache.
    pub cached_input: Decimal,
    /// Input written to the 5-minute prompt cache.
    pub cache_write: Decimal,
    /// Input written to the 1-hour prompt cache.
    pub cache_write_1h: Decimal,
    /// Output.
    pub output: Decimal,
}

impl Rates {
    fn resolve(
        input: Decimal,
        cached_input: Option<Decimal>,
        cache_write: Option<Decimal>,
        cache_write_1h: Option<Decimal>,
        output: Decimal,
    ) -> Self {
        let cache_write = cache_write.unwrap_or(input);
        Self {
            input,
            cached_input: cached_input.unwrap_or(input),
            cache_write,
            cache_write_1h: cache_write_1h.unwrap_or(cache_write),
            output,
        }
    }

    /// The dearest price of an input token: uncached, cache read or either cache write.
    pub fn dearest_input(&self) -> Decimal {
        [self.cached_input, self.cache_write, self.cache_write_1h]
            .into_iter()
            .fold(self.input, Decimal::max)
    }
}

impl PriceTier {
    /// This tier's rates, every fallback resolved.
    pub fn rates(&self) -> Rates {
        Rates::resolve(
            self.input,
            self.cached_input,
            self.cache_write,
            self.cache_write_1h,
            self.output,
        )
    }
}

impl Price {
    /// The rates below every tier, every fallback resolved.
    pub fn base_rates(&self) -> Rates {
        Rates::resolve(
            self.input,
            self.cached_input,
            self.cache_write,
            self.cache_write_1h,
            self.output,
        )
    }

    /// The rates of a request with `prompt_tokens` prompt tokens: those of the last tier
    /// whose `above_prompt_tokens` is below it (`prompt_tokens > above_prompt_tokens`), or the
    /// base rates when there is none.
    pub fn rates(&self, prompt_tokens: u64) -> Rates {
        self.tiers
            .iter()
            .rev()
            .find(|t| prompt_tokens > t.above_prompt_tokens)
            .map_or_else(|| self.base_rates(), PriceTier::rates)
    }

    /// The per-request fee, zero when there is none.
    fn fee(&self) -> Decimal {
        self.per_request.unwrap_or(Decimal::ZERO)
    }

    /// The exact cost of `usage` at these prices.
    ///
    /// `prompt_tokens` is taken to include cached and cache-write tokens, and
    /// `cache_write_tokens` the 1-hour ones, as in [`Usage`]. When a provider reports
    /// inconsistent counts, the arithmetic saturates instead of going negative: cached tokens
    /// are capped at `prompt_tokens`, cache-write tokens at what remains and 1-hour writes at
    /// the cache writes, so no more than `prompt_tokens` input tokens are ever billed and the
    /// uncached remainder is never below zero. (Cache reads win over cache writes when both
    /// cannot fit, because they are what OpenAI-style usage reports.) The per-request fee is
    /// added once when the usage has any token, so a request billed nothing (an upstream
    /// error answer) costs nothing.
    pub fn cost(&self, usage: &Usage) -> Money {
        let prompt = usage.prompt_tokens;
        let rates = self.rates(prompt);
        let cached = usage.cached_tokens().min(prompt);
        let written = usage.cache_write_tokens().min(prompt - cached);
        let written_1h = usage.cache_write_1h_tokens().min(written);
        let uncached = prompt - cached - written;
        let micro_units = sum([
            times(uncached, rates.input),
            times(cached, rates.cached_input),
            times(written - written_1h, rates.cache_write),
            times(written_1h, rates.cache_write_1h),
            times(usage.completion_tokens, rates.output),
        ]);
        let billed_anything = prompt > 0 || usage.completion_tokens > 0;
        let fee = if billed_anything {
            self.fee()
        } else {
            Decimal::ZERO
        };
        Money::new(
            sum([per_million(micro_units), fee]).normalize(),
            self.currency,
        )
    }

    /// The most a request could cost: `prompt_tokens` at the dearest input-side price
    /// (uncached, cache read or a cache write) plus `max_output_tokens` at the output price,
    /// at the dearest of the rates a prompt of at most `prompt_tokens` can be charged at (the
    /// base rates and every tier it can reach), plus the per-request fee. Meant for budget
    /// reservations before the request is sent; the real cost from [`Price::cost`] never
    /// exceeds it for a usage with at most these counts.
    pub fn estimate(&self, prompt_tokens: u64, max_output_tokens: u64) -> Money {
        let reachable = self
            .tiers
            .iter()
            .filter(|t| prompt_tokens > t.above_prompt_tokens)
            .map(PriceTier::rates);
        let worst = std::iter::once(self.base_rates())
            .chain(reachable)
            .map(|r| {
                sum([
                    times(prompt_tokens, r.dearest_input()),
                    times(max_output_tokens, r.output),
                ])
            })
            .fold(Decimal::ZERO, Decimal::max);
        let fee = if prompt_tokens > 0 || max_output_tokens > 0 {
            self.fee()
        } else {
            Decimal::ZERO
        };
        Money::new(sum([per_million(worst), fee]).normalize(), self.currency)
    }
}

/// Tiers in strictly ascending order of `above_prompt_tokens`, so that the tier a prompt
/// falls in is never ambiguous.
fn ascending_tiers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PriceTier>, D::Error> {
    let tiers = Vec::<PriceTier>::deserialize(d)?;
    for pair in tiers.windows(2) {
        if let [a, b] = pair
            && a.above_prompt_tokens >= b.above_prompt_tokens
        {
            return Err(serde::de::Error::custom(format!(
                "tiers must be in ascending order of above_prompt_tokens: {} is not above {}",
                b.above_prompt_tokens, a.above_prompt_tokens
            )));
        }
    }
    Ok(tiers)
}
