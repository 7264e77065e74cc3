//! Planning and making the attempts of one request: routing over a model group's
//! deployments, retries, fallbacks to other groups, breakers, and keeping every attempt
//! inside the caller's limits.
//!
//! - A group's deployments are tried in its strategy's order, each once; then, while the
//!   failures are ones a retry can fix, up to `upstream_max_retries` more attempts in the same
//!   order, with jittered backoff that honours `Retry-After` (up to
//!   `routing.max_retry_wait_secs`). A group of one deployment is therefore retried as before.
//! - A failure a retry cannot fix ends the request (bad request), or moves on: a prompt too
//!   long for the model goes to the group's `context_window_fallbacks` only, refused content
//!   to its `content_policy_fallbacks` only, anything else to the request's own `fallbacks` /
//!   `models` list, or else the group's `fallbacks`.
//! - A deployment whose breaker is open is skipped; a provider that refuses a deployment's
//!   credential takes it out at once.
//! - Before an attempt whose worst case costs more than what was reserved (or is in another
//!   currency, or unpriced), the request is admitted again for that model: the reservation
//!   held is released first, so the caller's limits see only one of them. A fallback that does
//!   not fit is skipped, and if nothing served, the caller gets that refusal.
//! - Never more than `routing.max_attempts` attempts in all, and one total deadline
//!   (`routing.request_timeout_secs`): an attempt still running then is cut, and no retry or
//!   fallback starts after it. Every attempt is counted and listed; the record names the
//!   deployment that served.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use aihub_core::client::{AttemptInfo, AttemptOptions};
use aihub_core::pricing::Money;
use aihub_core::{Error, ErrorDetail, RetryPolicy};

use super::Proxied;
use crate::config::WhenAllOpen;
use crate::limits::{Refused, Ticket};
use crate::routing::{Deployment, Gate, Group, Outcome, RoutedModel};
use crate::state::AppState;
use crate::store::AttemptRecord;

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
    /// The deployment that served (or was tried last).
    pub served: Option<Arc<Deployment>>,
    /// Every attempt, in order.
    pub log: Vec<AttemptRecord>,
}

impl Attempts {
    /// Adds the tokens `usage` counts beyond the prompt taken at the serving attempt's start
    /// to that deployment's `tpm` count.
    pub fn settle_capacity(&self, state: &AppState, proxied: &Proxied, usage: &aihub_core::Usage) {
        if let Some(d) = &self.served {
            super::capacity::settle(state, d, proxied.prompt_tokens, usage);
        }
    }

    /// The model the request is billed and recorded as: the one that served (or was tried
    /// last), else the one it was admitted for.
    pub fn model<'a>(&'a self, proxied: &'a Proxied) -> &'a RoutedModel {
        self.served.as_ref().map_or(&proxied.model, |d| &d.model)
    }
}

/// The reservation a request holds while it runs, and what it was made for.
#[derive(Debug)]
pub struct Admission {
    /// The ticket held (none between a release and a refused re-admission).
    pub ticket: Option<Ticket>,
    /// The worst case reserved.
    worst: Option<Money>,
    /// Output tokens reserved.
    max_output: u64,
    /// Re-admissions made (they get ids of their own).
    again: u32,
}

impl Admission {
    /// The admission of `ticket`, which reserved `worst` for at most `max_output` tokens.
    pub fn new(ticket: Ticket, worst: Option<Money>, max_output: u64) -> Self {
        Self {
            ticket: Some(ticket),
            worst,
            max_output,
            again: 0,
        }
    }

    /// The `x-ratelimit-*` headers of the reservation held.
    pub fn headers(&self) -> crate::limits::RateHeaders {
        self.ticket.as_ref().map(|t| t.headers).unwrap_or_default()
    }

