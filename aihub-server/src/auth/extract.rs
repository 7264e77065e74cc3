//! axum extractors: [`KeyAuth`] for `/v1`, [`Principal`] for `/api/v1`, and the gate
//! [`operator_only`] before the operator's routes.

use aihub_core::client::GATEWAY_KEY_PREFIX;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::Principal;
use crate::accounts::hash_token;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ApiKey, InstanceRole, User};

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
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
    /// The id of the plan of the key's organization.
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
    if !token.starts_with(GATEWAY_KEY_PREFIX) {
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
        let token = bearer(&parts.headers).ok_or_else(missing_key)?;
        authenticate_key(state, token).await
    }
}

/// The user a session token belongs to, if the session is live.
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

/// Whether `token` is the master key. Digests are compared, so that the comparison takes
/// the same time wherever the two differ.
fn is_master_key(state: &AppState, token: &str) -> bool {
    state.config.master_key.as_ref().is_some_and(|master| {
        Sha256::digest(token.as_bytes()) == Sha256::digest(master.expose_secret().as_bytes())
    })
}

/// The bearer is the master key, or the refusal: 403 when the gateway has none (then only an
/// instance admin's session opens the operator's routes), 401 otherwise.
fn check_master_key(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if state.config.master_key.is_none() {
        return Err(ApiError::forbidden(
            "The admin API takes the master key (start the gateway with AIHUB_MASTER_KEY set) \
             or the session of a user with an instance role.",
        ));
    }
    let token = bearer(headers).ok_or_else(missing_key)?;
    if is_master_key(state, token) {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            "Incorrect master key.",
            "invalid_master_key",
        ))
    }
}

/// Whether a signed-in user's instance role lets them through the operator's gate for a
/// request with this method: an instance admin always, an instance viewer only to read.
async fn instance_user_passes(state: &AppState, token: &str, method: &Method) -> Option<bool> {
    if token.starts_with(GATEWAY_KEY_PREFIX) {
        return None;
    }
    let user = session(state, token).await.ok()?;
    Some(match user.instance_role? {
        InstanceRole::Admin => true,
        InstanceRole::Viewer => matches!(*method, Method::GET | Method::HEAD),
    })
}

/// Middleware before the operator's routes (`/api/v1/admin/…`): the master key passes, and so
/// does the session of a user with an instance role (an admin for everything, a viewer to
/// read); the handler's [`Principal`] is then the operator without a second look.
pub async fn operator_only(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Err(refusal) = check_master_key(&state, req.headers()) {
        let by_role = match bearer(req.headers()) {
            Some(token) => instance_user_passes(&state, token, req.method()).await,
            None => None,
        };
        match by_role {
            Some(true) => {}
            Some(false) => {
                return ApiError::forbidden(
                    "An instance viewer may read the admin API but not change anything.",
                )
                .into_response();
            }
            None => return refusal.into_response(),
        }
    }
    req.extensions_mut().insert(Principal::Operator);
    next.run(req).await
}

/// Resolves the bearer token: the master key is the operator, an `ai-hub-` token an API key
/// (live, with an owner), anything else a session. A token that names no one is refused
/// here (401); what an identified caller may do is for the handler to ask.
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(known) = parts.extensions.get::<Principal>() {
            return Ok(known.clone());
        }
        let token = bearer(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized(
                "Send a session token from /api/v1/auth/login, or an API key, as \
                 'Authorization: Bearer …'.",
                "missing_credentials",
            )
        })?;
        if is_master_key(state, token) {
            return Ok(Self::Operator);
        }
        if token.starts_with(GATEWAY_KEY_PREFIX) {
            let auth = authenticate_key(state, token).await?;
            let owner = match auth.key.user_id {
                None => None,
                Some(user) => Some(state.store.user_by_id(user).await?.ok_or_else(|| {
                    ApiError::unauthorized("The key's user no longer exists.", "invalid_api_key")
                })?),
            };
            return Ok(Self::ApiKey {
                key: auth.key,
                owner,
            });
        }
        Ok(Self::Member(session(state, token).await?))
    }
}
