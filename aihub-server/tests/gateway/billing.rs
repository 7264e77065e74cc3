//! The billing rule for every way a request can end (docs/limits.md, "How each request is
//! billed"): one test per rule not covered in `pipeline.rs` and `streaming.rs`.

use serde_json::json;

use crate::{Gateway, chat};

#[tokio::test]
async fn a_completed_request_is_billed_with_the_usage_the_provider_reported() {
    let g = Gateway::start().await;
    let (token, key) = g.user("done@example.com").await;
    let (status, body) = g
        .post(
            "/v1/chat/completions",
            Some(&key),
            &chat("mock/gpt-4o-mini", "hello"),
        )
        .await;
    assert_eq!(status, 200);
    let rows = g.wait_for_records(&token, 1).await;
    let r = &rows[0];
    assert_eq!(r["usage_estimated"], false);
    assert_eq!(r["prompt_tokens"], body["usage"]["prompt_tokens"]);
    assert_eq!(r["completion_tokens"], body["usage"]["completion_tokens"]);
    // 8 prompt and 8 completion tokens at $0.15 and $0.60 per million.
    assert_eq!(body["usage"]["prompt_tokens"], 8, "{body}");
    assert_eq!(body["usage"]["completion_tokens"], 8);
    assert_eq!(r["cost"], "0.000006");
}

#[tokio::test]
async fn an_upstream_error_answer_bills_nothing() {
    let g = Gateway::start().await;
    let (token, key) = g.user("error@example.com").await;
    let (status, _) = g
        .post(
            "/v1/chat/completions",
            Some(&key),
            &chat("mock/gpt-4o-mini@status=400", "hello"),
        )
        .await;
    assert_eq!(status, 400);
    let rows = g.wait_for_records(&token, 1).await;
    assert_eq!(rows[0]["status"], 400);
    assert_eq!(rows[0]["prompt_tokens"], 0);
    assert_eq!(rows[0]["completion_tokens"], 0);
    assert_eq!(rows[0]["usage_estimated"], false);
}

#[tokio::test]
async fn an_upstream_timeout_bills_the_counted_prompt_as_an_estimate() {
    let g = Gateway::start().await;
    let (token, key) = g.user("timeout@example.com").await;
    let (status, body) = g
        .post(
            "/v1/chat/completions",
            Some(&key),
            &chat("mock/gpt-4o-mini@latency_ms=3000", "hello"),
        )
        .await;
    assert_eq!(status, 504, "{body}");
    let rows = g.wait_for_records(&token, 1).await;
    let r = &rows[0];
    assert_eq!(r["status"], 504);
    assert_eq!(r["error_type"], "timeout");
    assert_eq!(r["usage_estimated"], true, "{r}");
    assert!(r["prompt_tokens"].as_i64().unwrap() > 0);
    assert_eq!(r["completion_tokens"], 0);
    assert!(r["cost"].as_str().is_some());
}

#[tokio::test]
async fn embeddings_a_provider_reports_no_usage_for_are_counted_locally() {
    let g = Gateway::start().await;
    let (token, key) = g.user("embed@example.com").await;
    let (status, body) = g
        .post(
            "/v1/embeddings",
            Some(&key),
            &json!({"model": "mock-gemini/text-embedding-004", "input": ["hello world", "and more"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rows = g.wait_for_records(&token, 1).await;
    let r = &rows[0];
    assert_eq!(r["usage_estimated"], true, "{r}");
    let counted = aihub_core::tokens::count_text("mock-gemini/text-embedding-004", "hello world")
        + aihub_core::tokens::count_text("mock-gemini/text-embedding-004", "and more");
    assert_eq!(
        r["prompt_tokens"].as_u64().unwrap(),
        u64::try_from(counted).unwrap()
    );
    assert_eq!(body["usage"]["prompt_tokens"], r["prompt_tokens"]);
    assert!(r["cost"].as_str().is_some());
}
