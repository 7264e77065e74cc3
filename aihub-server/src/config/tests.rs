use super::*;

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[test]
fn empty_config_has_the_documented_defaults() {
    let c = Config::resolve(RawConfig::default(), &env_of(&[])).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.database_url, "sqlite://aihub.db");
    assert!(c.redis_url.is_none() && c.master_key.is_none());
    assert_eq!(c.max_body_bytes, 4 * 1024 * 1024);
    assert!(c.providers.is_empty());
}

#[test]
fn the_issue_example_parses_and_resolves_its_key() {
    let text = r#"
        listen = "0.0.0.0:9000"
        database_url = "postgres://aihub@db/aihub"
        redis_url = "redis://127.0.0.1:6379"

        [providers.openai]            # the table name is the provider id used in model ids
        kind = "openai"               # adapter family: openai | azure | anthropic | gemini
        base_url = "https://api.openai.com/v1"
        api_key_env = "OPENAI_API_KEY" # or api_key = "…"
        models = ["gpt-4o-mini"]      # optional: restrict or add models beyond the catalog

        [providers.deepseek]
        api_key = "sk-inline"
    "#;
    let raw = RawConfig::parse(text).unwrap();
    let c = Config::resolve(raw, &env_of(&[("OPENAI_API_KEY", "sk-from-env")])).unwrap();
    assert_eq!(c.listen.port(), 9000);
    let openai = &c.providers["openai"];
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(openai.adapter.api_key.as_ref().unwrap()),
        "sk-from-env"
    );
    assert_eq!(
        openai.models.as_deref(),
        Some(&["gpt-4o-mini".to_owned()][..])
    );
    // A catalog provider needs no kind or base URL, and takes its quirks from the catalog.
    let ds = &c.providers["deepseek"];
    assert_eq!(ds.adapter.base_url, "https://api.deepseek.com/v1");
    assert!(!ds.adapter.quirks.developer_role);
}

#[test]
fn environment_overrides_the_file() {
    let mut raw = RawConfig::parse("listen = \"127.0.0.1:1\"\nmax_body_bytes = 10").unwrap();
    raw.apply_env(&env_of(&[
        ("AIHUB_LISTEN", "127.0.0.1:2"),
        ("AIHUB_MAX_BODY_BYTES", "20"),
        ("AIHUB_MASTER_KEY", "mk"),
    ]))
    .unwrap();
    let c = Config::resolve(raw, &env_of(&[])).unwrap();
    assert_eq!(c.listen.port(), 2);
    assert_eq!(c.max_body_bytes, 20);
    assert!(c.master_key.is_some());
    let mut raw = RawConfig::default();
    let e = raw
        .apply_env(&env_of(&[("AIHUB_MAX_BODY_BYTES", "lots")]))
        .unwrap_err();
    assert!(e.to_string().contains("AIHUB_MAX_BODY_BYTES"));
}

#[test]
fn mistakes_name_the_key() {
    let e = RawConfig::parse("listne = \"x\"").unwrap_err();
    assert!(e.to_string().contains("listne"), "{e}");
    let e = RawConfig::parse(
        "[providers.x]\nkind = \"openai\"\nbase_url = \"http://x\"\napikey = \"k\"",
    )
    .unwrap_err();
    assert!(e.to_string().contains("apikey"), "{e}");
    let bad = |text: &str| {
        Config::resolve(RawConfig::parse(text).unwrap(), &env_of(&[]))
            .unwrap_err()
            .to_string()
    };
    assert!(bad("listen = \"localhost\"").contains("listen"));
    assert!(bad("database_url = \"mysql://x\"").contains("database_url"));
    assert!(bad("[providers.mine]\nbase_url = \"http://x\"").contains("providers.mine.kind"));
    assert!(bad("[providers.mine]\nkind = \"cohere\"\nbase_url = \"http://x\"").contains("cohere"));
    assert!(
        bad("[providers.openai]").contains("OPENAI_API_KEY"),
        "a missing key names its variable"
    );
    // Keyless local servers need no key.
    let ok = Config::resolve(
        RawConfig::parse("[providers.ollama]").unwrap(),
        &env_of(&[]),
    )
    .unwrap();
    assert!(ok.providers["ollama"].adapter.api_key.is_none());
}

