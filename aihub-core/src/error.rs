//! The one error type of AI Hub.
//!
//! Every variant maps onto an OpenAI error `type`, a stable `code` and an HTTP status, so
//! the gateway answers with the shape official SDKs parse and each binding raises the
//! matching exception class.

pub mod scrub;

use std::time::Duration;

use serde_json::{Value, json};

/// Details every error carries: the message (the provider's, when it came from one),
/// the upstream status and request id, and the offending parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Human-readable message; for upstream errors, the provider's own words.
    pub message: String,
    /// Request parameter the error is about, when known.
    pub param: Option<String>,
    /// Provider-specific or AI Hub error code, when more precise than the variant.
    pub code: Option<String>,
    /// HTTP status the upstream answered with, when the error came from one.
    pub upstream_status: Option<u16>,
    /// Request id the upstream (or gateway) assigned.
    pub request_id: Option<String>,
    /// Provider id the error came from.
    pub provider: Option<String>,
    /// The AI Hub gateway limit that refused the request (`key.rpm`, `budget.api_key.monthly`, …).
    pub limit: Option<String>,
}

impl ErrorDetail {
    /// Details with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }
}

/// Prefix of the message of an error a native half of the JS SDKs throws; the shared
/// TypeScript layer (`NATIVE_ERROR_PREFIX` in bindings/js/src/native.ts) decodes what follows.
pub const SDK_ERROR_PREFIX: &str = "aihub-error:";

/// Every failure AI Hub reports.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad request: malformed body, invalid field, unsupported feature (400).
    #[error("invalid request: {}", .0.message)]
    BadRequest(ErrorDetail),
    /// Missing, unknown, revoked or expired API key (401).
    #[error("authentication failed: {}", .0.message)]
    Authentication(ErrorDetail),
    /// The key may not do this (403).
    #[error("permission denied: {}", .0.message)]
    PermissionDenied(ErrorDetail),
    /// Unknown model or resource (404).
    #[error("not found: {}", .0.message)]
    NotFound(ErrorDetail),
    /// Request body over the size limit (413).
    #[error("request too large: {}", .0.message)]
    PayloadTooLarge(ErrorDetail),
    /// Too many requests or tokens per minute; retry after the given time (429).
    #[error("rate limited: {}", .detail.message)]
    RateLimit {
        /// Error details.
        detail: ErrorDetail,
        /// How long to wait before retrying, when the server said.
        retry_after: Option<Duration>,
    },
    /// Quota or budget exhausted; retrying will not help (429, `x-should-retry: false`).
    #[error("insufficient quota: {}", .0.message)]
    InsufficientQuota(ErrorDetail),
    /// The provider refused the content (safety block) (400).
    #[error("content filtered: {}", .0.message)]
    ContentFilter(ErrorDetail),
    /// The upstream failed (5xx, overloaded) (502 through the gateway).
    #[error("upstream error: {}", .0.message)]
    Upstream(ErrorDetail),
    /// The request took longer than its timeout (504 through the gateway).
    #[error("timed out: {}", .0.message)]
    Timeout(ErrorDetail),
    /// No connection could be made or it broke before a response (502 through the gateway).
    #[error("connection failed: {}", .0.message)]
    Connection(ErrorDetail),
    /// The upstream answered with something that does not parse, or a stream ended early.
    #[error("invalid response: {}", .0.message)]
    InvalidResponse(ErrorDetail),
    /// Client or gateway misconfiguration: unknown provider, missing key (500).
    #[error("configuration error: {}", .0.message)]
    Config(ErrorDetail),
}

