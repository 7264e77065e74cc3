//! Gemini responses, streams, errors, embeddings and models → canonical objects.

use super::*;

// ---- responses ------------------------------------------------------------------------

/// A parsed completion as JSON without `created` (and `id` when `drop_id`), checked
/// against the fixture of the same name with `.expected.json`.
fn completion_json(body: &str, drop_id: bool) -> Value {
    let c = adapter()
        .parse_chat_response(body.as_bytes(), "gemini-fallback")
        .unwrap();
    assert!(c.created > 1_700_000_000);
    let mut v = serde_json::to_value(&c).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.remove("created");
    if drop_id {
        let id = obj.remove("id").unwrap();
        assert!(id.as_str().unwrap().starts_with("chatcmpl-"), "{id}");
    }
    v
}

#[test]
fn text_response() {
    let expected: Value = serde_json::from_str(fixture!("response_text.expected.json")).unwrap();
    assert_eq!(
        completion_json(fixture!("response_text.json"), false),
        expected
    );
}

#[test]
fn function_call_response() {
    let c = adapter()
        .parse_chat_response(fixture!("response_function_call.json").as_bytes(), "m")
        .unwrap();
    let choice = &c.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        choice.message.content.as_deref(),
        Some("Let me look that up.")
    );
    let calls = choice.message.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].kind, "function");
    assert_eq!(calls[0].function.name, "get_weather");
    let args: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
    assert_eq!(args, json!({ "city": "Paris", "unit": "celsius" }));
    assert_eq!(calls[1].function.arguments, "{}");
    for call in calls {
        assert!(call.id.starts_with("call_"), "{}", call.id);
    }
    assert_ne!(calls[0].id, calls[1].id);
    // The signature rides in the id; the plain call has none.
    assert!(calls[0].id.ends_with("__thought__CiQB0e2Kb3Jd"));
    assert_eq!(calls[1].id.len(), "call_".len() + 24);
}

