//! Errors in each provider's published shape, and the common start of every handler.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::scenario::Scenario;
use crate::state::{AppState, BODY_LIMIT};

/// Which provider's wire format a route speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI (`api.openai.com`).
    OpenAi,
    /// Azure OpenAI: OpenAI bodies, Azure's own auth and routing errors.
    Azure,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini (Generative Language API).
    Gemini,
}

/// Azure OpenAI's message for a prompt its content filter refused.
const AZURE_CONTENT_FILTER: &str = "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766";

const ANTHROPIC_RATE_LIMIT: &str =
    "Number of request tokens has exceeded your per-minute rate limit";
const GEMINI_EXHAUSTED: &str = "Resource has been exhausted (e.g. check quota).";
const OPENAI_RATE_LIMIT: &str = "on requests per min (RPM): Limit 3, Used 3, Requested 1. \
    Please try again in 20s.";
const GEMINI_MODEL_NOT_FOUND: &str = "is not found for API version v1beta, or is not supported \
    for generateContent. Call ListModels to see the list of available models and their supported methods.";
const OPENAI_OVERLOADED: &str = "The engine is currently overloaded, please try again later.";
const GEMINI_INTERNAL: &str = "An internal error has occurred. Please retry or report in \
    https://developers.generativeai.google/guide/troubleshooting";
const OPENAI_SERVER_ERROR: &str =
    "The server had an error while processing your request. Sorry about that!";

/// An error to send in a provider's shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Human-readable message.
    pub message: String,
    /// OpenAI `type` / Anthropic `error.type`; derived from the status when absent.
    pub kind: Option<&'static str>,
    /// OpenAI `param`.
    pub param: Option<String>,
    /// OpenAI `code`.
    pub code: Option<&'static str>,
    /// Seconds for a `retry-after` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status and message; type and code follow from the status.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message.into(),
            kind: None,
            param: None,
            code: None,
            retry_after: None,
        }
    }

    /// A 400 invalid-request error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// Sets the OpenAI `type` / Anthropic error type.
    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Sets the OpenAI `param`.
    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Sets the OpenAI `code`.
    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// Azure OpenAI's refusal of a prompt by its content filter (400, code `content_filter`,
    /// param `prompt`), for the `content_filter` knob; other dialects get a 400 saying so.
    pub fn content_filtered(dialect: Dialect) -> Self {
        match dialect {
            Dialect::OpenAi | Dialect::Azure => Self::new(400, AZURE_CONTENT_FILTER)
                .param("prompt")
                .code("content_filter"),
            _ => Self::invalid(
                "mock-upstream: the content_filter knob is for OpenAI and Azure routes",
            ),
        }
    }

    /// The refusal of a prompt longer than the model's context window, as each provider words
    /// it (OpenAI: 400 `context_length_exceeded`; Anthropic: 400 "prompt is too long"; Gemini:
    /// 400 INVALID_ARGUMENT naming the token limit), for the `context_exceeded` knob.
    pub fn context_exceeded(dialect: Dialect) -> Self {
        match dialect {
            Dialect::OpenAi | Dialect::Azure => Self::new(
                400,
                "This model's maximum context length is 128000 tokens. However, your messages \
                 resulted in 130412 tokens. Please reduce the length of the messages.",
            )
            .param("messages")
            .code("context_length_exceeded"),
            Dialect::Anthropic => {
                Self::new(400, "prompt is too long: 201234 tokens > 200000 maximum")
            }
            Dialect::Gemini => Self::new(
                400,
                "The input token count (1048977) exceeds the maximum number of tokens allowed (1048576).",
            ),
        }
    }

    /// The error a scripted `status` answers with, worded as the provider words it.
    pub fn scripted(dialect: Dialect, status: u16, model: &str) -> Self {
        let openai = matches!(dialect, Dialect::OpenAi | Dialect::Azure);
        match (status, dialect) {
            (429, Dialect::Anthropic) => Self::new(429, ANTHROPIC_RATE_LIMIT),
            (429, Dialect::Gemini) => Self::new(429, GEMINI_EXHAUSTED),
            (429, _) => Self::new(
                429,
                format!("Rate limit reached for {model} {OPENAI_RATE_LIMIT}"),
            )
            .kind("requests")
            .code("rate_limit_exceeded"),
            (529, Dialect::Anthropic) => Self::new(529, "Overloaded"),
            (404, _) if openai => Self::new(
                404,
                format!("The model `{model}` does not exist or you do not have access to it."),
            )
            .code("model_not_found"),
            (404, Dialect::Gemini) => {
                Self::new(404, format!("models/{model} {GEMINI_MODEL_NOT_FOUND}"))
            }
            (404, _) => Self::new(404, format!("model: {model}")),
            (401, _) if openai => {
                Self::new(401, "Incorrect API key provided.").code("invalid_api_key")
            }
            (401, Dialect::Anthropic) => Self::new(401, "invalid x-api-key"),
            (503, _) if openai => Self::new(503, OPENAI_OVERLOADED),
            (500..=599, Dialect::Gemini) => Self::new(status, GEMINI_INTERNAL),
            (500..=599, Dialect::Anthropic) => Self::new(status, "Internal server error"),
            (500..=599, _) => Self::new(status, OPENAI_SERVER_ERROR),
            _ => Self::new(status, format!("mock-upstream scripted error {status}")),
        }
    }

    /// The error as JSON in the dialect's shape.
    pub fn body(&self, dialect: Dialect) -> Value {
        match dialect {
            Dialect::OpenAi | Dialect::Azure => json!({
                "error": {
                    "message": self.message,
                    "type": self.kind.unwrap_or_else(|| openai_type(self.status)),
                    "param": self.param,
                    "code": self.code,
                }
            }),
            Dialect::Anthropic => json!({
                "type": "error",
                "error": {
                    "type": self.kind.unwrap_or_else(|| anthropic_type(self.status)),
                    "message": self.message,
                }
            }),
            Dialect::Gemini => json!({
                "error": {
                    "code": self.status.as_u16(),
                    "message": self.message,
                    "status": gemini_status(self.status),
                }
            }),
        }
    }

    /// The HTTP response in the dialect's shape.
    pub fn render(&self, dialect: Dialect) -> Response {
        let mut response = json_response(self.status, &self.body(dialect));
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Reads a request body (up to [`BODY_LIMIT`]); too large a body is a 413 in the dialect's shape.
pub async fn read_body(body: axum::body::Body, dialect: Dialect) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| ApiError::new(413, "Request body too large").render(dialect))
}

