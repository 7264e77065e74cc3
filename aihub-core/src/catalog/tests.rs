use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::pricing::Currency;
use crate::providers::openai::MaxTokensField;

const CHINESE_PROVIDERS: [&str; 5] = ["deepseek", "qwen", "moonshot", "zhipu", "siliconflow"];

fn builtin() -> Catalog {
    Catalog::from_toml(BUILTIN).unwrap()
}

fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let number = |p: &str, len: usize| {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    matches!(
        (number(y, 4), number(m, 2), number(d, 2)),
        (Some(2023..=2100), Some(1..=12), Some(1..=31))
    )
}

#[test]
fn builtin_parses() {
    let catalog = builtin();
    // `builtin()` falls back to an empty catalog on a parse error; it must not here.
    assert_eq!(Catalog::builtin().models().len(), catalog.models().len());
    assert!(
        catalog.models().len() >= 40,
        "{} models",
        catalog.models().len()
    );
    assert!(
        catalog.providers().len() >= 10,
        "{} providers",
        catalog.providers().len()
    );
    let with_models: HashSet<&str> = catalog.models().iter().map(|m| m.provider()).collect();
    assert!(
        with_models.len() >= 10,
        "models from {} providers",
        with_models.len()
    );
}

#[test]
fn chinese_providers_present() {
    let catalog = builtin();
    for id in CHINESE_PROVIDERS {
        assert!(catalog.provider(id).is_some(), "provider {id}");
        let models = catalog
            .models()
            .iter()
            .filter(|m| m.provider() == id)
            .count();
        assert!(models >= 1, "no models for {id}");
    }
    for model in [
        "deepseek-chat",
        "deepseek-reasoner",
        "qwen-max",
        "qwen-plus",
        "qwen-turbo",
    ] {
        assert!(catalog.get(model).is_some(), "{model}");
    }
}

#[test]
fn every_model_has_a_known_provider() {
    let catalog = builtin();
    for model in catalog.models() {
        assert!(
            catalog.provider(model.provider()).is_some(),
            "{} names unknown provider {:?}",
            model.id,
            model.provider()
        );
        assert!(!model.upstream.is_empty(), "{}", model.id);
        assert!(model.context_window > 0, "{}", model.id);
        assert!(model.max_output <= model.context_window, "{}", model.id);
    }
}

#[test]
fn ids_and_aliases_are_unique_and_resolve() {
    let catalog = builtin();
    let mut names: HashMap<&str, &str> = HashMap::new();
    for model in catalog.models() {
        assert!(
            names.insert(&model.id, &model.id).is_none(),
            "duplicate id {}",
            model.id
        );
    }
    for model in catalog.models() {
        for alias in &model.aliases {
            if let Some(other) = names.insert(alias, &model.id) {
                panic!("alias {alias:?} of {} already names {other}", model.id);
            }
            assert_eq!(
                catalog.get(alias).map(|m| m.id.as_str()),
                Some(model.id.as_str())
            );
            let resolved = catalog.resolve(alias).unwrap();
            assert_eq!(resolved.provider, model.provider());
            assert_eq!(resolved.upstream, model.upstream);
        }
    }
    // The aliases the gateway documents.
    for (alias, id) in [
        ("gpt-4o-mini", "openai/gpt-4o-mini"),
        ("deepseek-chat", "deepseek/deepseek-chat"),
        ("claude-sonnet-4", "anthropic/claude-sonnet-4"),
        ("gemini-2.5-flash", "gemini/gemini-2.5-flash"),
        ("glm-4.5", "zhipu/glm-4.5"),
    ] {
        assert_eq!(
            catalog.get(alias).map(|m| m.id.as_str()),
            Some(id),
            "{alias}"
        );
    }
    assert_eq!(
        catalog.resolve("claude-sonnet-4").unwrap().upstream,
        "claude-sonnet-4-20250514"
    );
}

