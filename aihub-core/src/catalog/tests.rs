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
        if let Some(cached) = price.cached_input {
            assert!(cached <= price.input, "{}: cached above input", model.id);
        }
        if let Some(write) = price.cache_write {
            assert!(
                write >= price.input,
                "{}: cache write below input",
                model.id
            );
        }
        if model.mode == ModelMode::Embedding {
            assert_eq!(price.output, Decimal::ZERO, "{}", model.id);
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
fn local_models_have_no_price() {
    let catalog = builtin();
    for model in catalog.models() {
        if matches!(model.provider(), "ollama" | "vllm") {
            assert!(model.price.is_none(), "{}", model.id);
        }
    }
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
