//! `auth/register` and `auth/login`: anyone may call them.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::users::UserView;
use crate::accounts::{Credentials, create_user, log_in};
use crate::error::ApiResult;
use crate::json::Json;
use crate::state::AppState;
use crate::timeutil::rfc3339;

/// `POST /api/v1/auth/register` `{email, password}` → `201` the user.
pub async fn register(
    State(state): State<AppState>,
    Json(c): Json<Credentials>,
) -> ApiResult<(StatusCode, axum::Json<UserView>)> {
    let user = create_user(&state, &c).await?;
    tracing::info!(user_id = %user.id, "user registered");
    Ok((StatusCode::CREATED, axum::Json(UserView::from(&user))))
}

/// The answer to a login: a session token for this API.
#[derive(Debug, Serialize)]
pub struct LoginAnswer {
    /// The session token, shown once.
    pub token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// When the session ends (RFC 3339).
    pub expires_at: String,
    /// Who logged in.
    pub user: UserView,
}

/// `POST /api/v1/auth/login` `{email, password}` → `{token, token_type, expires_at, user}`.
pub async fn login(
    State(state): State<AppState>,
    Json(c): Json<Credentials>,
) -> ApiResult<axum::Json<LoginAnswer>> {
    let session = log_in(&state, c).await?;
    Ok(axum::Json(LoginAnswer {
        token: session.token,
        token_type: "bearer",
        expires_at: rfc3339(session.expires_at),
        user: UserView::from(&session.user),
    }))
}
