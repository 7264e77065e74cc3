//! Gemini adapter tests, driven by the fixtures in `tests/fixtures/gemini/`.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::*;
use crate::providers::{ProviderKind, StreamState};
use crate::stream::{ChatAccumulator, decode_sse_text};
use crate::types::{
    ChatCompletionChunk, ChatMessage, EmbeddingInput, EmbeddingVector, EncodingFormat,
    FinishReason, NamedFunction, NamedToolChoice, ResponseFormat, ToolCall, ToolChoice,
    ToolChoiceMode,
};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../../tests/fixtures/gemini/", $name))
    };
}

const BASE: &str = "https://generativelanguage.googleapis.com/v1beta";

fn adapter() -> GeminiAdapter {
    GeminiAdapter::new(
        ProviderConfig::new("google", ProviderKind::Gemini, BASE).with_api_key("g-key"),
    )
}

fn request(json: &str) -> ChatCompletionRequest {
    serde_json::from_str(json).unwrap()
}

fn body_of(req: &ChatCompletionRequest) -> Value {
    adapter()
        .chat_request(req, "gemini-2.5-flash")
        .unwrap()
        .body
        .unwrap()
}

fn rejected(req: &ChatCompletionRequest) -> crate::Error {
    adapter().chat_request(req, "gemini-2.0-flash").unwrap_err()
}

fn user(text: &str) -> ChatCompletionRequest {
    ChatCompletionRequest::new("gemini", vec![ChatMessage::user(text)])
}

fn stream(text: &str) -> crate::Result<Vec<ChatCompletionChunk>> {
    decode_sse_text(
        text,
        StreamState::Gemini(GeminiStreamState::new("gemini-fallback")),
    )
}

mod requests;
mod responses;
