use rust_decimal::Decimal;
use serde_json::json;

use super::*;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}
use crate::config::{Config, RawConfig};

fn router(text: &str) -> ModelRouter {
    let config = Config::resolve(RawConfig::parse(text).unwrap(), &|_| None).unwrap();
    ModelRouter::new(config.providers, config.catalog)
}

const PROVIDERS: &str = r#"
[providers.openai]
api_key = "sk"
[providers.anthropic]
api_key = "sk"
[providers.gemini]
api_key = "g"
[providers.ollama]
[providers.open]
kind = "openai"
base_url = "http://127.0.0.1:9"
api_key = "sk"
allow_unlisted_models = true
unlisted_price = { currency = "CNY", input = "1", output = "2", as_of = "2026-12-01", source = "contract" }
[providers.listed]
kind = "openai"
base_url = "http://127.0.0.1:9"
api_key = "sk"
models = ["mine", "listed/theirs"]
[providers.pinned]
kind = "openai"
base_url = "http://127.0.0.1:9"
api_key = "sk"
"#;

#[test]
fn catalog_names_resolve_with_the_catalog_price() {
    let r = router(PROVIDERS);
    for name in [
        "gpt-4o-mini",
        "openai/gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
        "openai/gpt-4o-mini-2024-07-18",
    ] {
        let m = r.resolve(name).unwrap();
        assert_eq!(
            (m.id.as_str(), m.upstream.as_str()),
            ("openai/gpt-4o-mini", "gpt-4o-mini")
        );
        assert_eq!(m.price().map(|p| p.input), Some(dec("0.15")), "{name}");
        assert!(m.missing_price().is_none());
    }
    let may = r.resolve("openai/gpt-4o-2024-05-13").unwrap();
    assert_eq!(may.upstream, "gpt-4o-2024-05-13");
    assert_eq!(
        may.price().map(|p| (p.input, p.output)),
        Some((dec("5.00"), dec("15.00")))
    );
    // Free is a price: zero.
    let local = r.resolve("ollama/llama3.2").unwrap();
    assert_eq!(local.price().map(|p| p.input), Some(dec("0")));
}

#[test]
fn unknown_names_need_an_opted_in_provider() {
    let r = router(PROVIDERS);
    for name in [
        "openai/gpt-4o-mini-2099-01-01",
        "openai/made-up",
        "ollama/not-pulled-here",
        "pinned/anything",
    ] {
        let e = r.resolve(name).unwrap_err();
        assert_eq!(e.status(), 404, "{name}");
        let d = e.detail();
        assert_eq!(d.code.as_deref(), Some("model_not_found"));
        assert_eq!(d.param.as_deref(), Some("model"));
        let provider = name.split('/').next().unwrap();
        let hint = format!("providers.{provider}.allow_unlisted_models = true");
        assert!(d.message.contains(&hint), "{}", d.message);
    }
    // Not configured, not listed, no provider at all: OpenAI's own words.
    for name in [
        "deepseek/deepseek-chat",
        "listed/other",
        "no-slash",
        "open/",
    ] {
        let e = r.resolve(name).unwrap_err();
        assert_eq!(e.status(), 404, "{name}");
        assert!(e.detail().message.contains("does not exist"), "{name}");
    }

    // Opted in: billed at the unlisted price.
    let m = r.resolve("open/some/model").unwrap();
    assert_eq!(
        (m.provider.as_str(), m.upstream.as_str()),
        ("open", "some/model")
    );
    assert!(m.info.is_none());
    assert_eq!(m.price().map(|p| p.input), Some(dec("1")));

    // Listed names the catalog does not know are served, unpriced without a price.
    for name in ["listed/mine", "listed/theirs"] {
        let m = r.resolve(name).unwrap();
        assert!(m.price().is_none(), "{name}");
        let missing = m.missing_price().unwrap();
        assert!(
            missing.contains("providers.listed.unlisted_price"),
            "{missing}"
        );
    }
}

#[test]
fn a_models_list_names_catalog_models_by_any_of_their_names() {
    let r = router(
        "[providers.openai]\napi_key = \"sk\"\nmodels = [\"gpt-4o-mini-2024-07-18\", \"openai/gpt-4.1\"]\n",
    );
    assert!(r.resolve("gpt-4o-mini").is_ok());
    assert!(r.resolve("openai/gpt-4o-mini-2024-07-18").is_ok());
    assert!(r.resolve("gpt-4.1").is_ok());
    assert_eq!(r.resolve("gpt-4o").unwrap_err().status(), 404);
    let ids: Vec<String> = r.list().into_iter().map(|m| m.id).collect();
    assert!(ids.contains(&"openai/gpt-4o-mini".to_owned()), "{ids:?}");
    assert!(ids.contains(&"openai/gpt-4.1".to_owned()), "{ids:?}");
    assert!(!ids.contains(&"openai/gpt-4o".to_owned()), "{ids:?}");
}

#[test]
fn the_model_list_shows_every_rate_as_charged() {
    let r = router(PROVIDERS);
    let list = r.list();
    let find = |id: &str| {
        let m = list.iter().find(|m| m.id == id).unwrap();
        serde_json::Value::Object(m.extra.clone())
    };
    assert_eq!(
        find("gemini/gemini-2.5-pro")["pricing"],
        json!({
            "currency": "USD",
            "unit": "per_million_tokens",
            "input": "1.25",
            "cached_input": "0.125",
            "cache_write": "1.25",
            "cache_write_1h": "1.25",
            "output": "10.00",
            "per_request": "0",
            "tiers": [{
                "above_prompt_tokens": 200_000,
                "input": "2.50",
                "cached_input": "0.25",
                "cache_write": "2.50",
                "cache_write_1h": "2.50",
                "output": "15.00"
            }],
            "as_of": "2026-06-17",
            "source": "https://ai.google.dev/gemini-api/docs/pricing"
        })
    );
    let sonnet = find("anthropic/claude-sonnet-4-5");
    assert_eq!(sonnet["pricing"]["cache_write"], "3.75");
    assert_eq!(sonnet["pricing"]["cache_write_1h"], "6");
    assert_eq!(sonnet["pricing"]["tiers"][0]["cache_write_1h"], "12");
    // A listed name the catalog does not know shows its price, or none.
    assert_eq!(find("listed/mine")["pricing"], serde_json::Value::Null);
    assert_eq!(find("ollama/llama3.2")["pricing"]["input"], "0");
}
