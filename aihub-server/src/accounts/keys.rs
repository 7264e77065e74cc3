//! Issuing API keys: a label, an optional expiry, a secret shown once and stored as a hash.

use serde::Deserialize;

use super::{generate_api_key, hash_token, key_prefix};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{ApiKey, NewApiKey, User};
use crate::timeutil::parse_instant_ms;

/// `{name, expires_at?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// A label for the key.
    pub name: String,
    /// RFC 3339 time, `YYYY-MM-DD`, or unix seconds.
    pub expires_at: Option<serde_json::Value>,
}

/// The expiry `expires_at` names (unix ms), if any; 400 when it is malformed or past.
fn expiry(state: &AppState, expires_at: &Option<serde_json::Value>) -> ApiResult<Option<i64>> {
    let at = match expires_at {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(parse_instant_ms(s).ok_or_else(|| {
            ApiError::bad_request(
                "'expires_at' must be an RFC 3339 time, a YYYY-MM-DD date or unix seconds.",
                "expires_at",
            )
        })?),
        Some(serde_json::Value::Number(n)) => Some(
            n.as_i64()
                .and_then(|s| s.checked_mul(1000))
                .ok_or_else(|| {
                    ApiError::bad_request("'expires_at' is out of range.", "expires_at")
                })?,
        ),
        Some(_) => {
            return Err(ApiError::bad_request(
                "'expires_at' must be a string or a number.",
                "expires_at",
            ));
        }
    };
    if at.is_some_and(|t| t <= state.now_ms()) {
        return Err(ApiError::bad_request(
            "'expires_at' is in the past.",
            "expires_at",
        ));
    }
    Ok(at)
}

/// Creates a key for `user`; returns the record and the secret (shown once).
pub async fn issue_key(state: &AppState, user: &User, req: &NewKey) -> ApiResult<(ApiKey, String)> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "'name' must be 1 to 100 characters.",
            "name",
        ));
    }
    let expires_at = expiry(state, &req.expires_at)?;
    let secret = generate_api_key();
    let key = state
        .store
        .create_api_key(NewApiKey {
            user_id: user.id,
            organization_id: user.organization_id,
            team_id: None,
            name: name.to_owned(),
            prefix: key_prefix(&secret),
            key_hash: hash_token(&secret),
            expires_at,
        })
        .await?;
    tracing::info!(user_id = %user.id, key_id = %key.id, "API key created");
    Ok((key, secret))
}
