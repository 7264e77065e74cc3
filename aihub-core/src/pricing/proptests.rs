//! The estimate is an upper bound of the cost, for every price shape and every usage.

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::{Currency, Price, PriceTier};
use crate::types::{PromptTokensDetails, Usage};

/// A rate of up to 100 with up to four decimal places, or none.
fn rate() -> impl Strategy<Value = Decimal> {
    (0u32..1_000_000).prop_map(|n| Decimal::new(i64::from(n), 4))
}

fn optional_rate() -> impl Strategy<Value = Option<Decimal>> {
    proptest::option::of(rate())
}

fn tier() -> impl Strategy<Value = PriceTier> {
    (
        rate(),
        optional_rate(),
        optional_rate(),
        optional_rate(),
        rate(),
    )
        .prop_map(
            |(input, cached_input, cache_write, cache_write_1h, output)| PriceTier {
                above_prompt_tokens: 0,
                input,
                cached_input,
                cache_write,
                cache_write_1h,
                output,
            },
        )
}

/// A price with up to three tiers at ascending thresholds below two million tokens.
fn price() -> impl Strategy<Value = Price> {
    (
        (
            rate(),
            optional_rate(),
            optional_rate(),
            optional_rate(),
            rate(),
        ),
        optional_rate(),
        proptest::collection::vec((1u64..700_000, tier()), 0..=3),
    )
        .prop_map(
            |((input, cached_input, cache_write, cache_write_1h, output), per_request, steps)| {
                let mut above = 0;
                let tiers = steps
                    .into_iter()
                    .map(|(step, t)| {
                        above += step;
                        PriceTier {
                            above_prompt_tokens: above,
                            ..t
                        }
                    })
                    .collect();
                Price {
                    currency: Currency::Usd,
                    input,
                    cached_input,
                    cache_write,
                    cache_write_1h,
                    output,
                    per_request,
                    tiers,
                    as_of: "2026-12-02".to_owned(),
                    source: "proptest".to_owned(),
                }
            },
        )
}

/// A usage of at most `max_prompt` prompt and `max_output` output tokens, with cache counts
/// that may be inconsistent (more cached or written than prompted), as providers send them.
fn usage_within(max_prompt: u64, max_output: u64) -> impl Strategy<Value = Usage> {
    (
        0..=max_prompt,
        0..=max_output,
        0..=max_prompt * 2,
        0..=max_prompt * 2,
        0..=max_prompt * 2,
    )
        .prop_map(|(prompt, output, cached, written, written_1h)| {
            let mut usage = Usage::new(prompt, output);
            usage.prompt_tokens_details = Some(PromptTokensDetails {
                cached_tokens: Some(cached),
                cache_write_tokens: Some(written),
                cache_write_1h_tokens: Some(written_1h),
                ..PromptTokensDetails::default()
            });
            usage
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn cost_never_exceeds_the_estimate(
        (price, max_prompt, max_output, usage) in (price(), 0u64..2_500_000, 0u64..200_000)
            .prop_flat_map(|(price, p, m)| (Just(price), Just(p), Just(m), usage_within(p, m)))
    ) {
        let cost = price.cost(&usage);
        let estimate = price.estimate(max_prompt, max_output);
        prop_assert!(
            cost.amount <= estimate.amount,
            "cost {} > estimate {} for {usage:?} within ({max_prompt}, {max_output}) at {price:?}",
            cost.amount,
            estimate.amount,
        );
        prop_assert!(cost.amount >= Decimal::ZERO);
        // The usage's own counts are a bound too.
        let own = price.estimate(usage.prompt_tokens, usage.completion_tokens);
        prop_assert!(cost.amount <= own.amount);
    }
}
