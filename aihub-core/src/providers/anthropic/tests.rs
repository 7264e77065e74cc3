//! Tests of the Anthropic adapter on the fixtures in `tests/fixtures/anthropic/`.

use std::time::Duration;

use eventsource_stream::Event;
use futures_util::{FutureExt, StreamExt};
use http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::response::{finish_reason, rfc3339_to_unix};
use super::*;
use crate::providers::{Adapter, ProviderKind};
use crate::stream::{ChatAccumulator, decode_chat_stream, decode_sse_text};
use crate::types::{ChatCompletionChunk, EmbeddingRequest, FinishReason};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/anthropic/", $name))
    };
}

fn json_fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn config() -> ProviderConfig {
    ProviderConfig::new(
        "anthropic",
        ProviderKind::Anthropic,
        "https://api.anthropic.com/v1",
    )
    .with_api_key("sk-ant-test-key")
}

fn adapter() -> AnthropicAdapter {
    AnthropicAdapter::new(config())
}

fn request(value: &Value) -> ChatCompletionRequest {
    serde_json::from_value(value.clone()).unwrap()
}

// ---------------------------------------------------------------- requests

#[test]
fn request_bodies_match_fixtures() {
    let cases = json_fixture(fixture!("chat_requests.json"));
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let req = request(&case["request"]);
        let upstream = case["upstream_model"].as_str().unwrap();
        let built = adapter().chat_request(&req, upstream).unwrap();
        assert_eq!(built.method, http::Method::POST, "{name}");
        assert_eq!(built.url, "https://api.anthropic.com/v1/messages", "{name}");
        assert_eq!(built.body.as_ref(), Some(&case["expected"]), "case: {name}");
    }
}

#[test]
fn rejected_requests_name_the_parameter() {
    let cases = json_fixture(fixture!("chat_requests_rejected.json"));
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let err = adapter()
            .chat_request(&request(&case["request"]), "claude-sonnet-4-5")
            .unwrap_err();
        assert_eq!(err.kind(), "bad_request", "case: {name}: {err}");
        assert_eq!(
            err.detail().param.as_deref(),
            case["param"].as_str(),
            "case: {name}: {err}"
        );
    }
}

#[test]
fn request_headers_carry_key_version_and_extras() {
    let mut cfg = config();
    cfg.headers
        .push(("anthropic-beta".into(), "prompt-caching-2024-07-31".into()));
    let req = ChatCompletionRequest::new("m", vec![crate::types::ChatMessage::user("hi")]);
    let built = AnthropicAdapter::new(cfg)
        .chat_request(&req, "claude")
        .unwrap();
    let h = &built.headers;
    assert_eq!(h["x-api-key"], "sk-ant-test-key");
    assert!(h["x-api-key"].is_sensitive());
    assert!(!format!("{built:?}").contains("sk-ant-test-key"));
    assert_eq!(h["anthropic-version"], DEFAULT_API_VERSION);
    assert_eq!(h["anthropic-version"], "2023-06-01");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["anthropic-beta"], "prompt-caching-2024-07-31");
    assert!(h.get("authorization").is_none());
    assert!(h.get("accept").is_none());

    let mut cfg = config();
    cfg.api_version = Some("2024-01-01".into());
    let mut streamed = req.clone();
    streamed.stream = Some(true);
    let built = AnthropicAdapter::new(cfg)
        .chat_request(&streamed, "claude")
        .unwrap();
    assert_eq!(built.headers["anthropic-version"], "2024-01-01");
    assert_eq!(built.headers["accept"], "text/event-stream");
    assert_eq!(built.body.unwrap()["stream"], true);
}

#[test]
fn missing_key_is_a_config_error() {
    let cfg = ProviderConfig::new(
        "anthropic",
        ProviderKind::Anthropic,
        "https://api.anthropic.com/v1",
    );
    let a = AnthropicAdapter::new(cfg);
    let req = ChatCompletionRequest::new("m", vec![crate::types::ChatMessage::user("hi")]);
    assert_eq!(a.chat_request(&req, "claude").unwrap_err().kind(), "config");
    assert_eq!(a.models_request().unwrap_err().kind(), "config");
}

