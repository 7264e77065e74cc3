//! API keys: a member creates, lists and revokes their own (`auth/api-keys`); the operator
//! issues keys for any user (`admin/api-keys`); key limits, for whoever may manage the key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::list::List;
use super::scope::key_in_scope;
use crate::accounts::{KeyOwner, NewKey, issue_key};
use crate::auth::Principal;
use crate::auth::policy::{self, Action};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use crate::store::{ApiKey, KeyLimits};
use crate::timeutil::rfc3339;

/// A key as listed (never the secret).
#[derive(Debug, Serialize)]
pub struct KeyView {
    /// The key's id.
    pub id: Uuid,
    /// Always `api_key`.
    pub object: &'static str,
    /// The owner's label.
    pub name: String,
    /// The user who owns it; null for a team's own key.
    pub user_id: Option<Uuid>,
    /// The organization it spends for.
    pub organization_id: Uuid,
    /// The team it spends for, if any.
    pub team_id: Option<Uuid>,
    /// The first characters of the key, to recognise it by.
    pub prefix: String,
    /// RFC 3339.
    pub created_at: String,
    /// When the key stops working, if ever.
    pub expires_at: Option<String>,
    /// Last use, written within about a second of it.
    pub last_used_at: Option<String>,
    /// When the key was revoked, if it was.
    pub revoked_at: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    /// The model groups and models the key may use (set by the operator); null: every model.
    pub models: Option<Vec<String>>,
}

impl KeyView {
    /// The listing view of `k` at `now` (unix ms).
    pub fn of(k: &ApiKey, now: i64) -> Self {
        let status = if k.revoked_at.is_some() {
            "revoked"
        } else if k.expires_at.is_some_and(|t| t <= now) {
            "expired"
        } else {
            "active"
        };
        Self {
            id: k.id,
            object: "api_key",
            name: k.name.clone(),
            user_id: k.user_id,
            organization_id: k.organization_id,
            team_id: k.team_id,
            prefix: k.prefix.clone(),
            created_at: rfc3339(k.created_at),
            expires_at: k.expires_at.map(rfc3339),
            last_used_at: k.last_used_at.map(rfc3339),
            revoked_at: k.revoked_at.map(rfc3339),
            status,
            models: k.models.clone(),
        }
    }
}

/// A key just created: the listing view and the secret, shown only here.
#[derive(Debug, Serialize)]
pub struct CreatedKey {
    /// The listing view.
    #[serde(flatten)]
    pub view: KeyView,
    /// The key itself (`ai-hub-…`); AI Hub keeps only its hash.
    pub key: String,
}

impl CreatedKey {
    /// The answer for `key` just made with `secret`.
    pub fn new(key: &ApiKey, secret: String, now: i64) -> Self {
        Self {
            view: KeyView::of(key, now),
            key: secret,
        }
    }
}

/// `POST /api/v1/auth/api-keys` `{name, expires_at?}` → `201` the key, shown only here.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(req): Json<NewKey>,
) -> ApiResult<(StatusCode, axum::Json<CreatedKey>)> {
    let user = principal.session_user()?;
    let owner = KeyOwner::of_user(user, &req);
    if owner.organization_id != user.organization_id {
        // A key spends the organization's money: the policy says which roles may make one.
        let role = state
            .store
            .org_role(owner.organization_id, user.id)
            .await?
            .ok_or_else(super::orgs::organization_not_found)?;
        if !policy::allows(Action::CreateOwnKeys, role, None) {
            return Err(ApiError::forbidden(format!(
                "Your role in this organization ({role}) may not {}.",
                super::orgs::describe(Action::CreateOwnKeys)
            )));
        }
    }
    let (key, secret) = issue_key(&state, owner, &req).await?;
    let created = CreatedKey::new(&key, secret, state.now_ms());
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// `{email, name, expires_at?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKeyFor {
    /// Owner of the key.
    pub email: String,
    /// Label.
    pub name: String,
    /// Optional expiry.
    pub expires_at: Option<serde_json::Value>,
}

/// `POST /api/v1/admin/api-keys` `{email, name, expires_at?}`: the operator issues a key for
/// a user → `201` the key, shown once.
pub async fn create_for_user(
    State(state): State<AppState>,
    principal: Principal,
    Json(req): Json<NewKeyFor>,
) -> ApiResult<(StatusCode, axum::Json<CreatedKey>)> {
    principal.require_operator()?;
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
        ..NewKey::default()
    };
    let (key, secret) = issue_key(&state, KeyOwner::of_user(&user, &new), &new).await?;
    let created = CreatedKey::new(&key, secret, state.now_ms());
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// `GET /api/v1/auth/api-keys`: the member's keys, never their secrets.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<axum::Json<List<KeyView>>> {
    let user = principal.session_user()?;
    let now = state.now_ms();
    let keys = state.store.list_api_keys(user.id).await?;
    Ok(axum::Json(List::of(
        keys.iter().map(|k| KeyView::of(k, now)).collect(),
    )))
}

