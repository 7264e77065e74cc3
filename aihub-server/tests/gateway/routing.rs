//! Routing over model groups (docs/routing.md): breakers, key pools, fallbacks by error
//! class, weighted and latency-based choice, stream failover before content, and fallbacks
//! that must fit the caller's budget. The mock upstream's scenario names (`model@knob=value`)
//! make deployments that fail in scripted ways.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::limits::harness;
use crate::{Gateway, MASTER, chat};

/// Groups over the mock upstream's OpenAI wire (`mock`, which serves any model name at
/// gpt-4o-mini's price) and its Anthropic wire (`mock-anthropic`, at Claude Sonnet's price).
const ROUTES: &str = r#"
[plans.free]
name = "Free (tests: unlimited)"

[routing]
first_token_timeout_ms = 400

[routing.breaker]
min_requests = 3
failure_percent = 50
cooldown_secs = 1

[routing.groups.flaky]
deployments = [
  { id = "primary", provider = "mock", model = "gpt-4o-mini@fail_times=3,status=500", priority = 0 },
  { id = "secondary", provider = "mock", model = "gpt-4o-mini-secondary", priority = 1 },
]

[routing.groups.pool]
strategy = "weighted"
deployments = [
  { id = "revoked-key", provider = "mock", model = "gpt-4o-mini-pool", api_key_file = "{bad_key_file}" },
  { id = "good-key", provider = "mock", model = "gpt-4o-mini-pool" },
]

[routing.groups.short]
context_window_fallbacks = ["long"]
fallbacks = ["general"]
deployments = [{ provider = "mock", model = "gpt-4o-mini@context_exceeded=1" }]

[routing.groups.long]
deployments = [{ provider = "mock", model = "gpt-4o-mini-long" }]

[routing.groups.general]
deployments = [{ provider = "mock", model = "gpt-4o-mini-general" }]

[routing.groups.split]
strategy = "weighted"
deployments = [
  { id = "three", provider = "mock", model = "gpt-4o-mini-three", weight = 3 },
  { id = "one", provider = "mock", model = "gpt-4o-mini-one", weight = 1 },
  { id = "none", provider = "mock", model = "gpt-4o-mini-none", weight = 0 },
]

[routing.groups.fastest]
strategy = "lowest_latency"
deployments = [
  { id = "slow", provider = "mock", model = "gpt-4o-mini@latency_ms=150" },
  { id = "fast", provider = "mock", model = "gpt-4o-mini-fast" },
]

[routing.groups.streamy]
deployments = [
  { id = "cut", provider = "mock", model = "gpt-4o-mini@error_event=0", priority = 0 },
  { id = "ok", provider = "mock", model = "gpt-4o-mini", priority = 1 },
]

[routing.groups.stalled]
deployments = [
  { id = "stall", provider = "mock", model = "gpt-4o-mini@ttft_ms=5000", priority = 0 },
  { id = "unstalled", provider = "mock", model = "gpt-4o-mini-unstalled", priority = 1 },
]

[routing.groups.late]
fallbacks = ["mock/gpt-4o-mini-fallback"]
deployments = [{ provider = "mock", model = "gpt-4o-mini@error_event=2" }]

[routing.groups.both-cut]
fallbacks = ["cut-too"]
deployments = [{ provider = "mock", model = "gpt-4o-mini@status=503" }]

[routing.groups.cut-too]
deployments = [{ provider = "mock", model = "gpt-4o-mini@drop_after=0" }]

[routing.groups.cheap-first]
fallbacks = ["dear"]
deployments = [{ provider = "mock", model = "gpt-4o-mini@status=500" }]

[routing.groups.dear]
deployments = [{ provider = "mock-anthropic", model = "claude-sonnet-4-5" }]
"#;

/// A gateway with [`ROUTES`], on SQLite or on `db`.
async fn gateway(db: Option<String>) -> (Gateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("revoked-key");
    std::fs::write(&bad, "bad-key\n").unwrap();
    let tables = ROUTES.replace("{bad_key_file}", &bad.display().to_string());
    (Gateway::start_setup(db, "", &tables).await, dir)
}

