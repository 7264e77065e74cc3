//! Planning and making the attempts of one request.
//!
//! The plan today is the resolved model's one provider, tried once and retried while the
//! failure is one a retry can fix (429, 5xx, timeouts, connection errors), up to
//! `upstream_max_retries` times with jittered backoff that honours `Retry-After`. Routing
//! (several deployments, fallbacks, breakers) plugs in here. Every attempt is counted; the
//! record names the attempt that served.

use std::future::Future;

use aihub_core::RetryPolicy;
use aihub_core::client::{AttemptInfo, AttemptOptions};

use super::Proxied;
use crate::state::AppState;

/// The attempts a request made.
#[derive(Debug, Clone, Default)]
pub struct Attempts {
    /// How many were made.
    pub count: u32,
    /// The last one: the attempt that served, or the last failure.
    pub last: Option<AttemptInfo>,
    /// Prompt tokens of failed attempts the provider may have billed: an attempt cut by a
    /// timeout after it was sent may have been processed, so its prompt counts.
    pub billed_prompt_tokens: u64,
}

/// Runs `attempt` until it succeeds, fails in a way a retry cannot fix, or the retries run
/// out; returns the last result and what the attempts were.
pub async fn run<T, F, Fut>(
    state: &AppState,
    proxied: &Proxied,
    mut attempt: F,
) -> (aihub_core::Result<T>, Attempts)
where
    F: FnMut(AttemptOptions) -> Fut,
    Fut: Future<Output = (aihub_core::Result<T>, AttemptInfo)>,
{
    let policy = RetryPolicy {
        max_retries: state.config.upstream_max_retries,
        ..RetryPolicy::default()
    };
    let mut attempts = Attempts::default();
    loop {
        attempts.count += 1;
        let options = AttemptOptions {
            number: attempts.count,
            request_id: Some(proxied.id.clone()),
            timeout: Some(state.config.upstream_timeout),
        };
        // Boxed: the provider call's future is large, and the request's own future (moved
        // into its task) stays small when it holds only a pointer to it.
        let (result, info) = Box::pin(attempt(options)).await;
        attempts.last = Some(info);
        let error = match result {
            Ok(value) => return (Ok(value), attempts),
            Err(e) => e,
        };
        if matches!(error, aihub_core::Error::Timeout(_)) {
            attempts.billed_prompt_tokens = attempts
                .billed_prompt_tokens
                .saturating_add(proxied.prompt_tokens);
        }
        let retry = attempts.count <= policy.max_retries && error.is_retryable();
        let wait = retry
            .then(|| policy.delay(attempts.count - 1, error.retry_after()))
            .flatten();
        let Some(wait) = wait else {
            return (Err(error), attempts);
        };
        tracing::debug!(
            request_id = %proxied.id,
            attempt = attempts.count,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            error = %error,
            "retrying upstream"
        );
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.tasks.deadline_reached() => return (Err(error), attempts),
        }
    }
}

/// `calls`, unless the shutdown deadline passes first: then the upstream call is dropped
/// (cancelled) and the request ends as `gateway_shutdown`, billed for its counted prompt.
pub async fn until_deadline<T>(
    state: &AppState,
    proxied: &Proxied,
    calls: impl Future<Output = (aihub_core::Result<T>, Attempts)>,
) -> (aihub_core::Result<T>, Attempts) {
    tokio::select! {
        done = calls => done,
        () = state.tasks.deadline_reached() => (
            Err(aihub_core::Error::Upstream(aihub_core::ErrorDetail {
                message: "The gateway is shutting down; the request was cut short.".into(),
                code: Some("gateway_shutdown".into()),
                ..aihub_core::ErrorDetail::default()
            })),
            Attempts { count: 1, last: None, billed_prompt_tokens: proxied.prompt_tokens },
        ),
    }
}

/// The status and error kind a request's record gets: 499 when its client left first.
pub fn ending_status<T>(
    result: &aihub_core::Result<T>,
    client_gone: bool,
) -> (u16, Option<&'static str>) {
    match (result, client_gone) {
        (_, true) => (499, Some("client_disconnected")),
        (Ok(_), false) => (200, None),
        (Err(e), false) => (e.status(), Some(e.kind())),
    }
}
