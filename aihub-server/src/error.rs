//! Every error the gateway answers with, in OpenAI's JSON error shape.

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
    /// limits) pass through with the provider's message. A provider rejecting the gateway's
    /// *own* credentials is the operator's problem, not the caller's: it becomes a 502, so
    /// that clients do not think their AI Hub key is wrong.
    pub fn from_upstream(e: Error) -> Self {
        match e {
            Error::Authentication(d) | Error::PermissionDenied(d)
                if d.upstream_status.is_some() =>
            {
                let provider = d.provider.clone().unwrap_or_else(|| "the provider".into());
                Self(Error::Upstream(ErrorDetail {
                    message: format!(
                        "{provider} rejected the gateway's credentials: {}",
                        d.message
                    ),
                    ..d
                }))
            }
            Error::Config(d) => Self(Error::Upstream(d)),
            other => Self(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = match e.code() {
            // The gateway's own dependencies, not an upstream: the caller may retry shortly.
            Some("database_unavailable" | "limits_unavailable") => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        };
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
