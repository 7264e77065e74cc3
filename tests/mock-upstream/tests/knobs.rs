//! Scripted behaviour: every `x-mock` knob.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{client, parse_sse, read_body, server, server_with};

fn chat(s: &mock_upstream::MockServer, model: &str, stream: bool) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("k")
        .json(&json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}))
}

fn contents(events: &[crate::common::Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .filter(|c| !c.is_empty())
        .collect()
}

#[tokio::test]
async fn status_in_each_provider_shape_with_retry_after() {
    let s = server().await;
    let r = chat(&s, "gpt-4o-mini", false)
        .header("x-mock", "status=500")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.headers().get("retry-after").is_none());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "server_error");
    assert_eq!(v["error"]["param"], Value::Null);

    let r = chat(&s, "gpt-4o-mini@status=429,retry_after=3", false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gpt-4o-mini")
    );
    assert!(!v["error"]["message"].as_str().unwrap().contains('@'));

    let r = client()
        .post(format!("{}/messages", s.anthropic_base()))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .header("x-mock", "status=529,retry_after=1")
        .json(&json!({"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 529);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    );

    let r = client()
        .post(format!(
            "{}/models/gemini-2.0-flash@status=503:generateContent",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "k")
        .json(&json!({"contents": [{"parts": [{"text": "x"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], 503);
    assert_eq!(v["error"]["status"], "UNAVAILABLE");
}

#[tokio::test]
async fn fail_every_flaps_per_scenario_id() {
    let s = server().await;
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(
            chat(&s, "m@fail_every=2,status=503", false)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(seen, [503, 200, 503, 200, 503, 200]);
    let third = chat(&s, "m@fail_every=3", false).send().await.unwrap();
    assert_eq!(
        third.status(),
        500,
        "the first of a group fails, status 500 by default"
    );
    let r = chat(&s, "m@fail_every=0", false).send().await.unwrap();
    assert_eq!(r.status(), 400, "fail_every=0 is refused");
}

#[tokio::test]
async fn fail_times_then_success_per_scenario_id() {
    let s = server().await;
    let send = |id: &'static str| {
        chat(&s, "m", false)
            .header("x-mock", "fail_times=2,status=503")
            .header("x-mock-id", id)
            .send()
    };
    assert_eq!(send("a").await.unwrap().status(), 503);
    assert_eq!(send("b").await.unwrap().status(), 503);
    assert_eq!(send("a").await.unwrap().status(), 503);
    assert_eq!(send("a").await.unwrap().status(), 200);
    assert_eq!(send("a").await.unwrap().status(), 200);
    assert_eq!(send("b").await.unwrap().status(), 503);
    assert_eq!(send("b").await.unwrap().status(), 200);
    // Without x-mock-id the scenario string groups requests; default status is 500.
    assert_eq!(
        chat(&s, "m@fail_times=1", false)
            .send()
            .await
            .unwrap()
            .status(),
        500
    );
    assert_eq!(
        chat(&s, "m@fail_times=1", false)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    s.reset();
    assert_eq!(
        chat(&s, "m@fail_times=1", false)
            .send()
            .await
            .unwrap()
            .status(),
        500
    );
}

#[tokio::test]
async fn drop_after_truncates_the_stream() {
    let s = server().await;
    let r = chat(&s, "m@drop_after=2", true).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (text, failed) = read_body(r).await;
    assert!(failed, "the body must end in an error, not cleanly");
    assert!(!text.contains("[DONE]"));
    let events = parse_sse(&text);
    assert_eq!(contents(&events).len(), 2);
    assert!(
        events
            .iter()
            .all(|e| !e.data.contains("finish_reason\":\"stop"))
    );

    let r = client()
        .post(format!("{}/messages", s.anthropic_base()))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .header("x-mock", "drop_after=1")
        .json(&json!({"model": "claude", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    let (text, failed) = read_body(r).await;
    assert!(failed);
    let names: Vec<String> = parse_sse(&text)
        .into_iter()
        .filter_map(|e| e.event)
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta"
        ]
    );

    // Non-streaming: headers arrive, the body is cut.
    let r = chat(&s, "m@drop_after=0", false).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (_, failed) = read_body(r).await;
    assert!(failed);
}

#[tokio::test]
async fn malformed_line_mid_stream_then_normal_end() {
    let s = server().await;
    let text = chat(&s, "m@malformed=3", true)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = parse_sse(&text);
    let bad: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.data != "[DONE]" && serde_json::from_str::<Value>(&e.data).is_err())
        .map(|(i, _)| i)
        .collect();
    // role chunk, 3 content chunks, then the malformed line.
    assert_eq!(bad, vec![4]);
    assert_eq!(events.last().unwrap().data, "[DONE]");
    assert_eq!(contents(&events).len(), 8);

    let r = chat(&s, "m@malformed=1", false).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.is_err());
    // A bare flag works in the header; in a model suffix only key=value pairs mark a scenario.
    let r = chat(&s, "m", false)
        .header("x-mock", "malformed")
        .send()
        .await
        .unwrap();
    assert!(r.json::<Value>().await.is_err());
}

#[tokio::test]
async fn error_event_in_each_provider_shape() {
    let s = server().await;
    let text = chat(&s, "m@error_event=2", true)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = parse_sse(&text);
    assert_eq!(contents(&events).len(), 2);
    let last = events.last().unwrap().json();
    assert_eq!(last["error"]["type"], "server_error");
    assert!(!text.contains("[DONE]"));

    let text = client()
        .post(format!("{}/messages", s.anthropic_base()))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .header("x-mock", "error_event=1")
        .json(&json!({"model": "claude", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = parse_sse(&text);
    let last = events.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"));
    assert_eq!(
        last.json(),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    );

    let text = client()
        .post(format!(
            "{}/models/g@error_event=1:streamGenerateContent?alt=sse",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "k")
        .json(&json!({"contents": [{"parts": [{"text": "x"}]}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = parse_sse(&text);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].json()["error"]["status"], "INTERNAL");
}

#[tokio::test]
async fn latency_ttft_and_tps_timing() {
    let s = server().await;
    let start = Instant::now();
    let r = chat(&s, "m@latency_ms=150", false).send().await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(r.status(), 200);

    // 4 chunks of 5 tokens at 100 tokens/s after a 100 ms first chunk: last chunk at ≥ 250 ms.
    let start = Instant::now();
    let r = chat(&s, "m@ttft_ms=100,tps=100,tokens=20,chunks=4", true)
        .send()
        .await
        .unwrap();
    let headers_at = start.elapsed();
    let text = r.text().await.unwrap();
    let total = start.elapsed();
    assert!(
        headers_at < Duration::from_millis(100),
        "headers come before ttft: {headers_at:?}"
    );
    assert!(total >= Duration::from_millis(250), "{total:?}");
    assert!(total < Duration::from_secs(3), "{total:?}");
    let events = parse_sse(&text);
    let words: usize = contents(&events)
        .iter()
        .map(|c| c.split_whitespace().count())
        .sum();
    assert_eq!(contents(&events).len(), 4);
    assert_eq!(words, 20);
}

#[tokio::test]
async fn content_tokens_chunks_and_tool_knobs() {
    let s = server().await;
    let text = chat(&s, "m@content=One%20two%20three%20four,chunks=2", true)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(contents(&parse_sse(&text)), ["One two", " three four"]);

    let v: Value = chat(&s, "m@tokens=50,chunks=3", false)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["usage"]["completion_tokens"], 50);
    assert_eq!(
        mock_upstream::count_tokens(v["choices"][0]["message"]["content"].as_str().unwrap()),
        50
    );
    assert_eq!(v["model"], "m");

    let v: Value = client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("k")
        .header("x-mock", "tool=lookup")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "other"}}, {"type": "function", "function": {"name": "lookup"}}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "lookup"
    );

    let v: Value = chat(&s, "m@cached_tokens=4,reasoning_tokens=10", false)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
    assert_eq!(
        v["usage"]["completion_tokens_details"]["reasoning_tokens"],
        10
    );
    assert_eq!(v["usage"]["completion_tokens"], 18);
}

#[tokio::test]
async fn unknown_knob_is_a_400() {
    let s = server().await;
    let r = chat(&s, "m", false)
        .header("x-mock", "stauts=500")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown mock knob 'stauts'")
    );
}

#[tokio::test]
async fn server_default_scenario_applies_under_the_requests_own_knobs() {
    let s = server_with(mock_upstream::MockConfig {
        scenario: "chunks=3,tokens=3".into(),
        ..Default::default()
    })
    .await;
    let (body, _) = read_body(chat(&s, "gpt-4o-mini", true).send().await.unwrap()).await;
    let events = parse_sse(&body);
    assert_eq!(contents(&events).len(), 3, "the server's chunks=3 applies");
    let response = chat(&s, "gpt-4o-mini@chunks=5,tokens=5", true)
        .send()
        .await
        .unwrap();
    let (body, _) = read_body(response).await;
    let events = parse_sse(&body);
    assert_eq!(contents(&events).len(), 5, "the model suffix overrides it");
    let r = chat(&s, "gpt-4o-mini", false)
        .header("x-mock", "status=503")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "the header adds to it");
}
