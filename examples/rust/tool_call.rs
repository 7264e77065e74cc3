//! A tool call round trip: the model asks for a function, we run it, the model answers.
//!
//! ```sh
//! AIHUB_BASE_URL=http://127.0.0.1:8080/v1 AIHUB_API_KEY=ai-hub-… cargo run -p aihub-core --example tool_call
//! ```

#![allow(clippy::print_stdout, reason = "an example prints its result")]

use aihub_core::{ChatCompletionRequest, ChatMessage, Client, FinishReason, Tool};
use serde_json::json;

/// The local function the model may call.
fn get_weather(city: &str) -> serde_json::Value {
    json!({ "city": city, "temperature_c": 21, "sky": "clear" })
}

/// Runs the round trip and returns the tool calls made and the final answer.
pub async fn run(
    base_url: &str,
    api_key: &str,
    model: &str,
) -> aihub_core::Result<(Vec<String>, String)> {
    let client = Client::builder().gateway(base_url, api_key).build()?;
    let tools = vec![Tool::function(
        "get_weather",
        "Current weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )];
    let mut messages = vec![ChatMessage::user(
        "What's the weather in Hangzhou? call get_weather",
    )];
    let mut request = ChatCompletionRequest::new(model, messages.clone());
    request.tools = Some(tools.clone());
    let first = client.chat().create(request).await?;
    let choice = &first.choices[0];
    let calls = choice.message.tool_calls.clone().unwrap_or_default();
    let mut called = Vec::new();
    if choice.finish_reason == Some(FinishReason::ToolCalls) {
        messages.push(ChatMessage::assistant_tool_calls(calls.clone()));
        for call in &calls {
            let args: serde_json::Value =
                serde_json::from_str(&call.function.arguments).unwrap_or_default();
            let city = args["city"].as_str().unwrap_or("Hangzhou");
            messages.push(ChatMessage::tool(&call.id, get_weather(city).to_string()));
            called.push(call.function.name.clone());
        }
    }
    let mut request = ChatCompletionRequest::new(model, messages);
    request.tools = Some(tools);
    let answer = client.chat().create(request).await?;
    Ok((
        called,
        answer.choices[0]
            .message
            .content
            .clone()
            .unwrap_or_default(),
    ))
}

#[allow(dead_code, reason = "the test suite calls run() directly")]
#[tokio::main]
async fn main() -> aihub_core::Result<()> {
    let base_url =
        std::env::var("AIHUB_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080/v1".into());
    let api_key = std::env::var("AIHUB_API_KEY").unwrap_or_default();
    let model = std::env::var("AIHUB_MODEL").unwrap_or_else(|_| "openai/gpt-4o-mini".into());
    let (calls, answer) = run(&base_url, &api_key, &model).await?;
    println!("tool calls: {calls:?}\nanswer: {answer}");
    Ok(())
}
