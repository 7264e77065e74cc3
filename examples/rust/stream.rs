//! A streamed chat completion, printed as it arrives, with its usage at the end.
//!
//! ```sh
//! AIHUB_BASE_URL=http://127.0.0.1:8080/v1 AIHUB_API_KEY=ai-hub-… cargo run -p aihub-core --example stream
//! ```

#![allow(clippy::print_stdout, reason = "an example prints its result")]

use aihub_core::stream::ChatAccumulator;
use aihub_core::{ChatCompletionRequest, ChatMessage, Client};
use futures::StreamExt as _;

/// Streams a reply to `out` and returns the whole text and the total tokens.
pub async fn run(
    base_url: &str,
    api_key: &str,
    model: &str,
    out: &mut impl std::io::Write,
) -> aihub_core::Result<(String, u64)> {
    let client = Client::builder().gateway(base_url, api_key).build()?;
    let request =
        ChatCompletionRequest::new(model, vec![ChatMessage::user("Tell me a short story.")]);
    let mut stream = client.chat().stream(request).await?;
    let mut acc = ChatAccumulator::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if let Some(text) = chunk
            .choices
            .first()
            .and_then(|c| c.delta.content.as_deref())
        {
            let _ = write!(out, "{text}");
            let _ = out.flush();
        }
        acc.push(&chunk);
    }
    let total = acc.usage().map_or(0, |u| u.total_tokens);
    Ok((acc.content().to_owned(), total))
}

#[allow(dead_code, reason = "the test suite calls run() directly")]
#[tokio::main]
async fn main() -> aihub_core::Result<()> {
    let base_url =
        std::env::var("AIHUB_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080/v1".into());
    let api_key = std::env::var("AIHUB_API_KEY").unwrap_or_default();
    let model = std::env::var("AIHUB_MODEL").unwrap_or_else(|_| "openai/gpt-4o-mini".into());
    let (_, tokens) = run(&base_url, &api_key, &model, &mut std::io::stdout()).await?;
    println!("\n[{tokens} tokens]");
    Ok(())
}