    /// Makes sure the reservation covers an attempt on `model`: a dearer worst case (or one
    /// in another currency, or none) is admitted again, the held reservation released first.
    async fn fit(
        &mut self,
        state: &AppState,
        proxied: &Proxied,
        model: &RoutedModel,
    ) -> Result<(), Refused> {
        if self.ticket.is_some() && self.again == 0 && std::ptr::eq(model, &*proxied.model) {
            // The model the request was admitted for: its reservation covers it.
            return Ok(());
        }
        let worst = proxied.worst_case(model, self.max_output);
        let covered = match (&self.worst, &worst) {
            (Some(held), Some(new)) => held.currency == new.currency && new.amount <= held.amount,
            (None, None) => true,
            _ => false,
        };
        if covered && self.ticket.is_some() {
            return Ok(());
        }
        if let Some(old) = self.ticket.take() {
            state.limits.settle(old, 0, None, state.now_ms()).await;
        }
        self.again += 1;
        let id = format!("{}~{}", proxied.id, self.again);
        let ticket = proxied
            .admit_at(state, &id, model, self.max_output, worst)
            .await?;
        self.ticket = Some(ticket);
        self.worst = worst;
        Ok(())
    }
}

/// What a failure means for routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Retry, on another deployment where there is one (429, 5xx, timeout, connection).
    Retry,
    /// The deployment cannot serve (its credential or quota was refused, the model is
    /// unknown there): take it out and try another.
    TakeOut,
    /// The prompt is too long for the model.
    ContextWindow,
    /// The provider refused the content.
    ContentPolicy,
    /// The request itself is wrong: no retry anywhere.
    Final,
}

fn is_context_window(detail: &ErrorDetail) -> bool {
    if detail.code.as_deref() == Some("context_length_exceeded") {
        return true;
    }
    let m = detail.message.to_ascii_lowercase();
    [
        "context length",
        "context window",
        "prompt is too long",
        "too many tokens",
        "maximum number of tokens",
    ]
    .iter()
    .any(|p| m.contains(p))
}

fn classify(e: &Error) -> Class {
    match e {
        Error::RateLimit { .. } | Error::Upstream(_) | Error::Timeout(_) | Error::Connection(_) => {
            Class::Retry
        }
        Error::Authentication(_)
        | Error::PermissionDenied(_)
        | Error::InsufficientQuota(_)
        | Error::NotFound(_) => Class::TakeOut,
        Error::ContentFilter(_) => Class::ContentPolicy,
        Error::BadRequest(d) if is_context_window(d) => Class::ContextWindow,
        _ => Class::Final,
    }
}

fn outcome(class: Class) -> Outcome {
    match class {
        Class::Retry => Outcome::Failure,
        Class::TakeOut => Outcome::TakeOut,
        Class::ContextWindow | Class::ContentPolicy | Class::Final => Outcome::Neutral,
    }
}

/// The answer when every deployment of `group` is taken out by its breaker: 503 (by its
/// code) with `Retry-After` at the end of the shortest cooldown.
fn all_open_error(group: &Group, wait: std::time::Duration) -> Error {
    Error::RateLimit {
        detail: ErrorDetail {
            message: format!(
                "Every deployment of `{}` is failing and was taken out of service; try again \
                 in {} s.",
                group.name,
                wait.as_secs().max(1)
            ),
            code: Some(DEPLOYMENTS_UNAVAILABLE.into()),
            ..ErrorDetail::default()
        },
        retry_after: Some(wait.max(std::time::Duration::from_secs(1))),
    }
}

/// The error of a request whose deadline (`routing.request_timeout_secs`) passed before an
/// attempt answered.
fn deadline_error() -> Error {
    Error::Timeout(ErrorDetail {
        message: "The request's deadline passed before an upstream answered it.".into(),
        code: Some("request_timeout".into()),
        ..ErrorDetail::default()
    })
}

/// The error code of a request no deployment could be tried for (answered with 503).
pub const DEPLOYMENTS_UNAVAILABLE: &str = "deployments_unavailable";