/// Upstream requests so far, by the model name they asked for.
fn hits(g: &Gateway) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for r in g.mock.requests() {
        if let Some(m) = r.body["model"].as_str() {
            *out.entry(m.to_owned()).or_default() += 1;
        }
    }
    out
}

fn count(hits: &HashMap<String, usize>, model: &str) -> usize {
    hits.get(model).copied().unwrap_or(0)
}

async fn ask(g: &Gateway, key: &str, model: &str) -> (u16, Value) {
    g.post("/v1/chat/completions", Some(key), &chat(model, "hello"))
        .await
}

#[tokio::test]
async fn a_failing_primary_is_taken_out_and_probed_once_after_its_cooldown() {
    let run = |db: Option<String>| async move {
        let (g, _dir) = gateway(db).await;
        let (token, key) = g.user("breaker@example.com").await;
        let primary = "gpt-4o-mini@fail_times=3,status=500";
        for _ in 0..10 {
            let (status, body) = ask(&g, &key, "flaky").await;
            assert_eq!(status, 200, "{body}");
        }
        let h = hits(&g);
        // Three failures open the breaker (3 requests, 100 % failed); after that the
        // primary gets nothing while it is open.
        assert_eq!(count(&h, primary), 3, "{h:?}");
        assert_eq!(count(&h, "gpt-4o-mini-secondary"), 10, "{h:?}");
        let rows = g.wait_for_records(&token, 10).await;
        let served_by_secondary = rows
            .iter()
            .filter(|r| r["upstream_model"] == "gpt-4o-mini-secondary")
            .count();
        assert_eq!(served_by_secondary, 10, "{rows:?}");
        assert_eq!(
            rows.iter().filter(|r| r["attempts"] == 2).count(),
            3,
            "the three requests that met the failing primary made two attempts: {rows:?}"
        );
        // Each of them keeps its waterfall: the primary's 500, then the secondary's answer.
        for row in rows.iter().filter(|r| r["attempts"] == 2) {
            let log = row["attempt_log"].as_array().expect("an attempt log");
            assert_eq!(log.len(), 2, "{row}");
            assert_eq!(log[0]["deployment"], "primary", "{row}");
            assert_eq!(log[0]["model"], format!("mock/{primary}"), "{row}");
            assert_eq!(log[0]["status"], 500, "{row}");
            assert_eq!(log[0]["error"], "upstream", "{row}");
            assert_eq!(log[1]["deployment"], "secondary", "{row}");
            assert_eq!(log[1]["status"], 200, "{row}");
            assert!(log[1]["error"].is_null(), "{row}");
            assert!(log[1]["latency_ms"].is_u64(), "{row}");
        }
        let single = rows
            .iter()
            .find(|r| r["attempts"] == 1)
            .expect("a one-attempt record");
        assert_eq!(
            single["attempt_log"].as_array().map(Vec::len),
            Some(1),
            "{single}"
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // After the cooldown exactly one probe reaches the primary, which now answers (its
        // scripted failures are used up): the breaker closes and it serves again.
        for _ in 0..5 {
            let (status, body) = ask(&g, &key, "flaky").await;
            assert_eq!(status, 200, "{body}");
        }
        let h = hits(&g);
        assert_eq!(count(&h, primary), 8, "{h:?}");
        assert_eq!(count(&h, "gpt-4o-mini-secondary"), 10, "{h:?}");
    };
    run(None).await;
    harness::in_fresh_postgres(move |db| async move { run(Some(db)).await }).await;
}

#[tokio::test]
async fn a_failed_probe_keeps_the_deployment_out_for_another_cooldown() {
    let (g, _dir) = gateway(None).await;
    let (_, key) = g.user("probe@example.com").await;
    let body = json!({"model": "cheap-first", "messages": [{"role": "user", "content": "hi"}]});
    // cheap-first's one deployment always fails; its fallback (dear) serves.
    for _ in 0..4 {
        let (status, b) = g.post("/v1/chat/completions", Some(&key), &body).await;
        assert_eq!(status, 200, "{b}");
    }
    let failing = "gpt-4o-mini@status=500";
    assert_eq!(count(&hits(&g), failing), 3, "opened after three failures");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..3 {
        let (status, b) = g.post("/v1/chat/completions", Some(&key), &body).await;
        assert_eq!(status, 200, "{b}");
    }
    assert_eq!(count(&hits(&g), failing), 4, "one probe, which failed");
}

#[tokio::test]
async fn a_credential_the_provider_refuses_is_taken_out_at_once() {
    let (g, _dir) = gateway(None).await;
    let (_, key) = g.user("pool@example.com").await;
    for _ in 0..20 {
        let (status, body) = ask(&g, &key, "pool").await;
        assert_eq!(status, 200, "{body}");
    }
    // Twenty answers; the revoked key was tried once (the weighted order picks it first for
    // some request with probability 1 - 2^-20) and never again.
    assert_eq!(count(&hits(&g), "gpt-4o-mini-pool"), 21);
}

#[tokio::test]
async fn a_prompt_too_long_goes_to_the_context_window_fallback_and_nowhere_else() {
    let (g, _dir) = gateway(None).await;
    let (token, key) = g.user("context@example.com").await;
    let (status, body) = ask(&g, &key, "short").await;
    assert_eq!(status, 200, "{body}");
    let h = hits(&g);
    assert_eq!(count(&h, "gpt-4o-mini-long"), 1, "{h:?}");
    assert_eq!(count(&h, "gpt-4o-mini-general"), 0, "{h:?}");
    let rows = g.wait_for_records(&token, 1).await;
    assert_eq!(rows[0]["upstream_model"], "gpt-4o-mini-long", "{rows:?}");
    assert_eq!(rows[0]["model"], "mock/gpt-4o-mini-long", "{rows:?}");
}

#[tokio::test]
async fn weighted_routing_splits_three_to_one_and_weight_zero_gets_nothing() {
    let (g, _dir) = gateway(None).await;
    let (_, key) = g.user("split@example.com").await;
    let requests = 4000;
    let g = std::sync::Arc::new(g);
    let (mut three, mut one, mut none) = (0, 0, 0);
    // In batches of 1,000: the mock upstream remembers its last 1,000 requests.
    for _ in 0..4 {
        let mut tasks = Vec::new();
        for worker in 0..16 {
            let (g, key) = (g.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                for _ in (worker..1000).step_by(16) {
                    let (status, body) = ask(&g, &key, "split").await;
                    assert_eq!(status, 200, "{body}");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let h = hits(&g);
        three += count(&h, "gpt-4o-mini-three");
        one += count(&h, "gpt-4o-mini-one");
        none += count(&h, "gpt-4o-mini-none");
        g.mock.reset();
    }
    assert_eq!(three + one, requests);
    assert_eq!(none, 0);
    // 75 % ± 5 points.
    let share = three as f64 / requests as f64;
    assert!((0.70..=0.80).contains(&share), "{share}: {three} and {one}");
}

#[tokio::test]
async fn lowest_latency_routing_moves_traffic_to_the_faster_deployment() {
    let (g, _dir) = gateway(None).await;
    let (_, key) = g.user("latency@example.com").await;
    for _ in 0..30 {
        let (status, body) = ask(&g, &key, "fastest").await;
        assert_eq!(status, 200, "{body}");
    }
    let h = hits(&g);
    assert!(count(&h, "gpt-4o-mini@latency_ms=150") <= 2, "{h:?}");
    assert!(count(&h, "gpt-4o-mini-fast") >= 28, "{h:?}");
}

/// The `data:` payloads of a stream, with the fields that differ between two answers to
/// the same request (ids and timestamps) taken out.
async fn stream_payloads(g: &Gateway, key: &str, model: &str) -> (u16, Vec<Value>, String) {
    let r = g
        .http
        .post(format!("{}/v1/chat/completions", g.url))
        .bearer_auth(key)
        .json(&json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let payloads = text
        .split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| match serde_json::from_str::<Value>(d) {
            Ok(mut v) => {
                if let Some(o) = v.as_object_mut() {
                    o.remove("id");
                    o.remove("created");
                }
                v
            }
            Err(_) => Value::String(d.to_owned()),
        })
        .collect();
    (status, payloads, text)
}

#[tokio::test]
async fn a_stream_that_fails_before_content_falls_over_invisibly() {
    let (g, _dir) = gateway(None).await;
    let (_, key) = g.user("failover@example.com").await;
    let (status, failed_over, text) = stream_payloads(&g, &key, "streamy").await;
    assert_eq!(status, 200, "{text}");
    let (status, direct, _) = stream_payloads(&g, &key, "mock/gpt-4o-mini").await;
    assert_eq!(status, 200);
    assert_eq!(
        failed_over, direct,
        "the client sees only the fallback's stream"
    );
    assert!(!text.contains("error"), "{text}");
}

#[tokio::test]
async fn a_stream_that_stalls_before_content_falls_over_within_the_limit() {
    let (g, _dir) = gateway(None).await;
    let (_, key) = g.user("stall@example.com").await;
    let started = Instant::now();
    let (status, payloads, text) = stream_payloads(&g, &key, "stalled").await;
    assert_eq!(status, 200, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(payloads.len() > 2, "{text}");
    assert_eq!(count(&hits(&g), "gpt-4o-mini-unstalled"), 1);
}

#[tokio::test]
async fn a_stream_that_fails_after_content_ends_with_an_error_event_and_no_fallback() {
    let (g, _dir) = gateway(None).await;
    let (_, key) = g.user("late@example.com").await;
    let (status, payloads, text) = stream_payloads(&g, &key, "late").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"error\""), "{text}");
    assert_eq!(payloads.last(), Some(&Value::String("[DONE]".into())));
    assert_eq!(count(&hits(&g), "gpt-4o-mini-fallback"), 0);
}

#[tokio::test]
async fn a_stream_whose_every_attempt_fails_before_content_is_a_json_error() {
    let (g, _dir) = gateway(None).await;
    let (_, key) = g.user("allcut@example.com").await;
    let r = g
        .http
        .post(format!("{}/v1/chat/completions", g.url))
        .bearer_auth(&key)
        .json(&json!({"model": "both-cut", "stream": true, "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    // The primary's status (503 upstream, answered 502 by the gateway), as JSON.
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    let h = hits(&g);
    assert_eq!(count(&h, "gpt-4o-mini@status=503"), 1, "{h:?}");
    assert_eq!(count(&h, "gpt-4o-mini@drop_after=0"), 1, "{h:?}");
}

#[tokio::test]
async fn a_dearer_fallback_that_the_budget_does_not_fit_is_skipped_and_named() {
    let (g, _dir) = gateway(None).await;
    let (token, key) = g.user("budget@example.com").await;
    let (_, keys) = g.get("/api/v1/auth/api-keys", Some(&token)).await;
    let id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = g
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/admin/api-keys/{id}/budget"),
            Some(MASTER),
            Some(&json!({"hard_limit": "0.005", "currency": "USD"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // gpt-4o-mini's worst case for 1,000 output tokens is $0.0006: it fits. Claude Sonnet's
    // is $0.015: it does not.
    let request = json!({"model": "cheap-first", "max_tokens": 1000,
        "messages": [{"role": "user", "content": "hello"}]});
    let (status, body) = g.post("/v1/chat/completions", Some(&key), &request).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
    assert!(body["error"]["limit"].is_string(), "{body}");
    assert_eq!(count(&hits(&g), "gpt-4o-mini@status=500"), 1);
    assert_eq!(count(&hits(&g), "claude-sonnet-4-5"), 0);
    let rows = g.wait_for_records(&token, 1).await;
    assert_eq!(rows.len(), 1, "one record: {rows:?}");
}

#[tokio::test]
async fn a_request_names_its_own_fallbacks_and_they_never_reach_the_upstream() {
    let (g, _dir) = gateway(None).await;
    let (token, key) = g.user("ownfallbacks@example.com").await;
    let request = json!({"model": "mock/gpt-4o-mini@status=500",
        "fallbacks": ["mock/gpt-4o-mini-mine"],
        "messages": [{"role": "user", "content": "hello"}]});
    let (status, body) = g.post("/v1/chat/completions", Some(&key), &request).await;
    assert_eq!(status, 200, "{body}");
    let requests = g.mock.requests();
    assert!(requests.iter().all(|r| r.body.get("fallbacks").is_none()));
    assert_eq!(count(&hits(&g), "gpt-4o-mini-mine"), 1);
    let rows = g.wait_for_records(&token, 1).await;
    assert_eq!(rows[0]["model"], "mock/gpt-4o-mini-mine", "{rows:?}");
}

#[tokio::test]
async fn a_key_uses_only_its_models_and_a_fallback_outside_them_is_never_attempted() {
    let run = |db: Option<String>| async move {
        let (g, _dir) = gateway(db).await;
        let (token, key) = g.user("access@example.com").await;
        let (_, keys) = g.get("/api/v1/auth/api-keys", Some(&token)).await;
        assert_eq!(keys["data"][0]["models"], Value::Null, "{keys}");
        let id = keys["data"][0]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/admin/api-keys/{id}/models");
        let put = |models: Value| {
            let (g, path) = (&g, &path);
            async move {
                g.call(
                    reqwest::Method::PUT,
                    path,
                    Some(MASTER),
                    Some(&json!({ "models": models })),
                )
                .await
            }
        };
        // Only names the gateway serves; only the operator sets them (a member's session is
        // refused like any caller without the master key).
        let (status, body) = put(json!(["no-such-group"])).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["param"], "models");
        let (status, _) = g
            .call(
                reqwest::Method::PUT,
                &path,
                Some(&token),
                Some(&json!({"models": null})),
            )
            .await;
        assert_eq!(status, 401);
        let (status, body) = put(json!(["cheap-first", "mock/gpt-4o-mini-general"])).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["models"],
            json!(["cheap-first", "mock/gpt-4o-mini-general"])
        );
        let (_, keys) = g.get("/api/v1/auth/api-keys", Some(&token)).await;
        assert_eq!(keys["data"][0]["models"], body["models"]);

        // cheap-first's deployment fails and its fallback (dear) is not the key's: the caller
        // gets the primary's error, and dear is never called.
        let (status, body) = ask(&g, &key, "cheap-first").await;
        assert_eq!(status, 502, "{body}");
        assert_eq!(body["error"]["code"], "upstream_error", "{body}");
        assert_eq!(count(&hits(&g), "gpt-4o-mini@status=500"), 1);
        assert_eq!(count(&hits(&g), "claude-sonnet-4-5"), 0);
        // A model outside the list is refused before anything is reserved or called.
        let (status, body) = ask(&g, &key, "dear").await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "model_not_allowed", "{body}");
        assert_eq!(count(&hits(&g), "claude-sonnet-4-5"), 0);
        let (status, body) = ask(&g, &key, "mock/gpt-4o-mini-general").await;
        assert_eq!(status, 200, "{body}");

        // Without a list, the fallback serves again.
        let (status, body) = put(Value::Null).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = ask(&g, &key, "cheap-first").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(count(&hits(&g), "claude-sonnet-4-5"), 1);
    };
    run(None).await;
    harness::in_fresh_postgres(move |db| async move { run(Some(db)).await }).await;
}
