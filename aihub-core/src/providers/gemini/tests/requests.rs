//! Canonical requests → Gemini request bodies.

use super::*;

// ---- requests -------------------------------------------------------------------------

#[test]
fn chat_request_urls_and_headers() {
    let mut config = ProviderConfig::new("google", ProviderKind::Gemini, format!("{BASE}/"))
        .with_api_key("g-key");
    config.headers.push(("x-team".into(), "blue".into()));
    let a = GeminiAdapter::new(config);

    let req = a.chat_request(&user("hi"), "gemini-2.0-flash").unwrap();
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(
        req.url,
        format!("{BASE}/models/gemini-2.0-flash:generateContent")
    );
    let key = req.headers.get("x-goog-api-key").unwrap();
    assert_eq!(key, "g-key");
    assert!(key.is_sensitive());
    assert_eq!(req.headers.get("x-team").unwrap(), "blue");
    assert_eq!(req.headers.get("content-type").unwrap(), "application/json");
    assert!(req.headers.get("authorization").is_none());

    let mut streamed = user("hi");
    streamed.stream = Some(true);
    let req = a.chat_request(&streamed, "tunedModels/my-model").unwrap();
    assert_eq!(
        req.url,
        format!("{BASE}/tunedModels/my-model:streamGenerateContent?alt=sse")
    );
    assert_eq!(req.headers.get("accept").unwrap(), "text/event-stream");

    let keyless = GeminiAdapter::new(ProviderConfig::new("google", ProviderKind::Gemini, BASE));
    let err = keyless
        .chat_request(&user("hi"), "gemini-2.0-flash")
        .unwrap_err();
    assert_eq!(err.kind(), "config");
    assert_eq!(keyless.models_request().unwrap_err().kind(), "config");
}

#[test]
fn multimodal_request_with_generation_config_and_schema() {
    let req = request(fixture!("chat_request_multimodal.json"));
    let expected: Value =
        serde_json::from_str(fixture!("chat_request_multimodal.expected.json")).unwrap();
    assert_eq!(body_of(&req), expected);
}

#[test]
fn tools_and_tool_results_request() {
    let req = request(fixture!("chat_request_tools.json"));
    let expected: Value =
        serde_json::from_str(fixture!("chat_request_tools.expected.json")).unwrap();
    assert_eq!(body_of(&req), expected);
}

#[test]
fn tool_choice_modes() {
    let mut req = request(fixture!("chat_request_tools.json"));
    for (choice, mode) in [
        (ToolChoiceMode::Auto, "AUTO"),
        (ToolChoiceMode::None, "NONE"),
        (ToolChoiceMode::Required, "ANY"),
    ] {
        req.tool_choice = Some(ToolChoice::Mode(choice));
        assert_eq!(
            body_of(&req)["toolConfig"],
            json!({ "functionCallingConfig": { "mode": mode } })
        );
    }
    req.tool_choice = Some(ToolChoice::Named(NamedToolChoice {
        kind: "function".into(),
        function: NamedFunction {
            name: "get_time".into(),
        },
    }));
    assert_eq!(
        body_of(&req)["toolConfig"]["functionCallingConfig"],
        json!({ "mode": "ANY", "allowedFunctionNames": ["get_time"] })
    );
    req.tool_choice = None;
    assert!(body_of(&req).get("toolConfig").is_none());
}

#[test]
fn minimal_request_has_only_contents() {
    let mut req = user("hi");
    req.max_tokens = Some(50);
    req.logprobs = Some(false);
    req.top_logprobs = Some(2);
    req.response_format = Some(ResponseFormat::Text);
    assert_eq!(
        body_of(&req),
        json!({
            "contents": [{ "role": "user", "parts": [{ "text": "hi" }] }],
            "generationConfig": { "maxOutputTokens": 50 }
        })
    );
}

#[test]
fn json_object_and_reasoning_effort() {
    let mut req = user("give me JSON");
    req.response_format = Some(ResponseFormat::JsonObject);
    req.reasoning_effort = Some("medium".into());
    assert_eq!(
        body_of(&req)["generationConfig"],
        json!({
            "responseMimeType": "application/json",
            "thinkingConfig": { "thinkingBudget": 8192, "includeThoughts": true }
        })
    );
    for (effort, budget) in [("minimal", 512), ("low", 1024), ("high", 24576)] {
        req.reasoning_effort = Some(effort.into());
        assert_eq!(
            body_of(&req)["generationConfig"]["thinkingConfig"]["thinkingBudget"],
            budget
        );
    }
    req.reasoning_effort = Some("none".into());
    assert_eq!(
        body_of(&req)["generationConfig"]["thinkingConfig"],
        json!({ "thinkingBudget": 0 })
    );
    req.reasoning_effort = Some("extreme".into());
    let err = rejected(&req);
    assert_eq!(err.kind(), "bad_request");
    assert_eq!(err.detail().param.as_deref(), Some("reasoning_effort"));
}

#[test]
fn invalid_tool_arguments_name_the_param() {
    let req = ChatCompletionRequest::new(
        "gemini",
        vec![
            ChatMessage::user("hi"),
            ChatMessage::assistant_tool_calls(vec![ToolCall::function("call_1", "f", "{not json")]),
            ChatMessage::tool("call_1", "ok"),
        ],
    );
    let err = rejected(&req);
    assert_eq!(err.kind(), "bad_request");
    assert_eq!(
        err.detail().param.as_deref(),
        Some("messages[1].tool_calls[0].function.arguments")
    );

    let array_args = ChatCompletionRequest::new(
        "gemini",
        vec![ChatMessage::assistant_tool_calls(vec![ToolCall::function(
            "c", "f", "[1]",
        )])],
    );
    let err = rejected(&array_args);
    assert_eq!(
        err.detail().param.as_deref(),
        Some("messages[0].tool_calls[0].function.arguments")
    );
}

