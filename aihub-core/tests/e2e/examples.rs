//! The examples under examples/rust run against the mock upstream.

#[path = "../../../examples/rust/chat.rs"]
mod chat;
#[path = "../../../examples/rust/stream.rs"]
mod stream;
#[path = "../../../examples/rust/tool_call.rs"]
mod tool_call;

use crate::mock;

#[tokio::test]
async fn chat_example() {
    let m = mock().await;
    let answer = chat::run(&m.openai_base(), "ai-hub-example", "gpt-4o-mini")
        .await
        .unwrap();
    assert!(!answer.is_empty());
}

#[tokio::test]
async fn stream_example() {
    let m = mock().await;
    let mut printed = Vec::new();
    let (text, tokens) = stream::run(
        &m.openai_base(),
        "ai-hub-example",
        "gpt-4o-mini",
        &mut printed,
    )
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8(printed).unwrap(),
        text,
        "prints exactly what it accumulates"
    );
    assert!(tokens > 0);
}

#[tokio::test]
async fn tool_call_example() {
    let m = mock().await;
    let (calls, answer) = tool_call::run(&m.openai_base(), "ai-hub-example", "gpt-4o-mini")
        .await
        .unwrap();
    assert_eq!(calls, ["get_weather"]);
    assert!(!answer.is_empty());
}