#[test]
fn max_tokens_default_and_precedence() {
    let mut req = ChatCompletionRequest::new("m", vec![crate::types::ChatMessage::user("hi")]);
    let body = request_body(&req, "claude").unwrap();
    assert_eq!(body["max_tokens"], json!(DEFAULT_MAX_TOKENS));
    assert_eq!(DEFAULT_MAX_TOKENS, 4096);
    req.max_tokens = Some(10);
    assert_eq!(request_body(&req, "claude").unwrap()["max_tokens"], 10);
    req.max_completion_tokens = Some(20);
    assert_eq!(request_body(&req, "claude").unwrap()["max_tokens"], 20);
}

#[test]
fn embeddings_are_not_offered() {
    let req: EmbeddingRequest =
        serde_json::from_value(json!({"model": "m", "input": "hello"})).unwrap();
    let err = adapter().embeddings_request(&req, "claude").unwrap_err();
    assert_eq!(err.kind(), "bad_request");
}

// ---------------------------------------------------------------- responses

fn check_response(body: &str, expected: &str) {
    let mut completion = adapter()
        .parse_chat_response(body.as_bytes(), "anthropic/fallback")
        .unwrap();
    assert!(completion.created > 1_700_000_000, "created is now");
    completion.created = 0;
    assert_eq!(
        serde_json::to_value(&completion).unwrap(),
        json_fixture(expected)
    );
}

#[test]
fn text_response() {
    check_response(
        fixture!("response_text.json"),
        fixture!("response_text.expected.json"),
    );
}

#[test]
fn tool_use_response() {
    check_response(
        fixture!("response_tool_use.json"),
        fixture!("response_tool_use.expected.json"),
    );
}

#[test]
fn thinking_response() {
    check_response(
        fixture!("response_thinking.json"),
        fixture!("response_thinking.expected.json"),
    );
}

#[test]
fn cache_usage_response() {
    check_response(
        fixture!("response_cache_usage.json"),
        fixture!("response_cache_usage.expected.json"),
    );
    let completion = adapter()
        .parse_chat_response(fixture!("response_cache_usage.json").as_bytes(), "m")
        .unwrap();
    let usage = completion.usage.unwrap();
    assert_eq!(usage.cached_tokens(), 1200);
    assert_eq!(usage.cache_write_tokens(), 188_086);
    assert_eq!(usage.prompt_tokens, 21 + 1200 + 188_086);
}

#[test]
fn one_hour_cache_writes_are_reported_apart() {
    // Anthropic's `cache_creation` splits the writes by lifetime; their sum is
    // `cache_creation_input_tokens`.
    let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":50,"cache_creation_input_tokens":3000,"cache_read_input_tokens":6000,"cache_creation":{"ephemeral_5m_input_tokens":2000,"ephemeral_1h_input_tokens":1000},"output_tokens":800}}"#;
    let usage = adapter()
        .parse_chat_response(body, "m")
        .unwrap()
        .usage
        .unwrap();
    assert_eq!(usage.prompt_tokens, 50 + 6000 + 3000);
    assert_eq!(usage.cached_tokens(), 6000);
    assert_eq!(usage.cache_write_tokens(), 3000);
    assert_eq!(usage.cache_write_1h_tokens(), 1000);
    assert_eq!(
        serde_json::to_value(&usage.prompt_tokens_details).unwrap(),
        json!({"cached_tokens": 6000, "cache_write_tokens": 3000, "cache_write_1h_tokens": 1000})
    );

    // Only the breakdown: the writes are its sum. Only 5-minute writes: no 1-hour count.
    let body = br#"{"id":"msg_2","type":"message","role":"assistant","content":[],"stop_reason":"end_turn","usage":{"input_tokens":5,"cache_creation":{"ephemeral_5m_input_tokens":20,"ephemeral_1h_input_tokens":30},"output_tokens":1}}"#;
    let usage = adapter()
        .parse_chat_response(body, "m")
        .unwrap()
        .usage
        .unwrap();
    assert_eq!((usage.prompt_tokens, usage.cache_write_tokens()), (55, 50));
    assert_eq!(usage.cache_write_1h_tokens(), 30);
    let body = br#"{"id":"msg_3","type":"message","role":"assistant","content":[],"stop_reason":"end_turn","usage":{"input_tokens":5,"cache_creation_input_tokens":20,"cache_creation":{"ephemeral_5m_input_tokens":20,"ephemeral_1h_input_tokens":0},"output_tokens":1}}"#;
    let usage = adapter()
        .parse_chat_response(body, "m")
        .unwrap()
        .usage
        .unwrap();
    assert_eq!(usage.cache_write_tokens(), 20);
    assert_eq!(
        usage.prompt_tokens_details.unwrap().cache_write_1h_tokens,
        None
    );
}