#[test]
fn tool_round_trip_returns_signature_and_names() {
    let a = adapter();
    let c = a
        .parse_chat_response(fixture!("response_function_call.json").as_bytes(), "m")
        .unwrap();
    let message = &c.choices[0].message;
    let calls = message.tool_calls.clone().unwrap();
    let mut history = vec![ChatMessage::user("weather and time in Paris?")];
    history.push(ChatMessage::Assistant(crate::types::AssistantMessage {
        content: message.content.clone().map(Into::into),
        tool_calls: Some(calls.clone()),
        ..Default::default()
    }));
    history.push(ChatMessage::tool(&calls[0].id, r#"{"temperature":18}"#));
    history.push(ChatMessage::tool(&calls[1].id, "[1, 2]"));
    let body = body_of(&ChatCompletionRequest::new("gemini", history));
    assert_eq!(
        body["contents"][1],
        json!({ "role": "model", "parts": [
            { "text": "Let me look that up." },
            { "functionCall": { "name": "get_weather", "args": { "city": "Paris", "unit": "celsius" } },
              "thoughtSignature": "CiQB0e2Kb3Jd" },
            { "functionCall": { "name": "get_time", "args": {} } }
        ]})
    );
    assert_eq!(
        body["contents"][2],
        json!({ "role": "user", "parts": [
            { "functionResponse": { "name": "get_weather", "response": { "temperature": 18 } } },
            { "functionResponse": { "name": "get_time", "response": { "content": "[1, 2]" } } }
        ]})
    );
}

#[test]
fn thoughts_and_cached_tokens() {
    let expected: Value =
        serde_json::from_str(fixture!("response_thoughts_cached.expected.json")).unwrap();
    let got = completion_json(fixture!("response_thoughts_cached.json"), true);
    assert_eq!(got, expected);
}

#[test]
fn model_falls_back_to_the_given_one() {
    let body = json!({ "candidates": [{ "content": { "parts": [{ "text": "x" }] }, "finishReason": "STOP" }] });
    let c = parse_chat(body.to_string().as_bytes(), "gemini-given").unwrap();
    assert_eq!(c.model, "gemini-given");
    assert_eq!(c.choices[0].index, 0);
    assert_eq!(c.usage, None);
}

#[test]
fn logprobs_and_several_candidates() {
    let c = parse_chat(
        fixture!("response_logprobs_two_candidates.json").as_bytes(),
        "m",
    )
    .unwrap();
    assert_eq!(c.choices.len(), 2);
    assert_eq!(c.choices[1].index, 1);
    assert_eq!(
        c.choices[1].finish_reason,
        Some(FinishReason::ContentFilter)
    );
    assert_eq!(c.choices[1].message.content.as_deref(), Some("No"));
    let expected: Value =
        serde_json::from_str(fixture!("response_logprobs_two_candidates.logprobs.json")).unwrap();
    assert_eq!(c.choices[0].logprobs, Some(expected));
    assert_eq!(c.choices[1].logprobs, None);
}

#[test]
fn finish_reason_mapping() {
    let cases = [
        ("STOP", false, FinishReason::Stop),
        ("STOP", true, FinishReason::ToolCalls),
        ("MAX_TOKENS", true, FinishReason::Length),
        ("SAFETY", false, FinishReason::ContentFilter),
        ("RECITATION", false, FinishReason::ContentFilter),
        ("BLOCKLIST", false, FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", false, FinishReason::ContentFilter),
        ("SPII", false, FinishReason::ContentFilter),
        (
            "MALFORMED_FUNCTION_CALL",
            false,
            FinishReason::Other("malformed_function_call".into()),
        ),
        ("OTHER", false, FinishReason::Other("other".into())),
    ];
    for (raw, calls, want) in cases {
        assert_eq!(response::finish_reason(raw, calls), want, "{raw}");
    }
}

#[test]
fn safety_blocks_are_content_filter_errors() {
    let err = parse_chat(fixture!("response_prompt_blocked.json").as_bytes(), "m").unwrap_err();
    assert_eq!(err.kind(), "content_filter");
    assert!(err.message().contains("SAFETY"), "{}", err.message());

    let err = parse_chat(fixture!("response_candidate_safety.json").as_bytes(), "m").unwrap_err();
    assert_eq!(err.kind(), "content_filter");
    assert!(err.message().contains("SAFETY"), "{}", err.message());
    assert!(
        err.message().contains("HARM_CATEGORY_HARASSMENT"),
        "{}",
        err.message()
    );
    assert_eq!(err.code(), Some("content_filter"));

    let empty = parse_chat(br#"{"candidates": [], "modelVersion": "x"}"#, "m").unwrap_err();
    assert_eq!(empty.kind(), "invalid_response");
}

// ---- streaming ------------------------------------------------------------------------

#[test]
fn text_stream_chunk_by_chunk() {
    let chunks = stream(fixture!("stream_text.sse")).unwrap();
    assert_eq!(chunks.len(), 4);
    for c in &chunks {
        assert_eq!(c.id, "mAB3aNn0Ia2Hz7IPlbWV-Qc");
        assert_eq!(c.model, "gemini-2.5-flash");
        assert_eq!(c.object, "chat.completion.chunk");
        assert_eq!(c.created, chunks[0].created);
    }
    let as_json: Vec<Value> = chunks
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap();
            for key in ["id", "model", "created", "object"] {
                v.as_object_mut().unwrap().remove(key);
            }
            v
        })
        .collect();
    let expected: Vec<Value> = serde_json::from_str(fixture!("stream_text.chunks.json")).unwrap();
    assert_eq!(as_json, expected);

    let mut acc = ChatAccumulator::new();
    chunks.iter().for_each(|c| acc.push(c));
    let done = acc.finish();
    assert_eq!(done.id, "mAB3aNn0Ia2Hz7IPlbWV-Qc");
    assert_eq!(
        done.choices[0].message.content.as_deref(),
        Some("The sky is blue.")
    );
    assert_eq!(
        done.choices[0].message.reasoning_content.as_deref(),
        Some("**Checking the sky**\nRayleigh scattering.")
    );
    assert_eq!(done.choices[0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(done.usage.unwrap().total_tokens, 34);
}

#[test]
fn crlf_stream_decodes_the_same() {
    let lf = stream(fixture!("stream_text.sse")).unwrap();
    let crlf = stream(&fixture!("stream_text.sse").replace('\n', "\r\n")).unwrap();
    assert_eq!(lf.len(), crlf.len());
    for (a, b) in lf.iter().zip(&crlf) {
        assert_eq!((&a.choices, &a.usage), (&b.choices, &b.usage));
    }
}

#[test]
fn tool_call_stream() {
    let chunks = stream(fixture!("stream_tool_calls.sse")).unwrap();
    assert_eq!(chunks.len(), 4);
    assert_eq!(
        chunks[0].choices[0].delta.role.as_deref(),
        Some("assistant")
    );
    assert_eq!(
        chunks[0].choices[0].delta.content.as_deref(),
        Some("Checking both.")
    );
    let first = &chunks[1].choices[0].delta.tool_calls.as_ref().unwrap()[0];
    assert_eq!(first.index, 0);
    assert_eq!(first.kind.as_deref(), Some("function"));
    assert!(first.id.as_deref().unwrap().starts_with("call_"));
    assert!(
        first
            .id
            .as_deref()
            .unwrap()
            .ends_with("__thought__CiQB0e2Kb3Jd")
    );
    let f = first.function.as_ref().unwrap();
    assert_eq!(f.name.as_deref(), Some("get_weather"));
    assert_eq!(f.arguments.as_deref(), Some(r#"{"city":"Paris"}"#));
    assert_eq!(chunks[1].choices[0].delta.role, None);
    let second = &chunks[2].choices[0];
    assert_eq!(second.delta.tool_calls.as_ref().unwrap()[0].index, 1);
    assert_eq!(second.finish_reason, Some(FinishReason::ToolCalls));
    assert!(chunks[3].choices.is_empty());
    assert_eq!(chunks[3].usage.as_ref().unwrap().completion_tokens, 25);

    let mut acc = ChatAccumulator::new();
    chunks.iter().for_each(|c| acc.push(c));
    let done = acc.finish();
    let calls = done.choices[0].message.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].function.name, "get_time");
    let args: Value = serde_json::from_str(&calls[1].function.arguments).unwrap();
    assert_eq!(args, json!({ "tz": "Europe/Paris" }));
    assert_eq!(done.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(done.usage.unwrap().prompt_tokens, 60);
}

#[test]
fn stream_error_objects_are_errors() {
    let err = stream(fixture!("stream_error.sse")).unwrap_err();
    assert_eq!(err.kind(), "upstream");
    assert_eq!(
        err.message(),
        "The model is overloaded. Please try again later."
    );
    assert_eq!(err.code(), Some("UNAVAILABLE"));
    assert!(err.is_retryable());

    let err = stream(fixture!("stream_error_array.sse")).unwrap_err();
    assert_eq!(err.kind(), "rate_limit");
    assert_eq!(err.code(), Some("RESOURCE_EXHAUSTED"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(12)));
}

#[test]
fn truncated_stream_is_an_error() {
    let mut state = GeminiStreamState::new("m");
    for block in fixture!("stream_truncated.sse")
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
    {
        let event = eventsource_stream::Event {
            data: block.trim_start_matches("data: ").to_owned(),
            ..Default::default()
        };
        assert_eq!(state.on_event(&event).unwrap().len(), 1);
        assert!(!state.is_done());
    }
    let err = stream(fixture!("stream_truncated.sse")).unwrap_err();
    assert_eq!(err.kind(), "invalid_response");
    assert_eq!(err.code(), Some("stream_truncated"));
}

#[test]
fn blocked_prompt_in_stream() {
    let err = stream(fixture!("stream_prompt_blocked.sse")).unwrap_err();
    assert_eq!(err.kind(), "content_filter");
    assert!(err.message().contains("PROHIBITED_CONTENT"));

    let blocked_candidate = format!(
        "data: {}\n\n",
        json!({ "candidates": [{ "finishReason": "SAFETY", "index": 0 }], "responseId": "r" })
    );
    assert_eq!(
        stream(&blocked_candidate).unwrap_err().kind(),
        "content_filter"
    );

    // After some text, a filter stop is a finish reason, not an error.
    let late = format!(
        "data: {}\n\ndata: {}\n\n",
        json!({ "candidates": [{ "content": { "parts": [{ "text": "Sure, " }] } }] }),
        json!({ "candidates": [{ "finishReason": "SAFETY" }] })
    );
    let chunks = stream(&late).unwrap();
    assert_eq!(chunks.len(), 2);
    assert_eq!(
        chunks[1].choices[0].finish_reason,
        Some(FinishReason::ContentFilter)
    );
    assert!(chunks[0].id.starts_with("chatcmpl-"));
    assert_eq!(chunks[0].model, "gemini-fallback");
    assert_eq!(chunks[0].id, chunks[1].id);
}

// ---- errors ---------------------------------------------------------------------------

fn error(status: u16, body: &str) -> crate::Error {
    adapter().parse_error(status, &HeaderMap::new(), body.as_bytes())
}

#[test]
fn error_bodies() {
    let cases = [
        (
            400,
            "bad_request",
            "INVALID_ARGUMENT",
            fixture!("error_400.json"),
        ),
        (
            400,
            "authentication",
            "INVALID_ARGUMENT",
            fixture!("error_400_api_key.json"),
        ),
        (
            403,
            "permission_denied",
            "PERMISSION_DENIED",
            fixture!("error_403.json"),
        ),
        (404, "not_found", "NOT_FOUND", fixture!("error_404.json")),
        (
            429,
            "rate_limit",
            "RESOURCE_EXHAUSTED",
            fixture!("error_429.json"),
        ),
        (500, "upstream", "INTERNAL", fixture!("error_500.json")),
    ];
    for (status, kind, code, body) in cases {
        let e = error(status, body);
        let sent: Value = serde_json::from_str(body).unwrap();
        assert_eq!((e.kind(), e.code()), (kind, Some(code)), "{status}: {body}");
        assert_eq!(e.message(), sent["error"]["message"]);
        assert_eq!(e.detail().upstream_status, Some(status));
    }
    let e = error(400, fixture!("error_400.json"));
    assert_eq!(
        e.detail().param.as_deref(),
        Some("generation_config.temperature")
    );
    let e = error(429, fixture!("error_429.json"));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(37)));
    assert!(e.is_retryable() && !error(403, fixture!("error_403.json")).is_retryable());
}

#[test]
fn error_headers_and_odd_bodies() {
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from_static("5"));
    headers.insert("x-goog-request-id", HeaderValue::from_static("req-77"));
    let e = adapter().parse_error(429, &headers, fixture!("error_429.json").as_bytes());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(5)));
    assert_eq!(e.request_id(), Some("req-77"));

    let wrapped = format!("[{}]", fixture!("error_500.json"));
    assert_eq!(error(500, &wrapped).code(), Some("INTERNAL"));

    let e = error(502, "<html>Bad Gateway</html>");
    assert_eq!(e.kind(), "upstream");
    assert_eq!(e.message(), "<html>Bad Gateway</html>");
    assert!(error(503, "").message().contains("503"));
}

