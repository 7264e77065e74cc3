//! OpenAI-compatible responses → canonical objects.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::types::{
    ChatCompletion, EmbeddingResponse, EmbeddingVector, EncodingFormat, PromptTokensDetails, Usage,
};

/// Parses a chat completion, normalising provider-specific usage fields.
pub fn parse_chat(body: &[u8], model: &str) -> Result<ChatCompletion> {
    let mut value: Value = super::super::parse_json(body, "chat completion")?;
    let usage = value.get("usage").and_then(normalize_usage);
    if let Some(obj) = value.as_object_mut() {
        obj.remove("usage");
        if !obj.contains_key("model") {
            obj.insert("model".into(), model.into());
        }
        if !obj.contains_key("id") {
            obj.insert("id".into(), super::super::new_id("chatcmpl-").into());
        }
    }
    let mut completion: ChatCompletion = serde_json::from_value(value)
        .map_err(|e| Error::invalid_response(format!("chat completion: {e}")))?;
    completion.usage = usage;
    Ok(completion)
}

/// Reads a usage object, mapping provider-specific cache fields onto OpenAI's
/// (DeepSeek's `prompt_cache_hit_tokens`, Moonshot's `cached_tokens`).
pub fn normalize_usage(value: &Value) -> Option<Usage> {
    if value.is_null() {
        return None;
    }
    let mut usage: Usage = serde_json::from_value(value.clone()).ok()?;
    if usage.total_tokens == 0 {
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    }
    if usage.cached_tokens() == 0 {
        let cached = value
            .get("prompt_cache_hit_tokens")
            .or_else(|| value.get("cached_tokens"))
            .and_then(Value::as_u64);
        if let Some(cached) = cached.filter(|c| *c > 0) {
            usage
                .prompt_tokens_details
                .get_or_insert_with(PromptTokensDetails::default)
                .cached_tokens = Some(cached);
        }
    }
    Some(usage)
}

/// Parses an embeddings response and converts vectors to the encoding the caller asked
/// for (some compatible providers ignore `encoding_format`).
pub fn parse_embeddings(body: &[u8], request: &EmbeddingRequest) -> Result<EmbeddingResponse> {
    let mut resp: EmbeddingResponse = super::super::parse_json(body, "embeddings")?;
    let want = request.encoding_format.unwrap_or(EncodingFormat::Float);
    for e in &mut resp.data {
        match (want, &e.embedding) {
            (EncodingFormat::Base64, EmbeddingVector::Float(v)) => {
                e.embedding = EmbeddingVector::base64_from_floats(v);
            }
            (EncodingFormat::Float, EmbeddingVector::Base64(_)) => {
                e.embedding = EmbeddingVector::Float(e.embedding.to_floats()?);
            }
            _ => {}
        }
    }
    Ok(resp)
}

use crate::types::EmbeddingRequest;