/// Runs `attempt` over the request's route (its group, then fallbacks) until one succeeds,
/// a failure ends it, or the attempts run out; returns the last result and the attempts.
/// `fallbacks` are the request's own (`fallbacks` or `models` in its body); when given,
/// they replace the groups' general fallbacks.
pub async fn run<T, F, Fut>(
    state: &AppState,
    proxied: &Proxied,
    group: Arc<Group>,
    fallbacks: &[String],
    admission: &mut Admission,
    mut attempt: F,
) -> (aihub_core::Result<T>, Attempts)
where
    F: FnMut(Arc<Deployment>, AttemptOptions) -> Fut,
    Fut: Future<Output = (aihub_core::Result<T>, AttemptInfo)>,
{
    let routing = &state.config.routing;
    let policy = RetryPolicy {
        max_retries: state.config.upstream_max_retries,
        max_retry_after: routing.max_retry_wait,
        ..RetryPolicy::default()
    };
    let mut attempts = Attempts::default();
    let deadline = tokio::time::Instant::now()
        + routing
            .request_timeout
            .unwrap_or(state.config.upstream_timeout.saturating_mul(2));
    let mut queue = VecDeque::from([group]);
    let mut visited = HashSet::new();
    let mut first_error: Option<Error> = None;
    let mut refusal: Option<Refused> = None;
    while let Some(group) = queue.pop_front() {
        if !visited.insert(group.name.clone()) {
            continue;
        }
        let (error, class) = match attempt_group(
            state,
            proxied,
            &group,
            admission,
            &policy,
            deadline,
            &mut attempts,
            &mut refusal,
            &mut attempt,
        )
        .await
        {
            GroupEnd::Served(value) => return (Ok(value), attempts),
            GroupEnd::Final(e) => return (Err(e), attempts),
            GroupEnd::Failed(e, class) => (e, class),
        };
        let next: &[String] = match class {
            Class::ContextWindow => &group.context_window_fallbacks,
            Class::ContentPolicy => &group.content_policy_fallbacks,
            _ if !fallbacks.is_empty() => fallbacks,
            _ => &group.fallbacks,
        };
        first_error.get_or_insert(error);
        if attempts.count >= routing.max_attempts {
            break;
        }
        for name in next {
            match state.router.group(name) {
                Ok(g) if !super::access::allows(state, &proxied.caller.key, &g) => {
                    tracing::info!(request_id = %proxied.id, fallback = %name, "fallback skipped: the key may not use it");
                }
                Ok(g) => queue.push_back(g),
                Err(e) => {
                    tracing::warn!(request_id = %proxied.id, fallback = %name, error = %e, "fallback skipped")
                }
            }
        }
    }
    let error = match (refusal, first_error) {
        (Some(refused), _) => refused.error.0,
        (None, Some(e)) => e,
        (None, None) => Error::Upstream(ErrorDetail {
            message: "No deployment could serve this request.".into(),
            code: Some(DEPLOYMENTS_UNAVAILABLE.into()),
            ..ErrorDetail::default()
        }),
    };
    (Err(error), attempts)
}

enum GroupEnd<T> {
    Served(T),
    Final(Error),
    Failed(Error, Class),
}

