//! The gateway end to end over real sockets: mock-upstream behind it, SQLite under it.
#![cfg(test)]

mod accounts;
mod answers;
mod billing;
mod cache;
mod capacity;
mod cors;
mod crash;
mod deployments;
mod errors;
mod ingress;
mod limits;
mod organizations;
mod pipeline;
mod rights;
mod routing;
mod stalls;
mod storms;
mod streaming;
mod unlisted;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use aihub_server::config::{Config, RawConfig};
use aihub_server::{AppState, Background};
use mock_upstream::MockServer;
use serde_json::{Value, json};

/// Master key of test gateways.
pub const MASTER: &str = "test-master-key";

/// Put in the extra configuration to start a gateway without a master key (its admin API
/// disabled).
pub const WITHOUT_MASTER_KEY: &str = "# without master_key";

/// A running gateway with its mock upstream.
pub struct Gateway {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The mock upstream behind it.
    pub mock: MockServer,
    /// State, for direct store checks.
    pub state: AppState,
    /// Milliseconds added to the system clock (to move time forward).
    pub clock_offset: Arc<AtomicI64>,
    /// HTTP client.
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    background: Option<Background>,
}

/// Prices of the simulated models (the real models' list prices).
pub const TEST_CATALOG: &str = r#"
[[models]]
id = "mock/gpt-4o-mini"
context_window = 128000
[models.price]
currency = "USD"
input = "0.15"
cached_input = "0.075"
output = "0.60"
as_of = "2026-11-22"
source = "test"

[[models]]
id = "mock/gpt-4o-mini@latency_ms=600"
context_window = 128000
[models.price]
currency = "USD"
input = "0.15"
output = "0.60"
as_of = "2026-11-22"
source = "test: the slow mock model"

[[models]]
id = "mock/gpt-4o-mini@fail_times=2,status=503"
context_window = 128000
[models.price]
currency = "USD"
input = "0.15"
output = "0.60"
as_of = "2026-11-22"
source = "test: the mock model that fails twice"

[[models]]
id = "mock/gpt-4o-mini@latency_ms=3000"
context_window = 128000
[models.price]
currency = "USD"
input = "0.15"
output = "0.60"
as_of = "2026-11-22"
source = "test: the mock model slower than the upstream timeout"

[[models]]
id = "mock-gemini/text-embedding-004"
mode = "embedding"
context_window = 2048
[models.price]
currency = "USD"
input = "0.10"
output = "0"
as_of = "2026-11-22"
source = "test"

[[models]]
id = "mock/text-embedding-3-small"
mode = "embedding"
context_window = 8191
[models.price]
currency = "USD"
input = "0.02"
output = "0"
as_of = "2026-11-22"
source = "test"

[[models]]
id = "mock-anthropic/claude-sonnet-4-5"
context_window = 200000
[models.price]
currency = "USD"
input = "3"
output = "15"
as_of = "2026-11-22"
source = "test"

[[models]]
id = "mock-gemini/gemini-2.5-flash"
context_window = 1048576
[models.price]
currency = "USD"
input = "0.30"
output = "2.50"
as_of = "2026-11-22"
source = "test"
"#;

/// A Free plan without limits, for tests of everything but limits.
pub const UNLIMITED_FREE: &str = "[plans.free]\nname = \"Free (tests: unlimited)\"\n";

/// Configuration text for a gateway in front of `mock`. The mock providers serve every model
/// name (scenario suffixes such as `@latency_ms=600` make names the catalog cannot list), at
/// the price of the model each imitates.
pub fn config_text(mock: &MockServer, extra: &str) -> String {
    format!(
        r#"
        listen = "127.0.0.1:0"
        {master}
        {retries}
        upstream_timeout_secs = 2
        max_body_bytes = 65536
        {extra}
        catalog = '''{TEST_CATALOG}'''
        [providers.mock]
        kind = "openai"
        base_url = "{openai}"
        api_key = "sk-mock"
        allow_unlisted_models = true
        unlisted_price = {{ currency = "USD", input = "0.15", cached_input = "0.075", output = "0.60", as_of = "2026-11-22", source = "test: scenario names, priced like gpt-4o-mini" }}
        [providers.mock-anthropic]
        kind = "anthropic"
        base_url = "{anthropic}"
        api_key = "sk-ant-mock"
        allow_unlisted_models = true
        unlisted_price = {{ currency = "USD", input = "3", output = "15", as_of = "2026-11-22", source = "test: scenario names, priced like claude-sonnet-4-5" }}
        [providers.mock-gemini]
        kind = "gemini"
        base_url = "{gemini}"
        api_key = "g-mock"
        allow_unlisted_models = true
        unlisted_price = {{ currency = "USD", input = "0.30", output = "2.50", as_of = "2026-11-22", source = "test: scenario names, priced like gemini-2.5-flash" }}
        "#,
        master = if extra.contains(WITHOUT_MASTER_KEY) {
            String::new()
        } else {
            format!("master_key = \"{MASTER}\"")
        },
        retries = if extra.contains("upstream_max_retries") {
            ""
        } else {
            "upstream_max_retries = 0"
        },
        openai = mock.openai_base(),
        anthropic = mock.anthropic_base(),
        gemini = mock.gemini_base(),
    )
}

