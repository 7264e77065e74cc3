//! Deployments managed at run time through `/api/v1/admin/deployments` (docs/routing.md):
//! they serve at once on the instance that made them and on the others without a restart,
//! edits and deletions take effect, their credential reaches the upstream but never an
//! answer or the database in the clear, and the health listing shows breakers opening.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::limits::harness;
use crate::{Gateway, MASTER, chat};

/// The credential the tests give deployments; it must never come back.
const SECRET: &str = "sk-managed-0123456789abcdefSECRET";

/// A provider in front of the mock upstream that records the `Authorization` each request
/// carried, so that a test sees which credential a deployment used.
struct Capture {
    url: String,
    target: Arc<OnceLock<String>>,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Capture {
    async fn start() -> Self {
        let target: Arc<OnceLock<String>> = Arc::default();
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let (t, s) = (target.clone(), seen.clone());
        let http = reqwest::Client::new();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (target, seen, http) = (t.clone(), s.clone(), http.clone());
            async move {
                let path = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default();
                let auth = req
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let body = axum::body::to_bytes(req.into_body(), usize::MAX)
                    .await
                    .unwrap();
                let model = serde_json::from_slice::<Value>(&body).unwrap_or_default()["model"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                seen.lock().unwrap().push((model, auth.clone()));
                let answer = http
                    .post(format!("{}{path}", target.get().unwrap()))
                    .header("authorization", auth)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = answer.status().as_u16();
                let bytes = answer.bytes().await.unwrap();
                axum::response::Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(bytes))
                    .unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, target, seen }
    }

    /// Credentials seen for `model`.
    fn credentials(&self, model: &str) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m == model)
            .map(|(_, a)| a.clone())
            .collect()
    }
}

/// Tables for a gateway with a secrets key (in `dir`) and a `capture` provider.
fn tables(dir: &std::path::Path, capture: &Capture, poll_secs: u64) -> (String, String) {
    let key_file = dir.join("secrets.key");
    std::fs::write(&key_file, format!("{}\n", "ab".repeat(32))).unwrap();
    let extra = format!("secrets_key_file = \"{}\"", key_file.display());
    let tables = format!(
        r#"
[plans.free]
name = "Free (tests: unlimited)"

[routing]
deployments_poll_secs = {poll_secs}

[routing.breaker]
min_requests = 3
failure_percent = 50
cooldown_secs = 30

[providers.capture]
kind = "openai"
base_url = "{capture}/v1"
api_key = "sk-capture-provider-key"
allow_unlisted_models = true
unlisted_price = {{ currency = "USD", input = "0.15", output = "0.60", as_of = "2026-11-22", source = "test" }}

[routing.groups.cfg]
deployments = [{{ id = "cfg-1", provider = "mock", model = "gpt-4o-mini-cfg", priority = 5 }}]
"#,
        capture = capture.url
    );
    (extra, tables)
}

/// A gateway on `db` (a fresh SQLite file when `None`) with a secrets key and a capture
/// provider in front of its mock upstream.
async fn managed_gateway(
    db: Option<String>,
    extra: &str,
    poll_secs: u64,
) -> (Gateway, Capture, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let capture = Capture::start().await;
    let (key_extra, tables) = tables(dir.path(), &capture, poll_secs);
    let g = Gateway::start_setup(db, &format!("{key_extra}\n{extra}"), &tables).await;
    capture.target.set(g.mock.base_url()).unwrap();
    (g, capture, dir)
}

/// Answers seen so far, to check that none carries the credential.
#[derive(Default)]
struct Answers(Vec<String>);

impl Answers {
    fn keep(&mut self, answer: (u16, Value)) -> (u16, Value) {
        self.0.push(answer.1.to_string());
        answer
    }

    fn assert_clean(&self) {
        for a in &self.0 {
            assert!(!a.contains(SECRET), "an answer shows the credential: {a}");
            assert!(
                !a.contains("0123456789abcdef"),
                "an answer shows part of it: {a}"
            );
        }
    }
}

