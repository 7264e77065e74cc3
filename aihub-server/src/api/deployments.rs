//! The operator's `admin/deployments` routes: create, list, show, edit, delete and test the
//! deployments that serve model groups, and list every deployment's health. Deployments of
//! `aihub.toml` are listed, shown and tested, never changed here. A change is loaded by this
//! instance before the answer and by the others within moments (docs/routing.md).

use aihub_core::client::AttemptOptions;
use aihub_core::error::scrub::scrub_secrets;
use aihub_core::{ChatCompletionRequest, Error, ErrorDetail};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

use super::deployment_views::{DeploymentView, HealthEntry, health_of_all};
use super::list::List;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::routing::sync::changed;
use crate::state::AppState;
use crate::store::{StoreError, StoredDeployment};

/// Longest id accepted for a deployment.
const MAX_ID_LEN: usize = 64;
/// Longest group name accepted.
const MAX_GROUP_LEN: usize = 200;

/// `POST /api/v1/admin/deployments`. The credential is write-only: it is encrypted before it
/// is stored and never shown again.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDeployment {
    /// Unique id (letters, digits, `.`, `_`, `-`); default `dep-` and a random suffix.
    pub id: Option<String>,
    /// The model group it serves: an existing group (of `aihub.toml` or the database) or a
    /// new name.
    pub group: String,
    /// A provider configured in `aihub.toml`.
    pub provider: String,
    /// The provider's name for the model.
    pub model: String,
    /// Its own API key; without one it uses its provider's.
    pub credential: Option<String>,
    /// Share of traffic within its priority (default 1; 0 serves nothing).
    pub weight: Option<u32>,
    /// Priority, lower first (default 0).
    pub priority: Option<u32>,
    /// Requests per minute (accepted, not yet enforced).
    pub rpm: Option<u32>,
    /// Tokens per minute (accepted, not yet enforced).
    pub tpm: Option<u64>,
    /// Takes traffic (default true).
    pub enabled: Option<bool>,
}

/// `PATCH /api/v1/admin/deployments/{id}`: the fields to change. `credential: null` removes
/// the deployment's own credential (it then uses its provider's key); `rpm`/`tpm: null`
/// removes the limit.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentEdit {
    /// Another group.
    pub group: Option<String>,
    /// Another configured provider.
    pub provider: Option<String>,
    /// Another model.
    pub model: Option<String>,
    /// A new credential, or `null` to use the provider's key.
    #[serde(default, deserialize_with = "present")]
    pub credential: Option<Option<String>>,
    /// New weight.
    pub weight: Option<u32>,
    /// New priority.
    pub priority: Option<u32>,
    /// New requests-per-minute limit, or `null`.
    #[serde(default, deserialize_with = "present")]
    pub rpm: Option<Option<u32>>,
    /// New tokens-per-minute limit, or `null`.
    #[serde(default, deserialize_with = "present")]
    pub tpm: Option<Option<u64>>,
    /// Take traffic or not.
    pub enabled: Option<bool>,
}

/// A field that is present, as `Some(value)` (`Some(None)` for `null`); absent is `None`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn refusal(message: impl Into<String>, param: Option<&str>, code: &str) -> ApiError {
    ApiError(Error::BadRequest(ErrorDetail {
        message: message.into(),
        param: param.map(str::to_owned),
        code: Some(code.into()),
        ..ErrorDetail::default()
    }))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(
        format!("No deployment with id '{id}'."),
        "deployment_not_found",
    )
}

fn read_only(id: &str) -> ApiError {
    refusal(
        format!(
            "Deployment '{id}' is defined in aihub.toml; change it there (the admin API \
             changes only deployments it created)."
        ),
        Some("id"),
        "deployment_read_only",
    )
}

fn check_id(id: &str) -> ApiResult<()> {
    let fine = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id != "health";
    if fine {
        return Ok(());
    }
    Err(ApiError::bad_request(
        format!(
            "A deployment id is 1 to {MAX_ID_LEN} letters, digits, '.', '_' or '-', starting \
             with a letter or digit (and not 'health')."
        ),
        "id",
    ))
}

fn check_group(group: &str) -> ApiResult<()> {
    if group.trim().is_empty() || group.len() > MAX_GROUP_LEN || group.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            format!(
                "A group name is 1 to {MAX_GROUP_LEN} characters, none of them control characters."
            ),
            "group",
        ));
    }
    Ok(())
}