#[test]
fn a_stream_keeps_the_one_hour_writes_of_its_message_start() {
    let sse = concat!(
        "event: message_start\n",
        r#"data: {"type":"message_start","message":{"id":"msg_1h","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":40,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"cache_creation":{"ephemeral_5m_input_tokens":60,"ephemeral_1h_input_tokens":40},"output_tokens":1}}}"#,
        "\n\n",
        "event: message_delta\n",
        r#"data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}}"#,
        "\n\n",
        "event: message_stop\n",
        r#"data: {"type":"message_stop"}"#,
        "\n\n",
    );
    let chunks = decode_sse_text(sse, adapter().stream_state("m")).unwrap();
    let mut acc = ChatAccumulator::new();
    for c in &chunks {
        acc.push(c);
    }
    let usage = acc.finish().usage.unwrap();
    assert_eq!(usage.prompt_tokens, 40 + 2000 + 100);
    assert_eq!(usage.completion_tokens, 12);
    assert_eq!(usage.cache_write_tokens(), 100);
    assert_eq!(usage.cache_write_1h_tokens(), 40);
}

#[test]
fn response_without_model_uses_the_requested_one() {
    let body = br#"{"id":"msg_1","type":"message","role":"assistant","content":[],"stop_reason":"refusal","usage":{"input_tokens":3,"output_tokens":0}}"#;
    let c = adapter().parse_chat_response(body, "anthropic/x").unwrap();
    assert_eq!(c.model, "anthropic/x");
    assert_eq!(c.choices[0].message.content, None);
    assert_eq!(
        c.choices[0].finish_reason,
        Some(FinishReason::ContentFilter)
    );
}

#[test]
fn malformed_response_is_invalid_response() {
    let err = adapter()
        .parse_chat_response(b"<html>oops</html>", "m")
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_response");
}

#[test]
fn stop_reasons_map_to_finish_reasons() {
    let cases = [
        ("end_turn", FinishReason::Stop),
        ("stop_sequence", FinishReason::Stop),
        ("pause_turn", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("model_context_window_exceeded", FinishReason::Length),
        ("tool_use", FinishReason::ToolCalls),
        ("refusal", FinishReason::ContentFilter),
        ("brand_new", FinishReason::Other("brand_new".into())),
    ];
    for (reason, expected) in cases {
        assert_eq!(finish_reason(reason), expected, "{reason}");
    }
}

// ---------------------------------------------------------------- errors

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_static(v));
    }
    h
}

#[test]
fn error_400_is_bad_request_with_provider_message() {
    let h = headers(&[("request-id", "req_header_400")]);
    let err = adapter().parse_error(400, &h, fixture!("error_400.json").as_bytes());
    assert_eq!(err.kind(), "bad_request");
    assert!(err.message().starts_with("messages: roles must alternate"));
    assert_eq!(err.detail().code.as_deref(), Some("invalid_request_error"));
    assert_eq!(err.request_id(), Some("req_header_400"));
    assert_eq!(err.detail().upstream_status, Some(400));
    assert!(!err.is_retryable());
}

