//! The request pipeline: every admitted request ends in exactly one usage record, whatever
//! the client does; the record names its attempts; the caller sees what was charged.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::{Gateway, chat};

/// A client that gives up after `ms`.
fn impatient(ms: u64) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(ms))
        .build()
        .unwrap()
}

async fn send(
    g: &Gateway,
    client: &reqwest::Client,
    key: &str,
    body: &Value,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{}/v1/chat/completions", g.url))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
}

/// The `data:` payloads of an SSE body.
fn sse_data(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[tokio::test]
async fn a_non_stream_request_whose_client_leaves_is_finished_and_billed() {
    let g = Gateway::start().await;
    let (token, key) = g.user("leaves@example.com").await;
    let body = chat("mock/gpt-4o-mini@latency_ms=600", "hello there");
    let result = send(&g, &impatient(150), &key, &body).await;
    assert!(result.is_err(), "the client gave up before the answer");
    let rows = g.wait_for_records(&token, 1).await;
    let r = &rows[0];
    assert_eq!(r["status"], 499, "{r}");
    assert_eq!(r["error_type"], "client_disconnected");
    assert_eq!(
        r["usage_estimated"], false,
        "billed with what the provider reported"
    );
    assert!(r["completion_tokens"].as_i64().unwrap() > 0, "{r}");
    assert!(r["cost"].as_str().is_some(), "priced: {r}");
    assert_eq!(g.mock.request_count(), 1);
}

#[tokio::test]
async fn a_stream_whose_client_leaves_before_the_first_byte_is_recorded() {
    let g = Gateway::start().await;
    let (token, key) = g.user("early@example.com").await;
    let mut body = chat("mock/gpt-4o-mini@latency_ms=600", "hello there");
    body["stream"] = json!(true);
    let result = send(&g, &impatient(150), &key, &body).await;
    assert!(result.is_err());
    let rows = g.wait_for_records(&token, 1).await;
    let r = &rows[0];
    assert_eq!(r["status"], 499, "{r}");
    assert_eq!(r["error_type"], "client_disconnected");
    assert_eq!(r["usage_estimated"], true);
    assert!(
        r["prompt_tokens"].as_i64().unwrap() > 0,
        "the prompt is billed: {r}"
    );
    assert_eq!(r["completion_tokens"], 0);
}

#[tokio::test]
async fn a_client_that_leaves_does_not_keep_its_concurrency_slot() {
    let plan = "[plans.free]\nname = \"One at a time\"\nmax_concurrent = 1\n";
    let g = Gateway::start_setup(None, "", plan).await;
    let (token, key) = g.user("slot@example.com").await;
    let slow = chat("mock/gpt-4o-mini@latency_ms=400", "hello");
    assert!(send(&g, &impatient(100), &key, &slow).await.is_err());
    g.wait_for_records(&token, 1).await;
    let (status, body) = g
        .post(
            "/v1/chat/completions",
            Some(&key),
            &chat("mock/gpt-4o-mini", "again"),
        )
        .await;
    assert_eq!(
        status, 200,
        "the slot was released when the request ended: {body}"
    );
}

#[tokio::test]
async fn a_cut_stream_is_estimated_from_everything_it_produced_and_says_so() {
    let g = Gateway::start().await;
    let (token, key) = g.user("cut@example.com").await;
    let mut body = chat(
        "mock/gpt-4o-mini@tool=get_weather,chunks=6,drop_after=4",
        "weather?",
    );
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    body["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]);
    let resp = send(&g, &g.http, &key, &body).await.unwrap();
    let events = sse_data(&resp.text().await.unwrap());
    let usage_chunk = events
        .iter()
        .find(|e| e["choices"] == json!([]) && e["usage"].is_object())
        .unwrap_or_else(|| panic!("a usage chunk even though the upstream sent none: {events:?}"));
    assert_eq!(usage_chunk["usage"]["estimated"], true);
    let arguments: String = events
        .iter()
        .filter_map(|e| e.pointer("/choices/0/delta/tool_calls/0/function/arguments"))
        .filter_map(Value::as_str)
        .collect();
    assert!(!arguments.is_empty());
    let expected =
        aihub_core::tokens::count_output("mock/gpt-4o-mini", ["get_weather", arguments.as_str()]);
    let rows = g.wait_for_records(&token, 1).await;
    assert_eq!(rows[0]["usage_estimated"], true);
    assert_eq!(
        rows[0]["completion_tokens"].as_u64().unwrap(),
        u64::try_from(expected).unwrap(),
        "tool-call names and arguments count: {}",
        rows[0]
    );
    assert_eq!(
        usage_chunk["usage"]["completion_tokens"], rows[0]["completion_tokens"],
        "the caller sees what was recorded"
    );
    assert_eq!(usage_chunk["usage"]["cost"], rows[0]["cost"]);
}

#[tokio::test]
async fn the_caller_sees_the_charge_that_was_recorded() {
    let g = Gateway::start().await;
    let (token, key) = g.user("cost@example.com").await;
    let resp = send(&g, &g.http, &key, &chat("mock/gpt-4o-mini", "hello"))
        .await
        .unwrap();
    let header = resp.headers()["x-aihub-cost"].to_str().unwrap().to_owned();
    assert_eq!(resp.headers()["x-aihub-cost-currency"], "USD");
    let body: Value = resp.json().await.unwrap();
    let mut body_stream = chat("mock/gpt-4o-mini", "hello");
    body_stream["stream"] = json!(true);
    body_stream["stream_options"] = json!({"include_usage": true});
    let resp = send(&g, &g.http, &key, &body_stream).await.unwrap();
    let events = sse_data(&resp.text().await.unwrap());
    let last = events.last().unwrap();
    let rows = g.wait_for_records(&token, 2).await;
    let (stream_row, plain_row) = (&rows[0], &rows[1]);
    assert_eq!(body["usage"]["cost"], plain_row["cost"], "{body}");
    assert_eq!(body["usage"]["cost_currency"], "USD");
    assert_eq!(Value::from(header), plain_row["cost"]);
    assert!(body["usage"].get("estimated").is_none());
    assert_eq!(last["usage"]["cost"], stream_row["cost"], "{last}");
    assert!(stream_row["cost"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
}

#[tokio::test]
async fn retries_are_attempts_of_one_request_with_one_record() {
    let g = Gateway::start_with("upstream_max_retries = 2").await;
    let (token, key) = g.user("retry@example.com").await;
    let model = "mock/gpt-4o-mini@fail_times=2,status=503";
    let resp = send(&g, &g.http, &key, &chat(model, "hello"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let rows = g.wait_for_records(&token, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rows_after = g.wait_for_records(&token, 1).await;
    assert_eq!(rows_after.len(), rows.len(), "one record for the request");
    assert_eq!(rows[0]["attempts"], 3, "{}", rows[0]);
    assert_eq!(rows[0]["provider"], "mock");
    assert_eq!(
        rows[0]["upstream_model"],
        "gpt-4o-mini@fail_times=2,status=503"
    );
    assert_eq!(g.mock.request_count(), 3);
}

#[tokio::test]
async fn fields_that_would_change_the_price_do_not_reach_the_upstream() {
    let g = Gateway::start().await;
    let (_, key) = g.user("fields@example.com").await;
    for (field, value) in [
        ("route", json!("fallback")),
        ("provider", json!({"order": ["openai"]})),
        ("service_tier", json!("priority")),
        ("service_tier", json!("flex")),
    ] {
        let mut body = chat("mock/gpt-4o-mini", "hello");
        body[field] = value;
        let (status, answer) = g.post("/v1/chat/completions", Some(&key), &body).await;
        assert_eq!(status, 400, "{field}: {answer}");
        assert_eq!(answer["error"]["param"], field);
    }
    assert_eq!(g.mock.request_count(), 0);
    let mut body = chat("mock/gpt-4o-mini", "hello");
    body["service_tier"] = json!("auto");
    let (status, _) = g.post("/v1/chat/completions", Some(&key), &body).await;
    assert_eq!(status, 200);
    // A `models` list is the gateway's own (fallbacks after `model`), never forwarded.
    let mut body = chat("mock/gpt-4o-mini", "hello");
    body["models"] = json!(["mock/gpt-4o-mini", "mock/gpt-4o"]);
    let (status, answer) = g.post("/v1/chat/completions", Some(&key), &body).await;
    assert_eq!(status, 200, "{answer}");
    let sent = g.mock.requests();
    assert!(sent.iter().all(|r| r.body.get("models").is_none()));
}

#[tokio::test]
async fn anthropic_gets_the_max_tokens_the_reservation_assumed() {
    let g = Gateway::start_setup(
        None,
        "",
        "[plans.free]\nname = \"x\"\n[limits]\ndefault_max_output = 1000\n",
    )
    .await;
    let (_, key) = g.user("anthropic@example.com").await;
    let (status, body) = g
        .post(
            "/v1/chat/completions",
            Some(&key),
            &chat("mock-anthropic/claude-sonnet-4-5", "hello"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let sent = g.mock.requests();
    assert_eq!(sent.last().unwrap().body["max_tokens"], 1000);
}

#[tokio::test]
async fn past_the_shutdown_deadline_an_open_stream_ends_with_an_error_and_a_record() {
    let g = Gateway::start_with("shutdown_grace_secs = 1").await;
    let (_, key) = g.user("shutdown@example.com").await;
    let mut body = chat("mock/gpt-4o-mini@chunks=200,tps=10", "a long story");
    body["stream"] = json!(true);
    let resp = send(&g, &g.http, &key, &body).await.unwrap();
    let mut bytes = resp.bytes_stream();
    let mut text = String::new();
    if let Some(chunk) = bytes.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    let user = g
        .state
        .store
        .user_by_email("shutdown@example.com")
        .await
        .unwrap()
        .unwrap()
        .0;
    let state = g.state.clone();
    let stopping = tokio::spawn(g.stop());
    let rest = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = bytes.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
        text
    })
    .await
    .expect("the stream ended at the deadline");
    assert!(rest.contains("gateway_shutdown"), "an error event: {rest}");
    assert!(rest.trim_end().ends_with("data: [DONE]"));
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .unwrap()
        .unwrap();
    let records = state
        .store
        .usage_history(&aihub_server::store::UsageFilter {
            user_id: user.id,
            from: None,
            to: None,
            model: None,
            api_key_id: None,
            limit: 10,
            cursor: None,
        })
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].status, 503);
    assert_eq!(records[0].error_type.as_deref(), Some("gateway_shutdown"));
    assert!(
        records[0].completion_tokens > 0,
        "billed for what was produced"
    );
}

#[tokio::test]
async fn a_large_prompt_is_counted_off_the_workers_and_rate_checked_first() {
    let plan = "[plans.free]\nname = \"One a minute\"\nrpm = 1\n";
    let g = Gateway::start_setup(None, "", plan).await;
    let (token, key) = g.user("large@example.com").await;
    let prompt = "word ".repeat(9_000);
    let body = chat("mock/gpt-4o-mini", &prompt);
    let (status, answer) = g.post("/v1/chat/completions", Some(&key), &body).await;
    assert_eq!(status, 200, "{answer}");
    let (status, refused) = g.post("/v1/chat/completions", Some(&key), &body).await;
    assert_eq!(status, 429, "{refused}");
    assert_eq!(refused["error"]["code"], "rate_limit_exceeded");
    assert_eq!(
        refused["error"]["limit"], "plan.rpm",
        "the refusal names its limit"
    );
    assert_eq!(g.mock.request_count(), 1);
    let small = chat("mock/gpt-4o-mini", "hi");
    let (status, refused) = g.post("/v1/chat/completions", Some(&key), &small).await;
    assert_eq!(status, 429);
    assert_eq!(
        refused["error"]["limit"], "plan.rpm",
        "the limiter names it too: {refused}"
    );
    let rows = g.wait_for_records(&token, 1).await;
    assert!(
        rows[0]["prompt_tokens"].as_i64().unwrap() >= 9_000,
        "{}",
        rows[0]
    );
}

#[tokio::test]
async fn a_stream_longer_than_its_lease_keeps_its_slot() {
    let tables =
        "[plans.free]\nname = \"One at a time\"\nmax_concurrent = 1\n[limits]\nlease_secs = 1\n";
    let g = Gateway::start_setup(None, "", tables).await;
    let (_, key) = g.user("lease@example.com").await;
    let mut body = chat("mock/gpt-4o-mini@chunks=30,tps=10", "a long story");
    body["stream"] = json!(true);
    let resp = send(&g, &g.http, &key, &body).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut bytes = resp.bytes_stream();
    let reader = tokio::spawn(async move { while bytes.next().await.is_some() {} });
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let (status, refused) = g
        .post(
            "/v1/chat/completions",
            Some(&key),
            &chat("mock/gpt-4o-mini", "me too"),
        )
        .await;
    assert_eq!(
        status, 429,
        "the stream still holds the one slot past its 1 s lease: {refused}"
    );
    reader.await.unwrap();
    let (status, _) = g
        .post(
            "/v1/chat/completions",
            Some(&key),
            &chat("mock/gpt-4o-mini", "now"),
        )
        .await;
    assert_eq!(status, 200, "the slot is free once the stream ended");
}
