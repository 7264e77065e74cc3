//! Keeping attempts inside each deployment's own `rpm` and `tpm` (routing/capacity.rs): an
//! attempt takes one request and the prompt's counted tokens before it is sent, from the count
//! every instance shares through Redis when `redis_url` is set (this instance's own
//! otherwise, or while Redis fails); the tokens of the answer beyond the prompt are added
//! when the request is recorded. A deployment without either limit costs nothing here.

use std::sync::Arc;
use std::time::Duration;

use aihub_core::{Error, ErrorDetail, Usage};

use crate::routing::capacity::{self, Limits};
use crate::routing::{Deployment, Group};
use crate::state::AppState;

/// The error code of a request every deployment of whose route was at its own rpm/tpm
/// (answered with 429 and `Retry-After`).
pub const DEPLOYMENTS_AT_CAPACITY: &str = "deployments_at_capacity";

fn limits(deployment: &Deployment) -> Limits {
    Limits {
        rpm: deployment.rpm,
        tpm: deployment.tpm,
    }
}

/// Takes one attempt of `tokens` prompt tokens from `deployment`'s limits; `Err` with the
/// wait until it may be tried again when it is at its limit.
pub async fn take(state: &AppState, deployment: &Deployment, tokens: u64) -> Result<(), Duration> {
    let limits = limits(deployment);
    if limits.none() {
        return Ok(());
    }
    let now = state.now_ms();
    let shared = match &state.shared_routing {
        Some(shared) => {
            shared
                .take(&deployment.shared_key, limits, tokens, now)
                .await
        }
        None => None,
    };
    let verdict = match shared {
        Some(verdict) => verdict,
        None => deployment.health.window.take(limits, tokens, now),
    };
    verdict.map_err(|full| {
        tracing::debug!(deployment = %deployment.id, ?full, "deployment skipped: at its own limit");
        capacity::wait(now)
    })
}

/// Adds the tokens of `usage` beyond the `taken` prompt tokens to the `tpm` count of the
/// deployment that served (in Redis in the background, off the answer's path).
pub fn settle(state: &AppState, deployment: &Arc<Deployment>, taken: u64, usage: &Usage) {
    if deployment.tpm.is_none() {
        return;
    }
    let used = usage.prompt_tokens.saturating_add(usage.completion_tokens);
    let extra = used.saturating_sub(taken);
    if extra == 0 {
        return;
    }
    let now = state.now_ms();
    match &state.shared_routing {
        Some(shared) => {
            let (shared, deployment) = (shared.clone(), deployment.clone());
            tokio::spawn(
                async move { shared.add_tokens(&deployment.shared_key, extra, now).await },
            );
        }
        None => deployment.health.window.add_tokens(extra, now),
    }
}

/// The answer when every deployment of `group` that could be tried was at its own limit.
pub fn at_capacity_error(group: &Group, wait: Duration) -> Error {
    Error::RateLimit {
        detail: ErrorDetail {
            message: format!(
                "Every deployment of `{}` is at its own request or token limit; try again in {} s.",
                group.name,
                wait.as_secs().max(1)
            ),
            code: Some(DEPLOYMENTS_AT_CAPACITY.into()),
            ..ErrorDetail::default()
        },
        retry_after: Some(wait.max(Duration::from_secs(1))),
    }
}
