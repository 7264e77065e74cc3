//! Every error the gateway answers with, in OpenAI's JSON error shape.

use aihub_core::error::scrub::scrub_secrets;
use aihub_core::{Error, ErrorDetail};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

/// An error response: an [`aihub_core::Error`] rendered as
/// `{"error": {"message", "type", "param", "code"}}` with its status.
#[derive(Debug)]
pub struct ApiError(pub Error);

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // The store's message never carries credentials; keep it in the log, not the answer.
        tracing::error!(error = %e, "database error");
        Self(Error::Upstream(ErrorDetail {
            message: "the gateway's database is unavailable; try again shortly".into(),
            code: Some("database_unavailable".into()),
            ..ErrorDetail::default()
        }))
    }
}

impl ApiError {
    /// 400 naming the parameter at fault.
    pub fn bad_request(message: impl Into<String>, param: &str) -> Self {
        Self(Error::bad_request(message, Some(param)))
    }

    /// 401 with a message and code.
    pub fn unauthorized(message: impl Into<String>, code: &str) -> Self {
        Self(Error::Authentication(ErrorDetail {
            message: message.into(),
            code: Some(code.into()),
            ..ErrorDetail::default()
        }))
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self(Error::PermissionDenied(ErrorDetail {
            message: message.into(),
            ..ErrorDetail::default()
        }))
    }

    /// 404 for a resource other than a model.
    pub fn not_found(message: impl Into<String>, code: &str) -> Self {
        Self(Error::NotFound(ErrorDetail {
            message: message.into(),
            code: Some(code.into()),
            ..ErrorDetail::default()
        }))
    }

    /// 503: a service the gateway depends on cannot answer right now.
    pub fn unavailable(message: impl Into<String>, code: &str) -> Self {
        Self(Error::Upstream(ErrorDetail {
            message: message.into(),
            code: Some(code.into()),
            ..ErrorDetail::default()
        }))
    }

    /// 409 is not in OpenAI's vocabulary; a conflict is a 400 naming the field.
    pub fn conflict(message: impl Into<String>, param: &str) -> Self {
        Self(Error::BadRequest(ErrorDetail {
            message: message.into(),
            param: Some(param.into()),
            code: Some("already_exists".into()),
            ..ErrorDetail::default()
        }))
    }

    /// The error an upstream failure becomes at the gateway's edge.
    ///
    /// The caller's own mistakes (invalid request, unknown model, content filtered, rate
    /// limits, quota) keep the provider's message, with secrets scrubbed
    /// ([`scrub_secrets`]). Everything else is the operator's business: a provider
    /// rejecting the gateway's *own* credentials (whose 401 may echo the key), a connection
    /// failure or timeout (whose message names the internal upstream URL), a provider's
    /// 5xx, the gateway's configuration. The caller then gets the gateway's own message
    /// with the upstream status and request id, as a 502 (504 for a timeout), so that
    /// clients do not think their AI Hub key is wrong; the original goes to the log,
    /// scrubbed.
    pub fn from_upstream(mut e: Error) -> Self {
        // A provider's error body cannot name one of the gateway's limits.
        if e.detail().upstream_status.is_some() {
            e.detail_mut().limit = None;
        }
        let caller_mistake = matches!(
            e,
            Error::BadRequest(_)
                | Error::NotFound(_)
                | Error::PayloadTooLarge(_)
                | Error::ContentFilter(_)
                | Error::RateLimit { .. }
                | Error::InsufficientQuota(_)
        );
        let d = e.detail();
        // Neither a provider nor an upstream status: the gateway's own words (a shutdown,
        // a limit), which name nothing secret.
        let gateways_own = d.provider.is_none() && d.upstream_status.is_none();
        if caller_mistake || gateways_own {
            return Self(scrubbed(e));
        }
        let provider = d.provider.as_deref().unwrap_or("the provider");
        let status = d
            .upstream_status
            .map(|s| format!(" (upstream HTTP {s})"))
            .unwrap_or_default();
        let (message, code) = match &e {
            Error::Authentication(_) | Error::PermissionDenied(_)
                if d.upstream_status.is_some() =>
            {
                (
                    format!(
                        "{provider} rejected the gateway's credentials{status}; the gateway's operator must check its provider key"
                    ),
                    "upstream_credentials_rejected",
                )
            }
            Error::Connection(_) => (
                format!("the gateway could not reach {provider}"),
                "upstream_connection_failed",
            ),
            Error::Timeout(_) => (
                format!("{provider} did not answer within the gateway's time limit{status}"),
                "timeout",
            ),
            Error::Upstream(_) => (
                format!("{provider} failed to answer{status}"),
                "upstream_error",
            ),
            // The core's own words about an answer it could not use (no upstream text).
            Error::InvalidResponse(_) if d.code.is_some() => return Self(scrubbed(e)),
            Error::InvalidResponse(_) => (
                format!("{provider} sent an answer the gateway could not read{status}"),
                "invalid_upstream_response",
            ),
            _ => (
                format!("the gateway could not complete the request to {provider}"),
                "gateway_error",
            ),
        };
        let message = match &d.request_id {
            Some(id) => format!("{message}. Request id: {id}."),
            None => format!("{message}."),
        };
        tracing::warn!(
            provider = d.provider.as_deref().unwrap_or(""),
            kind = e.kind(),
            upstream_status = d.upstream_status,
            request_id = d.request_id.as_deref().unwrap_or(""),
            code = d.code.as_deref().unwrap_or(""),
            message = %scrub_secrets(&d.message),
            "upstream error"
        );
        let detail = ErrorDetail {
            message,
            param: None,
            // Our own code for what happened; a timeout keeps a more precise one of ours.
            code: Some(match (&e, d.code.as_deref()) {
                (Error::Timeout(_), Some("stream_timeout")) => "stream_timeout".to_owned(),
                _ => code.to_owned(),
            }),
            upstream_status: d.upstream_status,
            request_id: d.request_id.clone(),
            provider: d.provider.clone(),
            limit: None,
        };
        Self(match e {
            Error::Timeout(_) => Error::Timeout(detail),
            _ => Error::Upstream(detail),
        })
    }
}

