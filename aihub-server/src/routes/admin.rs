//! `/api/v1/admin/…`, authorised by the master key: create users and issue their keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::account::{Credentials, NewKey, create_user, created_key_json, issue_key, user_json};
use crate::auth::MasterKey;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;

/// `POST /api/v1/admin/users` `{email, password}`.
pub async fn create_user_route(
    State(state): State<AppState>,
    _: MasterKey,
    Json(c): Json<Credentials>,
) -> ApiResult<Response> {
    let user = create_user(&state, &c).await?;
    Ok((StatusCode::CREATED, axum::Json(user_json(&user))).into_response())
}

/// `{email, name, expires_at?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminNewKey {
    /// Owner of the key.
    pub email: String,
    /// Label.
    pub name: String,
    /// Optional expiry.
    pub expires_at: Option<serde_json::Value>,
}

/// `POST /api/v1/admin/api-keys` `{email, name, expires_at?}` → the key, shown once.
pub async fn create_key_route(
    State(state): State<AppState>,
    _: MasterKey,
    Json(req): Json<AdminNewKey>,
) -> ApiResult<Response> {
    let (user, _) = state
        .store
        .user_by_email(&req.email.trim().to_lowercase())
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                format!("No user with e-mail '{}'.", req.email),
                "user_not_found",
            )
        })?;
    let new = NewKey {
        name: req.name,
        expires_at: req.expires_at,
    };
    let (key, secret) = issue_key(&state, &user, &new).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(created_key_json(&key, &secret, state.now_ms())),
    )
        .into_response())
}
