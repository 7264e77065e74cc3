//! Non-stream requests served from an upstream stream (`routing.non_stream_as_stream`): an
//! upstream that never sends content falls over within `first_token_timeout_ms` instead of
//! holding the caller for the whole upstream timeout, and an attempt cut after content falls
//! over too, its output billed.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Gateway, chat};

const TABLES: &str = r#"
[plans.free]
name = "Free (tests: unlimited)"

[routing]
first_token_timeout_ms = 400
non_stream_as_stream = true

[routing.groups.stalled]
deployments = [
  { id = "stall", provider = "mock", model = "gpt-4o-mini@ttft_ms=30000", priority = 0 },
  { id = "unstalled", provider = "mock", model = "gpt-4o-mini-unstalled", priority = 1 },
]

[routing.groups.cut]
deployments = [
  { id = "cut", provider = "mock", model = "gpt-4o-mini@error_event=2", priority = 0 },
  { id = "whole", provider = "mock", model = "gpt-4o-mini-whole", priority = 1 },
]
"#;

/// Prompt and completion tokens of one plain attempt with the same prompt (another user's,
/// so that the records under test stay alone).
async fn one_attempt(g: &Gateway) -> (i64, i64) {
    let (_, key) = g.user("baseline@example.com").await;
    let (status, body) = g
        .post(
            "/v1/chat/completions",
            Some(&key),
            &chat("mock/gpt-4o-mini-baseline", "hello"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let usage = &body["usage"];
    (
        usage["prompt_tokens"].as_i64().unwrap(),
        usage["completion_tokens"].as_i64().unwrap(),
    )
}

fn upstream_models(g: &Gateway) -> Vec<(String, Value)> {
    g.mock
        .requests()
        .into_iter()
        .map(|r| (r.body["model"].as_str().unwrap_or("").to_owned(), r.body))
        .collect()
}

#[tokio::test]
async fn a_non_stream_request_to_a_stalled_upstream_falls_over_within_the_first_token_limit() {
    let run = |db: Option<String>| async move {
        let g = Gateway::start_setup(db, "", TABLES).await;
        let (token, key) = g.user("stalled@example.com").await;
        let started = Instant::now();
        let (status, body) = g
            .post(
                "/v1/chat/completions",
                Some(&key),
                &chat("stalled", "hello"),
            )
            .await;
        let took = started.elapsed();
        assert_eq!(status, 200, "{body}");
        // The stalled deployment would hold the request for 30 s; the limit is 0.4 s.
        assert!(took < Duration::from_secs(10), "{took:?}");
        assert_eq!(body["object"], "chat.completion", "{body}");
        assert!(
            body["choices"][0]["message"]["content"].is_string(),
            "{body}"
        );
        assert!(
            body["usage"]["completion_tokens"].as_u64().unwrap() > 0,
            "{body}"
        );
        let sent = upstream_models(&g);
        assert_eq!(sent.len(), 2, "{sent:?}");
        // Both attempts went upstream as streams, whatever the caller asked for.
        assert!(sent.iter().all(|(_, b)| b["stream"] == true), "{sent:?}");
        assert_eq!(sent[1].0, "gpt-4o-mini-unstalled");
        let (prompt, completion) = one_attempt(&g).await;
        let rows = g.wait_for_records(&token, 1).await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        let row = &rows[0];
        assert_eq!(row["attempts"], 2, "{row}");
        assert_eq!(row["upstream_model"], "gpt-4o-mini-unstalled", "{row}");
        // The stalled attempt was sent: its prompt is billed, as for any attempt cut by a
        // timeout, on top of the answer's; the caller's usage shows what was billed.
        assert_eq!(row["prompt_tokens"].as_i64().unwrap(), 2 * prompt, "{row}");
        assert_eq!(
            row["completion_tokens"].as_i64().unwrap(),
            completion,
            "{row}"
        );
        assert_eq!(
            body["usage"]["prompt_tokens"], row["prompt_tokens"],
            "{body}"
        );
    };
    run(None).await;
    crate::limits::harness::in_fresh_postgres(move |db| async move { run(Some(db)).await }).await;
}

#[tokio::test]
async fn an_attempt_cut_after_content_falls_over_and_its_output_is_billed() {
    let g = Gateway::start_setup(None, "", TABLES).await;
    let (token, key) = g.user("cut@example.com").await;
    let (status, body) = g
        .post("/v1/chat/completions", Some(&key), &chat("cut", "hello"))
        .await;
    assert_eq!(status, 200, "{body}");
    // The client sees only the whole answer: nothing of the cut attempt.
    let sent = upstream_models(&g);
    assert_eq!(sent.last().unwrap().0, "gpt-4o-mini-whole", "{sent:?}");
    let cut_attempts = sent
        .iter()
        .filter(|(m, _)| m.contains("error_event"))
        .count();
    assert!(cut_attempts >= 1, "{sent:?}");
    let (prompt, completion) = one_attempt(&g).await;
    let rows = g.wait_for_records(&token, 1).await;
    let row = &rows[0];
    let attempts = row["attempts"].as_i64().unwrap();
    assert_eq!(attempts as usize, sent.len(), "{row}");
    // Each cut attempt produced output before it failed: billed, estimated.
    assert!(
        row["completion_tokens"].as_i64().unwrap() > completion,
        "{row}"
    );
    assert_eq!(
        row["prompt_tokens"].as_i64().unwrap(),
        prompt * attempts,
        "{row}"
    );
    assert_eq!(row["usage_estimated"], true, "{row}");
    assert_eq!(body["usage"]["estimated"], true, "{body}");
    assert_eq!(
        body["usage"]["completion_tokens"], row["completion_tokens"],
        "{body}"
    );
    assert_eq!(body["usage"]["cost"], row["cost"], "{body}");
}