#[test]
fn prices_are_sourced_and_sane() {
    let catalog = builtin();
    let mut priced_chat = 0;
    for model in catalog.models() {
        let Some(price) = &model.price else {
            continue;
        };
        if model.mode == ModelMode::Chat {
            priced_chat += 1;
        }
        assert!(
            is_date(&price.as_of),
            "{}: as_of {:?}",
            model.id,
            price.as_of
        );
        assert!(
            price.source.starts_with("https://"),
            "{}: {}",
            model.id,
            price.source
        );
        assert!(
            price.input >= Decimal::ZERO && price.output >= Decimal::ZERO,
            "{}",
            model.id
        );
        if model.mode == ModelMode::Embedding {
            assert_eq!(price.output, Decimal::ZERO, "{}", model.id);
        }
        let mut all = vec![price.base_rates()];
        all.extend(price.tiers.iter().map(|t| t.rates()));
        for rates in all {
            assert!(
                rates.cached_input <= rates.input,
                "{}: cached above input",
                model.id
            );
            assert!(
                rates.cache_write >= rates.input,
                "{}: write below input",
                model.id
            );
            assert!(
                rates.cache_write_1h >= rates.cache_write,
                "{}: 1-hour write below 5-minute write",
                model.id
            );
        }
        // (Claude's long-context tier starts at its default 200K window: it applies to
        // requests with the 1M-token context window enabled.)
        for tier in &price.tiers {
            assert!(
                tier.above_prompt_tokens <= model.context_window,
                "{}",
                model.id
            );
        }
    }
    assert!(priced_chat >= 30, "{priced_chat} priced chat models");
}

#[test]
fn currencies_follow_the_sources() {
    let catalog = builtin();
    let currency = |id: &str| {
        catalog
            .get(id)
            .and_then(|m| m.price.as_ref())
            .map(|p| p.currency)
    };
    assert_eq!(currency("qwen/qwen-max"), Some(Currency::Cny));
    assert_eq!(
        currency("siliconflow/deepseek-ai/DeepSeek-V3"),
        Some(Currency::Cny)
    );
    assert_eq!(currency("zhipu/glm-4-flash"), Some(Currency::Cny));
    assert_eq!(currency("openai/gpt-4o"), Some(Currency::Usd));
    assert_eq!(currency("anthropic/claude-sonnet-4-5"), Some(Currency::Usd));
    let mini = catalog
        .get("gpt-4o-mini")
        .and_then(|m| m.price.clone())
        .unwrap();
    assert_eq!(
        (mini.input, mini.cached_input, mini.output),
        (dec!(0.15), Some(dec!(0.075)), dec!(0.60))
    );
}

#[test]
fn local_models_are_free_and_unsourced_ones_unknown() {
    let catalog = builtin();
    for model in catalog.models() {
        if matches!(model.provider(), "ollama" | "vllm") {
            let price = model.price.as_ref();
            assert!(
                price.is_some_and(|p| p.input.is_zero() && p.output.is_zero()),
                "{} is free",
                model.id
            );
        }
    }
    // A price nobody could source stays unknown: no price, not a zero one.
    assert!(
        catalog
            .get("moonshot/moonshot-v1-8k")
            .unwrap()
            .price
            .is_none()
    );
    assert!(catalog.get("zhipu/glm-4.5").unwrap().price.is_none());
}

#[test]
fn a_provider_prefix_finds_an_alias_and_nothing_else() {
    let catalog = builtin();
    let id = |name: &str| catalog.get(name).map(|m| m.id.as_str());
    // Dated snapshots the catalog lists, with or without their provider.
    assert_eq!(id("gpt-4o-mini-2024-07-18"), Some("openai/gpt-4o-mini"));
    assert_eq!(
        id("openai/gpt-4o-mini-2024-07-18"),
        Some("openai/gpt-4o-mini")
    );
    assert_eq!(
        id("anthropic/claude-sonnet-4-5-20250929"),
        Some("anthropic/claude-sonnet-4-5")
    );
    assert_eq!(id("groq/gpt-oss-120b"), Some("groq/openai/gpt-oss-120b"));
    // A snapshot with a price of its own is its own entry, sent upstream as named.
    let may = catalog.get("openai/gpt-4o-2024-05-13").unwrap();
    assert_eq!(may.upstream, "gpt-4o-2024-05-13");
    assert_eq!(may.price.as_ref().map(|p| p.input), Some(dec!(5.00)));
    assert_eq!(
        catalog
            .get("gpt-4o")
            .and_then(|m| m.price.as_ref())
            .map(|p| p.input),
        Some(dec!(2.50))
    );
    // Never by cutting a date off, never through another provider, never by an id.
    assert_eq!(id("openai/gpt-4o-mini-2099-01-01"), None);
    assert_eq!(id("gpt-4o-2099-01-01"), None);
    assert_eq!(id("openrouter/gpt-4o-mini"), None);
    assert_eq!(id("anthropic/gpt-4o-mini"), None);
    assert_eq!(id("openai/openai/gpt-4o-mini"), None);
    assert_eq!(id("groq/groq/openai/gpt-oss-120b"), None);
}