#[test]
fn error_401_is_authentication_with_body_request_id() {
    let err = adapter().parse_error(
        401,
        &HeaderMap::new(),
        fixture!("error_401.json").as_bytes(),
    );
    assert_eq!(err.kind(), "authentication");
    assert_eq!(err.message(), "invalid x-api-key");
    assert_eq!(err.request_id(), Some("req_011CAuthFailed000000001"));
}

#[test]
fn error_429_is_rate_limit_with_retry_after() {
    let h = headers(&[("retry-after", "30"), ("request-id", "req_429")]);
    let err = adapter().parse_error(429, &h, fixture!("error_429.json").as_bytes());
    assert_eq!(err.kind(), "rate_limit");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert!(err.is_retryable());
    assert!(err.message().contains("50,000 input tokens per minute"));
    assert_eq!(err.detail().code.as_deref(), Some("rate_limit_error"));
}

#[test]
fn error_529_is_retryable_upstream() {
    let a = Adapter::new(config());
    let err = a.parse_error(
        529,
        &HeaderMap::new(),
        fixture!("error_529.json").as_bytes(),
    );
    assert_eq!(err.kind(), "upstream");
    assert!(err.is_retryable());
    assert_eq!(err.message(), "Overloaded");
    assert_eq!(err.detail().code.as_deref(), Some("overloaded_error"));
    assert_eq!(err.detail().upstream_status, Some(529));
    assert_eq!(err.detail().provider.as_deref(), Some("anthropic"));
}

#[test]
fn error_without_json_keeps_the_text() {
    let err = adapter().parse_error(502, &HeaderMap::new(), b"Bad Gateway");
    assert_eq!(err.kind(), "upstream");
    assert_eq!(err.message(), "Bad Gateway");
    let err = adapter().parse_error(413, &HeaderMap::new(), b"");
    assert_eq!(err.kind(), "payload_too_large");
    assert!(err.message().contains("413"));
}

// ---------------------------------------------------------------- streams

fn without_created(chunks: &[ChatCompletionChunk]) -> Value {
    let created = chunks[0].created;
    assert!(created > 1_700_000_000, "created is now");
    let mut values = Vec::new();
    for c in chunks {
        assert_eq!(c.created, created, "every chunk has the same created");
        let mut c = c.clone();
        c.created = 0;
        values.push(serde_json::to_value(c).unwrap());
    }
    Value::Array(values)
}

#[test]
fn text_and_tool_use_stream_chunk_by_chunk() {
    let chunks = decode_sse_text(
        fixture!("stream_text_tool_use.sse"),
        adapter().stream_state("anthropic/claude-sonnet-4-5"),
    )
    .unwrap();
    assert_eq!(
        without_created(&chunks),
        json_fixture(fixture!("stream_text_tool_use.expected.json"))
    );
}

#[test]
fn text_and_tool_use_stream_accumulates() {
    let chunks = decode_sse_text(
        fixture!("stream_text_tool_use.sse"),
        adapter().stream_state("m"),
    )
    .unwrap();
    let mut acc = ChatAccumulator::new();
    for c in &chunks {
        acc.push(c);
    }
    let done = acc.finish();
    assert_eq!(done.id, "msg_014p7gG3wDgGV9EUtLvnow3U");
    assert_eq!(done.model, "claude-sonnet-4-5-20250929");
    let choice = &done.choices[0];
    assert_eq!(
        choice.message.content.as_deref(),
        Some("Okay, let me check the weather in San Francisco.")
    );
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    let calls = choice.message.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].id, "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    assert_eq!(calls[0].kind, "function");
    assert_eq!(calls[0].function.name, "get_weather");
    let args: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
    assert_eq!(
        args,
        json!({"location": "San Francisco, CA", "unit": "fahrenheit"})
    );
    assert_eq!(calls[1].function.name, "get_time");
    let args: Value = serde_json::from_str(&calls[1].function.arguments).unwrap();
    assert_eq!(args, json!({"timezone": "America/Los_Angeles"}));
    let usage = done.usage.unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (472, 89, 561)
    );
}