#[test]
fn every_example_in_the_configuration_guide_loads() {
    let page = include_str!("../../../docs/configuration.md");
    let blocks: Vec<&str> = page
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(blocks.len() >= 2, "the guide has its examples");
    let env = |name: &str| name.ends_with("_API_KEY").then(|| "sk-test".to_owned());
    for block in blocks {
        let raw = RawConfig::parse(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        let c = Config::resolve(raw, &env).unwrap_or_else(|e| panic!("{e}\n{block}"));
        assert!(!c.providers.is_empty());
    }
    // Every top-level key of RawConfig is documented.
    for key in [
        "listen",
        "cors_allowed_origins",
        "database_url",
        "redis_url",
        "master_key",
        "max_body_bytes",
        "upstream_timeout_secs",
        "upstream_read_timeout_secs",
        "upstream_connect_timeout_secs",
        "upstream_max_retries",
        "session_ttl_hours",
        "catalog",
        "plans.ID",
        "limits",
        "billing",
        "alerts",
        "cache",
    ] {
        assert!(
            page.contains(&format!("| `{key}` |")),
            "docs/configuration.md does not document {key}"
        );
    }
}

#[test]
fn the_limits_guide_examples_resolve() {
    let page = include_str!("../../../docs/limits.md");
    let blocks: Vec<&str> = page
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert_eq!(blocks.len(), 1);
    let c = Config::resolve(RawConfig::parse(blocks[0]).unwrap(), &env_of(&[])).unwrap();
    let team = &c.plans["team"];
    assert_eq!(
        (team.monthly_tokens, team.rpm, team.max_concurrent),
        (Some(20_000_000), Some(1000), Some(50))
    );
    assert_eq!(c.plans["free"].rpm, Some(10), "built-in plans stay");
    assert_eq!(c.limits.timezone_name, "Asia/Shanghai");
    assert_eq!(c.billing.currency, aihub_core::pricing::Currency::Cny);
    let usd = aihub_core::pricing::Money::new(
        rust_decimal::Decimal::new(2, 0),
        aihub_core::pricing::Currency::Usd,
    );
    assert_eq!(
        c.billing
            .convert(usd, aihub_core::pricing::Currency::Cny)
            .unwrap()
            .amount
            .to_string(),
        "14.2"
    );
}

#[test]
fn limit_settings_are_checked() {
    for (text, fragment) in [
        ("[limits]\ntimezone = \"Mars/Olympus\"", "limits.timezone"),
        (
            "[limits]\non_backend_error = \"maybe\"",
            "limits.on_backend_error",
        ),
        ("[limits]\ndefault_plan = \"gold\"", "limits.default_plan"),
        ("[plans.x]\nrpm = 0", "plans.x"),
        ("[billing]\ncurrency = \"EUR\"", "billing.currency"),
        ("[alerts]\nwebhook_url = \"ftp://x\"", "alerts.webhook_url"),
        ("redis_url = \"localhost:6379\"", "redis_url"),
    ] {
        let e = Config::resolve(RawConfig::parse(text).unwrap(), &env_of(&[])).unwrap_err();
        assert!(e.0.contains(fragment), "{text}: {e}");
    }
}

#[test]
fn cors_origins_are_checked() {
    use super::CorsOrigins;
    let load = |text: &str, env: &dyn Fn(&str) -> Option<String>| {
        let mut raw = RawConfig::parse(text).unwrap();
        raw.apply_env(env)?;
        Config::resolve(raw, env).map(|c| c.cors)
    };
    let none = |_: &str| None;
    assert_eq!(load("", &none).unwrap(), CorsOrigins::None);
    assert_eq!(
        load("cors_allowed_origins = [\"*\"]", &none).unwrap(),
        CorsOrigins::Any
    );
    assert_eq!(
        load("cors_allowed_origins = [\"http://127.0.0.1:5173\"]", &none).unwrap(),
        CorsOrigins::List(vec!["http://127.0.0.1:5173".into()])
    );
    for bad in [
        "[\"*\", \"http://a.example\"]",
        "[\"a.example\"]",
        "[\"https://a.example/path\"]",
    ] {
        let e = load(&format!("cors_allowed_origins = {bad}"), &none).unwrap_err();
        assert!(e.0.contains("cors_allowed_origins"), "{e}");
    }
    let env = |name: &str| {
        (name == "AIHUB_CORS_ALLOWED_ORIGINS")
            .then(|| "https://a.example, https://b.example".into())
    };
    assert_eq!(
        load("", &env).unwrap(),
        CorsOrigins::List(vec!["https://a.example".into(), "https://b.example".into()])
    );
}

/// Every secret a configuration can hold, each one distinct so that a leak names its field.
const SECRETS: &[&str] = &[
    "mk-SECRET-master",
    "SECRETdbpass",
    "SECRETredispass",
    "SECRET-webhook-token",
    "sk-SECRET-inline",
    "sk-SECRET-from-env",
    "Bearer SECRET-header",
];

#[test]
fn debug_output_holds_no_secret() {
    let text = r#"
        database_url = "postgres://aihub:SECRETdbpass@db:5432/aihub"
        redis_url = "redis://:SECRETredispass@cache:6379/0"
        master_key = "mk-SECRET-master"

        [alerts]
        webhook_url = "https://hooks.example.com/services/SECRET-webhook-token"

        [providers.deepseek]
        api_key = "sk-SECRET-inline"
        headers = { Authorization = "Bearer SECRET-header" }

        [providers.openai]
        api_key_env = "OPENAI_API_KEY"
    "#;
    let raw = RawConfig::parse(text).unwrap();
    let raw_debug = format!("{raw:?} {:?}", raw.providers["deepseek"]);
    let c = Config::resolve(raw, &env_of(&[("OPENAI_API_KEY", "sk-SECRET-from-env")])).unwrap();
    let debug = format!("{c:?} {:#?} {:?}", c.providers, c.alerts);
    for secret in SECRETS {
        assert!(
            !debug.contains(secret),
            "Config's Debug shows {secret}: {debug}"
        );
        assert!(
            !raw_debug.contains(secret),
            "RawConfig's Debug shows {secret}: {raw_debug}"
        );
    }
    // What is not secret still shows, so the output stays useful.
    for shown in [
        "db:5432/aihub",
        "cache:6379",
        "hooks.example.com",
        "Authorization",
    ] {
        assert!(debug.contains(shown), "{shown} missing from {debug}");
    }
}

#[test]
fn a_parse_error_never_echoes_a_secret() {
    for text in [
        "[providers.openai]\napi_key = \"sk-SECRET-inline\nkind = \"openai\"",
        "[providers.openai]\napi_key = sk-SECRET-inline",
        "master_key = 'mk-SECRET-master' 1",
        "database_url = \"postgres://aihub:SECRETdbpass@db/aihub\" x",
        "[providers.x.headers]\nX-Thing = \"Bearer SECRET-header\" 2",
        "[providers.x]\nheaders = \"Bearer SECRET-header\"",
        "[alerts]\nwebhook_url = \"https://hooks.example.com/SECRET-webhook-token\" ,",
        "listen = \"127.0.0.1:1\"\nsk-SECRET-from-env-0123456789abcdef\n",
        "[routing.groups.g]\ndeployments = [{ provider = \"openai\", api_key = \"sk-SECRET-inline\" }]",
    ] {
        let e = RawConfig::parse(text).unwrap_err().to_string();
        for secret in SECRETS {
            assert!(
                !e.contains(secret),
                "{text:?}: the error shows {secret}: {e}"
            );
        }
        assert!(e.contains("line "), "{text:?}: the error says where: {e}");
    }
    // A line without a secret is shown, with a caret under the fault.
    let e = RawConfig::parse("listen = \"127.0.0.1:1\" x")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 1") && e.contains("listen = \"127.0.0.1:1\" x"),
        "{e}"
    );
}

