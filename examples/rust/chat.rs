//! A chat completion through an AI Hub gateway.
//!
//! ```sh
//! AIHUB_BASE_URL=http://127.0.0.1:8080/v1 AIHUB_API_KEY=ai-hub-… cargo run -p aihub-core --example chat
//! ```

#![allow(clippy::print_stdout, reason = "an example prints its result")]

use aihub_core::{ChatCompletionRequest, ChatMessage, Client};

/// Asks one question and returns the answer.
pub async fn run(base_url: &str, api_key: &str, model: &str) -> aihub_core::Result<String> {
    let client = Client::builder().gateway(base_url, api_key).build()?;
    let request = ChatCompletionRequest::new(
        model,
        vec![
            ChatMessage::system("You are a concise assistant."),
            ChatMessage::user("Say hello to AI Hub."),
        ],
    );
    let completion = client.chat().create(request).await?;
    let answer = completion.choices[0]
        .message
        .content
        .clone()
        .unwrap_or_default();
    if let Some(usage) = &completion.usage {
        eprintln!(
            "tokens: {} prompt + {} completion",
            usage.prompt_tokens, usage.completion_tokens
        );
    }
    Ok(answer)
}

#[allow(dead_code, reason = "the test suite calls run() directly")]
#[tokio::main]
async fn main() -> aihub_core::Result<()> {
    let base_url =
        std::env::var("AIHUB_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080/v1".into());
    let api_key = std::env::var("AIHUB_API_KEY").unwrap_or_default();
    let model = std::env::var("AIHUB_MODEL").unwrap_or_else(|_| "openai/gpt-4o-mini".into());
    println!("{}", run(&base_url, &api_key, &model).await?);
    Ok(())
}