// ---- embeddings and models ------------------------------------------------------------

fn embedding_request(format: Option<EncodingFormat>) -> EmbeddingRequest {
    serde_json::from_value(json!({
        "model": "google/gemini-embedding-001",
        "input": ["first text", "second text"],
        "dimensions": 4,
        "task_type": "RETRIEVAL_DOCUMENT"
    }))
    .map(|mut r: EmbeddingRequest| {
        r.encoding_format = format;
        r
    })
    .unwrap()
}

#[test]
fn embeddings_request_body() {
    let req = adapter()
        .embeddings_request(&embedding_request(None), "gemini-embedding-001")
        .unwrap();
    assert_eq!(
        req.url,
        format!("{BASE}/models/gemini-embedding-001:batchEmbedContents")
    );
    assert!(req.headers.get("x-goog-api-key").unwrap().is_sensitive());
    let one = |text: &str| {
        json!({
            "model": "models/gemini-embedding-001",
            "content": { "parts": [{ "text": text }] },
            "outputDimensionality": 4,
            "taskType": "RETRIEVAL_DOCUMENT"
        })
    };
    assert_eq!(
        req.body.unwrap(),
        json!({ "requests": [one("first text"), one("second text")] })
    );

    let mut tokens = embedding_request(None);
    tokens.input = EmbeddingInput::Tokens(vec![1, 2, 3]);
    let err = adapter()
        .embeddings_request(&tokens, "gemini-embedding-001")
        .unwrap_err();
    assert_eq!(err.detail().param.as_deref(), Some("input"));
    tokens.input = EmbeddingInput::TokenBatches(vec![vec![1]]);
    assert_eq!(
        adapter()
            .embeddings_request(&tokens, "m")
            .unwrap_err()
            .kind(),
        "bad_request"
    );
}

