//! OpenAI-compatible adapter on fixtures from OpenAI's and the compatible providers' docs.

use serde_json::{Value, json};

use super::*;
use crate::error::Error;
use crate::providers::{Adapter, ProviderAdapter, ProviderConfig, ProviderKind};
use crate::stream::{ChatAccumulator, decode_sse_text};
use crate::types::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/openai/", $name))
    };
}

fn openai() -> Adapter {
    Adapter::new(
        ProviderConfig::new("openai", ProviderKind::OpenAi, "https://api.openai.com/v1/")
            .with_api_key("sk-test"),
    )
}

fn with_quirks(id: &str, quirks: Quirks) -> Adapter {
    let mut c =
        ProviderConfig::new(id, ProviderKind::OpenAi, "https://example.test/v1").with_api_key("k");
    c.quirks = quirks;
    Adapter::new(c)
}

fn request(text: &str) -> ChatCompletionRequest {
    serde_json::from_str(text).unwrap()
}

#[test]
fn openai_request_is_the_callers_body() {
    let req = request(fixture!("request_tools.json"));
    let http = openai().chat_request(&req, "gpt-4.1-2025-04-14").unwrap();
    assert_eq!(http.method, http::Method::POST);
    assert_eq!(http.url, "https://api.openai.com/v1/chat/completions");
    let auth = http.headers.get("authorization").unwrap();
    assert_eq!(auth, "Bearer sk-test");
    assert!(auth.is_sensitive(), "the key must be marked sensitive");
    assert!(
        !format!("{http:?}").contains("sk-test"),
        "Debug output leaks the key"
    );
    let mut expected: Value = serde_json::from_str(fixture!("request_tools.json")).unwrap();
    expected["model"] = json!("gpt-4.1-2025-04-14");
    expected["messages"][2]
        .as_object_mut()
        .unwrap()
        .remove("content"); // null == absent
    assert_eq!(http.body.unwrap(), expected);
}

#[test]
fn unknown_fields_reach_the_upstream() {
    let req = request(fixture!("request_everything.json"));
    let body = openai()
        .chat_request(&req, "gpt-4o-mini")
        .unwrap()
        .body
        .unwrap();
    assert_eq!(body["metadata"], json!({"project": "demo"}));
    assert_eq!(body["prediction"]["type"], "content");
    assert_eq!(body["store"], false);
    assert_eq!(body["max_completion_tokens"], 120);
    assert_eq!(body["max_tokens"], 100);
}

#[test]
fn streams_always_ask_for_usage() {
    let mut req = ChatCompletionRequest::new("gpt-4o-mini", vec![ChatMessage::user("hi")]);
    req.stream = Some(true);
    let http = openai().chat_request(&req, "gpt-4o-mini").unwrap();
    assert_eq!(
        http.body.as_ref().unwrap()["stream_options"],
        json!({"include_usage": true})
    );
    assert_eq!(http.headers.get("accept").unwrap(), "text/event-stream");
    // Not streaming: stream_options would be rejected by OpenAI.
    req.stream = None;
    req.stream_options = Some(StreamOptions {
        include_usage: Some(true),
        extra: Default::default(),
    });
    let body = openai()
        .chat_request(&req, "gpt-4o-mini")
        .unwrap()
        .body
        .unwrap();
    assert!(body.get("stream_options").is_none());
}

