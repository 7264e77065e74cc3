//! The response cache in the pipeline: whether a chat request uses it, its answer from the
//! cache once it was admitted (a hit calls no upstream and touches no deployment's limits or
//! health), and a fresh successful answer stored for the next one.
//!
//! A hit is admitted like any request (authentication, rate limits, budgets: a key over budget
//! is refused before the lookup), then settled with no tokens and the configured fraction of
//! the original cost (`[cache] charge_fraction`, zero by default), and leaves exactly one usage
//! record, with `cache_hit` set and the tokens served.

use std::sync::Arc;
use std::time::Duration;

use aihub_core::pricing::Money;
use aihub_core::{ChatCompletion, ChatCompletionChunk, ChatCompletionRequest};
use tokio::sync::mpsc;

use super::attempts::Admission;
use super::proxied::{run_guarded, with_cost};
use super::{ChatAnswer, Ending, Failure, Proxied, Served, StreamAnswer, StreamEvent};
use crate::auth::KeyAuth;
use crate::cache::{CacheControls, CacheStatus, CachedAnswer, chat_key, replay};
use crate::routing::RoutedModel;
use crate::state::AppState;

/// How one request uses the cache: its key, whether it may read and write, for how long an
/// answer is kept, and the status to show when it is not a hit.
#[derive(Debug)]
pub struct CachePlan {
    key: [u8; 32],
    read: bool,
    write: bool,
    ttl: Duration,
    max_age_secs: Option<u64>,
}

impl CachePlan {
    /// The status of a request that was not answered from the cache.
    pub fn status(&self) -> CacheStatus {
        match (self.read, self.write) {
            (true, _) => CacheStatus::Miss,
            (false, true) => CacheStatus::Refresh,
            (false, false) => CacheStatus::Bypass,
        }
    }
}

/// The cache plan of `request` from `caller` with `controls`; `None` when the cache is off for
/// it (a branch or two: nothing is hashed). Call with the request as the caller sent it, its
/// `cache` object and routing fields taken out.
pub(super) fn plan(
    state: &AppState,
    caller: &KeyAuth,
    controls: &CacheControls,
    fallbacks: &[String],
    request: &ChatCompletionRequest,
) -> Option<Box<CachePlan>> {
    let settings = state.cache.settings();
    let on = controls.opt_in || caller.key.limits.cache.unwrap_or(settings.enabled);
    if !on && !controls.bypass {
        return None;
    }
    if controls.bypass {
        return Some(Box::new(CachePlan {
            key: [0; 32],
            read: false,
            write: false,
            ttl: settings.ttl,
            max_age_secs: None,
        }));
    }
    let scope = (!settings.shared_across_organizations).then_some(caller.key.organization_id);
    let key = chat_key(scope, controls.namespace.as_deref(), fallbacks, request);
    let ttl = controls
        .ttl_secs
        .map_or(settings.ttl, Duration::from_secs)
        .min(settings.max_ttl);
    Some(Box::new(CachePlan {
        key,
        read: !controls.no_cache,
        write: !controls.no_store,
        ttl,
        max_age_secs: controls.max_age_secs,
    }))
}

/// The stored answer for `plan`, if it may read one and one is there.
pub(super) async fn lookup(
    state: &AppState,
    plan: Option<&CachePlan>,
) -> Option<Arc<CachedAnswer>> {
    let plan = plan.filter(|p| p.read)?;
    state
        .cache
        .get(&plan.key, state.now_ms(), plan.max_age_secs)
        .await
}