#[test]
fn tool_result_without_matching_call_is_rejected() {
    let req = ChatCompletionRequest::new(
        "gemini",
        vec![
            ChatMessage::user("hi"),
            ChatMessage::tool("call_unknown", "42"),
        ],
    );
    let err = rejected(&req);
    assert_eq!(err.kind(), "bad_request");
    assert!(err.message().contains("call_unknown"), "{}", err.message());
}

#[test]
fn bad_inputs_are_rejected() {
    let only_system = ChatCompletionRequest::new("gemini", vec![ChatMessage::system("be nice")]);
    let err = rejected(&only_system);
    assert_eq!(err.detail().param.as_deref(), Some("messages"));

    let ftp_image: ChatCompletionRequest = serde_json::from_value(json!({
        "model": "gemini",
        "messages": [{ "role": "user", "content": [
            { "type": "image_url", "image_url": { "url": "ftp://example.com/a.png" } }
        ]}]
    }))
    .unwrap();
    assert_eq!(rejected(&ftp_image).kind(), "bad_request");

    let mut custom_tool = request(fixture!("chat_request_tools.json"));
    if let Some(tools) = custom_tool.tools.as_mut() {
        tools[1].kind = "custom".into();
    }
    let err = rejected(&custom_tool);
    assert_eq!(err.detail().param.as_deref(), Some("tools"));
}

#[test]
fn pdf_file_part_becomes_inline_data() {
    let req: ChatCompletionRequest = serde_json::from_value(json!({
        "model": "gemini",
        "messages": [{ "role": "user", "content": [
            { "type": "file", "file": { "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0=" } },
            { "type": "text", "text": "Summarise" }
        ]}]
    }))
    .unwrap();
    assert_eq!(
        body_of(&req)["contents"][0]["parts"],
        json!([
            { "inlineData": { "mimeType": "application/pdf", "data": "JVBERi0=" } },
            { "text": "Summarise" }
        ])
    );
}

#[test]
fn schema_rewriting() {
    let case: Value = serde_json::from_str(fixture!("schema_rewrite.json")).unwrap();
    let out = gemini_schema(&case["input"]);
    assert!(out.get("$schema").is_none() && out.get("definitions").is_none());
    let props = &out["properties"];
    for (name, want) in case["expected_properties"].as_object().unwrap() {
        assert_eq!(&props[name], want, "{name}");
    }
    assert_eq!(props["node"]["description"], "root node");
    assert_eq!(props["node"]["type"], "object");
    assert!(props["node"].get("patternProperties").is_none());
    // Recursive refs are cut off instead of looping.
    let mut depth = 0;
    let mut cursor = &props["node"];
    while let Some(child) = cursor.pointer("/properties/child") {
        cursor = child;
        depth += 1;
    }
    assert_eq!(depth, 8);
    assert_eq!(cursor, &json!({ "type": "object" }));
}

#[test]
fn image_media_type_from_extension() {
    assert_eq!(image_mime_from_url("https://a.b/x.png"), "image/png");
    assert_eq!(image_mime_from_url("https://a.b/x.JPG?w=1"), "image/jpeg");
    assert_eq!(image_mime_from_url("https://a.b/x.gif#f"), "image/gif");
    assert_eq!(image_mime_from_url("https://a.b/x.heic"), "image/heic");
    assert_eq!(image_mime_from_url("https://a.b.c/picture"), "image/jpeg");
}

#[test]
fn a_model_name_cannot_steer_the_request_to_another_path() {
    // Before names were checked, `../files?` sent the gateway's key to
    // `{BASE}/models/../files?:generateContent`, which the host resolves to `{BASE}/files`.
    let a = adapter();
    for name in [
        "../files?",
        "models/../../v1/files",
        "gemini-2.0-flash?alt=json#",
        "gemini%2F..%2Ffiles",
        "gemini\r\nx-evil: 1",
        "tunedModels/a/../../cachedContents",
    ] {
        for stream in [false, true] {
            let mut req = user("hi");
            req.stream = Some(stream);
            match a.chat_request(&req, name) {
                Ok(built) => panic!("{name:?} was sent to {}", built.url),
                Err(e) => {
                    assert_eq!(e.kind(), "bad_request", "{name:?}");
                    assert_eq!(e.detail().param.as_deref(), Some("model"));
                }
            }
        }
        let emb = EmbeddingRequest {
            model: "e".into(),
            input: EmbeddingInput::Text("x".into()),
            encoding_format: None,
            dimensions: None,
            user: None,
            extra: Default::default(),
        };
        if let Ok(built) = a.embeddings_request(&emb, name) {
            panic!("{name:?} was sent to {}", built.url);
        }
    }
    // Characters outside a path segment's safe set are percent-encoded.
    let req = a.chat_request(&user("hi"), "gemini:exp@1").unwrap();
    assert_eq!(
        req.url,
        format!("{BASE}/models/gemini%3Aexp%401:generateContent")
    );
}