#[test]
fn thinking_stream_gives_reasoning_and_cache_usage() {
    let chunks =
        decode_sse_text(fixture!("stream_thinking.sse"), adapter().stream_state("m")).unwrap();
    let mut acc = ChatAccumulator::new();
    for c in &chunks {
        acc.push(c);
    }
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    let done = acc.finish();
    let message = &done.choices[0].message;
    assert_eq!(
        message.reasoning_content.as_deref(),
        Some("27 * 453: 27 * 400 = 10800, 27 * 53 = 1431, total 12231.")
    );
    assert_eq!(message.content.as_deref(), Some("27 × 453 = 12,231."));
    assert_eq!(done.choices[0].finish_reason, Some(FinishReason::Stop));
    let usage = done.usage.unwrap();
    assert_eq!(usage.prompt_tokens, 40 + 100 + 2000);
    assert_eq!(usage.completion_tokens, 151);
    assert_eq!(usage.cached_tokens(), 2000);
    assert_eq!(usage.cache_write_tokens(), 100);
}

fn collect_items(text: &'static str) -> Vec<crate::Result<ChatCompletionChunk>> {
    let source = futures_util::stream::iter([Ok::<_, crate::Error>(bytes::Bytes::from(text))]);
    decode_chat_stream(source, adapter().stream_state("m"))
        .collect::<Vec<_>>()
        .now_or_never()
        .unwrap()
}

#[test]
fn error_event_mid_stream_is_err() {
    let err =
        decode_sse_text(fixture!("stream_error.sse"), adapter().stream_state("m")).unwrap_err();
    assert_eq!(err.kind(), "upstream");
    assert!(err.is_retryable());
    assert_eq!(err.message(), "Overloaded");
    assert_eq!(err.detail().code.as_deref(), Some("overloaded_error"));
    assert_eq!(err.request_id(), Some("req_011CStreamErr"));

    // The text before the error was delivered; nothing after it.
    let items = collect_items(fixture!("stream_error.sse"));
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[1].as_ref().unwrap().choices[0]
            .delta
            .content
            .as_deref(),
        Some("Once upon a time")
    );
    assert!(items[2].is_err());
}

#[test]
fn error_event_types_map_like_statuses() {
    let cases = [
        ("invalid_request_error", "bad_request"),
        ("rate_limit_error", "rate_limit"),
        ("api_error", "upstream"),
        ("authentication_error", "authentication"),
        ("timeout_error", "timeout"),
    ];
    for (kind, expected) in cases {
        let mut state = AnthropicStreamState::new("m");
        let event = Event {
            event: "error".into(),
            data: json!({"type": "error", "error": {"type": kind, "message": "boom"}}).to_string(),
            ..Event::default()
        };
        let err = state.on_event(&event).unwrap_err();
        assert_eq!(err.kind(), expected, "{kind}");
        assert_eq!(err.message(), "boom");
    }
}

#[test]
fn truncated_stream_is_err() {
    let err = decode_sse_text(
        fixture!("stream_truncated.sse"),
        adapter().stream_state("m"),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "invalid_response");
    assert_eq!(err.detail().code.as_deref(), Some("stream_truncated"));
    // Everything up to the cut was delivered first, finish reason included.
    let items = collect_items(fixture!("stream_truncated.sse"));
    let ok: Vec<_> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
    assert_eq!(ok.len(), 3);
    assert_eq!(ok[2].choices[0].finish_reason, Some(FinishReason::Stop));
    assert!(items.last().unwrap().is_err());
}

