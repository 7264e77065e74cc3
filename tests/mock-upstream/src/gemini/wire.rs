//! Typed `GenerateContentResponse` bodies, serialised directly for every stream chunk.

use serde::Serialize;
use serde_json::Value;

/// A `GenerateContentResponse`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response<'a> {
    pub candidates: [Candidate<'a>; 1],
    pub usage_metadata: &'a UsageMetadata,
    pub model_version: &'a str,
    pub response_id: &'a str,
}

/// The one candidate.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate<'a> {
    pub content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<&'static str>,
    pub index: u32,
}

/// Model content with one part.
#[derive(Debug, Serialize)]
pub struct Content<'a> {
    pub parts: [Part<'a>; 1],
    pub role: &'static str,
}

/// A text part or a function call.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Part<'a> {
    /// `{"text": …}`
    Text {
        /// The text.
        text: &'a str,
    },
    /// `{"functionCall": {"name", "args"}}`
    Call {
        /// The call.
        #[serde(rename = "functionCall")]
        function_call: FunctionCall<'a>,
    },
}

/// A function call.
#[derive(Debug, Serialize)]
pub struct FunctionCall<'a> {
    pub name: &'a str,
    pub args: &'a Value,
}

/// `usageMetadata`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    pub prompt_token_count: u32,
    pub candidates_token_count: u32,
    pub total_token_count: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub cached_content_token_count: u32,
    pub prompt_tokens_details: [ModalityCount; 1],
    #[serde(skip_serializing_if = "is_zero")]
    pub thoughts_token_count: u32,
}

/// Tokens of one modality.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ModalityCount {
    pub modality: &'static str,
    pub token_count: u32,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}