/// The keys serde knows in a table of the file: the list its unknown-field error gives.
fn keys_of(table_header: &str) -> Vec<String> {
    let e = RawConfig::parse(&format!("{table_header}\nzzz_unknown = 1"))
        .unwrap_err()
        .to_string();
    let list = e
        .split(", expected")
        .nth(1)
        .unwrap_or_else(|| panic!("{e}"));
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_key_that_is_not_a_table_has_an_environment_variable() {
    let mut paths = Vec::new();
    for key in keys_of("") {
        if ![
            "providers",
            "plans",
            "limits",
            "billing",
            "alerts",
            "routing",
            "cache",
        ]
        .contains(&key.as_str())
        {
            paths.push(key);
        }
    }
    for section in [
        "limits",
        "billing",
        "alerts",
        "routing",
        "routing.breaker",
        "cache",
    ] {
        for key in keys_of(&format!("[{section}]")) {
            if !["exchange_rates", "groups", "breaker"].contains(&key.as_str()) {
                paths.push(format!("{}_{key}", section.replace('.', "_")));
            }
        }
    }
    assert!(paths.len() > 20, "{paths:?}");
    let asked = std::cell::RefCell::new(Vec::new());
    let env = |name: &str| {
        asked.borrow_mut().push(name.to_owned());
        None
    };
    RawConfig::default().apply_env(&env).unwrap();
    for path in paths {
        let name = format!("AIHUB_{}", path.to_ascii_uppercase());
        assert!(
            asked.borrow().contains(&name),
            "{path} has no environment variable {name}"
        );
    }
    let page = include_str!("../../../docs/configuration.md");
    for name in asked.borrow().iter() {
        assert!(
            page.contains(&format!("`{name}`")),
            "docs/configuration.md does not name {name}"
        );
    }
    // And they take effect.
    let mut raw = RawConfig::parse("[limits]\nlease_secs = 60").unwrap();
    raw.apply_env(&env_of(&[
        ("AIHUB_LIMITS_LEASE_SECS", "30"),
        ("AIHUB_LIMITS_DEFAULT_PLAN", "pro"),
    ]))
    .unwrap();
    let c = Config::resolve(raw, &env_of(&[])).unwrap();
    assert_eq!(c.limits.lease, std::time::Duration::from_secs(30));
    assert_eq!(c.limits.default_plan, "pro");
}

#[test]
fn a_provider_opts_in_to_unlisted_models_with_a_catalog_price() {
    let raw = RawConfig::parse(
        r#"
        [providers.ollama]
        allow_unlisted_models = true
        unlisted_price = { currency = "USD", input = "0", output = "0", as_of = "2026-12-01", source = "our own hardware" }
        [providers.openai]
        api_key = "sk"
        "#,
    )
    .unwrap();
    let c = Config::resolve(raw, &env_of(&[])).unwrap();
    let ollama = &c.providers["ollama"];
    assert!(ollama.allow_unlisted_models);
    let price = ollama.unlisted_price.as_ref().unwrap();
    assert!(price.input.is_zero() && price.output.is_zero());
    // Off by default; the price is not a secret and shows in Debug.
    assert!(!c.providers["openai"].allow_unlisted_models);
    assert!(format!("{ollama:?}").contains("unlisted_price: Some"));

    let bad = |text: &str| match RawConfig::parse(text) {
        Err(e) => e.0,
        Ok(raw) => Config::resolve(raw, &env_of(&[]))
            .err()
            .map(|e| e.0)
            .unwrap_or_default(),
    };
    // A price nothing can use, a float, an unknown field: start-up errors naming the key.
    let orphan = bad(
        "[providers.ollama]\nunlisted_price = { currency = \"USD\", input = \"1\", output = \"1\", as_of = \"x\", source = \"y\" }",
    );
    assert!(
        orphan.contains("providers.ollama.unlisted_price"),
        "{orphan}"
    );
    assert!(orphan.contains("allow_unlisted_models"), "{orphan}");
    let float = bad(
        "[providers.ollama]\nallow_unlisted_models = true\nunlisted_price = { currency = \"USD\", input = 0.1, output = \"1\", as_of = \"x\", source = \"y\" }",
    );
    assert!(
        float.contains("unlisted_price") || float.contains("input"),
        "{float}"
    );
    assert!(!bad("[providers.ollama]\nallow_unlisted_models = \"yes\"").is_empty());
    // A models list is an opt-in for the names it lists, so a price for them is fine.
    let listed = Config::resolve(
        RawConfig::parse(
            "[providers.ollama]\nmodels = [\"mistral\"]\nunlisted_price = { currency = \"USD\", input = \"0\", output = \"0\", as_of = \"x\", source = \"y\" }",
        )
        .unwrap(),
        &env_of(&[]),
    );
    assert!(listed.is_ok());
}

#[test]
fn the_guides_unlisted_models_example_opts_two_providers_in() {
    let page = include_str!("../../../docs/configuration.md");
    let block = page
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("allow_unlisted_models"))
        .unwrap();
    let env = |name: &str| name.ends_with("_API_KEY").then(|| "sk-test".to_owned());
    let c = Config::resolve(RawConfig::parse(block).unwrap(), &env).unwrap();
    let ollama = &c.providers["ollama"];
    assert!(ollama.allow_unlisted_models);
    let free = ollama.unlisted_price.as_ref().unwrap();
    assert!(free.input.is_zero() && free.output.is_zero());
    let sf = &c.providers["siliconflow"];
    let price = sf.unlisted_price.as_ref().unwrap();
    assert_eq!(price.currency, aihub_core::pricing::Currency::Cny);
    assert_eq!(price.input.to_string(), "2");
}