/// Result with AI Hub's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 400 error about `param`.
    pub fn bad_request(message: impl Into<String>, param: Option<&str>) -> Self {
        Self::BadRequest(ErrorDetail {
            message: message.into(),
            param: param.map(str::to_owned),
            ..ErrorDetail::default()
        })
    }

    /// A response that does not parse.
    pub fn invalid_response(message: impl Into<String>) -> Self {
        Self::InvalidResponse(ErrorDetail::new(message))
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::Config(ErrorDetail::new(message))
    }

    /// A stream that ended before its terminal event.
    pub fn stream_truncated(provider: Option<&str>) -> Self {
        Self::InvalidResponse(ErrorDetail {
            message: "the upstream stream ended before its final event".to_owned(),
            code: Some("stream_truncated".to_owned()),
            provider: provider.map(str::to_owned),
            ..ErrorDetail::default()
        })
    }

    /// The details of this error.
    pub fn detail(&self) -> &ErrorDetail {
        match self {
            Self::BadRequest(d)
            | Self::Authentication(d)
            | Self::PermissionDenied(d)
            | Self::NotFound(d)
            | Self::PayloadTooLarge(d)
            | Self::InsufficientQuota(d)
            | Self::ContentFilter(d)
            | Self::Upstream(d)
            | Self::Timeout(d)
            | Self::Connection(d)
            | Self::InvalidResponse(d)
            | Self::Config(d) => d,
            Self::RateLimit { detail, .. } => detail,
        }
    }

    /// The details of this error, mutably.
    pub fn detail_mut(&mut self) -> &mut ErrorDetail {
        match self {
            Self::BadRequest(d)
            | Self::Authentication(d)
            | Self::PermissionDenied(d)
            | Self::NotFound(d)
            | Self::PayloadTooLarge(d)
            | Self::InsufficientQuota(d)
            | Self::ContentFilter(d)
            | Self::Upstream(d)
            | Self::Timeout(d)
            | Self::Connection(d)
            | Self::InvalidResponse(d)
            | Self::Config(d) => d,
            Self::RateLimit { detail, .. } => detail,
        }
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        &self.detail().message
    }

    /// The request id, when the upstream or gateway assigned one.
    pub fn request_id(&self) -> Option<&str> {
        self.detail().request_id.as_deref()
    }

    /// This error with the request id set (kept when already present).
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        let d = self.detail_mut();
        if d.request_id.is_none() {
            d.request_id = request_id;
        }
        self
    }

    /// This error with the provider id set (kept when already present).
    pub fn with_provider(mut self, provider: &str) -> Self {
        let d = self.detail_mut();
        if d.provider.is_none() {
            d.provider = Some(provider.to_owned());
        }
        self
    }

    /// A stable string naming the variant, used by bindings and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Authentication(_) => "authentication",
            Self::PermissionDenied(_) => "permission_denied",
            Self::NotFound(_) => "not_found",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::RateLimit { .. } => "rate_limit",
            Self::InsufficientQuota(_) => "insufficient_quota",
            Self::ContentFilter(_) => "content_filter",
            Self::Upstream(_) => "upstream",
            Self::Timeout(_) => "timeout",
            Self::Connection(_) => "connection",
            Self::InvalidResponse(_) => "invalid_response",
            Self::Config(_) => "config",
        }
    }

    /// The error class the SDKs raise for this variant, one name in every language
    /// (`RateLimitError`, `AuthenticationError`, …).
    pub fn sdk_class(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BadRequestError",
            Self::Authentication(_) => "AuthenticationError",
            Self::PermissionDenied(_) => "PermissionDeniedError",
            Self::NotFound(_) => "NotFoundError",
            Self::PayloadTooLarge(_) => "RequestTooLargeError",
            Self::RateLimit { .. } => "RateLimitError",
            Self::InsufficientQuota(_) => "InsufficientQuotaError",
            Self::ContentFilter(_) => "ContentFilterError",
            Self::Upstream(_) => "InternalServerError",
            Self::Timeout(_) => "APITimeoutError",
            Self::Connection(_) => "APIConnectionError",
            Self::InvalidResponse(_) => "InvalidResponseError",
            Self::Config(_) => "ConfigurationError",
        }
    }

    /// The HTTP status an SDK reports: the server's own when one answered, else the
    /// variant's, and none for failures on the caller's side of the wire (no connection,
    /// the client's own timeout, bad settings, a body that did not parse).
    pub fn sdk_status(&self) -> Option<u16> {
        let local = matches!(
            self,
            Self::Connection(_) | Self::Timeout(_) | Self::Config(_) | Self::InvalidResponse(_)
        );
        self.detail()
            .upstream_status
            .or_else(|| (!local).then(|| self.status()))
    }

    /// The error as the SDKs hand it across a language boundary: `class`, `kind`,
    /// `message`, `status`, `code`, `type`, `param`, `requestId`, `provider`, `retryAfter`
    /// (seconds), and `limit` when a gateway limit refused the request.
    pub fn to_sdk_json(&self) -> Value {
        let d = self.detail();
        let mut value = json!({
            "class": self.sdk_class(),
            "kind": self.kind(),
            "message": d.message,
            "status": self.sdk_status(),
            "code": self.code(),
            "type": self.error_type(),
            "param": d.param,
            "requestId": d.request_id,
            "provider": d.provider,
            "retryAfter": self.retry_after().map(|w| w.as_secs_f64()),
        });
        if let (Some(limit), Value::Object(obj)) = (&d.limit, &mut value) {
            obj.insert("limit".to_owned(), Value::String(limit.clone()));
        }
        value
    }

    /// The message of the JavaScript `Error` a native half of the JS SDKs throws:
    /// [`SDK_ERROR_PREFIX`] and the JSON of [`Error::to_sdk_json`].
    pub fn to_sdk_message(&self) -> String {
        format!("{SDK_ERROR_PREFIX}{}", self.to_sdk_json())
    }

    /// [`Error::to_sdk_message`] for a call the caller cancelled.
    pub fn aborted_sdk_message() -> String {
        format!("{SDK_ERROR_PREFIX}{}", Self::aborted_sdk_json())
    }

    /// What the SDKs raise when the caller cancels a call (`APIUserAbortError`, as the
    /// official JavaScript SDK names it), in the shape of [`Error::to_sdk_json`].
    pub fn aborted_sdk_json() -> Value {
        json!({
            "class": "APIUserAbortError",
            "kind": "aborted",
            "message": "Request was aborted.",
            "status": null,
            "code": null,
            "type": null,
            "param": null,
            "requestId": null,
            "provider": null,
            "retryAfter": null,
        })
    }

    /// HTTP status the gateway answers with for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) | Self::ContentFilter(_) => 400,
            Self::Authentication(_) => 401,
            Self::PermissionDenied(_) => 403,
            Self::NotFound(_) => 404,
            Self::PayloadTooLarge(_) => 413,
            Self::RateLimit { .. } | Self::InsufficientQuota(_) => 429,
            Self::Upstream(_) | Self::Connection(_) | Self::InvalidResponse(_) => 502,
            Self::Timeout(_) => 504,
            Self::Config(_) => 500,
        }
    }

    /// OpenAI error `type` for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::BadRequest(_)
            | Self::NotFound(_)
            | Self::PayloadTooLarge(_)
            | Self::ContentFilter(_) => "invalid_request_error",
            Self::Authentication(_) => "authentication_error",
            Self::PermissionDenied(_) => "permission_error",
            Self::RateLimit { .. } => "rate_limit_error",
            Self::InsufficientQuota(_) => "insufficient_quota",
            Self::Timeout(_) => "timeout_error",
            Self::Upstream(_) | Self::Connection(_) | Self::InvalidResponse(_) => "upstream_error",
            Self::Config(_) => "server_error",
        }
    }

    /// OpenAI error `code`: the detail's own code, or the variant's default.
    pub fn code(&self) -> Option<&str> {
        if let Some(code) = self.detail().code.as_deref() {
            return Some(code);
        }
        match self {
            Self::Authentication(_) => Some("invalid_api_key"),
            Self::NotFound(_) => Some("model_not_found"),
            Self::PayloadTooLarge(_) => Some("request_too_large"),
            Self::RateLimit { .. } => Some("rate_limit_exceeded"),
            Self::InsufficientQuota(_) => Some("insufficient_quota"),
            Self::ContentFilter(_) => Some("content_filter"),
            Self::Timeout(_) => Some("timeout"),
            _ => None,
        }
    }

    /// How long the server asked us to wait, for rate limits.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimit { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// True when retrying the same request may succeed: rate limits, upstream 5xx,
    /// timeouts and connection failures. Quota, auth and validation errors are final.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimit { .. } | Self::Upstream(_) | Self::Timeout(_) | Self::Connection(_)
        )
    }

    /// True when another model might succeed where this one failed (used by fallbacks):
    /// retryable errors plus an unknown model or an upstream that rejected the content.
    pub fn allows_fallback(&self) -> bool {
        self.is_retryable() || matches!(self, Self::NotFound(_) | Self::ContentFilter(_))
    }

    /// The OpenAI error body: `{"error": {"message", "type", "param", "code"}}`, plus
    /// `limit` when a gateway limit refused the request.
    pub fn to_openai_json(&self) -> Value {
        let d = self.detail();
        let mut error = json!({
            "message": d.message,
            "type": self.error_type(),
            "param": d.param,
            "code": self.code(),
        });
        if let (Some(limit), Value::Object(obj)) = (&d.limit, &mut error) {
            obj.insert("limit".to_owned(), Value::String(limit.clone()));
        }
        json!({ "error": error })
    }

    /// Builds the error an HTTP status stands for, with the given details.
    ///
    /// Used for every provider family: each parses its own error body into `detail`
    /// and lets the status choose the variant. `quota` marks a 429 that retrying
    /// cannot fix (OpenAI's `insufficient_quota`).
    pub fn from_status(status: u16, detail: ErrorDetail, retry_after: Option<Duration>) -> Self {
        let quota = matches!(
            detail.code.as_deref(),
            Some("insufficient_quota" | "billing_hard_limit_reached" | "budget_exceeded")
        );
        match status {
            400 if detail.code.as_deref() == Some("content_filter") => Self::ContentFilter(detail),
            400 | 422 => Self::BadRequest(detail),
            401 => Self::Authentication(detail),
            402 => Self::InsufficientQuota(detail),
            403 => Self::PermissionDenied(detail),
            404 => Self::NotFound(detail),
            408 | 504 => Self::Timeout(detail),
            413 => Self::PayloadTooLarge(detail),
            429 if quota => Self::InsufficientQuota(detail),
            429 => Self::RateLimit {
                detail,
                retry_after,
            },
            _ => Self::Upstream(detail),
        }
    }
}

