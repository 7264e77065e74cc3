//! Gemini responses → canonical objects: completions, usage, errors, embeddings, models.

use std::time::Duration;

use http::HeaderMap;
use serde_json::{Map, Value, json};

use super::request::THOUGHT_SIGNATURE_SEPARATOR;
use crate::error::{Error, ErrorDetail, Result, parse_retry_after, request_id_from_headers};
use crate::providers::{body_text, new_id, parse_json, unix_now};
use crate::types::{
    ChatCompletion, Choice, Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage,
    EmbeddingVector, EncodingFormat, FinishReason, Model, ModelList, ResponseMessage, ToolCall,
    Usage,
};

/// Parses a `GenerateContentResponse` into a completion.
///
/// A prompt blocked before any candidate (`promptFeedback.blockReason`) and a response
/// whose every candidate was stopped by a safety filter before writing anything are
/// [`Error::ContentFilter`]. A filtered candidate next to others that did answer stays a
/// choice with `finish_reason: content_filter`.
pub fn parse_chat(body: &[u8], model: &str) -> Result<ChatCompletion> {
    let value: Value = parse_json(body, "Gemini response")?;
    if let Some(err) = error_in_body(&value) {
        return Err(err);
    }
    check_prompt_blocked(&value)?;
    let candidates = candidates(&value);
    if candidates.is_empty() {
        return Err(Error::invalid_response("Gemini response has no candidates"));
    }
    let mut outputs = Vec::with_capacity(candidates.len());
    for (pos, cand) in candidates.iter().enumerate() {
        outputs.push(read_candidate(cand, pos));
    }
    if let Some(blocked) = outputs.iter().find(|o| o.is_filtered())
        && outputs.iter().all(|o| o.is_filtered() && o.is_empty())
    {
        return Err(candidate_blocked(blocked));
    }
    let choices = outputs
        .into_iter()
        .map(|o| {
            let finish_reason = o
                .finish
                .as_deref()
                .map(|raw| finish_reason(raw, !o.calls.is_empty()));
            Choice {
                index: o.index,
                message: ResponseMessage {
                    role: "assistant".to_owned(),
                    content: o.text,
                    refusal: None,
                    tool_calls: (!o.calls.is_empty()).then_some(o.calls),
                    reasoning_content: o.reasoning,
                    extra: Map::new(),
                },
                finish_reason,
                logprobs: o.logprobs,
            }
        })
        .collect();
    Ok(ChatCompletion {
        id: response_id(&value),
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: model_version(&value).unwrap_or(model).to_owned(),
        choices,
        usage: value.get("usageMetadata").and_then(usage_from_metadata),
        system_fingerprint: None,
        service_tier: None,
        extra: Map::new(),
    })
}

