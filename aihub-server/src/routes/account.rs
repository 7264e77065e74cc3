//! `/api/v1/auth/…`: register, log in, create / list / revoke API keys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{
    SessionUser, generate_api_key, generate_session_token, hash_password, hash_token, key_prefix,
    verify_password,
};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use crate::store::{ApiKey, NewApiKey, StoreError, User};
use crate::timeutil::{parse_instant_ms, rfc3339};

/// `{email, password}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// E-mail address, the login name.
    pub email: String,
    /// Password, at least 8 characters.
    pub password: String,
}

/// Validates an e-mail and password pair for registration.
pub fn check_new_credentials(c: &Credentials) -> ApiResult<String> {
    let email = c.email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !valid || email.contains(char::is_whitespace) {
        return Err(ApiError::bad_request(
            "'email' is not a valid e-mail address.",
            "email",
        ));
    }
    if c.password.chars().count() < 8 {
        return Err(ApiError::bad_request(
            "'password' must be at least 8 characters.",
            "password",
        ));
    }
    if c.password.len() > 1024 {
        return Err(ApiError::bad_request(
            "'password' must be at most 1024 bytes.",
            "password",
        ));
    }
    Ok(email)
}

/// The public view of a user.
pub fn user_json(u: &User) -> serde_json::Value {
    json!({
        "id": u.id,
        "email": u.email,
        "plan": u.plan,
        "organization_id": u.organization_id,
        "created_at": rfc3339(u.created_at),
    })
}

/// Creates a user, answering 400 when the e-mail is taken.
pub async fn create_user(state: &AppState, c: &Credentials) -> ApiResult<User> {
    let email = check_new_credentials(c)?;
    let hash = hash_password(c.password.clone()).await.map_err(|e| {
        ApiError(aihub_core::Error::config(format!(
            "password hashing failed: {e}"
        )))
    })?;
    match state.store.create_user(&email, &hash).await {
        Ok(u) => Ok(u),
        Err(StoreError::Conflict) => Err(ApiError::conflict(
            "An account with this e-mail already exists.",
            "email",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/v1/auth/register`.
pub async fn register(
    State(state): State<AppState>,
    Json(c): Json<Credentials>,
) -> ApiResult<Response> {
    let user = create_user(&state, &c).await?;
    tracing::info!(user_id = %user.id, "user registered");
    Ok((StatusCode::CREATED, axum::Json(user_json(&user))).into_response())
}

/// `POST /api/v1/auth/login` → `{token, expires_at}`.
pub async fn login(
    State(state): State<AppState>,
    Json(c): Json<Credentials>,
) -> ApiResult<Response> {
    let wrong = || ApiError::unauthorized("Incorrect e-mail or password.", "invalid_credentials");
    let found = state
        .store
        .user_by_email(&c.email.trim().to_lowercase())
        .await?;
    let Some((user, hash)) = found else {
        // Spend the same time as a real check so that timing does not reveal accounts.
        let _ = verify_password(c.password, dummy_hash().await).await;
        return Err(wrong());
    };
    if !verify_password(c.password, hash).await {
        return Err(wrong());
    }
    let token = generate_session_token();
    let ttl = i64::try_from(state.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires = state.now_ms().saturating_add(ttl);
    state
        .store
        .create_session(user.id, &hash_token(&token), expires)
        .await?;
    Ok(axum::Json(json!({
        "token": token,
        "token_type": "bearer",
        "expires_at": rfc3339(expires),
        "user": user_json(&user),
    }))
    .into_response())
}

/// An argon2id hash of a random string, verified against when the e-mail is unknown.
async fn dummy_hash() -> String {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            hash_password(generate_session_token())
                .await
                .unwrap_or_default()
        })
        .await
        .clone()
}

/// `{name, expires_at?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// A label for the key.
    pub name: String,
    /// RFC 3339 time, `YYYY-MM-DD`, or unix seconds.
    pub expires_at: Option<serde_json::Value>,
}

/// A key as listed (never the secret).
#[derive(Debug, Serialize)]
pub struct KeyView {
    id: uuid::Uuid,
    object: &'static str,
    name: String,
    prefix: String,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
    status: &'static str,
}

/// The listing view of a key at `now`.
pub fn key_view(k: &ApiKey, now: i64) -> KeyView {
    let status = if k.revoked_at.is_some() {
        "revoked"
    } else if k.expires_at.is_some_and(|t| t <= now) {
        "expired"
    } else {
        "active"
    };
    KeyView {
        id: k.id,
        object: "api_key",
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        created_at: rfc3339(k.created_at),
        expires_at: k.expires_at.map(rfc3339),
        last_used_at: k.last_used_at.map(rfc3339),
        revoked_at: k.revoked_at.map(rfc3339),
        status,
    }
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
    let expires_at = match &req.expires_at {
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
    if expires_at.is_some_and(|t| t <= state.now_ms()) {
        return Err(ApiError::bad_request(
            "'expires_at' is in the past.",
            "expires_at",
        ));
    }
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

/// The creation answer: the listing view plus the secret.
pub fn created_key_json(key: &ApiKey, secret: &str, now: i64) -> serde_json::Value {
    let mut v = serde_json::to_value(key_view(key, now)).unwrap_or_default();
    v["key"] = secret.into();
    v
}

/// `POST /api/v1/auth/api-keys` → `{id, key, …}`; the key is shown only here.
pub async fn create_key(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    Json(req): Json<NewKey>,
) -> ApiResult<Response> {
    let (key, secret) = issue_key(&state, &user, &req).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(created_key_json(&key, &secret, state.now_ms())),
    )
        .into_response())
}

/// `GET /api/v1/auth/api-keys`.
pub async fn list_keys(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
) -> ApiResult<Response> {
    let now = state.now_ms();
    let keys: Vec<KeyView> = state
        .store
        .list_api_keys(user.id)
        .await?
        .iter()
        .map(|k| key_view(k, now))
        .collect();
    Ok(axum::Json(json!({"object": "list", "data": keys})).into_response())
}

/// `DELETE /api/v1/auth/api-keys/{id}`: revokes at once, on every instance (keys are
/// checked against the database on each request).
pub async fn revoke_key(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let not_found = || {
        ApiError::not_found(
            format!("No active API key with id '{id}'."),
            "api_key_not_found",
        )
    };
    let key_id = uuid::Uuid::parse_str(&id).map_err(|_| not_found())?;
    if state
        .store
        .revoke_api_key(user.id, key_id, state.now_ms())
        .await?
    {
        tracing::info!(user_id = %user.id, key_id = %id, "API key revoked");
        Ok(axum::Json(json!({"id": id, "object": "api_key", "revoked": true})).into_response())
    } else {
        Err(not_found())
    }
}