#[allow(clippy::too_many_arguments)]
async fn attempt_group<T, F, Fut>(
    state: &AppState,
    proxied: &Proxied,
    group: &Group,
    admission: &mut Admission,
    policy: &RetryPolicy,
    deadline: tokio::time::Instant,
    attempts: &mut Attempts,
    refusal: &mut Option<Refused>,
    attempt: &mut F,
) -> GroupEnd<T>
where
    F: FnMut(Arc<Deployment>, AttemptOptions) -> Fut,
    Fut: Future<Output = (aihub_core::Result<T>, AttemptInfo)>,
{
    let routing = &state.config.routing;
    let order = group.order(&|d| {
        proxied
            .worst_case(&d.model, admission.max_output)
            .map(|m| m.amount)
    });
    if order.is_empty() {
        return GroupEnd::Failed(
            Error::Upstream(ErrorDetail {
                message: format!("`{}` has no deployment that takes traffic.", group.name),
                code: Some(DEPLOYMENTS_UNAVAILABLE.into()),
                ..ErrorDetail::default()
            }),
            Class::Retry,
        );
    }
    let forced = match group.all_open(Instant::now()) {
        Some(wait) if routing.when_all_open == WhenAllOpen::Fail => {
            return GroupEnd::Failed(all_open_error(group, wait), Class::Retry);
        }
        Some(_) => true,
        None => false,
    };
    let budget = u32::try_from(order.len())
        .unwrap_or(u32::MAX)
        .saturating_add(policy.max_retries);
    let mut last: Option<(Error, Class)> = None;
    // The shortest wait among deployments skipped at their own rpm/tpm.
    let mut full: Option<std::time::Duration> = None;
    let mut skipped_in_a_row = 0usize;
    let mut made = 0u32;
    let mut index = 0usize;
    while made < budget && attempts.count < routing.max_attempts {
        if tokio::time::Instant::now() >= deadline {
            return GroupEnd::Final(last.map_or_else(deadline_error, |(e, _)| e));
        }
        let deployment = order[index % order.len()].clone();
        let retrying = index >= order.len();
        index += 1;
        if !forced && matches!(deployment.health.peek(Instant::now()), Gate::Skip(_)) {
            skipped_in_a_row += 1;
            if skipped_in_a_row >= order.len() {
                break;
            }
            continue;
        }
        if retrying {
            let retry_after = last.as_ref().and_then(|(e, _)| e.retry_after());
            let retryable = last.as_ref().is_some_and(|(_, c)| *c == Class::Retry);
            let wait = retryable
                .then(|| policy.delay(made.saturating_sub(1), retry_after))
                .flatten();
            let Some(wait) = wait else { break };
            if tokio::time::Instant::now() + wait >= deadline {
                // The wait would outlast the request's deadline: the last failure ends it.
                return GroupEnd::Final(last.map_or_else(deadline_error, |(e, _)| e));
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = state.tasks.deadline_reached() => break,
            }
        }
        let lease = match deployment.health.begin(Instant::now()) {
            Ok(lease) => lease,
            Err(_) if forced => deployment.health.force(),
            Err(_) => {
                skipped_in_a_row += 1;
                if skipped_in_a_row >= order.len() {
                    break;
                }
                continue;
            }
        };
        if lease.is_probe()
            && let Some(shared) = &state.shared_routing
            && !shared
                .claim_probe(&deployment.shared_key, state.config.upstream_timeout)
                .await
        {
            // Another instance is sending the one probe: wait for its outcome.
            lease.defer_probe();
            skipped_in_a_row += 1;
            if skipped_in_a_row >= order.len() {
                break;
            }
            continue;
        }
        if let Err(refused) = admission.fit(state, proxied, &deployment.model).await {
            tracing::info!(request_id = %proxied.id, deployment = %deployment.id, "attempt skipped: it does not fit the caller's limits");
            *refusal = Some(refused);
            let probe = lease.is_probe();
            drop(lease);
            announce(state, &deployment, probe, None);
            skipped_in_a_row += 1;
            if skipped_in_a_row >= order.len() {
                break;
            }
            continue;
        }
        // Last, so that only an attempt about to be sent takes from the deployment's limits.
        if let Err(wait) = super::capacity::take(state, &deployment, proxied.prompt_tokens).await {
            full = Some(full.map_or(wait, |w| w.min(wait)));
            let probe = lease.is_probe();
            drop(lease);
            announce(state, &deployment, probe, None);
            skipped_in_a_row += 1;
            if skipped_in_a_row >= order.len() {
                break;
            }
            continue;
        }
        skipped_in_a_row = 0;
        made += 1;
        attempts.count += 1;
        let options = AttemptOptions {
            number: attempts.count,
            request_id: Some(proxied.id.clone()),
            timeout: Some(state.config.upstream_timeout),
        };
        let work = Box::pin(attempt(deployment.clone(), options));
        // A non-stream attempt ends within the upstream timeout; a stream's attempt (its
        // head and first content) is not bounded by it alone.
        let bound = (!proxied.stream).then_some(state.config.upstream_timeout);
        let sent = Instant::now();
        let call = async {
            match &admission.ticket {
                Some(ticket) if state.limits.must_renew(ticket, bound) => {
                    super::proxied::renewing(state, &proxied.id, ticket, work).await
                }
                _ => work.await,
            }
        };
        let (result, info) = match tokio::time::timeout_at(deadline, call).await {
            Ok(done) => done,
            // Cut at the request's deadline (the attempt is dropped, which cancels it).
            Err(_) => (
                Err(deadline_error()),
                AttemptInfo {
                    provider: deployment.model.provider.clone(),
                    upstream_model: deployment.model.upstream.clone(),
                    number: attempts.count,
                    latency: sent.elapsed(),
                    ..AttemptInfo::default()
                },
            ),
        };
        let latency = info.latency;
        attempts.log.push(AttemptRecord {
            deployment: deployment.id.clone(),
            model: deployment.model.id.clone(),
            status: info.status,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            error: result.as_ref().err().map(|e| e.kind().to_owned()),
        });
        attempts.last = Some(info);
        attempts.served = Some(deployment.clone());
        let probe = lease.is_probe();
        let error = match result {
            Ok(value) => {
                let change = lease.finish(Outcome::Success, latency);
                announce(state, &deployment, probe, change);
                return GroupEnd::Served(value);
            }
            Err(e) => e,
        };
        if matches!(error, Error::Timeout(_)) {
            attempts.billed_prompt_tokens = attempts
                .billed_prompt_tokens
                .saturating_add(proxied.prompt_tokens);
        }
        let class = classify(&error);
        let change = lease.finish(outcome(class), latency);
        announce(state, &deployment, probe, change);
        tracing::debug!(request_id = %proxied.id, deployment = %deployment.id, attempt = attempts.count, error = %error, "attempt failed");
        match class {
            Class::Final => return GroupEnd::Final(error),
            Class::ContextWindow | Class::ContentPolicy => {
                return GroupEnd::Failed(error, class);
            }
            Class::Retry | Class::TakeOut => last = Some((error, class)),
        }
    }
    match last {
        Some((e, class)) => GroupEnd::Failed(e, class),
        None => GroupEnd::Failed(
            match (full, group.all_open(Instant::now())) {
                (Some(wait), _) => super::capacity::at_capacity_error(group, wait),
                (None, Some(wait)) => all_open_error(group, wait),
                (None, None) => Error::Upstream(ErrorDetail {
                    message: format!("No deployment of `{}` could be tried.", group.name),
                    code: Some(DEPLOYMENTS_UNAVAILABLE.into()),
                    ..ErrorDetail::default()
                }),
            },
            Class::Retry,
        ),
    }
}

/// Tells the other instances (with Redis) of a breaker's change of state, and frees the
/// probe this attempt held; in the background, off the request's path.
fn announce(
    state: &AppState,
    deployment: &Deployment,
    probe: bool,
    change: Option<crate::routing::Transition>,
) {
    let Some(shared) = &state.shared_routing else {
        return;
    };
    if !probe && change.is_none() {
        return;
    }
    let (shared, id) = (shared.clone(), deployment.shared_key.clone());
    tokio::spawn(async move {
        match change {
            Some(change) => shared.announce(&id, change).await,
            None => shared.release_probe(&id).await,
        }
    });
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
            Attempts { count: 1, billed_prompt_tokens: proxied.prompt_tokens, ..Attempts::default() },
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
        (Err(e), false) => (crate::error::answered_status(e), Some(e.kind())),
    }
}

#[cfg(test)]
#[path = "attempts_tests.rs"]
mod tests;