/// `responseId`, or a fresh `chatcmpl-…` id.
pub(super) fn response_id(value: &Value) -> String {
    value
        .get("responseId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or_else(|| new_id("chatcmpl-"), str::to_owned)
}

/// `modelVersion`, when the response names one.
pub(super) fn model_version(value: &Value) -> Option<&str> {
    value
        .get("modelVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The response's candidates (none when absent).
pub(super) fn candidates(value: &Value) -> &[Value] {
    value
        .get("candidates")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// [`Error::ContentFilter`] when the prompt was blocked and no candidate came back.
pub(super) fn check_prompt_blocked(value: &Value) -> Result<()> {
    let Some(reason) = value
        .pointer("/promptFeedback/blockReason")
        .and_then(Value::as_str)
    else {
        return Ok(());
    };
    if !candidates(value).is_empty() {
        return Ok(());
    }
    let mut message = format!("Gemini blocked the prompt ({reason})");
    if let Some(why) = value
        .pointer("/promptFeedback/blockReasonMessage")
        .and_then(Value::as_str)
    {
        message.push_str(": ");
        message.push_str(why);
    }
    Err(Error::ContentFilter(ErrorDetail::new(message)))
}

/// What one candidate (or one streamed piece of it) holds.
#[derive(Debug, Default)]
pub(super) struct CandidateOutput {
    /// Candidate index.
    pub index: u32,
    /// Non-thought text, concatenated.
    pub text: Option<String>,
    /// Thought-summary text, concatenated.
    pub reasoning: Option<String>,
    /// Function calls with generated ids.
    pub calls: Vec<ToolCall>,
    /// `finishReason` as sent.
    pub finish: Option<String>,
    /// Log probabilities in OpenAI's shape.
    pub logprobs: Option<Value>,
    /// Categories the safety ratings mark as blocked.
    pub blocked_categories: Vec<String>,
}

impl CandidateOutput {
    /// True when the candidate stopped because of a content filter.
    pub fn is_filtered(&self) -> bool {
        self.finish.as_deref().is_some_and(is_filter_reason)
    }

    /// True when the candidate holds no text, reasoning or calls.
    pub fn is_empty(&self) -> bool {
        self.text.is_none() && self.reasoning.is_none() && self.calls.is_empty()
    }
}

/// Reads one candidate; `position` is its place in the array, used when `index` is absent.
pub(super) fn read_candidate(cand: &Value, position: usize) -> CandidateOutput {
    let mut out = CandidateOutput {
        index: cand
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX)),
        finish: cand
            .get("finishReason")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..CandidateOutput::default()
    };
    let parts = cand
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for part in parts {
        if let Some(call) = part.get("functionCall") {
            let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
            let args = match call.get("args") {
                Some(v @ Value::Object(_)) => v.to_string(),
                _ => "{}".to_owned(),
            };
            let signature = part.get("thoughtSignature").and_then(Value::as_str);
            out.calls
                .push(ToolCall::function(new_call_id(signature), name, args));
        } else if let Some(text) = part.get("text").and_then(Value::as_str) {
            let slot = if part.get("thought").and_then(Value::as_bool) == Some(true) {
                &mut out.reasoning
            } else {
                &mut out.text
            };
            slot.get_or_insert_with(String::new).push_str(text);
        }
    }
    out.logprobs = cand.get("logprobsResult").and_then(convert_logprobs);
    out.blocked_categories = cand
        .get("safetyRatings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("blocked").and_then(Value::as_bool) == Some(true))
        .filter_map(|r| r.get("category").and_then(Value::as_str).map(str::to_owned))
        .collect();
    out
}

/// A tool call id, `call_` and 24 hex digits. A thought signature (Gemini 3 needs it
/// back with the call in the next request) rides along after
/// [`THOUGHT_SIGNATURE_SEPARATOR`], because a canonical tool call has no other field
/// that OpenAI clients echo back unchanged.
pub(super) fn new_call_id(signature: Option<&str>) -> String {
    let unique: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(24)
        .collect();
    match signature.filter(|s| !s.is_empty()) {
        Some(sig) => format!("call_{unique}{THOUGHT_SIGNATURE_SEPARATOR}{sig}"),
        None => format!("call_{unique}"),
    }
}

/// True for finish reasons that mean a safety or policy filter stopped the output.
pub(super) fn is_filter_reason(raw: &str) -> bool {
    matches!(
        raw,
        "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
    )
}

/// Gemini's `finishReason` as a canonical one: `STOP` is `stop` (`tool_calls` when the
/// candidate called functions), `MAX_TOKENS` is `length`, filter reasons are
/// `content_filter`, anything else is kept lowercased (`malformed_function_call`).
pub(super) fn finish_reason(raw: &str, has_calls: bool) -> FinishReason {
    match raw {
        "STOP" if has_calls => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        r if is_filter_reason(r) => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_ascii_lowercase()),
    }
}

/// The error for a candidate a filter stopped before it wrote anything.
pub(super) fn candidate_blocked(out: &CandidateOutput) -> Error {
    let reason = out.finish.as_deref().unwrap_or("SAFETY");
    let mut message = format!("Gemini stopped the response ({reason})");
    if !out.blocked_categories.is_empty() {
        message.push_str(": ");
        message.push_str(&out.blocked_categories.join(", "));
    }
    Error::ContentFilter(ErrorDetail::new(message))
}

/// `usageMetadata` as canonical usage.
///
/// `prompt_tokens` is `promptTokenCount` plus `toolUsePromptTokenCount` (both billed as
/// input); `completion_tokens` is `candidatesTokenCount` plus `thoughtsTokenCount`, the
/// latter also reported as reasoning tokens; `cachedContentTokenCount` is the cached
/// part of the prompt.
pub(super) fn usage_from_metadata(meta: &Value) -> Option<Usage> {
    let obj = meta.as_object()?;
    let count = |key: &str| obj.get(key).and_then(Value::as_u64);
    let prompt =
        count("promptTokenCount").unwrap_or(0) + count("toolUsePromptTokenCount").unwrap_or(0);
    let thoughts = count("thoughtsTokenCount");
    let completion = count("candidatesTokenCount").unwrap_or(0) + thoughts.unwrap_or(0);
    let mut usage = Usage::new(prompt, completion);
    if let Some(total) = count("totalTokenCount") {
        usage.total_tokens = total;
    }
    if let Some(cached) = count("cachedContentTokenCount") {
        usage = usage.with_cached_tokens(cached);
    }
    if let Some(t) = thoughts {
        usage = usage.with_reasoning_tokens(t);
    }
    Some(usage)
}

/// `logprobsResult` in OpenAI's `{"content": [{token, logprob, bytes, top_logprobs}]}` shape.
fn convert_logprobs(result: &Value) -> Option<Value> {
    let chosen = result.get("chosenCandidates")?.as_array()?;
    let top = result.get("topCandidates").and_then(Value::as_array);
    let entry = |c: &Value| {
        let token = c.get("token").and_then(Value::as_str).unwrap_or_default();
        json!({
            "token": token,
            "logprob": c.get("logProbability").cloned().unwrap_or(Value::Null),
            "bytes": token.as_bytes(),
        })
    };
    let content: Vec<Value> = chosen
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut e = entry(c);
            let alternatives: Vec<Value> = top
                .and_then(|t| t.get(i))
                .and_then(|t| t.get("candidates"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(entry)
                .collect();
            e["top_logprobs"] = Value::Array(alternatives);
            e
        })
        .collect();
    Some(json!({ "content": content, "refusal": null }))
}

/// Parses an error response: `{"error": {"code", "message", "status", "details"}}`, also
/// wrapped in an array as some streaming errors are.
///
/// The message is kept, `code` is the `status` string (`INVALID_ARGUMENT`,
/// `RESOURCE_EXHAUSTED`, …), `param` the first field violation. The wait before a retry
/// comes from the headers or else from a `RetryInfo.retryDelay` detail. A 400 whose
/// `ErrorInfo.reason` is `API_KEY_INVALID` is an authentication error.
pub fn parse_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let err = value.as_ref().and_then(error_object);
    let mut detail = ErrorDetail {
        upstream_status: Some(status),
        request_id: request_id_from_headers(headers),
        ..ErrorDetail::default()
    };
    let Some(err) = err else {
        detail.message = match &value {
            Some(Value::String(s)) => s.clone(),
            _ => body_text(status, body),
        };
        return Error::from_status(status, detail, parse_retry_after(headers));
    };
    fill_detail(&mut detail, err, status, body);
    let retry_after = parse_retry_after(headers).or_else(|| retry_delay(err));
    let status = if status == 400 && error_reason(err) == Some("API_KEY_INVALID") {
        401
    } else {
        status
    };
    Error::from_status(status, detail, retry_after)
}

/// An error object inside a 200 body or a stream event, as an [`Error`]; the status is
/// the error's own `code` (500 when it has none).
pub(super) fn error_in_body(value: &Value) -> Option<Error> {
    let err = error_object(value)?;
    let status = err
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c))
        .unwrap_or(500);
    let body = value.to_string();
    let mut detail = ErrorDetail {
        upstream_status: Some(status),
        ..ErrorDetail::default()
    };
    fill_detail(&mut detail, err, status, body.as_bytes());
    Some(Error::from_status(status, detail, retry_delay(err)))
}