/// Seals `credential` for deployment `id`, or refuses when there is no key to seal it with.
fn seal(state: &AppState, id: &str, credential: String) -> ApiResult<crate::secrets::Sealed> {
    let credential = credential.trim().to_owned();
    if credential.is_empty() || credential.chars().any(|c| c.is_control() || c == ' ') {
        return Err(ApiError::bad_request(
            "The credential must be a non-empty key without spaces or control characters.",
            "credential",
        ));
    }
    let Some(key) = &state.config.secrets_key else {
        return Err(refusal(
            "This gateway has no secrets key, so it cannot store a credential: set \
             AIHUB_SECRETS_KEY (32 bytes as base64 or hex, e.g. from `openssl rand -base64 \
             32`) or secrets_key_file, and restart. A deployment without a credential uses \
             its provider's key.",
            Some("credential"),
            "secrets_key_not_configured",
        ));
    };
    Ok(key.seal(id, &SecretString::from(credential)))
}

/// Checks that `row` can serve: its group name, provider, model and credential.
async fn validate(state: &AppState, row: &StoredDeployment) -> ApiResult<()> {
    check_group(&row.group)?;
    if row.model.is_empty() {
        return Err(ApiError::bad_request("The model is empty.", "model"));
    }
    state
        .router
        .check_stored(row, state.config.secrets_key.as_ref())
        .map_err(|e| ApiError::bad_request(e.message().to_owned(), e.param()))
}

async fn loaded(state: &AppState) -> ApiResult<()> {
    changed(state).await.map_err(ApiError::from)
}

