//! The exact-match response cache end to end: hits never reach the mock upstream (every test
//! counts its requests), are admitted and recorded like any request, and are billed at the
//! configured fraction; on SQLite, on PostgreSQL, and on two gateways sharing Redis.

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::limits::harness;
use crate::{Gateway, MASTER, UNLIMITED_FREE, chat};

/// One answer: status, headers and JSON body (or the raw SSE text of a stream, as a string).
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn cache(&self) -> Option<&str> {
        self.header("x-aihub-cache")
    }

    fn request_id(&self) -> String {
        self.header("x-request-id").unwrap().to_owned()
    }

    fn cost(&self) -> Decimal {
        self.body["usage"]["cost"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

async fn send(g: &Gateway, key: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
    let mut req = g
        .http
        .post(format!("{}/v1/chat/completions", g.url))
        .bearer_auth(key)
        .json(body);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

/// The `data:` payloads of an SSE body.
fn sse(text: &Value) -> Vec<String> {
    text.as_str()
        .unwrap()
        .split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data:")))
        .map(|d| d.trim().to_owned())
        .collect()
}

const USE: &[(&str, &str)] = &[("x-aihub-cache", "use")];

/// Tables for a gateway whose cache is on for every key, with `extra` lines in `[cache]`.
fn cached(extra: &str) -> String {
    format!("{UNLIMITED_FREE}[cache]\nenabled = true\n{extra}\n")
}

/// `cache_hit, cost_nanos, currency, prompt_tokens, completion_tokens, attempts, status`.
type RecordRow = (i64, Option<i64>, Option<String>, i64, i64, i64, i64);

/// The usage record of `request_id`, from the database itself.
async fn record(g: &Gateway, request_id: &str) -> Value {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&g.state.config.database_url)
        .await
        .unwrap();
    for _ in 0..100 {
        let rows: Vec<RecordRow> = sqlx::query_as(
            "SELECT CAST(cache_hit AS BIGINT), cost_nanos, currency, prompt_tokens, \
             completion_tokens, CAST(attempts AS BIGINT), CAST(status AS BIGINT) \
             FROM usage_records WHERE request_id = $1",
        )
        .bind(request_id)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(rows.len() <= 1, "one record per request: {rows:?}");
        if let Some(r) = rows.first() {
            return json!({"cache_hit": r.0 == 1, "cost_nanos": r.1, "currency": r.2,
                "prompt_tokens": r.3, "completion_tokens": r.4, "attempts": r.5, "status": r.6});
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no record of {request_id}");
}

/// Creates another key for the user with this session token.
async fn second_key(g: &Gateway, token: &str) -> String {
    let (status, body) = g
        .post(
            "/api/v1/auth/api-keys",
            Some(token),
            &json!({"name": "second"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn identical_requests_hit_once_admitted_and_are_recorded_at_zero_cost() {
    let run = |db: Option<String>| async move {
        let g = Gateway::start_setup(db, "", &cached("")).await;
        let (token, key) = g.user("hit@example.com").await;
        let body = chat("mock/gpt-4o-mini", "what is a cache");
        let first = send(&g, &key, &body, &[]).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(first.cache(), Some("miss"));
        assert_eq!(g.mock.request_count(), 1);
        assert!(first.cost() > Decimal::ZERO);

        let hit = send(&g, &key, &body, &[]).await;
        assert_eq!(hit.status, 200, "{}", hit.body);
        assert_eq!(hit.cache(), Some("hit"));
        assert!(hit.header("x-aihub-cache-age").is_some());
        assert_eq!(
            g.mock.request_count(),
            1,
            "the hit did not reach the upstream"
        );
        assert_eq!(hit.body["choices"], first.body["choices"]);
        assert_eq!(hit.body["id"], first.body["id"]);
        assert_eq!(
            hit.body["usage"]["prompt_tokens"],
            first.body["usage"]["prompt_tokens"]
        );
        assert_eq!(hit.cost(), Decimal::ZERO);
        assert_eq!(hit.header("x-aihub-cost"), Some("0"));
        assert_ne!(hit.request_id(), first.request_id());

        let row = record(&g, &hit.request_id()).await;
        assert_eq!(row["cache_hit"], true, "{row}");
        assert_eq!(row["cost_nanos"], 0, "{row}");
        assert_eq!(row["currency"], "USD", "{row}");
        assert_eq!(row["attempts"], 0, "{row}");
        assert_eq!(row["status"], 200, "{row}");
        assert_eq!(
            row["prompt_tokens"], first.body["usage"]["prompt_tokens"],
            "{row}"
        );
        assert_eq!(
            row["completion_tokens"], first.body["usage"]["completion_tokens"],
            "{row}"
        );
        let miss = record(&g, &first.request_id()).await;
        assert_eq!(miss["cache_hit"], false, "{miss}");
        let history = g.wait_for_records(&token, 2).await;
        assert_eq!(
            history.iter().filter(|r| r["cache_hit"] == true).count(),
            1,
            "{history:?}"
        );

        // Another key of the same organisation shares the entry.
        let other = second_key(&g, &token).await;
        let again = send(&g, &other, &body, &[]).await;
        assert_eq!(again.cache(), Some("hit"));
        assert_eq!(g.mock.request_count(), 1);
    };
    run(None).await;
    harness::in_fresh_postgres(move |db| async move { run(Some(db)).await }).await;
}

#[tokio::test]
async fn a_change_to_any_field_that_shapes_the_answer_misses() {
    let g = Gateway::start_setup(None, "", &cached("")).await;
    let (_, key) = g.user("fields@example.com").await;
    let base = chat("mock/gpt-4o-mini", "fields of a request");
    assert_eq!(send(&g, &key, &base, &[]).await.cache(), Some("miss"));
    let tool = json!([{"type": "function", "function": {"name": "lookup",
        "parameters": {"type": "object", "properties": {}}}}]);
    let changes: Vec<(&str, Value)> = vec![
        ("model", json!("mock/gpt-4o-mini@chunks=3")),
        (
            "messages",
            json!([{"role": "user", "content": "another question"}]),
        ),
        ("temperature", json!(0.3)),
        ("top_p", json!(0.5)),
        ("seed", json!(42)),
        ("n", json!(2)),
        ("stop", json!(["fox"])),
        ("max_tokens", json!(7)),
        ("tools", tool.clone()),
        ("response_format", json!({"type": "json_object"})),
        ("presence_penalty", json!(0.5)),
    ];
    for (field, value) in changes {
        let mut body = base.clone();
        body[field] = value;
        let before = g.mock.request_count();
        let a = send(&g, &key, &body, &[]).await;
        assert_eq!(a.status, 200, "{field}: {}", a.body);
        assert_eq!(a.cache(), Some("miss"), "{field}");
        assert_eq!(g.mock.request_count(), before + 1, "{field}");
    }
    let mut with_choice = base.clone();
    with_choice["tools"] = tool;
    with_choice["tool_choice"] = json!("none");
    assert_eq!(
        send(&g, &key, &with_choice, &[]).await.cache(),
        Some("miss")
    );
    // Fields that do not shape the answer still hit.
    let before = g.mock.request_count();
    for (field, value) in [
        ("user", json!("end-user-7")),
        ("metadata", json!({"trace": "t1"})),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let a = send(&g, &key, &body, &[]).await;
        assert_eq!(a.cache(), Some("hit"), "{field}");
    }
    assert_eq!(g.mock.request_count(), before);
}

#[tokio::test]
async fn another_organisation_never_hits_unless_the_operator_shares_entries() {
    for (shared, expected) in [("", "miss"), ("shared_across_organizations = true", "hit")] {
        let g = Gateway::start_setup(None, "", &cached(shared)).await;
        let (_, a) = g.user("org-a@example.com").await;
        let (_, b) = g.user("org-b@example.com").await;
        let body = chat("mock/gpt-4o-mini", "private answer");
        assert_eq!(send(&g, &a, &body, &[]).await.cache(), Some("miss"));
        let other = send(&g, &b, &body, &[]).await;
        assert_eq!(other.cache(), Some(expected), "{shared}");
        let calls = if expected == "miss" { 2 } else { 1 };
        assert_eq!(g.mock.request_count(), calls, "{shared}");
    }
}

#[tokio::test]
async fn a_streamed_hit_is_a_valid_stream_and_streams_and_answers_share_entries() {
    let g = Gateway::start_setup(None, "", &cached("")).await;
    let (_, key) = g.user("stream@example.com").await;
    let mut body = chat("mock/gpt-4o-mini@chunks=5", "stream me");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let first = send(&g, &key, &body, &[]).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.cache(), Some("miss"));
    let text_of = |events: &[String]| -> String {
        events
            .iter()
            .filter(|e| *e != "[DONE]")
            .map(|e| serde_json::from_str::<Value>(e).unwrap())
            .filter_map(|c| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect()
    };
    let original = sse(&first.body);
    let original_text = text_of(&original);
    assert!(!original_text.is_empty());

    let hit = send(&g, &key, &body, &[]).await;
    assert_eq!(hit.status, 200);
    assert_eq!(hit.cache(), Some("hit"));
    assert_eq!(
        g.mock.request_count(),
        1,
        "the hit did not reach the upstream"
    );
    assert!(
        hit.header("content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = sse(&hit.body);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(text_of(&events), original_text);
    let finish = chunks
        .iter()
        .filter(|c| !c["choices"][0]["finish_reason"].is_null())
        .count();
    assert_eq!(finish, 1, "one finish chunk: {chunks:?}");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["cost"], "0");
    assert!(last["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    let row = record(&g, &hit.request_id()).await;
    assert_eq!(row["cache_hit"], true, "{row}");

    // Without include_usage the hit has no usage chunk.
    body["stream_options"] = json!({"include_usage": false});
    let quiet = send(&g, &key, &body, &[]).await;
    assert_eq!(quiet.cache(), Some("hit"));
    assert!(!quiet.body.as_str().unwrap().contains("\"usage\""));

    // The stored stream answers a non-stream request, and a stored answer a stream.
    let mut plain = body.clone();
    plain.as_object_mut().unwrap().remove("stream");
    plain.as_object_mut().unwrap().remove("stream_options");
    let answer = send(&g, &key, &plain, &[]).await;
    assert_eq!(answer.cache(), Some("hit"));
    assert_eq!(
        answer.body["choices"][0]["message"]["content"],
        original_text
    );
    let other = chat("mock/gpt-4o-mini", "first without a stream");
    let complete = send(&g, &key, &other, &[]).await;
    assert_eq!(complete.cache(), Some("miss"));
    let mut streamed = other.clone();
    streamed["stream"] = json!(true);
    let replay = send(&g, &key, &streamed, &[]).await;
    assert_eq!(replay.cache(), Some("hit"));
    assert_eq!(
        text_of(&sse(&replay.body)),
        complete.body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
    );
    assert_eq!(g.mock.request_count(), 2);
}

#[tokio::test]
async fn a_hit_is_charged_the_configured_fraction_of_the_original_cost() {
    let g = Gateway::start_setup(None, "", &cached("charge_fraction = \"0.5\"")).await;
    let (_, key) = g.user("fraction@example.com").await;
    let body = chat("mock/gpt-4o-mini", "half price please");
    let first = send(&g, &key, &body, &[]).await;
    let hit = send(&g, &key, &body, &[]).await;
    assert_eq!(hit.cache(), Some("hit"));
    assert_eq!(g.mock.request_count(), 1);
    let half = (first.cost() / Decimal::from(2)).round_dp(9).normalize();
    assert_eq!(hit.cost(), half);
    assert_eq!(hit.header("x-aihub-cost"), Some(half.to_string().as_str()));
    let row = record(&g, &hit.request_id()).await;
    let nanos = (half * Decimal::from(1_000_000_000))
        .normalize()
        .to_string();
    assert_eq!(row["cost_nanos"].to_string(), nanos, "{row}");
}

#[tokio::test]
async fn a_key_over_budget_gets_no_hit() {
    let g = Gateway::start_setup(None, "", &cached("")).await;
    let (token, key) = g.user("budget@example.com").await;
    let body = chat("mock/gpt-4o-mini", "an answer worth keeping");
    assert_eq!(send(&g, &key, &body, &[]).await.cache(), Some("miss"));
    g.wait_for_records(&token, 1).await;
    let (_, keys) = g.get("/api/v1/auth/api-keys", Some(&token)).await;
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let r = g
        .http
        .put(format!("{}/api/v1/admin/api-keys/{key_id}/budget", g.url))
        .bearer_auth(MASTER)
        .json(&json!({"hard_limit": "0.000000001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let refused = send(&g, &key, &body, &[]).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["error"]["type"], "insufficient_quota");
    assert_ne!(refused.cache(), Some("hit"));
    assert_eq!(g.mock.request_count(), 1);
}

#[tokio::test]
async fn bypass_no_cache_no_store_and_ttl_do_what_they_say() {
    // The cache is off by default here: only requests that opt in use it.
    let g = Gateway::start().await;
    let (_, key) = g.user("controls@example.com").await;
    let body = chat("mock/gpt-4o-mini", "controls");
    let calls = || g.mock.request_count();
    let off = send(&g, &key, &body, &[]).await;
    assert_eq!(off.cache(), None, "off: no header");
    assert_eq!(send(&g, &key, &body, &[]).await.cache(), None);
    assert_eq!(calls(), 2, "off: every request reaches the upstream");

    let no_store = [("x-aihub-cache", "use, no-store")];
    assert_eq!(send(&g, &key, &body, &no_store).await.cache(), Some("miss"));
    assert_eq!(
        send(&g, &key, &body, USE).await.cache(),
        Some("miss"),
        "nothing was stored"
    );
    assert_eq!(calls(), 4);
    assert_eq!(
        send(&g, &key, &body, &no_store).await.cache(),
        Some("hit"),
        "no-store reads"
    );
    assert_eq!(send(&g, &key, &body, USE).await.cache(), Some("hit"));
    assert_eq!(calls(), 4);
    let bypass = [("x-aihub-cache", "use,bypass")];
    assert_eq!(send(&g, &key, &body, &bypass).await.cache(), Some("bypass"));
    assert_eq!(calls(), 5);
    let refresh = [("x-aihub-cache", "no-cache, use")];
    assert_eq!(
        send(&g, &key, &body, &refresh).await.cache(),
        Some("refresh")
    );
    assert_eq!(calls(), 6);
    assert_eq!(send(&g, &key, &body, USE).await.cache(), Some("hit"));

    // LiteLLM's body object does the same, and never reaches the upstream.
    let mut in_body = body.clone();
    in_body["cache"] = json!({"use": true, "no-cache": true});
    assert_eq!(send(&g, &key, &in_body, &[]).await.cache(), Some("refresh"));
    assert_eq!(calls(), 7);
    let sent = g.mock.requests().last().unwrap().body.clone();
    assert!(sent.get("cache").is_none(), "{sent}");
    let mut off_body = body.clone();
    off_body["cache"] = json!({"no-store": true});
    assert_eq!(send(&g, &key, &off_body, &[]).await.cache(), None);
    assert!(
        g.mock
            .requests()
            .last()
            .unwrap()
            .body
            .get("cache")
            .is_none()
    );
    let mut bad = body.clone();
    bad["cache"] = json!({"ttl": "soon"});
    let refused = send(&g, &key, &bad, &[]).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["error"]["param"], "cache.ttl");
    let refused = send(&g, &key, &body, &[("x-aihub-cache", "maybe")]).await;
    assert_eq!(refused.status, 400);

    // A ttl of one second: gone two seconds later.
    let short = chat("mock/gpt-4o-mini", "short lived");
    let ttl = [("x-aihub-cache", "use"), ("x-aihub-cache-ttl", "1")];
    assert_eq!(send(&g, &key, &short, &ttl).await.cache(), Some("miss"));
    assert_eq!(send(&g, &key, &short, USE).await.cache(), Some("hit"));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let before = calls();
    assert_eq!(send(&g, &key, &short, USE).await.cache(), Some("miss"));
    assert_eq!(calls(), before + 1);
}

#[tokio::test]
async fn a_keys_cache_setting_turns_it_on_or_off_for_that_key() {
    let g = Gateway::start_setup(None, "", &cached("")).await;
    let (token, key) = g.user("setting@example.com").await;
    let (_, keys) = g.get("/api/v1/auth/api-keys", Some(&token)).await;
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let put = |cache: Value| {
        let (g, token, key_id) = (&g, token.clone(), key_id.clone());
        async move {
            let r = g
                .http
                .put(format!("{}/api/v1/auth/api-keys/{key_id}/limits", g.url))
                .bearer_auth(token)
                .json(&json!({"rpm_limit": 100, "cache": cache}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let view = put(json!(false)).await;
    assert_eq!(view["cache"], false);
    let body = chat("mock/gpt-4o-mini", "per key");
    assert_eq!(send(&g, &key, &body, &[]).await.cache(), None);
    assert_eq!(send(&g, &key, &body, &[]).await.cache(), None);
    assert_eq!(
        g.mock.request_count(),
        2,
        "the key's own setting wins over the default"
    );
    // A request can still opt in.
    assert_eq!(send(&g, &key, &body, USE).await.cache(), Some("miss"));
    assert_eq!(send(&g, &key, &body, USE).await.cache(), Some("hit"));
    let view = put(Value::Null).await;
    assert_eq!(view["cache"], Value::Null);
    assert_eq!(
        send(&g, &key, &body, &[]).await.cache(),
        Some("hit"),
        "back to the default"
    );
    assert_eq!(g.mock.request_count(), 3);
}

#[tokio::test]
async fn failed_answers_are_never_stored() {
    let g = Gateway::start_setup(None, "", &cached("")).await;
    let (_, key) = g.user("errors@example.com").await;
    let body = chat("mock/gpt-4o-mini@fail_times=2,status=503", "fail first");
    for _ in 0..2 {
        let a = send(&g, &key, &body, &[]).await;
        assert!(a.status >= 500, "{}", a.body);
    }
    assert_eq!(g.mock.request_count(), 2, "the failure was not stored");
    assert_eq!(send(&g, &key, &body, &[]).await.cache(), Some("miss"));
    assert_eq!(send(&g, &key, &body, &[]).await.cache(), Some("hit"));
    assert_eq!(g.mock.request_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_sharing_redis_share_a_hit() {
    harness::in_fresh_postgres(|db| async move {
        let tables = cached("redis_timeout_ms = 5000\n[limits]\nbackend_timeout_ms = 5000");
        let extra = "redis_url = \"redis://127.0.0.1:6379\"";
        let a = Gateway::start_setup(Some(db.clone()), extra, &tables).await;
        let b = Gateway::start_setup(Some(db.clone()), extra, &tables).await;
        let (_, key) = a.user("shared-cache@example.com").await;
        let body = chat(
            "mock/gpt-4o-mini",
            &format!("shared between instances {}", uuid::Uuid::new_v4()),
        );
        assert_eq!(send(&a, &key, &body, &[]).await.cache(), Some("miss"));
        assert_eq!(a.mock.request_count(), 1);
        let hit = send(&b, &key, &body, &[]).await;
        assert_eq!(hit.status, 200, "{}", hit.body);
        assert_eq!(hit.cache(), Some("hit"));
        assert_eq!(b.mock.request_count(), 0, "B's upstream was never called");
        let row = record(&b, &hit.request_id()).await;
        assert_eq!(row["cache_hit"], true, "{row}");
        assert_eq!(row["cost_nanos"], 0, "{row}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_goes_away_serves_misses_not_errors() {
    let relay = crate::limits::RedisRelay::start(0).await;
    let tables = cached("redis_timeout_ms = 300\n[limits]\non_backend_error = \"open\"");
    let redis = format!("redis_url = \"redis://127.0.0.1:{}\"", relay.port);
    let g = Gateway::start_setup(None, &redis, &tables).await;
    let (_, key) = g.user("no-redis@example.com").await;
    let before = chat("mock/gpt-4o-mini", "while redis is there");
    assert_eq!(send(&g, &key, &before, &[]).await.cache(), Some("miss"));
    relay.cut();
    let body = chat("mock/gpt-4o-mini", "redis is away");
    let started = std::time::Instant::now();
    let first = send(&g, &key, &body, &[]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.cache(), Some("miss"));
    let second = send(&g, &key, &body, &[]).await;
    assert_eq!(second.cache(), Some("hit"), "memory still serves");
    assert_eq!(send(&g, &key, &before, &[]).await.cache(), Some("hit"));
    assert_eq!(g.mock.request_count(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
