//! The single-attempt entry the gateway uses: one request, no retry, no fallback, and
//! what the attempt was.

use aihub_core::client::AttemptOptions;
use aihub_core::*;
use futures::StreamExt;
use serde_json::json;

use crate::mock;

fn client(m: &mock_upstream::MockServer) -> Client {
    Client::builder()
        .keys_from_env(false)
        .provider_key("openai", "sk-test")
        .provider_base_url("openai", m.openai_base())
        .provider_key("anthropic", "sk-ant-test")
        .provider_base_url("anthropic", m.anthropic_base())
        .max_retries(5)
        .build()
        .unwrap()
}

fn options(number: u32) -> AttemptOptions {
    AttemptOptions {
        number,
        request_id: Some("req_attempt_test".into()),
        timeout: None,
    }
}

#[tokio::test]
async fn an_attempt_reports_where_it_went_and_what_came_back() {
    let m = mock().await;
    let c = client(&m);
    let request = ChatCompletionRequest::new("ignored", vec![ChatMessage::user("hello")]);
    let (result, info) = c
        .attempt_chat("anthropic", "claude-sonnet-4-5", &request, &options(2))
        .await;
    let completion = result.unwrap();
    assert!(completion.usage.is_some());
    assert_eq!(info.provider, "anthropic");
    assert_eq!(info.upstream_model, "claude-sonnet-4-5");
    assert_eq!(info.number, 2);
    assert_eq!(info.status, Some(200));
    assert!(info.usage_reported);
    assert!(info.time_to_first_byte.is_some());
    assert!(info.latency >= info.time_to_first_byte.unwrap());
    let sent = m.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["model"], json!("claude-sonnet-4-5"));
}

#[tokio::test]
async fn a_failed_attempt_is_not_retried_even_when_the_client_would_retry() {
    let m = mock().await;
    let c = client(&m);
    let request = ChatCompletionRequest::new("x", vec![ChatMessage::user("hello")]);
    let (result, info) = c
        .attempt_chat("openai", "gpt-4o-mini@status=503", &request, &options(1))
        .await;
    let error = result.unwrap_err();
    assert_eq!(error.detail().upstream_status, Some(503));
    assert!(error.is_retryable());
    assert_eq!(info.status, Some(503));
    assert_eq!(m.request_count(), 1, "one attempt is one upstream request");
}

#[tokio::test]
async fn a_stream_attempt_starts_and_streams() {
    let m = mock().await;
    let c = client(&m);
    let request = ChatCompletionRequest::new("x", vec![ChatMessage::user("hello")]);
    let (result, info) = c
        .attempt_chat_stream("openai", "gpt-4o-mini", &request, &options(1))
        .await;
    let mut stream = result.unwrap();
    assert_eq!(info.status, Some(200));
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        chunk.unwrap();
        chunks += 1;
    }
    assert!(chunks > 1);
}

#[tokio::test]
async fn an_unconfigured_provider_is_a_configuration_error() {
    let m = mock().await;
    let c = client(&m);
    let request = ChatCompletionRequest::new("x", vec![ChatMessage::user("hello")]);
    let (result, _) = c
        .attempt_chat("gemini", "gemini-2.5-flash", &request, &options(1))
        .await;
    assert_eq!(result.unwrap_err().kind(), "config");
    assert_eq!(m.request_count(), 0);
}

#[tokio::test]
async fn a_passthrough_carries_the_provider_wire_format_with_credentials() {
    let m = mock().await;
    let c = client(&m);
    let body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hello"}]
    });
    let (result, info) = c
        .attempt_passthrough(
            "anthropic",
            http::Method::POST,
            "/messages",
            Some(body),
            &options(1),
        )
        .await;
    let raw = result.unwrap();
    assert_eq!(raw.status, 200);
    assert_eq!(info.status, Some(200));
    let bytes: Vec<u8> = raw.body.map(|b| b.unwrap().to_vec()).concat().await;
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(answer["type"], json!("message"));
    let sent = m.requests();
    assert_eq!(sent[0].path, "/v1/messages");
    assert!(
        sent[0].header("x-api-key").is_some(),
        "credentials were added"
    );
    assert!(sent[0].header("anthropic-version").is_some());
}
