//! Cost arithmetic against hand-computed figures, and how prices are read and written.

use rust_decimal_macros::dec;

use super::*;
use crate::types::{PromptTokensDetails, Usage};

fn usd(input: Decimal, cached: Option<Decimal>, output: Decimal) -> Price {
    Price {
        currency: Currency::Usd,
        input,
        cached_input: cached,
        cache_write: None,
        cache_write_1h: None,
        output,
        per_request: None,
        tiers: Vec::new(),
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

/// `usage` with `written` cache writes, `written_1h` of them for an hour.
fn with_cache_writes(usage: Usage, written: u64, written_1h: u64) -> Usage {
    let mut usage = with_cache_write(usage, written);
    usage
        .prompt_tokens_details
        .get_or_insert_with(PromptTokensDetails::default)
        .cache_write_1h_tokens = Some(written_1h);
    usage
}

fn tier(above: u64, input: Decimal, cached: Option<Decimal>, output: Decimal) -> PriceTier {
    PriceTier {
        above_prompt_tokens: above,
        input,
        cached_input: cached,
        cache_write: None,
        cache_write_1h: None,
        output,
    }
}

/// Claude Sonnet 4.5 with its 1-hour cache writes and its long-context tier above 200K
/// input tokens, where every rate doubles but output, which costs 1.5 times as much.
fn claude_sonnet_4_5_long() -> Price {
    Price {
        cache_write_1h: Some(dec!(6)),
        tiers: vec![PriceTier {
            cache_write: Some(dec!(7.50)),
            cache_write_1h: Some(dec!(12)),
            ..tier(200_000, dec!(6), Some(dec!(0.60)), dec!(22.50))
        }],
        ..claude_sonnet_4_5()
    }
}

/// Gemini 2.5 Pro: prompts above 200K tokens cost 2.50 / 0.25 / 15 instead of 1.25 / 0.125 / 10.
fn gemini_2_5_pro() -> Price {
    Price {
        tiers: vec![tier(200_000, dec!(2.50), Some(dec!(0.25)), dec!(15))],
        ..usd(dec!(1.25), Some(dec!(0.125)), dec!(10))
    }
}

/// qwen3-max in CNY: 2.5 / 10 up to 32K prompt tokens, 4 / 16 up to 128K, 7 / 28 above.
fn qwen3_max() -> Price {
    Price {
        currency: Currency::Cny,
        tiers: vec![
            tier(32_768, dec!(4), None, dec!(16)),
            tier(131_072, dec!(7), None, dec!(28)),
        ],
        ..usd(dec!(2.5), None, dec!(10))
    }
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
fn one_hour_cache_writes_have_their_own_price() {
    // 10 000 prompt tokens = 1000 uncached + 6000 cache reads + 3000 cache writes, 1000 of
    // them for an hour; 800 output tokens, at 3 / 0.30 / 3.75 (5 min) / 6 (1 h) / 15:
    //   1000 × 3    =  3000
    //   6000 × 0.30 =  1800
    //   2000 × 3.75 =  7500
    //   1000 × 6    =  6000
    //    800 × 15   = 12000
    //   30300 / 1e6 = 0.0303 USD
    let usage = with_cache_writes(Usage::new(10_000, 800).with_cached_tokens(6000), 3000, 1000);
    assert_eq!(claude_sonnet_4_5_long().cost(&usage).amount, dec!(0.0303));

    // Without a 1-hour price they cost what 5-minute writes cost:
    //   3000 + 1800 + 3000 × 3.75 + 12000 = 28050 → 0.02805 USD, as with no 1-hour writes.
    assert_eq!(claude_sonnet_4_5().cost(&usage).amount, dec!(0.02805));

    // More 1-hour writes reported than writes: capped at the 3000 writes.
    //   3000 + 1800 + 3000 × 6 + 12000 = 34800 → 0.0348 USD.
    let usage = with_cache_writes(Usage::new(10_000, 800).with_cached_tokens(6000), 3000, 9000);
    assert_eq!(claude_sonnet_4_5_long().cost(&usage).amount, dec!(0.0348));
}

#[test]
fn a_long_prompt_is_charged_at_its_tier_for_every_token() {
    // Claude Sonnet 4.5, 250 000 prompt tokens (above 200K) = 10 000 uncached + 200 000 cache
    // reads + 40 000 cache writes (10 000 for an hour), 2000 output tokens, all at the tier:
    //    10 000 × 6     =  60 000
    //   200 000 × 0.60  = 120 000
    //    30 000 × 7.50  = 225 000
    //    10 000 × 12    = 120 000
    //     2 000 × 22.50 =  45 000
    //   570 000 / 1e6 = 0.57 USD
    let usage = with_cache_writes(
        Usage::new(250_000, 2000).with_cached_tokens(200_000),
        40_000,
        10_000,
    );
    assert_eq!(claude_sonnet_4_5_long().cost(&usage).amount, dec!(0.57));

    // The tier is for prompts of MORE than 200 000 tokens: 200 000 is still the base rate,
    // 200 001 is all at the tier.
    //   200 000 × 3 + 1000 × 15    =   600 000 +  15 000 =   615 000 → 0.615
    //   200 001 × 6 + 1000 × 22.50 = 1 200 006 +  22 500 = 1 222 506 → 1.222506
    let price = claude_sonnet_4_5_long();
    assert_eq!(price.cost(&Usage::new(200_000, 1000)).amount, dec!(0.615));
    assert_eq!(
        price.cost(&Usage::new(200_001, 1000)).amount,
        dec!(1.222506)
    );

    // Gemini 2.5 Pro, 300 000 prompt tokens of which 100 000 cached, 5000 output:
    //   200 000 × 2.50 = 500 000;  100 000 × 0.25 = 25 000;  5000 × 15 = 75 000
    //   600 000 / 1e6 = 0.6 USD
    let usage = Usage::new(300_000, 5000).with_cached_tokens(100_000);
    assert_eq!(gemini_2_5_pro().cost(&usage).amount, dec!(0.6));
    // Below the tier, 100 000 prompt tokens of which 50 000 cached, 1000 output:
    //   50 000 × 1.25 = 62 500;  50 000 × 0.125 = 6250;  1000 × 10 = 10 000
    //   78 750 / 1e6 = 0.07875 USD
    let usage = Usage::new(100_000, 1000).with_cached_tokens(50_000);
    assert_eq!(gemini_2_5_pro().cost(&usage).amount, dec!(0.07875));
}

#[test]
fn the_last_tier_below_the_prompt_applies() {
    // qwen3-max, CNY. 20 000 prompt tokens: base.  20 000 × 2.5 + 1000 × 10 = 60 000 → 0.06
    // 40 000: the 32K tier.   40 000 × 4 + 2000 × 16 = 160 000 + 32 000 = 192 000 → 0.192
    // 150 000: the 128K tier. 150 000 × 7 + 1000 × 28 = 1 050 000 + 28 000 → 1.078
    let price = qwen3_max();
    let cost = |p, c| price.cost(&Usage::new(p, c));
    assert_eq!(cost(20_000, 1000), Money::new(dec!(0.06), Currency::Cny));
    assert_eq!(cost(40_000, 2000), Money::new(dec!(0.192), Currency::Cny));
    assert_eq!(cost(150_000, 1000), Money::new(dec!(1.078), Currency::Cny));
    // Boundaries: 32 768 is base, 32 769 the first tier, 131 072 still the first tier.
    assert_eq!(price.rates(32_768).input, dec!(2.5));
    assert_eq!(price.rates(32_769).input, dec!(4));
    assert_eq!(price.rates(131_072).input, dec!(4));
    assert_eq!(price.rates(131_073).input, dec!(7));
    // A tier without cache prices charges cache reads and writes at its own input price.
    let rates = price.rates(40_000);
    assert_eq!(
        (rates.cached_input, rates.cache_write, rates.cache_write_1h),
        (dec!(4), dec!(4), dec!(4))
    );
}

#[test]
fn a_per_request_fee_is_added_once_to_a_billed_request() {
    // 1000 prompt and 500 output tokens at 1 / 2 per million, plus 0.005 per request:
    //   1000 × 1 + 500 × 2 = 2000 / 1e6 = 0.002;  0.002 + 0.005 = 0.007 USD
    let price = Price {
        per_request: Some(dec!(0.005)),
        ..usd(dec!(1), None, dec!(2))
    };
    assert_eq!(price.cost(&Usage::new(1000, 500)).amount, dec!(0.007));
    // An output-only usage still pays it; a usage of nothing (an error answer) does not.
    assert_eq!(price.cost(&Usage::new(0, 1)).amount, dec!(0.005002));
    assert_eq!(price.cost(&Usage::default()), Money::zero(Currency::Usd));
    // The estimate includes it: 2000 × 1 + 1000 × 2 = 4000 → 0.004 + 0.005 = 0.009.
    assert_eq!(price.estimate(2000, 1000).amount, dec!(0.009));
    assert_eq!(price.estimate(0, 0).amount, Decimal::ZERO);
}

#[test]
fn estimate_covers_every_tier_a_prompt_can_reach() {
    // 250 000 prompt tokens may fall in the long-context tier; its dearest input is the
    // 1-hour write at 12: 250 000 × 12 + 1000 × 22.50 = 3 000 000 + 22 500 → 3.0225 USD.
    let price = claude_sonnet_4_5_long();
    assert_eq!(price.estimate(250_000, 1000).amount, dec!(3.0225));
    // 100 000 cannot reach it: the base 1-hour write at 6. 600 000 + 15 000 → 0.615 USD.
    assert_eq!(price.estimate(100_000, 1000).amount, dec!(0.615));

    // A tier cheaper than the base does not lower the estimate of a prompt that reaches it
    // (a shorter prompt would be charged the base rate): 300 000 × 2 + 0 = 600 000 → 0.6.
    let discount = Price {
        tiers: vec![tier(200_000, dec!(1), None, dec!(1))],
        ..usd(dec!(2), None, dec!(2))
    };
    assert_eq!(discount.estimate(300_000, 0).amount, dec!(0.6));
    // … yet what a 300 000-token prompt really costs is the tier's: 300 000 × 1 → 0.3.
    assert_eq!(discount.cost(&Usage::new(300_000, 0)).amount, dec!(0.3));
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
    let eur = "currency = \"EUR\"\ninput = \"1\"\noutput = \"2\"\nas_of = \"x\"\nsource = \"y\"\n";
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
fn tiers_and_fees_from_toml_strings() {
    let price: Price = toml::from_str(
        r#"
        currency = "USD"
        input = "3"
        cached_input = "0.30"
        cache_write = "3.75"
        cache_write_1h = "6"
        output = "15"
        per_request = "0.01"
        as_of = "2026-11-22"
        source = "https://platform.claude.com/docs/en/about-claude/pricing"
        [[tiers]]
        above_prompt_tokens = 200000
        input = "6"
        cached_input = "0.60"
        cache_write = "7.50"
        cache_write_1h = "12"
        output = "22.50"
        "#,
    )
    .unwrap();
    let expected = Price {
        per_request: Some(dec!(0.01)),
        source: "https://platform.claude.com/docs/en/about-claude/pricing".to_owned(),
        ..claude_sonnet_4_5_long()
    };
    assert_eq!(price, expected);

    let base = "currency = \"USD\"\ninput = \"1\"\noutput = \"2\"\nas_of = \"x\"\nsource = \"y\"\n";
    let with_tiers = |tiers: &str| toml::from_str::<Price>(&format!("{base}{tiers}"));
    let tier = |above: &str, input: &str| {
        format!("[[tiers]]\nabove_prompt_tokens = {above}\ninput = {input}\noutput = \"3\"\n")
    };
    assert!(with_tiers(&tier("1000", "\"2\"")).is_ok());
    // Tiers go up: a tier at or below the one before it is an error.
    assert!(with_tiers(&(tier("1000", "\"2\"") + &tier("2000", "\"3\""))).is_ok());
    assert!(with_tiers(&(tier("2000", "\"2\"") + &tier("1000", "\"3\""))).is_err());
    assert!(with_tiers(&(tier("1000", "\"2\"") + &tier("1000", "\"3\""))).is_err());
    // Their prices are strings, never negative; thresholds are whole token counts.
    assert!(with_tiers(&tier("1000", "2.5")).is_err());
    assert!(with_tiers(&tier("1000", "\"-2\"")).is_err());
    assert!(with_tiers(&tier("-1", "\"2\"")).is_err());
    assert!(with_tiers(&tier("\"1000\"", "\"2\"")).is_err());
    // Unknown fields and missing rates are errors.
    assert!(with_tiers(&(tier("1000", "\"2\"") + "batch = \"1\"\n")).is_err());
    assert!(with_tiers("[[tiers]]\nabove_prompt_tokens = 5\ninput = \"2\"\n").is_err());
    // A per-request fee is a string too.
    assert!(toml::from_str::<Price>(&format!("{base}per_request = 0.01\n")).is_err());
    assert!(toml::from_str::<Price>(&format!("{base}per_request = \"-0.01\"\n")).is_err());
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
            "cache_write_1h": null,
            "output": "0.60",
            "per_request": null,
            "tiers": [],
            "as_of": "2026-11-22",
            "source": "test"
        })
    );
}

#[test]
fn tiers_serialize_amounts_as_strings() {
    let json = serde_json::to_value(&gemini_2_5_pro().tiers).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{
            "above_prompt_tokens": 200_000,
            "input": "2.50",
            "cached_input": "0.25",
            "cache_write": null,
            "cache_write_1h": null,
            "output": "15"
        }])
    );
}
