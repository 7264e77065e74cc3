//! Anthropic responses, usage, error bodies and model lists → canonical objects.

use http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Error, ErrorDetail, Result, parse_retry_after, request_id_from_headers};
use crate::providers::{body_text, parse_json, unix_now};
use crate::types::{
    ChatCompletion, Choice, ExtraFields, FinishReason, Model, ModelList, PromptTokensDetails,
    ResponseMessage, ToolCall, Usage,
};

/// A message object as `POST /v1/messages` returns it.
#[derive(Debug, Deserialize)]
struct MessageBody {
    id: Option<String>,
    model: Option<String>,
    #[serde(default)]
    content: Vec<ContentBlock>,
    stop_reason: Option<String>,
    usage: Option<AnthropicUsage>,
}

/// Response content blocks; server-tool and redacted-thinking blocks are skipped.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    Thinking {
        thinking: String,
    },
    #[serde(other)]
    Other,
}

/// Anthropic's usage object. In a stream, `message_start` carries the input side and
/// `message_delta` cumulative counts (at least `output_tokens`), hence every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct AnthropicUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    /// The cache writes by lifetime; `cache_creation_input_tokens` is their sum.
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
}

/// Anthropic's `usage.cache_creation`: tokens written to the 5-minute and to the 1-hour cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
struct CacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: Option<u64>,
    #[serde(default)]
    ephemeral_1h_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Takes every count `later` reports (counts are cumulative, so later ones win).
    pub(crate) fn update(&mut self, later: &AnthropicUsage) {
        fn take(slot: &mut Option<u64>, value: Option<u64>) {
            if value.is_some() {
                *slot = value;
            }
        }
        take(&mut self.input_tokens, later.input_tokens);
        take(&mut self.output_tokens, later.output_tokens);
        take(
            &mut self.cache_creation_input_tokens,
            later.cache_creation_input_tokens,
        );
        take(
            &mut self.cache_read_input_tokens,
            later.cache_read_input_tokens,
        );
        if later.cache_creation.is_some() {
            self.cache_creation = later.cache_creation;
        }
    }

    /// True when no count has been reported.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Canonical usage. Anthropic's `input_tokens` excludes cache reads and writes;
    /// OpenAI's `prompt_tokens` includes them, so all three are summed.
    /// `cached_tokens` is always reported (as OpenAI does); `cache_write_tokens` (every
    /// write) and `cache_write_1h_tokens` (those for an hour), extensions, only when
    /// non-zero. Writes are `cache_creation_input_tokens`, or the sum of the
    /// `cache_creation` breakdown when only that is sent.
    pub(crate) fn to_usage(&self) -> Usage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let by_lifetime = self.cache_creation.unwrap_or_default();
        let written_1h = by_lifetime.ephemeral_1h_input_tokens.unwrap_or(0);
        let write = self.cache_creation_input_tokens.unwrap_or_else(|| {
            by_lifetime
                .ephemeral_5m_input_tokens
                .unwrap_or(0)
                .saturating_add(written_1h)
        });
        let prompt = self
            .input_tokens
            .unwrap_or(0)
            .saturating_add(read)
            .saturating_add(write);
        let mut usage = Usage::new(prompt, self.output_tokens.unwrap_or(0));
        usage.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: Some(read),
            cache_write_tokens: (write > 0).then_some(write),
            cache_write_1h_tokens: (written_1h > 0).then_some(written_1h),
            ..PromptTokensDetails::default()
        });
        usage
    }
}

/// The canonical finish reason for an Anthropic `stop_reason`.
///
/// `pause_turn` (a server-tool loop paused; the caller continues by sending the turn
/// back) maps to `stop`, because typed OpenAI clients reject unknown reasons and the
/// turn did end; `model_context_window_exceeded` maps to `length`.
pub(crate) fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" | "pause_turn" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Parses a message object into a completion with one choice: text blocks concatenated
/// into `content`, `tool_use` blocks as tool calls, thinking as `reasoning_content`.
/// `model` is used when the body names none; `created` is now (Anthropic sends no time).
pub fn parse_chat(body: &[u8], model: &str) -> Result<ChatCompletion> {
    let message: MessageBody = parse_json(body, "Anthropic message")?;
    let mut content: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    for block in message.content {
        match block {
            ContentBlock::Text { text } => content.get_or_insert_with(String::new).push_str(&text),
            ContentBlock::Thinking { thinking } => reasoning
                .get_or_insert_with(String::new)
                .push_str(&thinking),
            ContentBlock::ToolUse { id, name, input } => {
                let input = if input.is_null() { json!({}) } else { input };
                tool_calls.push(ToolCall::function(id, name, input.to_string()));
            }
            ContentBlock::Other => {}
        }
    }
    Ok(ChatCompletion {
        id: message
            .id
            .unwrap_or_else(|| crate::providers::new_id("msg_")),
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: message.model.unwrap_or_else(|| model.to_owned()),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".to_owned(),
                content,
                refusal: None,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                reasoning_content: reasoning,
                extra: ExtraFields::new(),
            },
            finish_reason: message.stop_reason.as_deref().map(finish_reason),
            logprobs: None,
        }],
        usage: message.usage.map(|u| u.to_usage()),
        system_fingerprint: None,
        service_tier: None,
        extra: ExtraFields::new(),
    })
}

