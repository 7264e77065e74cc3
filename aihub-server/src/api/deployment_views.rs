//! Deployments as the admin API shows them: where they come from, what they serve, whether
//! they have a credential of their own (never the credential), and their health on the
//! instance that answers.

use std::time::Instant;

use serde::Serialize;

use crate::config::DeploymentSettings;
use crate::routing::Deployment;
use crate::state::AppState;
use crate::store::StoredDeployment;
use crate::timeutil::rfc3339;

/// Whether a deployment has a credential of its own. The credential itself is never shown,
/// not even in part.
#[derive(Debug, Serialize)]
pub struct CredentialView {
    /// True: its own credential; false: its provider's key.
    pub set: bool,
}

/// A deployment's health on the instance that answers (breakers are per instance).
#[derive(Debug, Serialize)]
pub struct HealthView {
    /// `closed` (serving), `open` (taken out until its cooldown ends) or `half_open` (one
    /// probe request is let through).
    pub breaker: &'static str,
    /// Requests in flight on it now.
    pub in_flight: u32,
    /// Average latency, ms (an exponentially weighted average); `null` until measured.
    pub latency_ms: Option<f64>,
    /// Attempts in the breaker's window (`routing.breaker.window_secs`).
    pub recent_requests: usize,
    /// Failed attempts among them.
    pub recent_failures: usize,
}

impl HealthView {
    /// The health of `d` now.
    pub fn of(d: &Deployment) -> Self {
        let now = Instant::now();
        let (recent_requests, recent_failures) = d.health.recent(now);
        Self {
            breaker: d.health.state(now).as_str(),
            in_flight: d.health.in_flight(),
            latency_ms: d
                .health
                .latency()
                .map(|l| (l.as_secs_f64() * 1000.0 * 10.0).round() / 10.0),
            recent_requests,
            recent_failures,
        }
    }
}

/// A deployment as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct DeploymentView {
    /// Unique id.
    pub id: String,
    /// Always `deployment`.
    pub object: &'static str,
    /// `config` (from `aihub.toml`, read-only here) or `api` (stored in the database).
    pub source: &'static str,
    /// The model group it serves.
    pub group: String,
    /// The provider (configured in `aihub.toml`).
    pub provider: String,
    /// The provider's name for the model.
    pub model: String,
    /// Share of traffic within its priority.
    pub weight: u32,
    /// Priority (lower first).
    pub priority: u32,
    /// Requests per minute, when set (accepted, not yet enforced).
    pub rpm: Option<u32>,
    /// Tokens per minute, when set (accepted, not yet enforced).
    pub tpm: Option<u64>,
    /// Takes traffic.
    pub enabled: bool,
    /// Its own credential or its provider's key.
    pub credential: CredentialView,
    /// Loaded by this instance's router (false: see `problem`).
    pub serving: bool,
    /// Why it is not serving, when it is not (its provider was removed from the
    /// configuration, its credential does not decrypt with the configured key, …).
    pub problem: Option<String>,
    /// RFC 3339; `null` for a configured deployment.
    pub created_at: Option<String>,
    /// RFC 3339 of the last edit; `null` for a configured deployment.
    pub updated_at: Option<String>,
    /// Edits so far (starting at 1); `null` for a configured deployment.
    pub version: Option<i64>,
    /// Health on the instance that answers; `null` when it is not serving.
    pub health: Option<HealthView>,
}

impl DeploymentView {
    /// The view of a stored deployment.
    pub fn stored(state: &AppState, d: &StoredDeployment) -> Self {
        let live = state.router.deployment(&d.id).map(|(_, live)| live);
        let problem = match &live {
            Some(_) => None,
            None => Some(
                state
                    .router
                    .stored_problem(&d.id)
                    .unwrap_or_else(|| "not loaded on this instance yet".to_owned()),
            ),
        };
        Self {
            id: d.id.clone(),
            object: "deployment",
            source: "api",
            group: d.group.clone(),
            provider: d.provider.clone(),
            model: d.model.clone(),
            weight: d.weight,
            priority: d.priority,
            rpm: d.rpm,
            tpm: d.tpm,
            enabled: d.enabled,
            credential: CredentialView {
                set: d.credential.is_some(),
            },
            serving: live.is_some(),
            problem,
            created_at: Some(rfc3339(d.created_at)),
            updated_at: Some(rfc3339(d.updated_at)),
            version: Some(d.version),
            health: live.as_deref().map(HealthView::of),
        }
    }

    /// The view of a deployment of `aihub.toml` in group `group`.
    pub fn configured(state: &AppState, group: &str, d: &DeploymentSettings) -> Self {
        let live = state.router.deployment(&d.id).map(|(_, live)| live);
        Self {
            id: d.id.clone(),
            object: "deployment",
            source: "config",
            group: group.to_owned(),
            provider: d.provider.clone(),
            model: d.model.clone(),
            weight: d.weight,
            priority: d.priority,
            rpm: d.rpm,
            tpm: d.tpm,
            enabled: d.enabled,
            credential: CredentialView {
                set: d.api_key.is_some(),
            },
            serving: live.is_some(),
            problem: None,
            created_at: None,
            updated_at: None,
            version: None,
            health: live.as_deref().map(HealthView::of),
        }
    }
}

/// One line of `GET /api/v1/admin/deployments/health`.
#[derive(Debug, Serialize)]
pub struct HealthEntry {
    /// The deployment's id.
    pub id: String,
    /// Its group.
    pub group: String,
    /// `provider/model` it serves.
    pub model: String,
    /// Takes traffic.
    pub enabled: bool,
    /// Its health on the instance that answers.
    #[serde(flatten)]
    pub health: HealthView,
}

/// The health of every deployment of every group (configured and stored), by group and id.
pub fn health_of_all(state: &AppState) -> Vec<HealthEntry> {
    let groups = state.router.current();
    let mut out: Vec<HealthEntry> = groups
        .values()
        .flat_map(|g| {
            g.deployments.iter().map(|d| HealthEntry {
                id: d.id.clone(),
                group: g.name.clone(),
                model: d.model.id.clone(),
                enabled: d.enabled,
                health: HealthView::of(d),
            })
        })
        .collect();
    out.sort_by(|a, b| a.group.cmp(&b.group).then(a.id.cmp(&b.id)));
    out
}