#[test]
fn the_secrets_key_comes_from_the_environment_or_a_file_and_is_never_printed() {
    const HEX: &str = "0f0e0d0c0b0a09080706050403020100000102030405060708090a0b0c0d0e0f";
    let hex = HEX;
    let c = Config::resolve(RawConfig::default(), &env_of(&[])).unwrap();
    assert!(c.secrets_key.is_none());
    let pairs: &'static [(&'static str, &'static str)] = &[("AIHUB_SECRETS_KEY", HEX)];
    let from_env = Config::resolve(RawConfig::default(), &env_of(pairs)).unwrap();
    let key = from_env.secrets_key.as_ref().unwrap();
    assert!(!format!("{from_env:?}").contains(hex));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key");
    std::fs::write(&path, format!("{hex}\n")).unwrap();
    let raw = RawConfig {
        secrets_key_file: Some(path.display().to_string()),
        ..RawConfig::default()
    };
    let from_file = Config::resolve(raw.clone(), &env_of(&[])).unwrap();
    assert_eq!(from_file.secrets_key.unwrap().id(), key.id());
    let bad: &'static [(&'static str, &'static str)] = &[("AIHUB_SECRETS_KEY", "too short")];
    let e = Config::resolve(raw, &env_of(bad)).unwrap_err().to_string();
    assert!(
        e.contains("AIHUB_SECRETS_KEY") && !e.contains("too short"),
        "{e}"
    );
}