/// A JSON response with this status.
pub fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn openai_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        500..=599 => "server_error",
        _ => "invalid_request_error",
    }
}

fn anthropic_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    }
}

fn gemini_status(status: StatusCode) -> &'static str {
    let code = status.as_u16();
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ if code < 500 => "FAILED_PRECONDITION",
        _ => "UNKNOWN",
    }
}

/// The provider's in-stream error event, as sent mid-stream.
pub fn stream_error_event(dialect: Dialect) -> Bytes {
    match dialect {
        Dialect::OpenAi | Dialect::Azure => {
            let body = ApiError::scripted(dialect, 500, "").body(dialect);
            Bytes::from(format!("data: {body}\n\n"))
        }
        Dialect::Anthropic => {
            let body = ApiError::scripted(dialect, 529, "").body(dialect);
            Bytes::from(format!("event: error\ndata: {body}\n\n"))
        }
        Dialect::Gemini => {
            let body = ApiError::scripted(dialect, 500, "").body(dialect);
            Bytes::from(format!("data: {body}\r\n\r\n"))
        }
    }
}

/// A stream line that is not valid JSON (`malformed`).
pub fn malformed_line(dialect: Dialect) -> Bytes {
    match dialect {
        Dialect::Anthropic => Bytes::from_static(
            b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"unterminated\n\n",
        ),
        Dialect::Gemini => Bytes::from_static(b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"unterminated\r\n\r\n"),
        _ => Bytes::from_static(b"data: {\"id\":\"chatcmpl-malformed\",\"choices\":[{\"delta\":{\"content\":\"unterminated\n\n"),
    }
}

/// What every generation handler does first, after parsing the body.
#[derive(Debug)]
pub struct Call {
    /// The request's scenario.
    pub scenario: Scenario,
    /// The model name without its scenario suffix.
    pub model: String,
}

impl Call {
    /// Reads the scenario, waits `latency_ms`, checks the key, and applies `status`/`fail_times`/`fail_every`.
    pub async fn begin(
        app: &Arc<AppState>,
        dialect: Dialect,
        headers: &HeaderMap,
        model: &str,
        auth_error: Option<Response>,
    ) -> Result<Self, Response> {
        let (scenario, model) =
            Scenario::from_request_over(&app.config.scenario, headers, model)
                .map_err(|e| ApiError::invalid(format!("mock-upstream: {e}")).render(dialect))?;
        if let Some(delay) = scenario.latency() {
            tokio::time::sleep(delay).await;
        }
        if let Some(response) = auth_error {
            return Err(response);
        }
        if scenario.content_filter {
            return Err(ApiError::content_filtered(dialect).render(dialect));
        }
        if scenario.context_exceeded {
            return Err(ApiError::context_exceeded(dialect).render(dialect));
        }
        let fail = match (scenario.status, scenario.fail_times, scenario.fail_every) {
            (_, Some(times), _) => app.should_fail(&scenario.group_key(headers), times),
            (_, None, Some(every)) => app.should_fail_every(&scenario.group_key(headers), every),
            (Some(_), None, None) => true,
            (None, None, None) => false,
        };
        if fail {
            let mut error = ApiError::scripted(dialect, scenario.status.unwrap_or(500), &model);
            error.retry_after = scenario.retry_after;
            return Err(error.render(dialect));
        }
        Ok(Self { scenario, model })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let e = ApiError::invalid("bad").param("messages");
        assert_eq!(
            e.body(Dialect::OpenAi),
            json!({"error":{"message":"bad","type":"invalid_request_error","param":"messages","code":null}})
        );
        assert_eq!(
            ApiError::new(529, "Overloaded").body(Dialect::Anthropic),
            json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})
        );
        assert_eq!(
            ApiError::new(429, "slow down").body(Dialect::Gemini),
            json!({"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}})
        );
    }

    #[test]
    fn stream_errors_parse_as_json() {
        for d in [Dialect::OpenAi, Dialect::Anthropic, Dialect::Gemini] {
            let text = String::from_utf8(stream_error_event(d).to_vec()).unwrap();
            let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            let v: Value = serde_json::from_str(data).unwrap();
            assert!(v.get("error").is_some(), "{v}");
            let bad = String::from_utf8(malformed_line(d).to_vec()).unwrap();
            let data = bad.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            assert!(serde_json::from_str::<Value>(data).is_err());
        }
    }
}
