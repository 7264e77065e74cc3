//! `serve --demo`: the provider simulator in-process, configured as three providers (one per
//! wire family), a demo user and a fresh key — a streamed completion with no provider keys
//! and no network.

use aihub_core::providers::{ProviderConfig, ProviderKind, Quirks};
use secrecy::SecretString;

use crate::accounts::{Credentials, KeyOwner, NewKey, create_user, issue_key};
use crate::config::{Config, ProviderSettings};
use crate::state::AppState;

/// Demo user's e-mail.
pub const DEMO_EMAIL: &str = "demo@aihub.local";

/// Demo models, priced like the real models they imitate.
const DEMO_CATALOG: &str = r#"
[[models]]
id = "mock/gpt-4o-mini"
context_window = 128000
max_output = 16384
capabilities = { tools = true, vision = true, json = true, reasoning = false }
[models.price]
currency = "USD"
input = "0.15"
cached_input = "0.075"
output = "0.60"
as_of = "2026-11-22"
source = "demo: priced like openai/gpt-4o-mini"

[[models]]
id = "mock/text-embedding-3-small"
mode = "embedding"
context_window = 8191
[models.price]
currency = "USD"
input = "0.02"
output = "0"
as_of = "2026-11-22"
source = "demo: priced like openai/text-embedding-3-small"

[[models]]
id = "mock-anthropic/claude-sonnet-4-5"
context_window = 200000
max_output = 64000
capabilities = { tools = true, vision = true, json = true, reasoning = true }
[models.price]
currency = "USD"
input = "3"
cached_input = "0.30"
cache_write = "3.75"
output = "15"
as_of = "2026-11-22"
source = "demo: priced like anthropic/claude-sonnet-4-5"

[[models]]
id = "mock-gemini/gemini-2.5-flash"
context_window = 1048576
max_output = 65536
capabilities = { tools = true, vision = true, json = true, reasoning = true }
[models.price]
currency = "USD"
input = "0.30"
cached_input = "0.03"
output = "2.50"
as_of = "2026-11-22"
source = "demo: priced like gemini/gemini-2.5-flash"
"#;

/// What the simulator's other model names (`mock/gpt-4o-mini@latency_ms=800`, …) are billed
/// at, per provider: the price of the model each provider imitates.
const DEMO_UNLISTED_PRICES: [(&str, &str); 3] = [
    (
        "mock",
        r#"currency = "USD"
input = "0.15"
cached_input = "0.075"
output = "0.60"
as_of = "2026-11-22"
source = "demo: priced like openai/gpt-4o-mini""#,
    ),
    (
        "mock-anthropic",
        r#"currency = "USD"
input = "3"
cached_input = "0.30"
cache_write = "3.75"
cache_write_1h = "6"
output = "15"
as_of = "2026-11-22"
source = "demo: priced like anthropic/claude-sonnet-4-5""#,
    ),
    (
        "mock-gemini",
        r#"currency = "USD"
input = "0.30"
cached_input = "0.03"
output = "2.50"
as_of = "2026-11-22"
source = "demo: priced like gemini/gemini-2.5-flash""#,
    ),
];

/// The running simulator (it stops when this is dropped) and what is left to do once the gateway is up.
#[derive(Debug)]
pub struct Demo {
    _server: mock_upstream::MockServer,
}

/// A simulated provider that serves every model name (the simulator's scenario suffixes
/// make names the catalog cannot list) at the price of the model it imitates.
fn provider(id: &str, kind: ProviderKind, base: String) -> Result<ProviderSettings, String> {
    let mut adapter = ProviderConfig::new(id, kind, base);
    adapter.api_key = Some(SecretString::from("demo-key"));
    adapter.quirks = Quirks::default();
    let price = DEMO_UNLISTED_PRICES
        .iter()
        .find(|(p, _)| *p == id)
        .map(|(_, text)| toml::from_str(text).map_err(|e| format!("demo price of {id}: {e}")))
        .transpose()?;
    Ok(ProviderSettings {
        adapter,
        models: None,
        allow_unlisted_models: true,
        unlisted_price: price,
    })
}

/// Starts the simulator and adds it to `config` as providers `mock`, `mock-anthropic` and
/// `mock-gemini`. Without a configured database the demo uses `./aihub-demo.db`.
pub async fn prepare(
    config: &mut Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Demo, String> {
    let server = mock_upstream::spawn(([127, 0, 0, 1], 0).into())
        .await
        .map_err(|e| format!("provider simulator: {e}"))?;
    config.providers.insert(
        "mock".into(),
        provider("mock", ProviderKind::OpenAi, server.openai_base())?,
    );
    config.providers.insert(
        "mock-anthropic".into(),
        provider(
            "mock-anthropic",
            ProviderKind::Anthropic,
            server.anthropic_base(),
        )?,
    );
    config.providers.insert(
        "mock-gemini".into(),
        provider("mock-gemini", ProviderKind::Gemini, server.gemini_base())?,
    );
    config
        .catalog
        .merge_toml(DEMO_CATALOG)
        .map_err(|e| e.to_string())?;
    if env("AIHUB_DATABASE_URL").is_none()
        && config.database_url == crate::config::DEFAULT_DATABASE_URL
    {
        config.database_url = "sqlite://aihub-demo.db".into();
    }
    Ok(Demo { _server: server })
}

impl Demo {
    /// Creates the demo user if needed and a fresh key; returns what to print.
    pub async fn finish(&self, state: &AppState, addr: &str) -> Result<String, String> {
        let user = match state
            .store
            .user_by_email(DEMO_EMAIL)
            .await
            .map_err(|e| e.to_string())?
        {
            Some((u, _)) => u,
            None => {
                let c = Credentials {
                    email: DEMO_EMAIL.into(),
                    password: crate::accounts::generate_session_token(),
                };
                let user = create_user(state, &c)
                    .await
                    .map_err(|e| e.0.message().to_owned())?;
                // The demo shows the API, not the limits of a Free account.
                state
                    .store
                    .set_user_plan(user.id, "enterprise")
                    .await
                    .map_err(|e| e.to_string())?;
                user
            }
        };
        let req = NewKey {
            name: "demo".into(),
            ..NewKey::default()
        };
        let (_, key) = issue_key(state, KeyOwner::of_user(&user, &req), &req)
            .await
            .map_err(|e| e.0.message().to_owned())?;
        Ok(format!(
            "\nDemo mode: a provider simulator answers as `mock` (OpenAI format), `mock-anthropic` and `mock-gemini`.\n\
             Demo API key (shown once): {key}\n\n\
             Try a streamed completion:\n  \
             curl -N http://{addr}/v1/chat/completions -H 'authorization: Bearer {key}' -H 'content-type: application/json' \\\n    \
             -d '{{\"model\":\"mock/gpt-4o-mini\",\"stream\":true,\"messages\":[{{\"role\":\"user\",\"content\":\"Hello!\"}}]}}'\n\n\
             Or with the openai Python package:\n  \
             OpenAI(base_url=\"http://{addr}/v1\", api_key=\"{key}\")\n"
        ))
    }
}