#[test]
fn long_prompts_are_priced_at_the_sourced_tiers() {
    let catalog = builtin();
    let price = |id: &str| catalog.get(id).and_then(|m| m.price.clone()).unwrap();
    // Gemini 2.5 Pro, 300 000 prompt tokens and 1000 output, all at the >200K tier:
    //   300 000 × 2.50 + 1000 × 15 = 750 000 + 15 000 = 765 000 → 0.765 USD
    let cost = price("gemini/gemini-2.5-pro").cost(&crate::Usage::new(300_000, 1000));
    assert_eq!(cost.amount, dec!(0.765));
    // Claude Sonnet 4.5 at 250 000: 250 000 × 6 + 1000 × 22.50 = 1 522 500 → 1.5225 USD;
    // at 150 000: 150 000 × 3 + 1000 × 15 = 465 000 → 0.465 USD.
    let sonnet = price("anthropic/claude-sonnet-4-5");
    assert_eq!(
        sonnet.cost(&crate::Usage::new(250_000, 1000)).amount,
        dec!(1.5225)
    );
    assert_eq!(
        sonnet.cost(&crate::Usage::new(150_000, 1000)).amount,
        dec!(0.465)
    );
    // qwen3-max (CNY) at 100 000 prompt tokens: the 32K-128K tier.
    //   100 000 × 4 + 1000 × 16 = 416 000 → 0.416 CNY
    let qwen = price("qwen/qwen3-max");
    let cost = qwen.cost(&crate::Usage::new(100_000, 1000));
    assert_eq!((cost.amount, cost.currency), (dec!(0.416), Currency::Cny));
}

#[test]
fn provider_settings() {
    let catalog = builtin();
    let provider = |id: &str| catalog.provider(id).unwrap();
    assert_eq!(
        provider("anthropic").api_version.as_deref(),
        Some("2023-06-01")
    );
    assert_eq!(provider("azure").api_version.as_deref(), Some("2024-10-21"));
    assert_eq!(provider("gemini").kind, ProviderKind::Gemini);
    assert_eq!(provider("azure").kind, ProviderKind::Azure);
    assert_eq!(
        provider("qwen").base_url,
        "https://dashscope.aliyuncs.com/compatible-mode/v1"
    );
    assert_eq!(
        provider("deepseek").api_key_env.as_deref(),
        Some("DEEPSEEK_API_KEY")
    );
    for id in ["ollama", "vllm"] {
        assert!(!provider(id).quirks.requires_key, "{id}");
    }
    for p in catalog.providers() {
        let developer = matches!(p.id.as_str(), "openai" | "azure" | "openrouter");
        if p.kind == ProviderKind::OpenAi || p.kind == ProviderKind::Azure {
            assert_eq!(p.quirks.developer_role, developer, "{}", p.id);
        }
    }
    for id in ["mistral", "zhipu"] {
        assert!(!provider(id).quirks.stream_usage, "{id}");
    }
    for id in [
        "openai",
        "deepseek",
        "qwen",
        "groq",
        "openrouter",
        "vllm",
        "ollama",
    ] {
        assert!(provider(id).quirks.stream_usage, "{id}");
    }
    assert_eq!(
        provider("openai").quirks.max_tokens_field,
        MaxTokensField::AsGiven
    );
    assert_eq!(
        provider("deepseek").quirks.max_tokens_field,
        MaxTokensField::MaxTokens
    );
}

#[test]
fn unknown_model_of_known_provider_routes_without_info() {
    let catalog = builtin();
    let resolved = catalog.resolve("deepseek/deepseek-v9-preview").unwrap();
    assert_eq!(resolved.provider, "deepseek");
    assert_eq!(resolved.upstream, "deepseek-v9-preview");
    assert!(resolved.info.is_none());

    // Names with a "/" keep everything after the provider.
    let resolved = catalog.resolve("siliconflow/Qwen/Qwen9-1T").unwrap();
    assert_eq!(
        (resolved.provider, resolved.upstream),
        ("siliconflow", "Qwen/Qwen9-1T")
    );

    let known = catalog
        .resolve("siliconflow/deepseek-ai/DeepSeek-V3")
        .unwrap();
    assert_eq!(known.upstream, "deepseek-ai/DeepSeek-V3");
    assert!(known.info.is_some());

    assert!(catalog.resolve("no-such-provider/model").is_none());
    assert!(catalog.resolve("no-such-model").is_none());
}