#[test]
fn done_only_after_message_stop() {
    let mut state = AnthropicStreamState::new("m");
    let events: Vec<Event> = fixture!("stream_text_tool_use.sse")
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut e = Event::default();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    e.event = v.into();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    e.data = v.into();
                }
            }
            e
        })
        .collect();
    let (last, rest) = events.split_last().unwrap();
    assert_eq!(last.event, "message_stop");
    for e in rest {
        state.on_event(e).unwrap();
        assert!(!state.is_done(), "{}", e.event);
    }
    let out = state.on_event(last).unwrap();
    assert!(state.is_done());
    assert_eq!(out.len(), 1);
    assert!(out[0].usage.is_some());
}

#[test]
fn stream_tolerates_missing_message_start_and_unknown_events() {
    let mut state = AnthropicStreamState::new("anthropic/x");
    let delta = Event {
        event: "content_block_delta".into(),
        data:
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#
                .into(),
        ..Event::default()
    };
    let out = state.on_event(&delta).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].choices[0].delta.role.as_deref(), Some("assistant"));
    assert_eq!(out[1].choices[0].delta.content.as_deref(), Some("hi"));
    assert_eq!(out[1].model, "anthropic/x");
    assert!(out[1].id.starts_with("msg_"));
    let unknown = Event {
        event: "brand_new_event".into(),
        data: r#"{"type":"brand_new_event","x":1}"#.into(),
        ..Event::default()
    };
    assert!(state.on_event(&unknown).unwrap().is_empty());
    let stray = Event {
        data: r#"{"type":"content_block_delta","index":5,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#
            .into(),
        ..Event::default()
    };
    assert_eq!(
        state.on_event(&stray).unwrap_err().kind(),
        "invalid_response"
    );
    let garbage = Event {
        data: "not json".into(),
        ..Event::default()
    };
    assert_eq!(
        state.on_event(&garbage).unwrap_err().kind(),
        "invalid_response"
    );
}

// ---------------------------------------------------------------- models

#[test]
fn models_request_and_response() {
    let req = adapter().models_request().unwrap();
    assert_eq!(req.method, http::Method::GET);
    assert_eq!(req.url, "https://api.anthropic.com/v1/models?limit=1000");
    assert_eq!(req.headers["x-api-key"], "sk-ant-test-key");
    assert_eq!(req.headers["anthropic-version"], "2023-06-01");
    assert!(req.body.is_none());

    let list = adapter()
        .parse_models_response(fixture!("models.json").as_bytes())
        .unwrap();
    assert_eq!(
        serde_json::to_value(list).unwrap(),
        json_fixture(fixture!("models.expected.json"))
    );
}

#[test]
fn rfc3339_times() {
    assert_eq!(rfc3339_to_unix("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(rfc3339_to_unix("2025-02-19T00:00:00Z"), Some(1_739_923_200));
    assert_eq!(
        rfc3339_to_unix("2024-02-29T12:30:45.123Z"),
        Some(1_709_209_845)
    );
    assert_eq!(
        rfc3339_to_unix("2024-02-29T14:30:45+02:00"),
        Some(1_709_209_845)
    );
    assert_eq!(
        rfc3339_to_unix("2024-02-29T07:00:45-05:30"),
        Some(1_709_209_845)
    );
    assert_eq!(rfc3339_to_unix("1969-12-31T23:59:59Z"), Some(-1));
    for bad in [
        "",
        "2023-02-29T00:00:00Z",
        "2025-13-01T00:00:00Z",
        "2025-01-01 00:00:00",
        "2025-01-01T00:00:00",
        "2025-01-01T00:00:00.Z",
        "2025-01-01T24:00:00Z",
        "2025-1-01T00:00:00Z",
        "2025-01-01T00:00:00+0200",
        "yesterday",
        "2025-01-01T00:00:00Zé",
        "२०२५-01-01T00:00:00Z",
    ] {
        assert_eq!(rfc3339_to_unix(bad), None, "{bad}");
    }
}