#[test]
fn quirks_reshape_the_body() {
    let quirks = Quirks {
        max_tokens_field: MaxTokensField::MaxTokens,
        developer_role: false,
        stream_usage: false,
        requires_key: true,
    };
    let mut req = ChatCompletionRequest::new(
        "deepseek/deepseek-reasoner",
        vec![
            ChatMessage::developer("Be brief."),
            ChatMessage::user("9.11 or 9.8?"),
            ChatMessage::Assistant(AssistantMessage {
                content: Some("9.8".into()),
                reasoning_content: Some("compare tenths".into()),
                ..Default::default()
            }),
            ChatMessage::user("why?"),
        ],
    );
    req.max_completion_tokens = Some(64);
    req.stream = Some(true);
    req.stream_options = Some(StreamOptions {
        include_usage: Some(true),
        extra: Default::default(),
    });
    let body = with_quirks("deepseek", quirks)
        .chat_request(&req, "deepseek-reasoner")
        .unwrap()
        .body
        .unwrap();
    assert_eq!(body["model"], "deepseek-reasoner");
    assert_eq!(body["max_tokens"], 64);
    assert!(body.get("max_completion_tokens").is_none());
    assert_eq!(body["messages"][0]["role"], "system");
    assert!(body["messages"][2].get("reasoning_content").is_none());
    assert_eq!(body["messages"][2]["content"], "9.8");
    assert!(body.get("stream_options").is_none());
}

#[test]
fn a_mangled_key_is_a_configuration_error() {
    let req = ChatCompletionRequest::new("m", vec![ChatMessage::user("hi")]);
    let a = Adapter::new(
        ProviderConfig::new("openai", ProviderKind::OpenAi, "https://api.openai.com/v1")
            .with_api_key("sk-abc…"),
    );
    let e = a.chat_request(&req, "m").unwrap_err();
    assert_eq!(e.kind(), "config");
    assert!(e.message().contains("authorization"), "{e}");
}

#[test]
fn keys_are_required_unless_the_provider_needs_none() {
    let req = ChatCompletionRequest::new("m", vec![ChatMessage::user("hi")]);
    let no_key = Adapter::new(ProviderConfig::new(
        "openai",
        ProviderKind::OpenAi,
        "https://api.openai.com/v1",
    ));
    assert!(matches!(
        no_key.chat_request(&req, "m"),
        Err(Error::Config(_))
    ));
    let mut ollama =
        ProviderConfig::new("ollama", ProviderKind::OpenAi, "http://localhost:11434/v1");
    ollama.quirks.requires_key = false;
    let http = Adapter::new(ollama).chat_request(&req, "llama3.2").unwrap();
    assert!(http.headers.get("authorization").is_none());
    assert_eq!(http.url, "http://localhost:11434/v1/chat/completions");
}

#[test]
fn responses_parse_with_provider_usage() {
    let c = openai()
        .parse_chat_response(
            fixture!("response_tool_calls.json").as_bytes(),
            "gpt-4o-mini",
        )
        .unwrap();
    assert_eq!(c.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    let calls = c.choices[0].message.tool_calls.as_ref().unwrap();
    assert_eq!(calls[0].id, "call_abc123");
    let args: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
    assert_eq!(args["location"], "Boston, MA");

    let c = openai()
        .parse_chat_response(
            fixture!("response_deepseek_reasoner.json").as_bytes(),
            "deepseek-reasoner",
        )
        .unwrap();
    let u = c.usage.unwrap();
    assert_eq!(u.cached_tokens(), 10, "DeepSeek's prompt_cache_hit_tokens");
    assert_eq!(u.reasoning_tokens(), 92);
    assert_eq!(
        c.choices[0].message.reasoning_content.as_deref(),
        Some("Compare the tenths: 1 < 8.")
    );

    let err = openai().parse_chat_response(b"{not json", "m").unwrap_err();
    assert_eq!(err.kind(), "invalid_response");
}

fn last_usage(chunks: &[ChatCompletionChunk]) -> Usage {
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty(), "usage comes in a chunk of its own");
    assert_eq!(chunks.iter().filter(|c| c.usage.is_some()).count(), 1);
    last.usage.clone().unwrap()
}