#[test]
fn merge_overrides_a_price_and_adds_a_model() {
    let mut catalog = builtin();
    let before = catalog.models().len();
    catalog
        .merge_toml(
            r#"
            [[models]]
            id = "openai/gpt-4o-mini"
            aliases = ["gpt-4o-mini"]
            context_window = 128000
            [models.price]
            currency = "USD"
            input = "0.10"
            output = "0.40"
            as_of = "2026-12-01"
            source = "https://example.com/contract"

            [[models]]
            id = "deepseek/deepseek-v4-flash"
            aliases = ["deepseek-v4-flash"]
            context_window = 1000000
            [models.price]
            currency = "CNY"
            input = "1"
            output = "2"
            as_of = "2026-12-01"
            source = "https://api-docs.deepseek.com/zh-cn/quick_start/pricing"
            "#,
        )
        .unwrap();
    assert_eq!(catalog.models().len(), before + 1);

    let mini = catalog.get("gpt-4o-mini").unwrap();
    let price = mini.price.as_ref().unwrap();
    assert_eq!((price.input, price.cached_input), (dec!(0.10), None));
    assert_eq!(mini.upstream, "gpt-4o-mini");

    let added = catalog.resolve("deepseek-v4-flash").unwrap();
    assert_eq!(
        (added.provider, added.upstream),
        ("deepseek", "deepseek-v4-flash")
    );
    assert_eq!(
        added
            .info
            .and_then(|m| m.price.as_ref())
            .map(|p| p.currency),
        Some(Currency::Cny)
    );

    // The built-in catalog itself is untouched.
    let builtin_price = Catalog::builtin()
        .get("gpt-4o-mini")
        .and_then(|m| m.price.as_ref());
    assert_eq!(builtin_price.map(|p| p.input), Some(dec!(0.15)));
}

#[test]
fn merge_rejects_bad_entries() {
    let mut catalog = builtin();
    assert!(
        catalog
            .merge_toml("[[models]]\nid = \"no-slash\"\ncontext_window = 1\n")
            .is_err()
    );
    assert!(
        catalog
            .merge_toml("[[models]]\nid = \"a/b\"\ncontext_window = 1\ncolour = \"red\"\n")
            .is_err()
    );
    let float_price = "[[models]]\nid = \"a/b\"\ncontext_window = 1\n[models.price]\ncurrency = \"USD\"\ninput = 0.1\noutput = \"1\"\nas_of = \"2026-01-01\"\nsource = \"https://x\"\n";
    assert!(
        catalog.merge_toml(float_price).is_err(),
        "prices must be strings, not floats"
    );
}

#[test]
fn providers_page_lists_every_builtin_provider() {
    let page = include_str!("../../../docs/providers.md");
    for p in Catalog::builtin().providers() {
        let row = format!("| `{}` | ", p.id);
        let line = page.lines().find(|l| l.starts_with(&row));
        let line = line.unwrap_or_else(|| panic!("docs/providers.md has no row for {}", p.id));
        let count = Catalog::builtin()
            .models()
            .iter()
            .filter(|m| m.provider() == p.id)
            .count();
        assert!(
            line.contains(&format!("| {count} |")),
            "model count for {} is {count}: {line}",
            p.id
        );
        assert!(line.contains(p.kind.as_str()), "{line}");
    }
}

#[test]
fn the_catalog_guides_price_example_is_a_valid_price() {
    let page = include_str!("../../../docs/catalog.md");
    let blocks: Vec<&str> = page
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert_eq!(blocks.len(), 1);
    let mut catalog = builtin();
    catalog
        .merge_toml(&format!(
            "[[models]]\nid = \"gemini/example\"\ncontext_window = 1048576\n{}",
            blocks[0]
        ))
        .unwrap();
    let price = catalog
        .get("gemini/example")
        .unwrap()
        .price
        .clone()
        .unwrap();
    assert_eq!(
        Some(&price),
        catalog.get("gemini-2.5-pro").unwrap().price.as_ref()
    );
}