/// `POST /api/v1/admin/deployments` → `201` the deployment, serving on this instance.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<NewDeployment>,
) -> ApiResult<(StatusCode, axum::Json<DeploymentView>)> {
    principal.require_operator()?;
    let id = body.id.unwrap_or_else(|| {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        format!("dep-{}", &suffix[..12])
    });
    check_id(&id)?;
    if state.router.is_configured(&id) {
        return Err(ApiError::conflict(
            format!("A deployment of aihub.toml already has the id '{id}'."),
            "id",
        ));
    }
    let credential = body.credential.map(|c| seal(&state, &id, c)).transpose()?;
    let row = StoredDeployment {
        id,
        group: body.group,
        provider: body.provider,
        model: body.model,
        weight: body.weight.unwrap_or(1),
        priority: body.priority.unwrap_or(0),
        rpm: body.rpm,
        tpm: body.tpm,
        enabled: body.enabled.unwrap_or(true),
        credential,
        created_at: 0,
        updated_at: 0,
        version: 0,
    };
    validate(&state, &row).await?;
    let stored = match state.store.create_deployment(&row).await {
        Ok(stored) => stored,
        Err(StoreError::Conflict) => {
            return Err(ApiError::conflict(
                format!("A deployment with the id '{}' already exists.", row.id),
                "id",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    loaded(&state).await?;
    tracing::info!(deployment = %stored.id, group = %stored.group, provider = %stored.provider, model = %stored.model, own_credential = stored.credential.is_some(), "deployment created");
    Ok((
        StatusCode::CREATED,
        axum::Json(DeploymentView::stored(&state, &stored)),
    ))
}

/// `GET /api/v1/admin/deployments`: every deployment, those of `aihub.toml` first, with
/// its health on this instance.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<axum::Json<List<DeploymentView>>> {
    principal.require_operator()?;
    let mut out = Vec::new();
    for (group, g) in &state.config.routing.groups {
        for d in &g.deployments {
            out.push(DeploymentView::configured(&state, group, d));
        }
    }
    for d in state.store.list_deployments().await? {
        out.push(DeploymentView::stored(&state, &d));
    }
    Ok(axum::Json(List::of(out)))
}

/// The view of deployment `id`, configured or stored.
async fn view(state: &AppState, id: &str) -> ApiResult<DeploymentView> {
    for (group, g) in &state.config.routing.groups {
        if let Some(d) = g.deployments.iter().find(|d| d.id == id) {
            return Ok(DeploymentView::configured(state, group, d));
        }
    }
    match state.store.deployment(id).await? {
        Some(d) => Ok(DeploymentView::stored(state, &d)),
        None => Err(not_found(id)),
    }
}

/// `GET /api/v1/admin/deployments/{id}`.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<DeploymentView>> {
    principal.require_operator()?;
    Ok(axum::Json(view(&state, &id).await?))
}

/// `PATCH /api/v1/admin/deployments/{id}`: changes the fields given; the change serves on
/// this instance when the answer arrives.
pub async fn edit(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<DeploymentEdit>,
) -> ApiResult<axum::Json<DeploymentView>> {
    principal.require_operator()?;
    if state.router.is_configured(&id) {
        return Err(read_only(&id));
    }
    let mut row = state
        .store
        .deployment(&id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    if let Some(group) = body.group {
        row.group = group;
    }
    if let Some(provider) = body.provider {
        row.provider = provider;
    }
    if let Some(model) = body.model {
        row.model = model;
    }
    if let Some(credential) = body.credential {
        row.credential = credential.map(|c| seal(&state, &id, c)).transpose()?;
    }
    if let Some(weight) = body.weight {
        row.weight = weight;
    }
    if let Some(priority) = body.priority {
        row.priority = priority;
    }
    if let Some(rpm) = body.rpm {
        row.rpm = rpm;
    }
    if let Some(tpm) = body.tpm {
        row.tpm = tpm;
    }
    if let Some(enabled) = body.enabled {
        row.enabled = enabled;
    }
    validate(&state, &row).await?;
    let stored = state
        .store
        .update_deployment(&row)
        .await?
        .ok_or_else(|| not_found(&id))?;
    loaded(&state).await?;
    tracing::info!(deployment = %stored.id, version = stored.version, "deployment changed");
    Ok(axum::Json(DeploymentView::stored(&state, &stored)))
}

/// `DELETE /api/v1/admin/deployments/{id}` → `{id, object, deleted: true}`.
#[derive(Debug, Serialize)]
pub struct Deleted {
    /// The deployment's id.
    pub id: String,
    /// Always `deployment`.
    pub object: &'static str,
    /// Always true.
    pub deleted: bool,
}

/// `DELETE /api/v1/admin/deployments/{id}`: requests already under way on it finish there.
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Deleted>> {
    principal.require_operator()?;
    if state.router.is_configured(&id) {
        return Err(read_only(&id));
    }
    if !state.store.delete_deployment(&id).await? {
        return Err(not_found(&id));
    }
    loaded(&state).await?;
    tracing::info!(deployment = %id, "deployment deleted");
    Ok(axum::Json(Deleted {
        id,
        object: "deployment",
        deleted: true,
    }))
}

/// `GET /api/v1/admin/deployments/health`: every serving deployment's breaker, requests in
/// flight, latency and recent failures on this instance.
pub async fn health(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<axum::Json<List<HealthEntry>>> {
    principal.require_operator()?;
    Ok(axum::Json(List::of(health_of_all(&state))))
}

/// What one probe request found.
#[derive(Debug, Serialize)]
pub struct ProbeResult {
    /// The deployment's id.
    pub id: String,
    /// Always `deployment.test`.
    pub object: &'static str,
    /// The deployment answered 2xx with a completion.
    pub ok: bool,
    /// The HTTP status the provider answered, when it answered.
    pub status: Option<u16>,
    /// From sending to the whole answer, ms.
    pub latency_ms: u64,
    /// `provider/model` probed.
    pub model: String,
    /// The error kind (`authentication`, `timeout`, …), when it failed.
    pub error: Option<&'static str>,
    /// The provider's message with every secret removed, when it failed.
    pub message: Option<String>,
}

/// `POST /api/v1/admin/deployments/{id}/test`: one small chat request (`max_tokens` 1) on
/// that deployment alone, even a disabled one: no retry, no fallback, nobody billed, no
/// usage record, and its breaker is left as it was.
pub async fn test(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ProbeResult>> {
    principal.require_operator()?;
    let Some((_, d)) = state.router.deployment(&id) else {
        if let Some(problem) = state.router.stored_problem(&id) {
            return Err(refusal(
                format!("Deployment '{id}' is not serving: {problem}."),
                Some("id"),
                "deployment_not_serving",
            ));
        }
        return Err(not_found(&id));
    };
    let request: ChatCompletionRequest = serde_json::from_value(serde_json::json!({
        "model": d.model.upstream,
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": 1,
    }))
    .map_err(|e| ApiError(Error::config(format!("probe request: {e}"))))?;
    let options = AttemptOptions {
        number: 1,
        request_id: Some(format!("probe-{}", uuid::Uuid::new_v4().simple())),
        timeout: Some(state.config.upstream_timeout),
    };
    let (result, info) = state
        .client
        .attempt_chat_on(&d.adapter, &d.model.upstream, &request, &options)
        .await;
    let (error, message) = match &result {
        Ok(_) => (None, None),
        Err(e) => {
            let mut text = scrub_secrets(&e.detail().message);
            if let Some(key) = &d.adapter.config().api_key {
                let key = key.expose_secret();
                if !key.is_empty() {
                    text = text.replace(key, "[redacted]");
                }
            }
            (Some(e.kind()), Some(text))
        }
    };
    tracing::info!(deployment = %id, ok = result.is_ok(), status = ?info.status, "deployment probed");
    Ok(axum::Json(ProbeResult {
        id,
        object: "deployment.test",
        ok: result.is_ok(),
        status: info.status,
        latency_ms: u64::try_from(info.latency.as_millis()).unwrap_or(u64::MAX),
        model: d.model.id.clone(),
        error,
        message,
    }))
}
