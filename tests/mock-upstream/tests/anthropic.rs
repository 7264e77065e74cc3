//! Anthropic Messages API.

use serde_json::{Value, json};

use crate::common::{client, normalize, parse_sse, prompt_tokens, server};

fn post(s: &mock_upstream::MockServer, body: &Value) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}/messages", s.anthropic_base()))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(body)
}

#[tokio::test]
async fn message_object_is_complete_and_counted() {
    let s = server().await;
    let r = post(
        &s,
        &json!({"model": "claude-sonnet-4-20250514", "max_tokens": 100, "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi there"}]}]}),
    )
    .header("x-mock", "content=Hello!")
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let id = r.headers()["request-id"].to_str().unwrap().to_owned();
    assert!(id.starts_with("req_"));
    assert_eq!(r.headers()["x-request-id"].to_str().unwrap(), id);
    let v: Value = r.json().await.unwrap();
    assert!(v["id"].as_str().unwrap().starts_with("msg_"));
    let prompt = prompt_tokens(&[("system", "Be brief."), ("user", "Hi there")]);
    assert_eq!(
        normalize(v),
        json!({"id": "<id>", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
            "content": [{"type": "text", "text": "Hello!"}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": prompt, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                "output_tokens": mock_upstream::count_tokens("Hello!")}})
    );
}

#[tokio::test]
async fn required_headers_and_fields() {
    let s = server().await;
    let body = json!({"model": "claude", "messages": [{"role": "user", "content": "x"}]});
    let r = post(&s, &body).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}})
    );
    let mut ok = body.clone();
    ok["max_tokens"] = json!(10);
    let r = client()
        .post(format!("{}/messages", s.anthropic_base()))
        .header("anthropic-version", "2023-06-01")
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("request-id"));
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["type"],
        "authentication_error"
    );
    let r = client()
        .post(format!("{}/messages", s.anthropic_base()))
        .header("x-api-key", "k")
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["message"],
        "anthropic-version: header is required"
    );
    let r = client()
        .post(format!("{}/messages", s.anthropic_base()))
        .header("x-api-key", "bad-key")
        .header("anthropic-version", "2023-06-01")
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn stream_event_order_and_usage() {
    let s = server().await;
    let request = json!({"model": "claude-3-5-haiku-20241022", "max_tokens": 100, "stream": true,
        "messages": [{"role": "user", "content": "Tell me something"}]});
    let r = post(&s, &request).send().await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = r.text().await.unwrap();
    let events = parse_sse(&text);
    let names: Vec<&str> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(std::iter::repeat_n("content_block_delta", 8));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);
    for e in &events {
        assert_eq!(
            e.json()["type"],
            e.event.as_deref().unwrap(),
            "event name matches data type"
        );
    }
    let start = events[0].json();
    assert_eq!(start["message"]["content"], json!([]));
    assert_eq!(start["message"]["stop_reason"], Value::Null);
    let prompt = prompt_tokens(&[("user", "Tell me something")]);
    assert_eq!(start["message"]["usage"]["input_tokens"], prompt);
    assert_eq!(
        events[1].json()["content_block"],
        json!({"type": "text", "text": ""})
    );
    let streamed: String = events[3..11]
        .iter()
        .map(|e| {
            let delta = e.json()["delta"].clone();
            assert_eq!(delta["type"], "text_delta");
            delta["text"].as_str().unwrap().to_owned()
        })
        .collect();
    let delta = events[12].json();
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "end_turn", "stop_sequence": null})
    );
    assert_eq!(delta["usage"], json!({"output_tokens": 8}));

    let mut plain = request.clone();
    plain["stream"] = json!(false);
    let v: Value = post(&s, &plain).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["content"][0]["text"], streamed);
}

#[tokio::test]
async fn tool_use_block_and_input_json_deltas() {
    let s = server().await;
    let request = json!({"model": "claude", "max_tokens": 100,
        "tools": [{"name": "lookup", "description": "d", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}}}],
        "messages": [{"role": "user", "content": "call lookup please"}]});
    let v: Value = post(&s, &request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["stop_reason"], "tool_use");
    let block = &v["content"][0];
    assert_eq!(block["type"], "tool_use");
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(block["name"], "lookup");
    assert_eq!(block["input"], json!({"q": "sample", "n": 42}));

    let mut streaming = request.clone();
    streaming["stream"] = json!(true);
    let text = post(&s, &streaming)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = parse_sse(&text);
    let start = events[1].json();
    assert_eq!(
        start["content_block"],
        json!({"type": "tool_use", "id": block["id"], "name": "lookup", "input": {}})
    );
    let json_text: String = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("content_block_delta"))
        .map(|e| {
            let d = e.json()["delta"].clone();
            assert_eq!(d["type"], "input_json_delta");
            d["partial_json"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&json_text).unwrap(),
        block["input"]
    );
    let delta = events
        .iter()
        .find(|e| e.event.as_deref() == Some("message_delta"))
        .unwrap()
        .json();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");

    let forced: Value = post(&s, &json!({"model": "claude", "max_tokens": 10, "tools": request["tools"],
        "tool_choice": {"type": "tool", "name": "lookup"}, "messages": [{"role": "user", "content": "hi"}]}))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(forced["content"][0]["name"], "lookup");
}

#[tokio::test]
async fn cache_knobs_and_max_tokens() {
    let s = server().await;
    let v: Value = post(
        &s,
        &json!({"model": "claude@cached_tokens=5,cache_creation_tokens=2", "max_tokens": 3,
        "messages": [{"role": "user", "content": "some words in here"}]}),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let prompt = prompt_tokens(&[("user", "some words in here")]);
    assert_eq!(v["model"], "claude");
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(
        v["usage"],
        json!({"input_tokens": prompt - 7, "cache_creation_input_tokens": 2, "cache_read_input_tokens": 5, "output_tokens": 3})
    );
}

#[tokio::test]
async fn models_and_count_tokens() {
    let s = server().await;
    let v: Value = client()
        .get(format!("{}/models", s.anthropic_base()))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["has_more"], false);
    assert_eq!(v["data"][0]["type"], "model");
    assert_eq!(v["first_id"], v["data"][0]["id"]);
    assert!(v["data"][0]["display_name"].is_string() && v["data"][0]["created_at"].is_string());

    let v: Value = client()
        .post(format!("{}/messages/count_tokens", s.anthropic_base()))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "claude", "messages": [{"role": "user", "content": "Hello"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v,
        json!({"input_tokens": prompt_tokens(&[("user", "Hello")])})
    );
}
