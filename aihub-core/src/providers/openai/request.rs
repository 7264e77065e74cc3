//! Canonical request → OpenAI-compatible request body.

use serde_json::{Value, json};

use super::{MaxTokensField, Quirks};
use crate::error::{Error, Result};
use crate::types::ChatCompletionRequest;

/// The JSON body for `POST /chat/completions` at a provider with `quirks`.
///
/// Unknown fields the caller sent are kept. Streams always ask for usage when the
/// provider supports it, so that cost can be computed even when the caller did not ask.
pub fn chat_body(
    request: &ChatCompletionRequest,
    upstream_model: &str,
    quirks: &Quirks,
) -> Result<Value> {
    let mut body =
        serde_json::to_value(request).map_err(|e| Error::bad_request(e.to_string(), None))?;
    let Some(obj) = body.as_object_mut() else {
        return Err(Error::bad_request("request must be a JSON object", None));
    };
    obj.insert("model".into(), upstream_model.into());

    if request.is_stream() {
        if quirks.stream_usage {
            let opts = obj.entry("stream_options").or_insert_with(|| json!({}));
            if let Some(o) = opts.as_object_mut() {
                o.insert("include_usage".into(), true.into());
            }
        } else {
            obj.remove("stream_options");
        }
    } else {
        obj.remove("stream_options");
    }

    if quirks.max_tokens_field == MaxTokensField::MaxTokens
        && let Some(limit) = obj.remove("max_completion_tokens")
    {
        obj.insert("max_tokens".into(), limit);
    }

    if let Some(Value::Array(messages)) = obj.get_mut("messages") {
        for m in messages.iter_mut() {
            let Some(m) = m.as_object_mut() else { continue };
            // Reasoning text is output only; DeepSeek rejects it in the history.
            m.remove("reasoning_content");
            if !quirks.developer_role && m.get("role").and_then(Value::as_str) == Some("developer")
            {
                m.insert("role".into(), "system".into());
            }
        }
    }
    Ok(body)
}
