//! Google Gemini (v1beta).

use serde_json::{Value, json};

use crate::common::{client, normalize, parse_sse, prompt_tokens, server};

fn request() -> Value {
    json!({"systemInstruction": {"parts": [{"text": "Be kind."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hello Gemini"}]}]})
}

#[tokio::test]
async fn generate_content_response() {
    let s = server().await;
    let r = client()
        .post(format!(
            "{}/models/gemini-2.0-flash:generateContent",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "k")
        .header("x-mock", "content=Hi%20back")
        .json(&request())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["responseId"].as_str().is_some_and(|id| !id.is_empty()));
    let prompt = prompt_tokens(&[("system", "Be kind."), ("user", "Hello Gemini")]);
    let out = mock_upstream::count_tokens("Hi back");
    assert_eq!(
        normalize(v),
        json!({"candidates": [{"content": {"parts": [{"text": "Hi back"}], "role": "model"}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": out, "totalTokenCount": prompt + out,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]},
            "modelVersion": "gemini-2.0-flash", "responseId": "<id>"})
    );
}

#[tokio::test]
async fn key_in_query_and_key_errors() {
    let s = server().await;
    let url = format!(
        "{}/models/gemini-2.0-flash:generateContent",
        s.gemini_base()
    );
    let r = client()
        .post(format!("{url}?key=abc"))
        .json(&request())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client().post(&url).json(&request()).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], 403);
    assert_eq!(v["error"]["status"], "PERMISSION_DENIED");
    let r = client()
        .post(format!("{url}?key=bad-key"))
        .json(&request())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["status"],
        "INVALID_ARGUMENT"
    );
    let r = client()
        .post(&url)
        .header("x-goog-api-key", "k")
        .json(&json!({"contents": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], 400);
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert!(v["error"]["message"].as_str().unwrap().contains("contents"));
    let r = client()
        .post(format!("{}/models/gemini-2.0-flash:fly", s.gemini_base()))
        .header("x-goog-api-key", "k")
        .json(&request())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["status"],
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn stream_sse_events() {
    let s = server().await;
    let r = client()
        .post(format!(
            "{}/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "k")
        .json(&request())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = r.text().await.unwrap();
    assert!(text.starts_with("data: {") && text.ends_with("}\r\n\r\n"));
    let events: Vec<Value> = parse_sse(&text).iter().map(|e| e.json()).collect();
    assert_eq!(events.len(), 8);
    let prompt = prompt_tokens(&[("system", "Be kind."), ("user", "Hello Gemini")]);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["candidates"][0]["content"]["role"], "model");
        assert_eq!(e["modelVersion"], "gemini-2.5-flash");
        assert_eq!(e["responseId"], events[0]["responseId"]);
        assert_eq!(e["usageMetadata"]["promptTokenCount"], prompt);
        let last = i == events.len() - 1;
        assert_eq!(e["candidates"][0].get("finishReason").is_some(), last);
        assert_eq!(e["usageMetadata"]["candidatesTokenCount"], i as u64 + 1);
    }
    let last = events.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["totalTokenCount"], prompt + 8);
    let streamed: String = events
        .iter()
        .map(|e| {
            e["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let v: Value = client()
        .post(format!(
            "{}/models/gemini-2.5-flash:generateContent",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "k")
        .json(&request())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["candidates"][0]["content"]["parts"][0]["text"], streamed);
}

#[tokio::test]
async fn stream_without_alt_is_a_json_array() {
    let s = server().await;
    let r = client()
        .post(format!(
            "{}/models/gemini-2.0-flash:streamGenerateContent",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "k")
        .json(&request())
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 8);
    assert_eq!(items[7]["candidates"][0]["finishReason"], "STOP");
}

#[tokio::test]
async fn function_call_parts() {
    let s = server().await;
    let mut body = request();
    body["tools"] = json!([{"functionDeclarations": [{"name": "find_place", "description": "d",
        "parameters": {"type": "OBJECT", "properties": {"query": {"type": "STRING"}, "limit": {"type": "INTEGER"}}}}]}]);
    body["toolConfig"] = json!({"functionCallingConfig": {"mode": "ANY"}});
    let v: Value = client()
        .post(format!(
            "{}/models/gemini-2.0-flash:generateContent",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "k")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["candidates"][0]["content"]["parts"][0],
        json!({"functionCall": {"name": "find_place", "args": {"query": "sample", "limit": 42}}})
    );
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
    let text = client()
        .post(format!(
            "{}/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "k")
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = parse_sse(&text);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].json()["candidates"][0]["content"]["parts"],
        v["candidates"][0]["content"]["parts"]
    );
}

#[tokio::test]
async fn embeddings_models_and_count() {
    let s = server().await;
    let v: Value = client()
        .post(format!("{}/models/text-embedding-004:batchEmbedContents", s.gemini_base()))
        .header("x-goog-api-key", "k")
        .json(&json!({"requests": [
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}},
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 4}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let embeddings = v["embeddings"].as_array().unwrap();
    assert_eq!(embeddings.len(), 2);
    assert_eq!(embeddings[0]["values"].as_array().unwrap().len(), 8);
    assert_eq!(embeddings[1]["values"].as_array().unwrap().len(), 4);
    let single: Value = client()
        .post(format!(
            "{}/models/text-embedding-004:embedContent",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "k")
        .json(&json!({"content": {"parts": [{"text": "a"}]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(single["embedding"]["values"], embeddings[0]["values"]);

    let models: Value = client()
        .get(format!("{}/models", s.gemini_base()))
        .header("x-goog-api-key", "k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = &models["models"][0];
    assert!(first["name"].as_str().unwrap().starts_with("models/"));
    assert!(first["supportedGenerationMethods"].is_array());
    let one: Value = client()
        .get(format!("{}/models/gemini-2.0-flash", s.gemini_base()))
        .header("x-goog-api-key", "k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["name"], "models/gemini-2.0-flash");

    let count: Value = client()
        .post(format!(
            "{}/models/gemini-2.0-flash:countTokens",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "k")
        .json(&request())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        count["totalTokens"],
        prompt_tokens(&[("system", "Be kind."), ("user", "Hello Gemini")])
    );
}

#[tokio::test]
async fn json_mime_type_gets_json() {
    let s = server().await;
    let mut body = request();
    body["generationConfig"] = json!({"responseMimeType": "application/json",
        "responseSchema": {"type": "OBJECT", "properties": {"ok": {"type": "BOOLEAN"}}}});
    let v: Value = client()
        .post(format!(
            "{}/models/gemini-2.0-flash:generateContent",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "k")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = v["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!({"ok": true})
    );
}
