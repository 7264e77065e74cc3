//! Streaming: pass-through, usage only when asked, errors mid-stream, client disconnects.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::{Gateway, chat};

/// Reads a whole SSE body into its `data:` payloads.
async fn sse_events(resp: reqwest::Response) -> Vec<String> {
    let text = resp.text().await.unwrap();
    text.split("\n\n")
        .filter_map(|e| {
            e.lines()
                .find_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
        })
        .map(|d| d.trim().to_owned())
        .collect()
}

async fn stream(g: &Gateway, key: &str, body: &Value) -> reqwest::Response {
    g.http
        .post(format!("{}/v1/chat/completions", g.url))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn usage_is_captured_always_and_shown_when_asked() {
    let g = Gateway::start().await;
    let (token, key) = g.user("s@example.com").await;
    let mut body = chat("mock/gpt-4o-mini@chunks=6", "stream");
    body["stream"] = json!(true);
    let resp = stream(&g, &key, &body).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = sse_events(resp).await;
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c.get("usage").is_none_or(Value::is_null)),
        "usage not asked for, not shown"
    );
    assert!(
        chunks
            .iter()
            .all(|c| !c["choices"].as_array().unwrap().is_empty())
    );
    // …but captured: the record has the upstream's figures.
    let rows = g.wait_for_records(&token, 1).await;
    assert_eq!(rows[0]["completion_tokens"], 6);
    assert_eq!(rows[0]["stream"], true);
    assert!(rows[0]["ttft_ms"].as_i64().is_some());

    body["stream_options"] = json!({"include_usage": true});
    let events = sse_events(stream(&g, &key, &body).await).await;
    let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["completion_tokens"], 6);
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
}

#[tokio::test]
async fn chunks_arrive_as_they_are_produced() {
    let g = Gateway::start().await;
    let (_, key) = g.user("p@example.com").await;
    let mut body = chat("mock/gpt-4o-mini@chunks=5,tps=5", "slowly");
    body["stream"] = json!(true);
    let resp = stream(&g, &key, &body).await;
    let mut bytes = resp.bytes_stream();
    let start = std::time::Instant::now();
    let first = bytes.next().await.unwrap().unwrap();
    let first_at = start.elapsed();
    assert!(!first.is_empty());
    while bytes.next().await.is_some() {}
    let all = start.elapsed();
    // At 5 tokens/s the whole stream takes about a second; the first bytes must not wait for it.
    assert!(
        all >= Duration::from_millis(600),
        "stream took only {all:?}"
    );
    assert!(
        first_at * 2 < all,
        "first bytes after {first_at:?} of {all:?}: the gateway buffered"
    );
}

#[tokio::test]
async fn an_upstream_failure_mid_stream_becomes_an_error_event() {
    let g = Gateway::start().await;
    let (token, key) = g.user("e@example.com").await;
    let mut body = chat("mock/gpt-4o-mini@chunks=8,drop_after=3", "break");
    body["stream"] = json!(true);
    let events = sse_events(stream(&g, &key, &body).await).await;
    assert_eq!(events.last().unwrap(), "[DONE]");
    let err: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert!(err["error"]["message"].is_string(), "{err}");
    let rows = g.wait_for_records(&token, 1).await;
    assert_ne!(rows[0]["status"], 200);
    assert!(rows[0]["error_type"].is_string());
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_still_leaves_a_record() {
    let g = Gateway::start().await;
    let (token, key) = g.user("gone@example.com").await;
    let mut body = chat("mock/gpt-4o-mini@chunks=50,tps=20", "a long story");
    body["stream"] = json!(true);
    let resp = stream(&g, &key, &body).await;
    let mut bytes = resp.bytes_stream();
    let mut seen = 0;
    while let Some(chunk) = bytes.next().await {
        seen += chunk.unwrap().len();
        if seen > 600 {
            break;
        }
    }
    drop(bytes);
    let rows = g.wait_for_records(&token, 1).await;
    assert_eq!(rows[0]["status"], 499);
    assert_eq!(rows[0]["error_type"], "client_disconnected");
    let completion = rows[0]["completion_tokens"].as_i64().unwrap();
    assert!(
        completion > 0 && completion < 50,
        "partial usage, got {completion}"
    );
    assert!(rows[0]["prompt_tokens"].as_i64().unwrap() > 0);
}
