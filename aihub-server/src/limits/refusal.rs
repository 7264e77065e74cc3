//! How a refusal reads: which limit refused, the OpenAI error, and the headers sent with it.

use super::headers::RateHeaders;
use crate::error::ApiError;
use crate::store::BudgetScope;

/// Which limit a rate bucket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateKind {
    /// The user's requests per minute (plan).
    UserRequests,
    /// The key's requests per minute.
    KeyRequests,
    /// The user's tokens per minute (plan).
    UserTokens,
    /// The key's tokens per minute.
    KeyTokens,
}

impl RateKind {
    /// Tokens rather than requests.
    pub fn is_tokens(self) -> bool {
        matches!(self, Self::UserTokens | Self::KeyTokens)
    }

    /// The limit's name in refusals' `error.limit`: `plan.rpm`, `key.rpm`, `plan.tpm`,
    /// `key.tpm`.
    pub fn limit_name(self) -> &'static str {
        match self {
            Self::UserRequests => "plan.rpm",
            Self::KeyRequests => "key.rpm",
            Self::UserTokens => "plan.tpm",
            Self::KeyTokens => "key.tpm",
        }
    }

    pub(super) fn unit_name(self) -> &'static str {
        if self.is_tokens() {
            "tokens per min (TPM)"
        } else {
            "requests per min (RPM)"
        }
    }

    pub(super) fn scope_name(self) -> &'static str {
        match self {
            Self::UserRequests | Self::UserTokens => "your plan",
            Self::KeyRequests | Self::KeyTokens => "this API key",
        }
    }
}

pub(super) fn too_large(kind: RateKind, limit: u64, requested: u64) -> Refused {
    Refused::from(ApiError(aihub_core::Error::RateLimit {
        detail: aihub_core::ErrorDetail {
            message: format!(
                "Request too large for {} on {}: limit {limit}, requested {requested} \
                 (counted prompt tokens plus max_tokens). Lower max_tokens or shorten the prompt.",
                kind.unit_name(),
                kind.scope_name(),
            ),
            param: Some("max_tokens".into()),
            code: Some("request_too_large".into()),
            limit: Some(kind.limit_name().into()),
            ..aihub_core::ErrorDetail::default()
        },
        retry_after: None,
    }))
}

/// 403 `permission_denied`, code `model_not_priced`: the model has no price (`missing` says
/// which), so a request to it cannot be counted against the hard money limit of `scope`.
pub(super) fn unpriced(scope: BudgetScope, missing: Option<&str>) -> Refused {
    let whose = match scope {
        BudgetScope::ApiKey => "this API key",
        BudgetScope::User => "your account",
        BudgetScope::Team => "your team",
        BudgetScope::Organization => "your organization",
    };
    let why = missing.unwrap_or("the gateway's catalog has no price for it");
    Refused::from(ApiError(aihub_core::Error::PermissionDenied(
        aihub_core::ErrorDetail {
            message: format!(
                "This model has no price: {why}. So its cost cannot be billed against the \
                 budget of {whose}. Use a priced model, or ask the operator to price this one."
            ),
            param: Some("model".into()),
            code: Some("model_not_priced".into()),
            limit: Some(format!("budget.{}", scope.as_str())),
            ..aihub_core::ErrorDetail::default()
        },
    )))
}

/// A refused request: the error and, for rate limits, the headers to send with it.
#[derive(Debug)]
pub struct Refused {
    /// The OpenAI-shaped error.
    pub error: ApiError,
    /// `x-ratelimit-*` headers, when a rate limit refused.
    pub headers: Option<RateHeaders>,
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            headers: None,
        }
    }
}

impl axum::response::IntoResponse for Refused {
    fn into_response(self) -> axum::response::Response {
        let mut response = self.error.into_response();
        if let Some(h) = self.headers {
            h.apply(response.headers_mut());
        }
        response
    }
}
