//! axum extractors: [`KeyAuth`] for `/v1`, [`SessionUser`], [`Caller`] and [`MasterKey`] for `/api/v1`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::hash_token;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ApiKey, User};

/// The bearer token of a request, if any.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A caller authenticated by an AI Hub API key.
#[derive(Debug, Clone)]
pub struct KeyAuth {
    /// The key's record (never its secret).
    pub key: ApiKey,
    /// The id of the key owner's plan.
    pub plan: String,
}

fn missing_key() -> ApiError {
    ApiError::unauthorized(
        "You didn't provide an API key. Send it as 'Authorization: Bearer ai-hub-…'.",
        "missing_api_key",
    )
}

/// Looks a key up and checks that it is live.
pub async fn authenticate_key(state: &AppState, token: &str) -> Result<KeyAuth, ApiError> {
    let invalid = || ApiError::unauthorized("Incorrect API key provided.", "invalid_api_key");
    if !token.starts_with(aihub_core::client::GATEWAY_KEY_PREFIX) {
        return Err(invalid());
    }
    let (key, plan) = state
        .store
        .api_key_for_request(&hash_token(token))
        .await?
        .ok_or_else(invalid)?;
    if key.revoked_at.is_some() {
        return Err(ApiError::unauthorized(
            "This API key has been revoked.",
            "api_key_revoked",
        ));
    }
    if key.expires_at.is_some_and(|t| t <= state.now_ms()) {
        return Err(ApiError::unauthorized(
            "This API key has expired.",
            "api_key_expired",
        ));
    }
    Ok(KeyAuth { key, plan })
}

impl FromRequestParts<AppState> for KeyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(missing_key)?;
        authenticate_key(state, token).await
    }
}

/// A user signed in to the management API with a session token.
#[derive(Debug, Clone)]
pub struct SessionUser(pub User);

async fn session(state: &AppState, token: &str) -> Result<User, ApiError> {
    state
        .store
        .session_user(&hash_token(token), state.now_ms())
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized(
                "Your session has expired or is invalid; log in again.",
                "invalid_session",
            )
        })
}

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::unauthorized(
                "Log in first: send 'Authorization: Bearer <session token>'.",
                "missing_session",
            )
        })?;
        if token.starts_with(aihub_core::client::GATEWAY_KEY_PREFIX) {
            return Err(ApiError::forbidden(
                "API keys cannot manage API keys; use a session token from /api/v1/auth/login.",
            ));
        }
        Ok(Self(session(state, token).await?))
    }
}

/// The user behind either a session token or an API key (for read-only endpoints such as usage).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// The key used, when the caller authenticated with one.
    pub key: Option<ApiKey>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(missing_key)?;
        if token.starts_with(aihub_core::client::GATEWAY_KEY_PREFIX) {
            let auth = authenticate_key(state, token).await?;
            let user = state
                .store
                .user_by_id(auth.key.user_id)
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized("The key's user no longer exists.", "invalid_api_key")
                })?;
            return Ok(Self {
                user,
                key: Some(auth.key),
            });
        }
        Ok(Self {
            user: session(state, token).await?,
            key: None,
        })
    }
}

/// A request carrying the admin master key (`AIHUB_MASTER_KEY`).
#[derive(Debug, Clone, Copy)]
pub struct MasterKey;

impl FromRequestParts<AppState> for MasterKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(master) = &state.config.master_key else {
            return Err(ApiError::forbidden(
                "The admin API is disabled: start the gateway with AIHUB_MASTER_KEY set.",
            ));
        };
        let token = bearer(parts).ok_or_else(missing_key)?;
        // Compare digests so that the comparison takes the same time wherever they differ.
        let same =
            Sha256::digest(token.as_bytes()) == Sha256::digest(master.expose_secret().as_bytes());
        if same {
            Ok(Self)
        } else {
            Err(ApiError::unauthorized(
                "Incorrect master key.",
                "invalid_master_key",
            ))
        }
    }
}
