//! OpenAI and Azure OpenAI endpoints.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::{client, normalize, parse_sse, prompt_tokens, server, server_with};

fn weather_tool() -> Value {
    json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}])
}

#[tokio::test]
async fn chat_completion_object_is_complete_and_counted() {
    let s = server().await;
    let response = client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("sk-test")
        .header("x-mock", "content=Hello%20there%2C%20friend!")
        .json(&json!({"model": "gpt-4o-mini", "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_")
    );
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let prompt = prompt_tokens(&[("system", "You are terse."), ("user", "Say hello")]);
    let completion = mock_upstream::count_tokens("Hello there, friend!");
    assert_eq!(
        normalize(body),
        json!({
            "id": "<id>", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there, friend!", "refusal": null, "annotations": []},
                "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
            "service_tier": "default", "system_fingerprint": "fp_mock0001"
        })
    );
}

#[tokio::test]
async fn generated_text_is_deterministic_one_token_per_word() {
    let s = server().await;
    let ask = |text: &'static str| {
        client()
            .post(format!("{}/chat/completions", s.openai_base()))
            .bearer_auth("k")
            .json(&json!({"model": "m", "messages": [{"role": "user", "content": text}]}))
            .send()
    };
    let a: Value = ask("first prompt").await.unwrap().json().await.unwrap();
    let b: Value = ask("first prompt").await.unwrap().json().await.unwrap();
    let c: Value = ask("another prompt").await.unwrap().json().await.unwrap();
    let text = a["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(text, b["choices"][0]["message"]["content"]);
    assert_ne!(text, c["choices"][0]["message"]["content"]);
    assert_eq!(text.split(' ').count(), 8);
    assert_eq!(mock_upstream::count_tokens(text), 8);
    assert_eq!(a["usage"]["completion_tokens"], 8);
}

#[tokio::test]
async fn stream_shape_with_include_usage() {
    let s = server().await;
    let request = json!({"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "Stream please"}]});
    let response = client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("k")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let events = parse_sse(&text);
    let (done, chunks) = events.split_last().unwrap();
    assert_eq!(done.data, "[DONE]");
    let chunks: Vec<Value> = chunks.iter().map(|e| e.json()).collect();
    // role chunk + 8 content chunks + finish chunk + usage chunk
    assert_eq!(chunks.len(), 11);
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": "", "refusal": null})
    );
    for chunk in &chunks[..10] {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["usage"], Value::Null);
        assert!(chunk.as_object().unwrap().contains_key("usage"));
        assert_eq!(chunk["choices"].as_array().unwrap().len(), 1);
        assert_eq!(chunk["id"], chunks[0]["id"]);
    }
    assert_eq!(chunks[9]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[9]["choices"][0]["delta"], json!({}));
    let last = &chunks[10];
    assert_eq!(last["choices"], json!([]));
    let prompt = prompt_tokens(&[("user", "Stream please")]);
    assert_eq!(last["usage"]["prompt_tokens"], prompt);
    assert_eq!(last["usage"]["completion_tokens"], 8);
    assert_eq!(last["usage"]["total_tokens"], prompt + 8);
    let streamed: String = chunks[1..9]
        .iter()
        .map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut plain = request.clone();
    plain["stream"] = json!(false);
    // OpenAI refuses stream_options without stream.
    let refused = client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("k")
        .json(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"]["param"],
        "stream_options"
    );
    plain.as_object_mut().unwrap().remove("stream_options");
    let body: Value = client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("k")
        .json(&plain)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], streamed);
}

#[tokio::test]
async fn stream_without_include_usage_has_no_usage_key() {
    let s = server().await;
    let text = client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("k")
        .json(
            &json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "x"}]}),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = parse_sse(&text);
    assert_eq!(events.len(), 11); // role + 8 + finish + [DONE]
    for e in &events[..10] {
        assert!(!e.json().as_object().unwrap().contains_key("usage"));
    }
}

