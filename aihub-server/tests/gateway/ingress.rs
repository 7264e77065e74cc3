//! The OpenAI-compatible ingress: chat in every family, embeddings, models, usage records.

use serde_json::{Value, json};

use crate::{Gateway, chat};

#[tokio::test]
async fn chat_through_every_family_is_recorded_with_cost() {
    let g = Gateway::start().await;
    let (token, key) = g.user("alice@example.com").await;
    let models = [
        "mock/gpt-4o-mini",
        "mock-anthropic/claude-sonnet-4-5",
        "mock-gemini/gemini-2.5-flash",
    ];
    for model in models {
        let (status, body) = g
            .post(
                "/v1/chat/completions",
                Some(&key),
                &chat(model, "hello there"),
            )
            .await;
        assert_eq!(status, 200, "{model}: {body}");
        assert_eq!(body["object"], "chat.completion");
        assert!(
            !body["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .is_empty(),
            "{model}"
        );
        let u = &body["usage"];
        assert!(u["prompt_tokens"].as_u64().unwrap() > 0, "{model}");
        assert_eq!(
            u["total_tokens"].as_u64().unwrap(),
            u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap()
        );
    }
    // Records are durable before the response completes: no waiting needed.
    let (status, hist) = g.get("/api/v1/usage/history", Some(&token)).await;
    assert_eq!(status, 200);
    let rows = hist["data"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows {
        assert_eq!(r["status"], 200);
        assert!(r["prompt_tokens"].as_i64().unwrap() > 0);
        assert!(r["latency_ms"].as_i64().is_some());
        assert!(r["request_id"].as_str().unwrap().starts_with("req_"));
        assert_eq!(r["currency"], "USD");
        assert!(
            r["cost"].as_str().is_some(),
            "priced demo models have a cost: {r}"
        );
    }
    let providers: Vec<&str> = rows
        .iter()
        .map(|r| r["provider"].as_str().unwrap())
        .collect();
    for p in ["mock", "mock-anthropic", "mock-gemini"] {
        assert!(providers.contains(&p), "{providers:?}");
    }
}

#[tokio::test]
async fn cost_is_the_catalog_price_times_the_tokens() {
    let g = Gateway::start().await;
    let (token, key) = g.user("bob@example.com").await;
    let (_, body) = g
        .post(
            "/v1/chat/completions",
            Some(&key),
            &chat("mock/gpt-4o-mini", "price me"),
        )
        .await;
    let p = body["usage"]["prompt_tokens"].as_i64().unwrap();
    let c = body["usage"]["completion_tokens"].as_i64().unwrap();
    assert!(p > 0 && c > 0);
    // $0.15 and $0.60 per million = 150 and 600 nano-dollars per token.
    let nanos = p * 150 + c * 600;
    let (_, hist) = g.get("/api/v1/usage/history", Some(&token)).await;
    let expected = rust_decimal::Decimal::new(nanos, 9).normalize().to_string();
    assert_eq!(hist["data"][0]["cost"], expected.as_str());
    let (_, current) = g.get("/api/v1/usage/current", Some(&key)).await;
    assert_eq!(current["requests"], 1);
    assert_eq!(current["total_tokens"], p + c);
    assert_eq!(current["cost"][0]["amount"], expected.as_str());
    let (_, cost) = g.get("/api/v1/usage/cost", Some(&token)).await;
    assert_eq!(cost["by_model"][0]["model"], "mock/gpt-4o-mini");
    assert_eq!(cost["by_day"].as_array().unwrap().len(), 1);
    assert_eq!(cost["total"][0]["amount"], expected.as_str());
}

#[tokio::test]
async fn tool_calls_pass_through() {
    let g = Gateway::start().await;
    let (_, key) = g.user("tools@example.com").await;
    let mut body = chat("mock/gpt-4o-mini", "call get_weather for Paris");
    body["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let (status, r) = g.post("/v1/chat/completions", Some(&key), &body).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        r["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
}

#[tokio::test]
async fn unknown_fields_reach_the_upstream() {
    let g = Gateway::start().await;
    let (_, key) = g.user("extra@example.com").await;
    let mut body = chat("mock/gpt-4o-mini", "hi");
    body["metadata"] = json!({"project": "x"});
    body["seed"] = json!(7);
    let (status, _) = g.post("/v1/chat/completions", Some(&key), &body).await;
    assert_eq!(status, 200);
    let sent = g.mock.requests().last().unwrap().body.clone();
    assert_eq!(sent["metadata"], json!({"project": "x"}));
    assert_eq!(sent["seed"], 7);
    assert_eq!(
        sent["model"], "gpt-4o-mini",
        "the upstream gets its own model name"
    );
}

#[tokio::test]
async fn embeddings_in_both_encodings() {
    let g = Gateway::start().await;
    let (_, key) = g.user("emb@example.com").await;
    let body =
        json!({"model": "mock/text-embedding-3-small", "input": ["a", "b"], "dimensions": 8});
    let (status, floats) = g.post("/v1/embeddings", Some(&key), &body).await;
    assert_eq!(status, 200, "{floats}");
    assert_eq!(floats["data"][1]["index"], 1);
    assert_eq!(floats["data"][0]["embedding"].as_array().unwrap().len(), 8);
    let mut b64 = body.clone();
    b64["encoding_format"] = json!("base64");
    let (status, enc) = g.post("/v1/embeddings", Some(&key), &b64).await;
    assert_eq!(status, 200);
    assert!(enc["data"][0]["embedding"].is_string());
}

#[tokio::test]
async fn models_lists_what_the_gateway_serves_with_prices() {
    let g = Gateway::start().await;
    let (_, key) = g.user("models@example.com").await;
    let (status, list) = g.get("/v1/models", Some(&key)).await;
    assert_eq!(status, 200);
    assert_eq!(list["object"], "list");
    let data = list["data"].as_array().unwrap();
    let ids: Vec<&str> = data.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"mock/gpt-4o-mini"), "{ids:?}");
    assert!(
        !ids.iter().any(|i| i.starts_with("openai/")),
        "unconfigured providers are not listed"
    );
    let m = data.iter().find(|m| m["id"] == "mock/gpt-4o-mini").unwrap();
    assert_eq!(m["owned_by"], "mock");
    assert_eq!(m["pricing"]["input"], "0.15");
    assert_eq!(m["pricing"]["currency"], "USD");
    let _: Value = m["context_window"].clone();
}