async fn admin(g: &Gateway, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    g.call(method, &format!("/api/v1/admin{path}"), Some(MASTER), body)
        .await
}

/// The upstream model that served each of `n` chat requests to `group`.
async fn served(g: &Gateway, key: &str, group: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let before = g.mock.requests().len();
        let (status, body) = g
            .post("/v1/chat/completions", Some(key), &chat(group, "hello"))
            .await;
        assert_eq!(status, 200, "{group}: {body}");
        let requests = g.mock.requests();
        let last = requests[before..].last().unwrap();
        out.push(last.body["model"].as_str().unwrap().to_owned());
    }
    out
}

async fn manage_and_serve(db: Option<String>) {
    let (g, capture, _dir) = managed_gateway(db, "", 5).await;
    let (token, key) = g.user("deployments@example.com").await;
    let mut answers = Answers::default();

    // Only the operator manages deployments.
    let path = "/api/v1/admin/deployments";
    assert_eq!(g.get(path, None).await.0, 401);
    for caller in [&token, &key] {
        let (status, _) = g.get(path, Some(caller)).await;
        assert!(status == 401 || status == 403, "{status}");
        let create = json!({"group": "x", "provider": "mock", "model": "m"});
        let (status, _) = g.post(path, Some(caller), &create).await;
        assert!(status == 401 || status == 403, "{status}");
    }

    // A new group, served by a deployment with its own credential, at once.
    let (status, body) = answers.keep(
        admin(
            &g,
            Method::POST,
            "/deployments",
            Some(
                &json!({"id": "db-1", "group": "managed", "provider": "capture",
                         "model": "gpt-4o-mini-db1", "credential": SECRET}),
            ),
        )
        .await,
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["credential"], json!({"set": true}));
    assert_eq!(body["source"], "api");
    assert_eq!(body["serving"], true, "{body}");
    assert_eq!(body["version"], 1);
    assert_eq!(served(&g, &key, "managed", 1).await, ["gpt-4o-mini-db1"]);
    assert_eq!(
        capture.credentials("gpt-4o-mini-db1"),
        [format!("Bearer {SECRET}")],
        "the upstream got the deployment's own credential, not the provider's"
    );

    // A second deployment without a credential, behind the first.
    let (status, body) = answers.keep(
        admin(
            &g,
            Method::POST,
            "/deployments",
            Some(
                &json!({"id": "db-2", "group": "managed", "provider": "mock",
                         "model": "gpt-4o-mini-db2", "priority": 1}),
            ),
        )
        .await,
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["credential"], json!({"set": false}));
    assert!(
        served(&g, &key, "managed", 3)
            .await
            .iter()
            .all(|m| m == "gpt-4o-mini-db1")
    );

    // Disabled, it takes no traffic; enabled at the same priority with the other's weight
    // at 0, it takes all of it.
    let (status, body) = answers.keep(
        admin(
            &g,
            Method::PATCH,
            "/deployments/db-1",
            Some(&json!({"enabled": false})),
        )
        .await,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["enabled"], false);
    assert_eq!(body["version"], 2);
    assert!(
        served(&g, &key, "managed", 3)
            .await
            .iter()
            .all(|m| m == "gpt-4o-mini-db2")
    );
    let edit = json!({"enabled": true, "priority": 1});
    let (status, body) =
        answers.keep(admin(&g, Method::PATCH, "/deployments/db-1", Some(&edit)).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["credential"], json!({"set": true}), "kept: {body}");
    let (status, _) = admin(
        &g,
        Method::PATCH,
        "/deployments/db-2",
        Some(&json!({"weight": 0})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        served(&g, &key, "managed", 4)
            .await
            .iter()
            .all(|m| m == "gpt-4o-mini-db1")
    );

    // A stored deployment may join a group of aihub.toml, whose own deployments stay
    // read-only here.
    let (status, body) = admin(
        &g,
        Method::POST,
        "/deployments",
        Some(
            &json!({"id": "db-3", "group": "cfg", "provider": "mock", "model": "gpt-4o-mini-db3"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(served(&g, &key, "cfg", 2).await, ["gpt-4o-mini-db3"; 2]);
    for method in [Method::PATCH, Method::DELETE] {
        let (status, body) = admin(
            &g,
            method,
            "/deployments/cfg-1",
            Some(&json!({"weight": 2})),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "deployment_read_only", "{body}");
    }
    let taken = json!({"id": "cfg-1", "group": "x", "provider": "mock", "model": "m"});
    let (status, body) = admin(&g, Method::POST, "/deployments", Some(&taken)).await;
    assert_eq!(
        (status, &body["error"]["param"]),
        (400, &json!("id")),
        "{body}"
    );
    let again = json!({"id": "db-1", "group": "x", "provider": "mock", "model": "m"});
    let (status, body) = admin(&g, Method::POST, "/deployments", Some(&again)).await;
    assert_eq!(status, 400, "{body}");
    let nowhere = json!({"group": "x", "provider": "nowhere", "model": "m"});
    let (status, body) = admin(&g, Method::POST, "/deployments", Some(&nowhere)).await;
    assert_eq!(
        (status, &body["error"]["param"]),
        (400, &json!("provider")),
        "{body}"
    );

    // The test endpoint probes one deployment, a working one and one whose key is refused,
    // and never shows that key.
    let (status, body) =
        answers.keep(admin(&g, Method::POST, "/deployments/db-1/test", None).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["status"], 200);
    assert!(body["latency_ms"].is_u64());
    let bad = json!({"id": "db-bad", "group": "bad", "provider": "capture",
                     "model": "gpt-4o-mini-bad", "credential": "bad-key"});
    assert_eq!(
        admin(&g, Method::POST, "/deployments", Some(&bad)).await.0,
        201
    );
    let (status, body) = admin(&g, Method::POST, "/deployments/db-bad/test", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["ok"].clone(), body["status"].clone()),
        (json!(false), json!(401))
    );
    assert_eq!(body["error"], "authentication", "{body}");
    assert!(!body.to_string().contains("bad-key"), "{body}");
    let (status, _) = admin(&g, Method::POST, "/deployments/nope/test", None).await;
    assert_eq!(status, 404);

    // Listing and showing: never the credential.
    let (status, list) = answers.keep(admin(&g, Method::GET, "/deployments", None).await);
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["cfg-1", "db-1", "db-2", "db-3", "db-bad"]);
    assert_eq!(list["data"][0]["source"], "config");
    answers.keep(admin(&g, Method::GET, "/deployments/db-1", None).await);
    answers.keep(admin(&g, Method::GET, "/deployments/health", None).await);
    answers.assert_clean();

    // The database holds the credential sealed only.
    sqlx::any::install_default_drivers();
    let url = g.state.config.database_url.clone();
    let raw = sqlx::AnyPool::connect(&url).await.unwrap();
    let rows = sqlx::query(
        "SELECT id, group_name, provider, upstream_model, credential_key_id, \
         credential_nonce, credential_ciphertext FROM deployments",
    )
    .fetch_all(&raw)
    .await
    .unwrap();
    assert_eq!(rows.len(), 4);
    let mut sealed = 0;
    for row in &rows {
        for column in 0..7 {
            let value: Option<String> = sqlx::Row::try_get(row, column).unwrap();
            let value = value.unwrap_or_default();
            assert!(
                !value.contains(SECRET) && !value.contains("bad-key"),
                "{value}"
            );
            sealed += usize::from(column == 6 && !value.is_empty());
        }
    }
    assert_eq!(sealed, 2, "db-1 and db-bad have a sealed credential");
    raw.close().await;
    if let Some(path) = url.strip_prefix("sqlite://") {
        for file in [path.to_owned(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                let text = String::from_utf8_lossy(&bytes);
                assert!(!text.contains(SECRET), "{file} holds the credential");
            }
        }
    }

    // Deleted, a deployment serves no more; a group whose last deployment went is gone.
    let (status, _) = admin(
        &g,
        Method::PATCH,
        "/deployments/db-2",
        Some(&json!({"weight": 1})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = admin(&g, Method::DELETE, "/deployments/db-1", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deleted"], true);
    assert_eq!(
        admin(&g, Method::GET, "/deployments/db-1", None).await.0,
        404
    );
    assert!(
        served(&g, &key, "managed", 3)
            .await
            .iter()
            .all(|m| m == "gpt-4o-mini-db2")
    );
    assert_eq!(
        admin(&g, Method::DELETE, "/deployments/db-2", None).await.0,
        200
    );
    let (status, body) = g
        .post(
            "/v1/chat/completions",
            Some(&key),
            &chat("managed", "hello"),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "model_not_found");
}

#[tokio::test]
async fn deployments_created_through_the_api_serve_change_and_go_on_sqlite() {
    manage_and_serve(None).await;
}

#[tokio::test]
async fn deployments_created_through_the_api_serve_change_and_go_on_postgres() {
    harness::in_fresh_postgres(|db| async move { manage_and_serve(Some(db)).await }).await;
}

/// Waits until a chat request to `group` on `g` gets `status` (within `limit`).
async fn until_status(g: &Gateway, key: &str, group: &str, status: u16, limit: Duration) {
    let start = Instant::now();
    loop {
        let (got, body) = g
            .post("/v1/chat/completions", Some(key), &chat(group, "hello"))
            .await;
        if got == status {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{group} still answers {got} after {limit:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two instances on `db`: a deployment created on one serves on the other, an edit made on
/// the other reaches the first, and a deletion both, within `limit`.
async fn two_instances(db: String, extra: &str, poll_secs: u64, limit: Duration) {
    let (a, _ca, _da) = managed_gateway(Some(db.clone()), extra, poll_secs).await;
    let (b, _cb, _db) = managed_gateway(Some(db), extra, poll_secs).await;
    let (_, key) = a.user("two@example.com").await;
    let create = json!({"id": "shared-1", "group": "shared", "provider": "mock",
                        "model": "gpt-4o-mini-shared"});
    assert_eq!(
        admin(&a, Method::POST, "/deployments", Some(&create))
            .await
            .0,
        201
    );
    until_status(&b, &key, "shared", 200, limit).await;
    assert_eq!(served(&b, &key, "shared", 1).await, ["gpt-4o-mini-shared"]);
    let off = json!({"enabled": false});
    assert_eq!(
        admin(&b, Method::PATCH, "/deployments/shared-1", Some(&off))
            .await
            .0,
        200
    );
    until_status(&a, &key, "shared", 503, limit).await;
    assert_eq!(
        admin(&a, Method::DELETE, "/deployments/shared-1", None)
            .await
            .0,
        200
    );
    until_status(&b, &key, "shared", 404, limit).await;
}

#[tokio::test]
async fn a_deployment_made_on_one_instance_serves_on_another_through_redis() {
    harness::in_fresh_postgres(|db| async move {
        // The poll is an hour away: only the Redis announcement can carry the change.
        let extra = "redis_url = \"redis://127.0.0.1:6379\"";
        two_instances(db, extra, 3600, Duration::from_secs(3)).await;
    })
    .await;
}

#[tokio::test]
async fn a_deployment_made_on_one_instance_serves_on_another_by_polling_without_redis() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("shared.db").display());
    two_instances(db, "", 1, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_health_listing_shows_a_breaker_opening_and_a_reload_keeps_it() {
    let (g, _capture, _dir) = managed_gateway(None, "", 5).await;
    let (_, key) = g.user("health@example.com").await;
    let weak = "gpt-4o-mini@fail_times=3,status=500";
    for (id, model, priority) in [("weak", weak, 0), ("strong", "gpt-4o-mini-strong", 1)] {
        let body = json!({"id": id, "group": "fragile", "provider": "mock",
                          "model": model, "priority": priority});
        assert_eq!(
            admin(&g, Method::POST, "/deployments", Some(&body)).await.0,
            201
        );
    }
    // Three failures in three attempts open weak's breaker; strong serves every request.
    assert_eq!(
        served(&g, &key, "fragile", 5).await,
        ["gpt-4o-mini-strong"; 5]
    );
    let breaker = |list: &Value, id: &str| {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .unwrap_or_else(|| panic!("{id} not in {list}"))
            .clone()
    };
    let (status, list) = admin(&g, Method::GET, "/deployments/health", None).await;
    assert_eq!(status, 200, "{list}");
    let w = breaker(&list, "weak");
    assert_eq!(w["breaker"], "open", "{w}");
    assert_eq!(w["group"], "fragile");
    assert_eq!(w["in_flight"], 0);
    let s = breaker(&list, "strong");
    assert_eq!(s["breaker"], "closed", "{s}");
    assert_eq!(s["recent_requests"], 5, "{s}");
    assert_eq!(s["recent_failures"], 0);
    assert!(s["latency_ms"].as_f64().unwrap() > 0.0, "{s}");
    assert_eq!(breaker(&list, "cfg-1")["breaker"], "closed");

    // Other changes reload the router; weak's breaker stays open through them, and through
    // an edit of its weight (its provider, model and credential are the same).
    let other = json!({"id": "other", "group": "elsewhere", "provider": "mock", "model": "m"});
    assert_eq!(
        admin(&g, Method::POST, "/deployments", Some(&other))
            .await
            .0,
        201
    );
    let heavier = json!({"weight": 2});
    assert_eq!(
        admin(&g, Method::PATCH, "/deployments/weak", Some(&heavier))
            .await
            .0,
        200
    );
    let (_, list) = admin(&g, Method::GET, "/deployments", None).await;
    let w = breaker(&list, "weak");
    assert_eq!(w["health"]["breaker"], "open", "{w}");
    assert_eq!(w["weight"], 2);
    assert_eq!(
        served(&g, &key, "fragile", 2).await,
        ["gpt-4o-mini-strong"; 2]
    );
    // A new model is a new deployment as far as health goes: its breaker starts closed.
    let moved = json!({"model": "gpt-4o-mini-moved"});
    assert_eq!(
        admin(&g, Method::PATCH, "/deployments/weak", Some(&moved))
            .await
            .0,
        200
    );
    let (_, list) = admin(&g, Method::GET, "/deployments/health", None).await;
    assert_eq!(breaker(&list, "weak")["breaker"], "closed");
}

#[tokio::test]
async fn without_a_secrets_key_a_credential_is_refused_and_the_provider_key_serves() {
    let g = Gateway::start_setup(None, "", "[plans.free]\nname = \"Unlimited\"\n").await;
    let (_, key) = g.user("nokey@example.com").await;
    let with = json!({"group": "plain", "provider": "mock", "model": "gpt-4o-mini-plain",
                      "credential": SECRET});
    let (status, body) = admin(&g, Method::POST, "/deployments", Some(&with)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"]["code"], "secrets_key_not_configured",
        "{body}"
    );
    assert!(!body.to_string().contains(SECRET));
    let without = json!({"group": "plain", "provider": "mock", "model": "gpt-4o-mini-plain"});
    let (status, body) = admin(&g, Method::POST, "/deployments", Some(&without)).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["id"].as_str().unwrap().starts_with("dep-"), "{body}");
    assert_eq!(served(&g, &key, "plain", 1).await, ["gpt-4o-mini-plain"]);

    // docs/api.md shows a deployment with the fields an answer has.
    let page = include_str!("../../../docs/api.md");
    let example: Value = page
        .split("### Deployments")
        .nth(1)
        .and_then(|s| s.split("```json\n").nth(1))
        .and_then(|s| s.split("```").next())
        .map(|text| serde_json::from_str(text).unwrap())
        .unwrap();
    let (_, answer) = admin(
        &g,
        Method::GET,
        &format!("/deployments/{}", body["id"].as_str().unwrap()),
        None,
    )
    .await;
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&example), keys(&answer), "{answer}");
    assert_eq!(
        keys(&example["health"]),
        keys(&answer["health"]),
        "{answer}"
    );
}