#[tokio::test]
async fn tool_call_when_user_asks_for_it() {
    let s = server().await;
    let request = json!({"model": "gpt-4o", "tools": weather_tool(),
        "messages": [{"role": "user", "content": "Please call get_weather for Paris"}]});
    let body: Value = client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("k")
        .json(&request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let call = &choice["message"]["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "sample", "unit": "celsius"}));

    let mut streaming = request.clone();
    streaming["stream"] = json!(true);
    let text = client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("k")
        .json(&streaming)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = parse_sse(&text);
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| e.json())
        .collect();
    let first = &chunks[0]["choices"][0]["delta"];
    assert_eq!(first["role"], "assistant");
    let head = &first["tool_calls"][0];
    assert_eq!(head["index"], 0);
    assert_eq!(head["id"], call["id"]);
    assert_eq!(head["type"], "function");
    assert_eq!(
        head["function"],
        json!({"name": "get_weather", "arguments": ""})
    );
    let pieces: Vec<&Value> = chunks[1..chunks.len() - 1]
        .iter()
        .map(|c| &c["choices"][0]["delta"]["tool_calls"][0])
        .collect();
    assert!(pieces.len() > 1);
    for piece in &pieces {
        assert_eq!(piece["index"], 0);
        assert!(piece.get("id").is_none());
    }
    let joined: String = pieces
        .iter()
        .map(|p| p["function"]["arguments"].as_str().unwrap())
        .collect();
    assert_eq!(joined, call["function"]["arguments"].as_str().unwrap());
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[tokio::test]
async fn tool_choice_forces_or_forbids_calls() {
    let s = server().await;
    let ask = |choice: Value| {
        client()
            .post(format!("{}/chat/completions", s.openai_base()))
            .bearer_auth("k")
            .json(
                &json!({"model": "m", "tools": weather_tool(), "tool_choice": choice,
                "messages": [{"role": "user", "content": "call get_weather"}]}),
            )
            .send()
    };
    let named: Value = ask(json!({"type": "function", "function": {"name": "get_weather"}}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        named["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    let required: Value = ask(json!("required")).await.unwrap().json().await.unwrap();
    assert_eq!(required["choices"][0]["finish_reason"], "tool_calls");
    let none: Value = ask(json!("none")).await.unwrap().json().await.unwrap();
    assert_eq!(none["choices"][0]["finish_reason"], "stop");
    assert!(none["choices"][0]["message"]["content"].is_string());
}

#[tokio::test]
async fn max_tokens_truncates_with_length() {
    let s = server().await;
    let body: Value = client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("k")
        .json(&json!({"model": "m", "max_completion_tokens": 3, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(body["usage"]["completion_tokens"], 3);
}

#[tokio::test]
async fn request_validation_errors() {
    let s = server().await;
    let post = |body: &'static str| {
        client()
            .post(format!("{}/chat/completions", s.openai_base()))
            .bearer_auth("k")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = post(r#"{"messages":[{"role":"user","content":"x"}]}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": {"message": "you must provide a model parameter", "type": "invalid_request_error", "param": null, "code": null}})
    );
    let r = post(r#"{"model":"m"}"#).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": {"message": "Missing required parameter: 'messages'.", "type": "invalid_request_error", "param": "messages", "code": "missing_required_parameter"}})
    );
    let r = post("{not json").await.unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("We could not parse the JSON body")
    );
}

#[tokio::test]
async fn api_key_is_checked() {
    let s = server().await;
    let url = format!("{}/chat/completions", s.openai_base());
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
    let r = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("x-request-id"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("You didn't provide an API key")
    );
    let r = client()
        .post(&url)
        .bearer_auth("bad-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_api_key"
    );

    let open = server_with(mock_upstream::MockConfig {
        record: true,
        require_key: false,
        ..Default::default()
    })
    .await;
    let url = format!("{}/chat/completions", open.openai_base());
    assert_eq!(
        client()
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client()
            .post(&url)
            .bearer_auth("bad-key")
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn embeddings_float_base64_and_dimensions() {
    let s = server().await;
    let embed = |body: Value| {
        client()
            .post(format!("{}/embeddings", s.openai_base()))
            .bearer_auth("k")
            .json(&body)
            .send()
    };
    let floats: Value =
        embed(json!({"model": "text-embedding-3-small", "input": ["hello world", "bye"]}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(floats["object"], "list");
    assert_eq!(floats["model"], "text-embedding-3-small");
    let data = floats["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["index"], 1);
    assert_eq!(data[0]["object"], "embedding");
    let vector: Vec<f32> = data[0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(vector.len(), 8);
    let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
    let tokens = mock_upstream::count_tokens("hello world") + mock_upstream::count_tokens("bye");
    assert_eq!(
        floats["usage"],
        json!({"prompt_tokens": tokens, "total_tokens": tokens})
    );

    let b64: Value =
        embed(json!({"model": "m", "input": "hello world", "encoding_format": "base64"}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let decoded: Vec<f32> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(decoded, vector);

    let sized: Value = embed(json!({"model": "m", "input": "x", "dimensions": 32}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sized["data"][0]["embedding"].as_array().unwrap().len(), 32);
    let missing = embed(json!({"model": "m"})).await.unwrap();
    assert_eq!(missing.status(), 400);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"]["param"],
        "input"
    );
}

#[tokio::test]
async fn models_list() {
    let s = server().await;
    let r = client()
        .get(format!("{}/models", s.openai_base()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "list");
    let first = &v["data"][0];
    assert_eq!(first["object"], "model");
    assert!(first["id"].is_string() && first["created"].is_u64() && first["owned_by"].is_string());
    let one: Value = client()
        .get(format!("{}/models/gpt-x", s.openai_base()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], "gpt-x");
}

#[tokio::test]
async fn unknown_path_is_an_openai_404() {
    let s = server().await;
    let r = client()
        .post(format!("{}/nope", s.openai_base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["message"], "Invalid URL (POST /v1/nope)");
}

#[tokio::test]
async fn azure_deployments() {
    let s = server().await;
    let url = format!(
        "{}/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21",
        s.azure_base()
    );
    let body = json!({"messages": [{"role": "user", "content": "hi"}]});
    let r = client()
        .post(&url)
        .header("api-key", "k")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["model"], "my-gpt");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["prompt_filter_results"][0]["prompt_index"], 0);
    assert_eq!(
        v["choices"][0]["content_filter_results"]["hate"]["filtered"],
        false
    );

    let no_version = format!(
        "{}/openai/deployments/my-gpt/chat/completions",
        s.azure_base()
    );
    let r = client()
        .post(&no_version)
        .header("api-key", "k")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": {"code": "404", "message": "Resource not found"}})
    );

    let r = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "401");

    let mut streaming = body.clone();
    streaming["stream"] = json!(true);
    let text = client()
        .post(&url)
        .header("api-key", "k")
        .json(&streaming)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = parse_sse(&text);
    let first = events[0].json();
    assert_eq!(first["choices"], json!([]));
    assert_eq!(first["prompt_filter_results"][0]["prompt_index"], 0);
    assert_eq!(events[1].json()["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(events.last().unwrap().data, "[DONE]");

    let emb = format!(
        "{}/openai/deployments/emb/embeddings?api-version=2024-10-21",
        s.azure_base()
    );
    let v: Value = client()
        .post(&emb)
        .header("api-key", "k")
        .json(&json!({"input": "hello"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["model"], "emb");
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn response_format_json_schema_gets_a_sample_instance() {
    let s = server().await;
    let body: Value = client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("k")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "person", "strict": true,
                "schema": {"type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}}}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(content).unwrap(),
        json!({"name": "sample", "tags": ["sample"]})
    );
    assert_eq!(
        body["usage"]["completion_tokens"],
        mock_upstream::count_tokens(content)
    );
}