#[test]
fn embeddings_in_both_encodings() {
    let body = fixture!("embeddings_response.json").as_bytes();
    let floats = adapter()
        .parse_embeddings_response(body, &embedding_request(None))
        .unwrap();
    assert_eq!(floats.object, "list");
    assert_eq!(floats.model, "google/gemini-embedding-001");
    assert_eq!(floats.usage.prompt_tokens, 0);
    assert_eq!(floats.data.len(), 2);
    assert_eq!(floats.data[1].index, 1);
    assert_eq!(floats.data[0].object, "embedding");
    assert_eq!(
        floats.data[0].embedding,
        EmbeddingVector::Float(vec![0.25, -0.5, 0.125, 1.0])
    );

    let b64 = adapter()
        .parse_embeddings_response(body, &embedding_request(Some(EncodingFormat::Base64)))
        .unwrap();
    let EmbeddingVector::Base64(text) = &b64.data[1].embedding else {
        panic!("expected base64, got {:?}", b64.data[1].embedding);
    };
    assert_eq!(text, "AABAvwAAAAAAAAA/AACAvw==");
    assert_eq!(
        b64.data[1].embedding.to_floats().unwrap(),
        vec![-0.75, 0.0, 0.5, -1.0]
    );

    let mut one_input = embedding_request(None);
    one_input.input = EmbeddingInput::Text("only one".into());
    let err = adapter()
        .parse_embeddings_response(body, &one_input)
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_response");
}