/// Stores a fresh answer when `plan` allows it. `completion` carries the provider's usage;
/// `model` is what served it.
pub(super) async fn store(
    state: &AppState,
    plan: Option<&CachePlan>,
    completion: ChatCompletion,
    model: &RoutedModel,
    provider: &str,
    upstream_model: &str,
) {
    let Some(plan) = plan.filter(|p| p.write) else {
        return;
    };
    let Some(usage) = &completion.usage else {
        return;
    };
    let complete = !completion.choices.is_empty()
        && completion.choices.iter().all(|c| c.finish_reason.is_some());
    if !complete {
        return;
    }
    let now = state.now_ms();
    let answer = CachedAnswer {
        cost: model.price().map(|p| p.cost(usage)),
        completion,
        model: model.id.clone(),
        provider: provider.to_owned(),
        upstream_model: upstream_model.to_owned(),
        stored_ms: now,
        expires_ms: now.saturating_add(i64::try_from(plan.ttl.as_millis()).unwrap_or(i64::MAX)),
    };
    state.cache.put(&plan.key, answer, plan.ttl).await;
}

/// What a hit on an answer that cost `original` is charged: `[cache] charge_fraction` of it,
/// in whole nano-units (so the answer shows exactly what the record stores).
fn hit_cost(state: &AppState, original: Option<Money>) -> Option<Money> {
    let original = original?;
    let fraction = state.cache.settings().charge_fraction;
    let amount = original.amount.checked_mul(fraction)?;
    let nanos = Money::new(amount, original.currency).to_nano_units()?;
    Some(Money::from_nano_units(nanos, original.currency))
}

/// Answers an admitted request from the cache: settles its reservation at the hit's charge,
/// writes its one record and returns the stored completion (as a stream when it asked for one).
pub(super) async fn answer_hit(
    state: &AppState,
    proxied: Proxied,
    mut admission: Admission,
    answer: Arc<CachedAnswer>,
) -> Result<ChatAnswer, Failure> {
    let headers = admission.headers();
    let request_id = proxied.id.clone();
    let stream = proxied.stream;
    let task_state = state.clone();
    let kept = answer.clone();
    let work = run_guarded(state, proxied.clone(), async move {
        let (state, answer) = (task_state, kept);
        let cost = hit_cost(&state, answer.cost);
        let usage = answer.completion.usage.clone().unwrap_or_default();
        let now = state.now_ms();
        if let Some(ticket) = admission.ticket.take() {
            state.limits.settle(ticket, 0, cost, now).await;
        }
        let ttft = stream.then(|| (now - proxied.started_ms).max(0));
        let mut record = proxied.record(
            now,
            cost,
            Ending {
                usage: &usage,
                estimated: false,
                ttft_ms: ttft,
                status: 200,
                error_type: None,
                attempts: 0,
                attempt: None,
                log: &[],
                model: &proxied.model,
            },
        );
        record.model.clone_from(&answer.model);
        record.provider.clone_from(&answer.provider);
        record.upstream_model.clone_from(&answer.upstream_model);
        record.cache_hit = true;
        proxied.mark_recorded();
        state.usage.record(record).await;
        (with_cost(usage, cost, false), cost)
    });
    let Some((usage, cost)) = work.await else {
        return Err(super::task_failed(headers, request_id));
    };
    let age_ms = state.now_ms().saturating_sub(answer.stored_ms).max(0);
    let status = Some(CacheStatus::Hit {
        age_secs: u64::try_from(age_ms / 1000).unwrap_or(0),
    });
    if stream {
        let chunks = replay::chunks(&answer.completion);
        let (tx, events) = mpsc::channel(chunks.len() + 1);
        for chunk in chunks {
            let _ = tx.try_send(StreamEvent::Chunk(chunk));
        }
        let c = &answer.completion;
        let mut last = ChatCompletionChunk::new(&c.id, c.created, &c.model);
        last.usage = Some(usage);
        let _ = tx.try_send(StreamEvent::Usage(last));
        return Ok(ChatAnswer::Stream(StreamAnswer {
            request_id,
            headers,
            events,
            cache: status,
        }));
    }
    let mut completion = answer.completion.clone();
    completion.usage = Some(usage);
    Ok(ChatAnswer::Complete(Box::new(Served {
        value: completion,
        request_id,
        headers,
        cost,
        cache: status,
    })))
}