#[test]
fn stream_with_usage_decodes() {
    let chunks = decode_sse_text(
        fixture!("stream_include_usage.sse"),
        openai().stream_state("gpt-4o-mini"),
    )
    .unwrap();
    assert_eq!(chunks.len(), 5);
    assert_eq!(
        chunks[0].choices[0].delta.role.as_deref(),
        Some("assistant")
    );
    assert_eq!(
        last_usage(&chunks),
        Usage::new(9, 2)
            .with_cached_tokens(0)
            .with_reasoning_tokens(0)
    );
    let mut acc = ChatAccumulator::new();
    chunks.iter().for_each(|c| acc.push(c));
    let done = acc.finish();
    assert_eq!(
        done.choices[0].message.content.as_deref(),
        Some("Hello there")
    );
    assert_eq!(done.choices[0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(done.id, "chatcmpl-123");
}

#[test]
fn streamed_tool_calls_accumulate() {
    let chunks = decode_sse_text(
        fixture!("stream_tool_calls.sse"),
        openai().stream_state("gpt-4o"),
    )
    .unwrap();
    let first = chunks[0].choices[0].delta.tool_calls.as_ref().unwrap();
    assert_eq!(
        first[0].id.as_deref(),
        Some("call_DdmO9pD3xa9XTPNJ32zg2hcA")
    );
    let mut acc = ChatAccumulator::new();
    chunks.iter().for_each(|c| acc.push(c));
    let done = acc.finish();
    let calls = done.choices[0].message.tool_calls.clone().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].function.arguments,
        "{\"location\": \"Boston, MA\"}"
    );
    assert_eq!(calls[1].function.name, "get_time");
    assert_eq!(done.choices[0].finish_reason, Some(FinishReason::ToolCalls));
}

#[test]
fn provider_usage_styles_become_one_usage_chunk() {
    let cases = [
        (
            fixture!("stream_mistral_usage_in_last_chunk.sse"),
            Usage::new(10, 3),
            "Bonjour",
        ),
        (
            fixture!("stream_moonshot_choice_usage.sse"),
            Usage::new(19, 13),
            "你好",
        ),
        (
            fixture!("stream_groq_x_groq_usage.sse"),
            Usage::new(40, 1),
            "Fast",
        ),
    ];
    for (sse, usage, text) in cases {
        let chunks = decode_sse_text(sse, openai().stream_state("m")).unwrap();
        assert_eq!(last_usage(&chunks), usage);
        let mut acc = ChatAccumulator::new();
        chunks.iter().for_each(|c| acc.push(c));
        assert_eq!(acc.content(), text);
        assert_eq!(
            acc.finish().choices[0].finish_reason,
            Some(FinishReason::Stop)
        );
    }
}

#[test]
fn error_mid_stream_and_truncation_are_errors() {
    let err = decode_sse_text(
        fixture!("stream_error_midway.sse"),
        openai().stream_state("m"),
    )
    .unwrap_err();
    assert!(err.message().contains("The server had an error"), "{err}");
    assert!(err.is_retryable());
    let err =
        decode_sse_text(fixture!("stream_truncated.sse"), openai().stream_state("m")).unwrap_err();
    assert_eq!(err.code(), Some("stream_truncated"));
    let err = decode_sse_text("data: {oops\n\n", openai().stream_state("m")).unwrap_err();
    assert_eq!(err.kind(), "invalid_response");
}

#[test]
fn errors_map_to_variants() {
    let mut headers = http::HeaderMap::new();
    headers.insert("x-request-id", "req_123".parse().unwrap());
    headers.insert("retry-after", "20".parse().unwrap());
    let a = openai();
    let e = a.parse_error(401, &headers, fixture!("error_401.json").as_bytes());
    assert_eq!(e.kind(), "authentication");
    assert_eq!(e.request_id(), Some("req_123"));
    assert!(e.message().starts_with("Incorrect API key"));
    assert_eq!(e.detail().provider.as_deref(), Some("openai"));
    let e = a.parse_error(429, &headers, fixture!("error_429_rate.json").as_bytes());
    assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(20)));
    assert_eq!(e.code(), Some("rate_limit_exceeded"));
    let e = a.parse_error(429, &headers, fixture!("error_429_quota.json").as_bytes());
    assert_eq!(e.kind(), "insufficient_quota");
    assert!(!e.is_retryable());
    let e = a.parse_error(404, &headers, fixture!("error_404_model.json").as_bytes());
    assert_eq!(e.kind(), "not_found");
    let e = a.parse_error(400, &headers, fixture!("error_400_param.json").as_bytes());
    assert_eq!(e.detail().param.as_deref(), Some("temperature"));
    assert_eq!(e.status(), 400);
    let e = a.parse_error(503, &http::HeaderMap::new(), b"");
    assert_eq!(e.kind(), "upstream");
    assert!(e.message().contains("503"));
    let e = a.parse_error(502, &http::HeaderMap::new(), b"<html>Bad Gateway</html>");
    assert_eq!(e.message(), "<html>Bad Gateway</html>");
}