/// The `error` object of `{"error": …}` or `[{"error": …}]`.
fn error_object(value: &Value) -> Option<&Map<String, Value>> {
    let value = match value {
        Value::Array(items) => items.first()?,
        other => other,
    };
    value.get("error")?.as_object()
}

fn fill_detail(detail: &mut ErrorDetail, err: &Map<String, Value>, status: u16, body: &[u8]) {
    detail.message = err
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map_or_else(|| body_text(status, body), str::to_owned);
    detail.code = match (err.get("status"), err.get("code")) {
        (Some(Value::String(s)), _) => Some(s.clone()),
        (_, Some(Value::Number(n))) => Some(n.to_string()),
        (_, Some(Value::String(s))) => Some(s.clone()),
        _ => None,
    };
    detail.param = details(err)
        .filter_map(|d| d.get("fieldViolations").and_then(Value::as_array))
        .flatten()
        .find_map(|v| v.get("field").and_then(Value::as_str))
        .map(str::to_owned);
}

fn details(err: &Map<String, Value>) -> impl Iterator<Item = &Value> {
    err.get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn error_reason(err: &Map<String, Value>) -> Option<&str> {
    details(err).find_map(|d| d.get("reason").and_then(Value::as_str))
}

/// `RetryInfo.retryDelay` (`"37s"`, `"1.5s"`) as a duration.
fn retry_delay(err: &Map<String, Value>) -> Option<Duration> {
    details(err)
        .find_map(|d| d.get("retryDelay").and_then(Value::as_str))
        .and_then(|s| s.trim().strip_suffix('s'))
        .and_then(|s| s.parse::<f64>().ok())
        .and_then(crate::error::retry_hint_from_secs)
}

/// Parses a `BatchEmbedContentsResponse` into the encoding the caller asked for.
///
/// Gemini's response names no model, so `model` is the request's. Gemini reports no
/// token count for embeddings: usage is zero unless the response carries
/// `usageMetadata.promptTokenCount`.
pub fn parse_embeddings(body: &[u8], request: &EmbeddingRequest) -> Result<EmbeddingResponse> {
    let value: Value = parse_json(body, "Gemini embeddings")?;
    let embeddings = value
        .get("embeddings")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::invalid_response("Gemini embeddings: no `embeddings` array"))?;
    let expected = request.input.len();
    if embeddings.len() != expected {
        return Err(Error::invalid_response(format!(
            "Gemini embeddings: {} vectors for {expected} inputs",
            embeddings.len()
        )));
    }
    let base64 = request.encoding_format == Some(EncodingFormat::Base64);
    let mut data = Vec::with_capacity(embeddings.len());
    for (i, e) in embeddings.iter().enumerate() {
        let values: Vec<f32> = e
            .get("values")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|err| Error::invalid_response(format!("Gemini embedding {i}: {err}")))?
            .ok_or_else(|| Error::invalid_response(format!("Gemini embedding {i}: no values")))?;
        data.push(Embedding {
            object: "embedding".to_owned(),
            index: u32::try_from(i).unwrap_or(u32::MAX),
            embedding: if base64 {
                EmbeddingVector::base64_from_floats(&values)
            } else {
                EmbeddingVector::Float(values)
            },
        });
    }
    let prompt_tokens = value
        .pointer("/usageMetadata/promptTokenCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok(EmbeddingResponse {
        object: "list".to_owned(),
        data,
        model: request.model.clone(),
        usage: EmbeddingUsage {
            prompt_tokens,
            total_tokens: prompt_tokens,
        },
    })
}

/// Parses `{"models": [{"name": "models/…", "displayName", …}]}` into a model list.
///
/// Ids lose the `models/` prefix; `display_name`, `description`, `context_window`
/// (`inputTokenLimit`) and `max_output_tokens` (`outputTokenLimit`) go in `extra`.
pub fn parse_models(body: &[u8]) -> Result<ModelList> {
    let value: Value = parse_json(body, "Gemini model list")?;
    let models = value
        .get("models")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let data = models
        .iter()
        .filter_map(|m| {
            let name = m.get("name").and_then(Value::as_str)?;
            let mut extra = Map::new();
            for (from, to) in [
                ("displayName", "display_name"),
                ("description", "description"),
                ("inputTokenLimit", "context_window"),
                ("outputTokenLimit", "max_output_tokens"),
            ] {
                if let Some(v) = m.get(from) {
                    extra.insert(to.to_owned(), v.clone());
                }
            }
            Some(Model {
                id: name.strip_prefix("models/").unwrap_or(name).to_owned(),
                object: "model".to_owned(),
                created: 0,
                owned_by: "google".to_owned(),
                extra,
            })
        })
        .collect();
    Ok(ModelList {
        object: "list".to_owned(),
        data,
    })
}
