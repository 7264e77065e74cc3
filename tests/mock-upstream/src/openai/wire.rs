//! Typed response bodies for the hot path: serialised directly, without building `Value` maps.

use serde::Serialize;
use serde_json::Value;

/// A `chat.completion` object.
#[derive(Debug, Serialize)]
pub struct Completion<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: u64,
    pub model: &'a str,
    pub choices: [Choice<'a>; 1],
    pub usage: &'a Usage,
    pub service_tier: &'static str,
    pub system_fingerprint: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_filter_results: Option<Value>,
}

/// One choice of a completion.
#[derive(Debug, Serialize)]
pub struct Choice<'a> {
    pub index: u32,
    pub message: Message<'a>,
    pub logprobs: (),
    pub finish_reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_filter_results: Option<Value>,
}

/// The assistant message.
#[derive(Debug, Serialize)]
pub struct Message<'a> {
    pub role: &'static str,
    pub content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<[ToolCall<'a>; 1]>,
    pub refusal: (),
    pub annotations: [(); 0],
}

/// A tool call in a message.
#[derive(Debug, Serialize)]
pub struct ToolCall<'a> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: Function<'a>,
}

/// The called function.
#[derive(Debug, Serialize)]
pub struct Function<'a> {
    pub name: &'a str,
    pub arguments: &'a str,
}

/// OpenAI's usage object.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
    pub prompt_tokens_details: PromptDetails,
    pub completion_tokens_details: CompletionDetails,
}

/// `usage.prompt_tokens_details`.
#[derive(Debug, Clone, Serialize)]
pub struct PromptDetails {
    pub cached_tokens: u32,
    pub audio_tokens: u32,
}

/// `usage.completion_tokens_details`.
#[derive(Debug, Clone, Serialize)]
pub struct CompletionDetails {
    pub reasoning_tokens: u32,
    pub audio_tokens: u32,
    pub accepted_prediction_tokens: u32,
    pub rejected_prediction_tokens: u32,
}