#[test]
fn embeddings_follow_the_requested_encoding() {
    let a = openai();
    let mut req: EmbeddingRequest =
        serde_json::from_str(fixture!("embeddings_request.json")).unwrap();
    let http = a
        .embeddings_request(&req, "text-embedding-3-small")
        .unwrap();
    assert_eq!(http.url, "https://api.openai.com/v1/embeddings");
    assert_eq!(http.body.unwrap()["dimensions"], 4);
    req.encoding_format = Some(EncodingFormat::Base64);
    let resp = a
        .parse_embeddings_response(fixture!("embeddings_response.json").as_bytes(), &req)
        .unwrap();
    assert_eq!(
        resp.data[1].embedding,
        EmbeddingVector::Base64("AAAAPwAAgL4AAIA/AAAAAA==".into())
    );
    let list = a
        .parse_models_response(fixture!("models_response.json").as_bytes())
        .unwrap();
    assert_eq!(list.data[0].id, "gpt-4o-mini");
    assert_eq!(
        a.models_request().unwrap().url,
        "https://api.openai.com/v1/models"
    );
}

#[test]
fn azure_uses_deployments_and_api_key() {
    let mut c = ProviderConfig::new(
        "azure",
        ProviderKind::Azure,
        "https://contoso.openai.azure.com",
    )
    .with_api_key("az-key");
    c.api_version = Some("2024-10-21".into());
    let a = Adapter::new(c);
    let req = ChatCompletionRequest::new("azure/prod-gpt4o", vec![ChatMessage::user("hi")]);
    let http = a.chat_request(&req, "prod-gpt4o").unwrap();
    assert_eq!(
        http.url,
        "https://contoso.openai.azure.com/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(http.headers.get("api-key").unwrap(), "az-key");
    assert!(http.headers.get("api-key").unwrap().is_sensitive());
    assert!(http.headers.get("authorization").is_none());
    let emb = EmbeddingRequest {
        model: "e".into(),
        input: EmbeddingInput::Text("x".into()),
        encoding_format: None,
        dimensions: None,
        user: None,
        extra: Default::default(),
    };
    assert!(
        a.embeddings_request(&emb, "emb")
            .unwrap()
            .url
            .contains("/deployments/emb/embeddings?api-version=")
    );
    let filtered = r#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}"#;
    assert_eq!(
        a.parse_error(400, &http::HeaderMap::new(), filtered.as_bytes())
            .kind(),
        "content_filter"
    );
}

#[test]
fn an_azure_deployment_name_cannot_steer_the_request() {
    let a = Adapter::new(
        ProviderConfig::new(
            "azure",
            ProviderKind::Azure,
            "https://contoso.openai.azure.com",
        )
        .with_api_key("az-key"),
    );
    let req = ChatCompletionRequest::new("azure/x", vec![ChatMessage::user("hi")]);
    for name in [
        "../../other/deployments/x",
        "prod/../evil",
        "prod?api-version=1#",
        "prod%2F..",
        "prod\n",
    ] {
        match a.chat_request(&req, name) {
            Ok(built) => panic!("{name:?} was sent to {}", built.url),
            Err(e) => {
                assert_eq!(e.kind(), "bad_request", "{name:?}");
                assert_eq!(e.detail().param.as_deref(), Some("model"));
            }
        }
    }
}
