//! Issuing API keys: a label, an optional expiry, a secret shown once and stored as a hash.

use serde::Deserialize;

use super::{generate_api_key, hash_token, key_prefix};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{ApiKey, NewApiKey, StoreError, User};
use crate::timeutil::parse_instant_ms;

/// `{name, expires_at?, organization_id?, team_id?}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// A label for the key.
    pub name: String,
    /// RFC 3339 time, `YYYY-MM-DD`, or unix seconds.
    pub expires_at: Option<serde_json::Value>,
    /// The organization the key spends for (one the user is a member of); the user's
    /// personal organization when absent.
    #[serde(default)]
    pub organization_id: Option<uuid::Uuid>,
    /// A team of that organization the user is in, for a key that spends for the team.
    #[serde(default)]
    pub team_id: Option<uuid::Uuid>,
}

/// Whom a new key belongs to.
#[derive(Debug, Clone, Copy)]
pub struct KeyOwner {
    /// The user, or `None` for a team's own key.
    pub user: Option<uuid::Uuid>,
    /// The organization it spends for.
    pub organization_id: uuid::Uuid,
    /// The team it spends for, if any.
    pub team_id: Option<uuid::Uuid>,
}

impl KeyOwner {
    /// A key of `user`'s, in the organization and team `req` names (their personal
    /// organization by default).
    pub fn of_user(user: &User, req: &NewKey) -> Self {
        Self {
            user: Some(user.id),
            organization_id: req.organization_id.unwrap_or(user.organization_id),
            team_id: req.team_id,
        }
    }
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

/// Creates a key for `owner`; returns the record and the secret (shown once). 404 when the
/// user is not a member of the organization (or the team) the key would spend for.
pub async fn issue_key(
    state: &AppState,
    owner: KeyOwner,
    req: &NewKey,
) -> ApiResult<(ApiKey, String)> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "'name' must be 1 to 100 characters.",
            "name",
        ));
    }
    let expires_at = expiry(state, &req.expires_at)?;
    let secret = generate_api_key();
    let created = state
        .store
        .create_api_key(NewApiKey {
            user_id: owner.user,
            organization_id: owner.organization_id,
            team_id: owner.team_id,
            name: name.to_owned(),
            prefix: key_prefix(&secret),
            key_hash: hash_token(&secret),
            expires_at,
        })
        .await;
    let key = match created {
        Err(StoreError::NotFound) => {
            return Err(ApiError::not_found(
                "No organization or team of yours with that id.",
                "organization_not_found",
            ));
        }
        other => other?,
    };
    tracing::info!(user_id = ?owner.user, team_id = ?owner.team_id, key_id = %key.id, "API key created");
    Ok((key, secret))
}