/// The answer to a revocation.
#[derive(Debug, Serialize)]
pub struct RevokedKey {
    /// The key's id, as the request named it.
    pub id: String,
    /// Always `api_key`.
    pub object: &'static str,
    /// Always true.
    pub revoked: bool,
}

/// `DELETE /api/v1/auth/api-keys/{id}`: revokes at once, on every instance (keys are
/// checked against the database on each request).
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RevokedKey>> {
    let user = principal.session_user()?;
    let not_found = || {
        ApiError::not_found(
            format!("No active API key with id '{id}'."),
            "api_key_not_found",
        )
    };
    let key_id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    if !state
        .store
        .revoke_api_key(user.id, key_id, state.now_ms())
        .await?
    {
        return Err(not_found());
    }
    tracing::info!(user_id = %user.id, key_id = %id, "API key revoked");
    Ok(axum::Json(RevokedKey {
        id,
        object: "api_key",
        revoked: true,
    }))
}

/// A key's own limits, as set.
#[derive(Debug, Serialize)]
pub struct KeyLimitsView {
    /// The key's id.
    pub id: Uuid,
    /// Always `api_key.limits`.
    pub object: &'static str,
    /// Requests per minute through this key, or null.
    pub rpm_limit: Option<u32>,
    /// Tokens per minute through this key, or null.
    pub tpm_limit: Option<u64>,
    /// Requests in flight through this key at once, or null.
    pub max_concurrent: Option<u32>,
    /// Whether the key's answers are cached by default, or null (the `[cache] enabled` default).
    pub cache: Option<bool>,
}

fn check_limits(l: &KeyLimits) -> ApiResult<()> {
    for (value, param) in [
        (l.rpm_limit.map(u64::from), "rpm_limit"),
        (l.tpm_limit, "tpm_limit"),
        (l.max_concurrent.map(u64::from), "max_concurrent"),
    ] {
        if value == Some(0) {
            return Err(ApiError::bad_request(
                format!("'{param}' must be at least 1; use null for no limit of the key's own."),
                param,
            ));
        }
        if value.is_some_and(|v| v > i64::MAX as u64) {
            return Err(ApiError::bad_request(
                format!("'{param}' is too large."),
                param,
            ));
        }
    }
    Ok(())
}

/// `PUT /api/v1/auth/api-keys/{id}/limits` and `PUT /api/v1/admin/api-keys/{id}/limits`
/// `{rpm_limit, tpm_limit, max_concurrent, cache}`: a member on their own keys, the operator on
/// any. The body replaces every setting: one left out is null.
pub async fn put_limits(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(limits): Json<KeyLimits>,
) -> ApiResult<axum::Json<KeyLimitsView>> {
    let key = key_in_scope(&state, &principal, &id).await?;
    check_limits(&limits)?;
    state.store.set_api_key_limits(key.id, limits).await?;
    Ok(axum::Json(KeyLimitsView {
        id: key.id,
        object: "api_key.limits",
        rpm_limit: limits.rpm_limit,
        tpm_limit: limits.tpm_limit,
        max_concurrent: limits.max_concurrent,
        cache: limits.cache,
    }))
}

/// Most entries in a key's model list.
const MAX_MODELS: usize = 256;

/// `{models}`: the model groups and models a key may use, or null for every model.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyModels {
    /// Names as callers send them as `model` (a group, a catalog id or alias,
    /// `provider/model`); null: every model the gateway serves.
    pub models: Option<Vec<String>>,
}

/// The models a key may use, as set.
#[derive(Debug, Serialize)]
pub struct KeyModelsView {
    /// The key's id.
    pub id: Uuid,
    /// Always `api_key.models`.
    pub object: &'static str,
    /// The list, or null.
    pub models: Option<Vec<String>>,
}

/// `PUT /api/v1/admin/api-keys/{id}/models` `{models: [..] | null}`: the operator decides which
/// models a key may use; a request for another is refused with 403 `model_not_allowed`, and a
/// fallback to another is never attempted. Each name must be one this gateway serves now.
pub async fn put_models(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(req): Json<KeyModels>,
) -> ApiResult<axum::Json<KeyModelsView>> {
    let key = key_in_scope(&state, &principal, &id).await?;
    if let Some(list) = &req.models {
        if list.len() > MAX_MODELS {
            return Err(ApiError::bad_request(
                format!("'models' lists at most {MAX_MODELS} names."),
                "models",
            ));
        }
        for name in list {
            if let Err(e) = state.router.group(name) {
                return Err(ApiError::bad_request(
                    format!("'models': `{name}` is not a model this gateway serves ({e})."),
                    "models",
                ));
            }
        }
    }
    state
        .store
        .set_api_key_models(key.id, req.models.as_deref())
        .await?;
    Ok(axum::Json(KeyModelsView {
        id: key.id,
        object: "api_key.models",
        models: req.models,
    }))
}