#[test]
fn cache_settings_are_checked() {
    let load = |text: &str| Config::resolve(RawConfig::parse(text).unwrap(), &env_of(&[]));
    let c = load("").unwrap();
    assert!(!c.cache.enabled);
    assert!(c.cache.charge_fraction.is_zero());
    let c = load("[cache]\nenabled = true\ncharge_fraction = \"0.25\"\nttl_secs = 60").unwrap();
    assert!(c.cache.enabled);
    assert_eq!(c.cache.charge_fraction.to_string(), "0.25");
    assert_eq!(c.cache.ttl, std::time::Duration::from_secs(60));
    for bad in [
        "[cache]\ncharge_fraction = \"1.5\"",
        "[cache]\ncharge_fraction = \"-0.1\"",
        "[cache]\nttl_secs = 0",
        "[cache]\nttl_secs = 100\nmax_ttl_secs = 10",
    ] {
        let e = load(bad).unwrap_err().to_string();
        assert!(e.contains("cache."), "{bad}: {e}");
    }
    // A float is not an exact decimal: refused when the file is read.
    assert!(RawConfig::parse("[cache]\ncharge_fraction = 0.5").is_err());
}

#[test]
fn the_cache_guide_example_loads() {
    let page = include_str!("../../../docs/cache.md");
    let block = page
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let c = Config::resolve(RawConfig::parse(block).unwrap(), &env_of(&[])).unwrap();
    assert!(c.cache.enabled);
    // The guide shows the defaults.
    let expected = super::CacheSettings {
        enabled: true,
        ..super::CacheSettings::default()
    };
    assert_eq!(c.cache, expected);
}