/// `e` with its message and code scrubbed of secrets.
fn scrubbed(mut e: Error) -> Error {
    let d = e.detail_mut();
    d.message = scrub_secrets(&d.message);
    if let Some(code) = &d.code {
        d.code = Some(scrub_secrets(code));
    }
    e
}

/// The HTTP status the caller is answered with for `e` (and that its usage record keeps):
/// the error's own, except 503 for the gateway's own dependencies, which are not an upstream's
/// fault (the caller may retry shortly).
pub fn answered_status(e: &Error) -> u16 {
    match e.code() {
        Some("database_unavailable" | "limits_unavailable" | "deployments_unavailable") => 503,
        _ => e.status(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status =
            StatusCode::from_u16(answered_status(&e)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(e.to_openai_json())).into_response();
        let headers = response.headers_mut();
        if let Some(wait) = e.retry_after() {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                headers.insert(header::RETRY_AFTER, v);
            }
            // The OpenAI SDKs prefer this one: it keeps sub-second waits exact.
            if let Ok(v) = HeaderValue::from_str(&wait.as_millis().to_string()) {
                headers.insert("retry-after-ms", v);
            }
        }
        // Official SDKs retry every 429 unless told otherwise.
        if matches!(e, Error::InsufficientQuota(_))
            || e.code() == Some("request_too_large")
            || (status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS)
        {
            headers.insert("x-should-retry", HeaderValue::from_static("false"));
        }
        if let Some(id) = e.request_id().and_then(|id| HeaderValue::from_str(id).ok()) {
            headers.insert("x-request-id", id);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16, body: &str) -> Error {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-request-id", "req_upstream_42".parse().unwrap());
        aihub_core::providers::openai_style_error(status, &headers, body.as_bytes())
            .with_provider("openai")
    }

    fn answer(e: Error) -> (u16, serde_json::Value) {
        let e = ApiError::from_upstream(e).0;
        (e.status(), e.to_openai_json())
    }

    #[test]
    fn a_401_that_echoes_the_key_is_not_passed_on() {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-proj-********************WXYZ. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        let (status, json) = answer(upstream(401, body));
        assert_eq!(status, 502, "the caller's AI Hub key is not the problem");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(!message.contains("WXYZ"), "{message}");
        assert!(!message.contains("sk-"), "{message}");
        assert!(
            message.contains("openai rejected the gateway's credentials"),
            "{message}"
        );
        assert!(message.contains("HTTP 401"), "{message}");
        assert!(message.contains("req_upstream_42"), "{message}");
        assert_eq!(json["error"]["code"], "upstream_credentials_rejected");
        assert_eq!(json["error"]["type"], "upstream_error");
    }

    #[test]
    fn a_connection_error_does_not_reveal_the_upstream_url() {
        let e = Error::Connection(ErrorDetail {
            message: "error sending request for url (http://10.1.2.3:8443/v1/chat/completions?key=AIzaSyInternal0123456789): connection refused".into(),
            provider: Some("internal-vllm".into()),
            request_id: Some("gw-req-1".into()),
            ..ErrorDetail::default()
        });
        let (status, json) = answer(e);
        assert_eq!(status, 502);
        let message = json["error"]["message"].as_str().unwrap();
        assert!(!message.contains("10.1.2.3"), "{message}");
        assert!(!message.contains("AIza"), "{message}");
        assert!(
            message.contains("could not reach internal-vllm"),
            "{message}"
        );
        assert!(message.contains("gw-req-1"), "{message}");
        assert_eq!(json["error"]["code"], "upstream_connection_failed");
    }

    #[test]
    fn a_timeout_keeps_its_504_without_the_url() {
        let e = Error::Timeout(ErrorDetail {
            message: "error sending request for url (https://gemini.internal/v1beta/models/x)"
                .into(),
            provider: Some("google".into()),
            ..ErrorDetail::default()
        });
        let (status, json) = answer(e);
        assert_eq!(status, 504);
        assert!(
            !json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("internal")
        );
    }

    #[test]
    fn caller_mistakes_keep_the_providers_message_scrubbed() {
        let body = r#"{"error":{"message":"Invalid value for 'temperature': expected a number, got 'hot'.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}"#;
        let (status, json) = answer(upstream(400, body));
        assert_eq!(status, 400);
        assert_eq!(
            json["error"]["message"],
            "Invalid value for 'temperature': expected a number, got 'hot'."
        );
        assert_eq!(json["error"]["param"], "temperature");
        assert_eq!(json["error"]["code"], "invalid_value");

        let body = r#"{"error":{"message":"The model `gpt-5-turbo` does not exist; key sk-proj-abcdefghijklmnop was used, see https://internal.example/v1/models","code":"model_not_found"}}"#;
        let (status, json) = answer(upstream(404, body));
        assert_eq!(status, 404);
        let message = json["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("The model `gpt-5-turbo` does not exist"),
            "{message}"
        );
        assert!(!message.contains("sk-proj-abc"), "{message}");
        assert!(!message.contains("/v1/models"), "{message}");

        let (status, json) = answer(upstream(
            429,
            r#"{"error":{"message":"Rate limit reached for gpt-4o on tokens per min","code":"rate_limit_exceeded"}}"#,
        ));
        assert_eq!(status, 429);
        assert_eq!(
            json["error"]["message"],
            "Rate limit reached for gpt-4o on tokens per min"
        );
    }

    #[test]
    fn a_providers_5xx_text_stays_in_the_log() {
        let (status, json) = answer(upstream(
            500,
            r#"{"error":{"message":"upstream node gpu-7.internal:9000 crashed","type":"server_error"}}"#,
        ));
        assert_eq!(status, 502);
        let message = json["error"]["message"].as_str().unwrap();
        assert!(!message.contains("gpu-7"), "{message}");
        assert!(
            message.contains("openai failed to answer (upstream HTTP 500)"),
            "{message}"
        );
    }

    #[test]
    fn the_gateways_own_errors_pass_through() {
        let e = Error::Upstream(ErrorDetail {
            message: "The gateway is shutting down; the answer was cut short.".into(),
            code: Some("gateway_shutdown".into()),
            ..ErrorDetail::default()
        });
        let (status, json) = answer(e);
        assert_eq!(status, 502);
        assert_eq!(json["error"]["code"], "gateway_shutdown");
        assert_eq!(
            json["error"]["message"],
            "The gateway is shutting down; the answer was cut short."
        );
    }

    #[test]
    fn the_cores_own_stream_errors_pass_through() {
        let e = Error::stream_truncated(Some("anthropic"));
        let (status, json) = answer(e);
        assert_eq!(status, 502);
        assert_eq!(json["error"]["code"], "stream_truncated");
        assert_eq!(
            json["error"]["message"],
            "the upstream stream ended before its final event"
        );
    }
}