#[test]
fn model_list() {
    let req = adapter().models_request().unwrap();
    assert_eq!(req.method, http::Method::GET);
    assert_eq!(req.url, format!("{BASE}/models?pageSize=1000"));
    assert!(req.body.is_none());
    assert_eq!(req.headers.get("x-goog-api-key").unwrap(), "g-key");

    let list = adapter()
        .parse_models_response(fixture!("models_response.json").as_bytes())
        .unwrap();
    assert_eq!(list.object, "list");
    let ids: Vec<&str> = list.data.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["gemini-2.0-flash", "gemini-embedding-001"]);
    let flash = &list.data[0];
    assert_eq!(flash.owned_by, "google");
    assert_eq!(flash.object, "model");
    assert_eq!(flash.extra["display_name"], "Gemini 2.0 Flash");
    assert_eq!(flash.extra["context_window"], 1_048_576);
    assert_eq!(flash.extra["max_output_tokens"], 8192);
}

fn rate_limited_for(delay: &str) -> Error {
    let body = json!({"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]}});
    adapter().parse_error(429, &HeaderMap::new(), body.to_string().as_bytes())
}

#[test]
fn a_retry_delay_of_years_is_clamped_not_a_panic() {
    use crate::error::MAX_RETRY_HINT;
    assert_eq!(
        rate_limited_for("999999999999s").retry_after(),
        Some(MAX_RETRY_HINT)
    );
    assert_eq!(
        rate_limited_for("1e30s").retry_after(),
        Some(MAX_RETRY_HINT)
    );
    assert_eq!(rate_limited_for("NaNs").retry_after(), None);
    assert_eq!(rate_limited_for("-5s").retry_after(), None);
    assert_eq!(
        rate_limited_for("1.5s").retry_after(),
        Some(Duration::from_millis(1500))
    );
}

proptest::proptest! {
    #[test]
    fn any_retry_delay_parses_without_panic(delay in "[0-9eE+.\\-]{0,30}s?|\\PC{0,20}") {
        if let Some(wait) = rate_limited_for(&delay).retry_after() {
            proptest::prop_assert!(wait <= crate::error::MAX_RETRY_HINT);
        }
    }
}