/// Longest wait a server's retry hint is read as. Hints beyond it (a `retry-after-ms` of
/// 1e30, a `retryDelay` of years) are clamped to it; the client's
/// [`RetryPolicy`](crate::RetryPolicy) refuses to sleep for any hint longer than its own
/// `max_retry_after` anyway, so such a hint means "fail now, try much later".
pub const MAX_RETRY_HINT: Duration = Duration::from_secs(24 * 60 * 60);

/// `secs` seconds as a [`Duration`], or `None` when it is NaN, negative, infinite or beyond
/// what a `Duration` holds. (`Duration::from_secs_f64` panics on those.)
pub fn duration_from_secs(secs: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(secs).ok()
}

/// A server's retry hint of `secs` seconds: `None` when it is not a finite number of zero or
/// more seconds, clamped to [`MAX_RETRY_HINT`].
pub fn retry_hint_from_secs(secs: f64) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    duration_from_secs(secs.min(MAX_RETRY_HINT.as_secs_f64())).map(|d| d.min(MAX_RETRY_HINT))
}

/// Reads how long to wait from `retry-after-ms`, `retry-after` (seconds or an HTTP date),
/// clamped to [`MAX_RETRY_HINT`]; `None` when absent or unreadable. Never panics.
pub fn parse_retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    if let Some(wait) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|ms| retry_hint_from_secs(ms / 1000.0))
    {
        return Some(wait);
    }
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<f64>() {
        return retry_hint_from_secs(secs);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let now = web_time::SystemTime::now();
    let now_unix = now.duration_since(web_time::UNIX_EPOCH).ok()?;
    let when_unix = when.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(when_unix.saturating_sub(now_unix).min(MAX_RETRY_HINT))
}