/// An error response: `{"type": "error", "error": {"type", "message"}, "request_id"}`.
///
/// The status chooses the variant (529 `overloaded_error` is a retryable upstream
/// error); the message is Anthropic's, the code its error `type`, the request id the
/// `request-id` header's (or the body's).
pub fn parse_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let mut detail = ErrorDetail {
        upstream_status: Some(status),
        request_id: request_id_from_headers(headers),
        ..ErrorDetail::default()
    };
    match serde_json::from_slice::<Value>(body) {
        Ok(value) if value.get("error").is_some_and(Value::is_object) => {
            fill_detail(&mut detail, &value);
        }
        _ => detail.message = body_text(status, body),
    }
    Error::from_status(status, detail, parse_retry_after(headers))
}

/// The error an `error` event in a stream stands for. The stream itself answered 200,
/// so the status is inferred from the error type.
pub(crate) fn stream_error(value: &Value) -> Error {
    let mut detail = ErrorDetail::default();
    fill_detail(&mut detail, value);
    let status = status_for_error_type(detail.code.as_deref().unwrap_or(""));
    Error::from_status(status, detail, None)
}

fn fill_detail(detail: &mut ErrorDetail, value: &Value) {
    let error = value.get("error").unwrap_or(&Value::Null);
    detail.message = error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| value.to_string());
    detail.code = error.get("type").and_then(Value::as_str).map(str::to_owned);
    if detail.request_id.is_none() {
        detail.request_id = value
            .get("request_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
}

/// The HTTP status Anthropic documents for each error type.
fn status_for_error_type(error_type: &str) -> u16 {
    match error_type {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

#[derive(Debug, Deserialize)]
struct ModelsPage {
    data: Vec<AnthropicModel>,
}

#[derive(Debug, Deserialize)]
struct AnthropicModel {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

/// Parses `GET /v1/models` (one page): owner `anthropic`, `created` from the RFC 3339
/// `created_at` (0 when missing or unparsable), `display_name` kept as an extra field.
pub fn parse_models(body: &[u8]) -> Result<ModelList> {
    let page: ModelsPage = parse_json(body, "Anthropic model list")?;
    let data = page
        .data
        .into_iter()
        .map(|m| {
            let mut extra = ExtraFields::new();
            if let Some(name) = m.display_name {
                extra.insert("display_name".into(), name.into());
            }
            Model {
                id: m.id,
                object: "model".to_owned(),
                created: m
                    .created_at
                    .as_deref()
                    .and_then(rfc3339_to_unix)
                    .unwrap_or(0),
                owned_by: "anthropic".to_owned(),
                extra,
            }
        })
        .collect();
    Ok(ModelList {
        object: "list".to_owned(),
        data,
    })
}

/// Seconds since the Unix epoch for an RFC 3339 time such as `2025-02-19T00:00:00Z`
/// (fractional seconds ignored, `Z` or a `±HH:MM` offset); `None` when malformed.
pub(crate) fn rfc3339_to_unix(text: &str) -> Option<i64> {
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse().ok()
        } else {
            None
        }
    };
    let sep =
        |at: usize, allowed: &[u8]| text.as_bytes().get(at).is_some_and(|b| allowed.contains(b));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = fraction.get(digits..)?;
    }
    let offset = match rest.as_bytes().first() {
        Some(b'Z' | b'z') if rest.len() == 1 => 0,
        Some(sign @ (b'+' | b'-')) if rest.len() == 6 && rest.as_bytes().get(3) == Some(&b':') => {
            let hours: i64 = rest.get(1..3)?.parse().ok()?;
            let minutes: i64 = rest.get(4..6)?.parse().ok()?;
            let secs = hours * 3600 + minutes * 60;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
