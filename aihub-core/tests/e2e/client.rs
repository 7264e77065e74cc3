//! Gateway mode against an OpenAI-compatible endpoint: chat, stream, tools, embeddings, models.

use aihub_core::stream::ChatAccumulator;
use aihub_core::*;
use futures::StreamExt;
use serde_json::json;

use crate::mock;

fn gateway(base: &str) -> Client {
    Client::builder()
        .gateway(base, "ai-hub-test-key")
        .build()
        .unwrap()
}

#[tokio::test]
async fn chat_non_stream() {
    let m = mock().await;
    let c = gateway(&m.openai_base());
    let r = c
        .chat()
        .create(ChatCompletionRequest::new(
            "gpt-4o-mini",
            vec![ChatMessage::user("hello there")],
        ))
        .await
        .unwrap();
    let text = r.choices[0].message.content.clone().unwrap();
    assert!(!text.is_empty());
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
    let u = r.usage.unwrap();
    assert!(u.prompt_tokens > 0 && u.completion_tokens > 0);
    assert_eq!(u.total_tokens, u.prompt_tokens + u.completion_tokens);
    let sent = m.requests();
    let last = sent.last().unwrap();
    assert_eq!(last.path, "/v1/chat/completions");
    assert!(
        last.headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == "***"),
        "key redacted in the mock's record"
    );
    assert!(last.headers.iter().any(|(k, _)| k == "x-client-request-id"));
    assert!(last.body.get("stream").is_none());
}

#[tokio::test]
async fn stream_accumulates_and_carries_usage() {
    let m = mock().await;
    let c = gateway(&m.openai_base());
    let req = ChatCompletionRequest::new(
        "gpt-4o-mini@chunks=20",
        vec![ChatMessage::user("count to twenty")],
    );
    let mut s = c.chat().stream(req).await.unwrap();
    let mut acc = ChatAccumulator::new();
    let mut content_chunks = 0;
    while let Some(chunk) = s.next().await {
        let chunk = chunk.unwrap();
        if chunk
            .choices
            .first()
            .and_then(|c| c.delta.content.as_deref())
            .is_some_and(|t| !t.is_empty())
        {
            content_chunks += 1;
        }
        acc.push(&chunk);
    }
    assert_eq!(content_chunks, 20);
    let usage = acc.usage().cloned().expect("usage is always asked for");
    assert_eq!(usage.completion_tokens, 20);
    let done = acc.finish();
    assert_eq!(done.choices[0].finish_reason, Some(FinishReason::Stop));
    // The upstream was asked for usage although the caller did not ask.
    let body = m.requests().last().unwrap().body.clone();
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
}

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
}

#[tokio::test]
async fn tool_calls_stream_and_not() {
    let m = mock().await;
    let c = gateway(&m.openai_base());
    let mut req = ChatCompletionRequest::new(
        "gpt-4o-mini",
        vec![ChatMessage::user("call get_weather for Paris")],
    );
    req.tools = Some(vec![weather_tool()]);
    let r = c.chat().create(req.clone()).await.unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    let call = &r.choices[0].message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.function.name, "get_weather");
    serde_json::from_str::<serde_json::Value>(&call.function.arguments)
        .expect("arguments are JSON");

    let mut s = c.chat().stream(req).await.unwrap();
    let mut acc = ChatAccumulator::new();
    let mut first_piece = None;
    while let Some(chunk) = s.next().await {
        let chunk = chunk.unwrap();
        if first_piece.is_none()
            && let Some(tc) = chunk
                .choices
                .first()
                .and_then(|c| c.delta.tool_calls.as_ref())
        {
            first_piece = Some(tc[0].clone());
        }
        acc.push(&chunk);
    }
    let first_piece = first_piece.unwrap();
    assert!(first_piece.id.is_some() && first_piece.kind.as_deref() == Some("function"));
    assert_eq!(
        first_piece.function.unwrap().name.as_deref(),
        Some("get_weather")
    );
    let done = acc.finish();
    let streamed = &done.choices[0].message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(streamed.function.name, "get_weather");
    serde_json::from_str::<serde_json::Value>(&streamed.function.arguments)
        .expect("pieces join into JSON");
}

#[tokio::test]
async fn embeddings_in_both_encodings() {
    let m = mock().await;
    let c = gateway(&m.openai_base());
    let mut req = EmbeddingRequest {
        model: "text-embedding-3-small".into(),
        input: EmbeddingInput::Texts(vec!["alpha".into(), "beta".into()]),
        encoding_format: None,
        dimensions: Some(16),
        user: None,
        extra: Default::default(),
    };
    let floats = c.embeddings().create(req.clone()).await.unwrap();
    assert_eq!(floats.data.len(), 2);
    let EmbeddingVector::Float(v0) = &floats.data[0].embedding else {
        panic!("asked for floats")
    };
    assert_eq!(v0.len(), 16);
    req.encoding_format = Some(EncodingFormat::Base64);
    let b64 = c.embeddings().create(req).await.unwrap();
    assert!(matches!(b64.data[0].embedding, EmbeddingVector::Base64(_)));
    assert_eq!(
        &b64.data[0].embedding.to_floats().unwrap(),
        v0,
        "same vector either way"
    );
    assert!(floats.usage.prompt_tokens > 0);
}

#[tokio::test]
async fn models_list() {
    let m = mock().await;
    let list = gateway(&m.openai_base()).models().list().await.unwrap();
    assert!(!list.data.is_empty());
    assert!(
        list.data
            .iter()
            .all(|m| !m.id.is_empty() && m.object == "model")
    );
}

#[tokio::test]
async fn errors_keep_provider_message_and_status() {
    let m = mock().await;
    let c = Client::builder()
        .gateway(m.openai_base(), "bad-key")
        .build()
        .unwrap();
    let e = c
        .chat()
        .create(ChatCompletionRequest::new(
            "gpt-4o-mini",
            vec![ChatMessage::user("hi")],
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "authentication");
    assert_eq!(e.detail().upstream_status, Some(401));
    assert!(!e.message().is_empty());
    assert!(e.request_id().is_some());
    assert_eq!(m.request_count(), 1, "401 is not retried");
}

#[tokio::test]
async fn invalid_requests_fail_before_anything_is_sent() {
    let m = mock().await;
    let c = gateway(&m.openai_base());
    let mut req = ChatCompletionRequest::new("gpt-4o-mini", vec![ChatMessage::user("hi")]);
    req.temperature = Some(7.0);
    let e = c.chat().create(req.clone()).await.unwrap_err();
    assert_eq!(e.detail().param.as_deref(), Some("temperature"));
    assert!(c.chat().stream(req).await.is_err());
    let e = c
        .chat()
        .create(ChatCompletionRequest::new("gpt-4o-mini", vec![]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "bad_request");
    assert_eq!(m.request_count(), 0);
}