/// The request id from the usual response headers (`x-request-id`, `request-id`).
pub fn request_id_from_headers(headers: &http::HeaderMap) -> Option<String> {
    [
        "x-request-id",
        "request-id",
        "x-goog-request-id",
        "apim-request-id",
    ]
    .iter()
    .find_map(|name| headers.get(*name))
    .and_then(|v| v.to_str().ok())
    .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_openai_shape() {
        let d = ErrorDetail::new("boom");
        let all = [
            Error::BadRequest(d.clone()),
            Error::Authentication(d.clone()),
            Error::PermissionDenied(d.clone()),
            Error::NotFound(d.clone()),
            Error::PayloadTooLarge(d.clone()),
            Error::RateLimit {
                detail: d.clone(),
                retry_after: None,
            },
            Error::InsufficientQuota(d.clone()),
            Error::ContentFilter(d.clone()),
            Error::Upstream(d.clone()),
            Error::Timeout(d.clone()),
            Error::Connection(d.clone()),
            Error::InvalidResponse(d.clone()),
            Error::Config(d),
        ];
        let statuses: Vec<u16> = all.iter().map(Error::status).collect();
        assert_eq!(
            statuses,
            [
                400, 401, 403, 404, 413, 429, 429, 400, 502, 504, 502, 502, 500
            ]
        );
        for e in &all {
            let body = e.to_openai_json();
            assert_eq!(body["error"]["message"], "boom");
            assert_eq!(body["error"]["type"], e.error_type());
            assert!(body["error"].get("param").is_some());
        }
    }

    #[test]
    fn the_refusing_limit_is_named_only_when_set() {
        let plain = Error::InsufficientQuota(ErrorDetail::new("spent"));
        assert!(plain.to_openai_json()["error"].get("limit").is_none());
        assert!(plain.to_sdk_json().get("limit").is_none());
        let refused = Error::InsufficientQuota(ErrorDetail {
            limit: Some("budget.api_key.monthly".into()),
            ..ErrorDetail::new("spent")
        });
        assert_eq!(
            refused.to_openai_json()["error"]["limit"],
            "budget.api_key.monthly"
        );
        assert_eq!(refused.to_sdk_json()["limit"], "budget.api_key.monthly");
        // What a client in gateway mode reads back from the gateway's answer.
        let body = serde_json::to_vec(&refused.to_openai_json()).unwrap_or_default();
        let parsed = crate::providers::openai_style_error(429, &http::HeaderMap::new(), &body);
        assert_eq!(parsed.kind(), "insufficient_quota");
        assert_eq!(
            parsed.detail().limit.as_deref(),
            Some("budget.api_key.monthly")
        );
        let unnamed = serde_json::to_vec(&plain.to_openai_json()).unwrap_or_default();
        let parsed = crate::providers::openai_style_error(429, &http::HeaderMap::new(), &unnamed);
        assert_eq!(parsed.detail().limit, None);
    }

    #[test]
    fn status_selects_variant() {
        let quota = ErrorDetail {
            code: Some("insufficient_quota".into()),
            ..ErrorDetail::new("pay up")
        };
        assert_eq!(
            Error::from_status(429, quota, None).kind(),
            "insufficient_quota"
        );
        let e = Error::from_status(429, ErrorDetail::new("slow"), Some(Duration::from_secs(3)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.is_retryable());
        assert_eq!(
            Error::from_status(529, ErrorDetail::new("overloaded"), None).kind(),
            "upstream"
        );
        assert!(!Error::from_status(401, ErrorDetail::new("no"), None).is_retryable());
    }

    #[test]
    fn retry_after_forms() {
        let mut h = http::HeaderMap::new();
        h.insert("retry-after", http::HeaderValue::from_static("2"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", http::HeaderValue::from_static("250"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = http::HeaderMap::new();
        h.insert(
            "retry-after",
            http::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", http::HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h), None);
    }

    fn hint(name: &'static str, value: &str) -> Option<Duration> {
        let mut h = http::HeaderMap::new();
        h.insert(name, http::HeaderValue::from_str(value).unwrap());
        parse_retry_after(&h)
    }

    #[test]
    fn absurd_retry_hints_are_clamped_not_a_panic() {
        assert_eq!(hint("retry-after-ms", "1e30"), Some(MAX_RETRY_HINT));
        assert_eq!(hint("retry-after-ms", "1e300"), Some(MAX_RETRY_HINT));
        assert_eq!(hint("retry-after", "1e30"), Some(MAX_RETRY_HINT));
        assert_eq!(
            hint("retry-after", "99999999999999999999999999"),
            Some(MAX_RETRY_HINT)
        );
        assert_eq!(
            hint("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(MAX_RETRY_HINT)
        );
        assert_eq!(hint("retry-after-ms", "NaN"), None);
        assert_eq!(hint("retry-after", "-3"), None);
        assert_eq!(hint("retry-after", "inf"), None);
        assert_eq!(duration_from_secs(1e300), None);
        assert_eq!(duration_from_secs(f64::NAN), None);
        assert_eq!(duration_from_secs(-1.0), None);
        assert_eq!(duration_from_secs(1.5), Some(Duration::from_millis(1500)));
    }

    proptest::proptest! {
        #[test]
        fn any_retry_header_parses_without_panic(
            ms in proptest::num::f64::ANY,
            secs in "[0-9eE+.\\-]{0,40}|[A-Za-z0-9 ,:]{0,40}",
        ) {
            let mut h = http::HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(&ms.to_string()) {
                h.insert("retry-after-ms", v);
            }
            if let Ok(v) = http::HeaderValue::from_str(&secs) {
                h.insert("retry-after", v);
            }
            if let Some(wait) = parse_retry_after(&h) {
                proptest::prop_assert!(wait <= MAX_RETRY_HINT);
            }
            h.remove("retry-after-ms");
            if let Some(wait) = parse_retry_after(&h) {
                proptest::prop_assert!(wait <= MAX_RETRY_HINT);
            }
        }

        #[test]
        fn any_number_of_seconds_converts_without_panic(secs in proptest::num::f64::ANY) {
            let _ = duration_from_secs(secs);
            if let Some(wait) = retry_hint_from_secs(secs) {
                proptest::prop_assert!(wait <= MAX_RETRY_HINT);
            }
        }
    }
}