impl Gateway {
    /// Starts a gateway on a fresh SQLite file.
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// Starts a gateway with extra top-level configuration. New users' Free plan has no
    /// limits here, so that tests of other features are not throttled.
    pub async fn start_with(extra: &str) -> Self {
        Self::start_setup(None, extra, UNLIMITED_FREE).await
    }

    /// Starts a gateway on `database_url` (a fresh SQLite file when `None`), with extra
    /// top-level keys and extra tables (`[plans.*]`, `[limits]`, `[providers.*]`, …), in
    /// which `{mock_openai}` and `{mock_anthropic}` stand for the mock upstream's OpenAI and
    /// Anthropic base URLs.
    pub async fn start_setup(database_url: Option<String>, extra: &str, tables: &str) -> Self {
        let mock = mock_upstream::spawn("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = database_url
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("aihub.db").display()));
        let text = format!(
            "database_url = \"{db}\"\n{}\n{}",
            config_text(&mock, extra),
            tables
                .replace("{mock_openai}", &mock.openai_base())
                .replace("{mock_anthropic}", &mock.anthropic_base()),
        );
        let config = Config::resolve(RawConfig::parse(&text).unwrap(), &|_| None).unwrap();
        let offset = Arc::new(AtomicI64::new(0));
        let o = offset.clone();
        let clock = Arc::new(move || aihub_server::timeutil::now_ms() + o.load(Ordering::SeqCst));
        let (state, background) = AppState::start(config, Some(clock)).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let s = state.clone();
        let server = tokio::spawn(async move {
            aihub_server::serve(listener, s, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            url,
            mock,
            state,
            clock_offset: offset,
            http: reqwest::Client::new(),
            _dir: dir,
            shutdown: Some(tx),
            server: Some(server),
            background: Some(background),
        }
    }

    /// Requests the mock upstream received for the model name `model`.
    pub fn upstream_calls(&self, model: &str) -> usize {
        self.mock
            .requests()
            .iter()
            .filter(|r| r.body["model"].as_str() == Some(model))
            .count()
    }

    /// Stops the server and waits until every usage record is written.
    pub async fn stop(mut self) -> AppState {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        self.state.clone()
    }

    /// A new user with a session token and an API key: `(token, key)`.
    pub async fn user(&self, email: &str) -> (String, String) {
        let creds = json!({"email": email, "password": "a long password"});
        let r = self.post("/api/v1/auth/register", None, &creds).await;
        assert_eq!(r.0, 201, "{}", r.1);
        let (status, body) = self.post("/api/v1/auth/login", None, &creds).await;
        assert_eq!(status, 200, "{body}");
        let token = body["token"].as_str().unwrap().to_owned();
        let (status, body) = self
            .post(
                "/api/v1/auth/api-keys",
                Some(&token),
                &json!({"name": "test"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (token, body["key"].as_str().unwrap().to_owned())
    }

    /// POSTs JSON; returns status and JSON body (Null when not JSON).
    pub async fn post(&self, path: &str, bearer: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.url)).json(body);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// GETs; returns status and JSON body.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Sends `method` to `path` with an optional bearer and JSON body; returns status and
    /// JSON body (Null when not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Waits until the user's usage history has `n` records, and returns them.
    pub async fn wait_for_records(&self, token: &str, n: usize) -> Vec<Value> {
        for _ in 0..100 {
            let (_, body) = self
                .get("/api/v1/usage/history?limit=1000", Some(token))
                .await;
            let rows = body["data"].as_array().cloned().unwrap_or_default();
            if rows.len() >= n {
                return rows;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("fewer than {n} usage records after 5 s");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        drop(self.background.take());
    }
}

/// A minimal chat body.
pub fn chat(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}
