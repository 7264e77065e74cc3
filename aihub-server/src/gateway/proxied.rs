//! One proxied request: who asked, for which model, since when; how it is admitted, settled
//! and turned into its usage record.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aihub_core::Usage;
use aihub_core::client::AttemptInfo;
use aihub_core::pricing::Money;
use futures::FutureExt;
use tokio::task::JoinHandle;

use crate::auth::KeyAuth;
use crate::limits::{Ask, Refused, Ticket};
use crate::routing::RoutedModel;
use crate::state::AppState;
use crate::store::UsageRecord;

/// A request the pipeline admitted or is about to: everything its record needs. Cheap to
/// clone: the caller and the model are shared.
#[derive(Debug, Clone)]
pub struct Proxied {
    /// Gateway request id (also sent as `x-request-id`).
    pub id: String,
    /// The caller.
    pub caller: Arc<KeyAuth>,
    /// The model that serves it, resolved once.
    pub model: Arc<RoutedModel>,
    /// Arrival, unix ms.
    pub started_ms: i64,
    /// Streamed or not.
    pub stream: bool,
    /// Prompt tokens counted locally (the reservation's basis and the fallback estimate).
    pub prompt_tokens: u64,
    /// Set once the request's record is on its way to the store (shared by clones).
    recorded: Arc<AtomicBool>,
}

/// How a request ended, for its record.
#[derive(Debug, Clone, Copy)]
pub struct Ending<'a> {
    /// Tokens billed (reported by the provider, or estimated).
    pub usage: &'a Usage,
    /// True when the gateway counted the tokens itself.
    pub estimated: bool,
    /// Time to the first streamed token, ms.
    pub ttft_ms: Option<i64>,
    /// HTTP status answered (499 when the client left first).
    pub status: u16,
    /// Error kind, for failures.
    pub error_type: Option<&'a str>,
    /// Upstream attempts made.
    pub attempts: u32,
    /// The attempt that served (or the last one tried).
    pub attempt: Option<&'a AttemptInfo>,
    /// Every attempt made, in order.
    pub log: &'a [crate::store::AttemptRecord],
    /// The model that served (or was tried last): what the request is billed at.
    pub model: &'a RoutedModel,
}

/// Tokens reserved for a prompt counted at `counted`: a tenth more plus 16, because providers
/// other than OpenAI tokenize differently from the tiktoken count.
pub fn prompt_reservation(counted: u64) -> u64 {
    counted
        .saturating_add(counted.div_ceil(10))
        .saturating_add(16)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Proxied {
    /// A request of `caller` for `model`, admitted or about to be, with its locally counted
    /// prompt.
    pub fn new(
        id: String,
        caller: KeyAuth,
        model: Arc<RoutedModel>,
        started_ms: i64,
        stream: bool,
        prompt_tokens: u64,
    ) -> Self {
        Self {
            id,
            caller: Arc::new(caller),
            model,
            started_ms,
            stream,
            prompt_tokens,
            recorded: Arc::default(),
        }
    }

    /// What a request whose task failed (panicked) is billed: the counted prompt, estimated,
    /// at the model's price. Its ticket is settled with it and its record shows it.
    fn failed_usage(&self) -> (Usage, Option<Money>) {
        let usage = Usage::new(self.prompt_tokens, 0);
        let cost = self.cost(&usage);
        (usage, cost)
    }

    /// The worst case of this request on `model`: the counted prompt with its margin and
    /// `max_output` produced, at the model's price; `None` when unpriced.
    pub fn worst_case(&self, model: &RoutedModel, max_output: u64) -> Option<Money> {
        let prompt = prompt_reservation(self.prompt_tokens);
        model.price().map(|p| p.estimate(prompt, max_output))
    }

    /// Asks the limiter for this request's worst case: the counted prompt with its margin,
    /// and at most `max_output` produced. The ticket, if its request's task fails before
    /// settling it, is settled with [`failed_usage`](Self::failed_usage).
    pub async fn admit(&self, state: &AppState, max_output: u64) -> Result<Ticket, Refused> {
        let worst = self.worst_case(&self.model, max_output);
        self.admit_at(state, &self.id, &self.model, max_output, worst)
            .await
    }

    /// [`admit`](Self::admit), with what the attempts need to know of the reservation.
    pub async fn admission(
        &self,
        state: &AppState,
        max_output: u64,
    ) -> Result<super::Admission, Refused> {
        let worst = self.worst_case(&self.model, max_output);
        let ticket = self
            .admit_at(state, &self.id, &self.model, max_output, worst)
            .await?;
        Ok(super::Admission::new(ticket, worst, max_output))
    }

    /// [`admit`](Self::admit) for an attempt on `model` (a fallback) under the reservation
    /// id `id`, whose worst case is `worst_cost`.
    pub(super) async fn admit_at(
        &self,
        state: &AppState,
        id: &str,
        model: &RoutedModel,
        max_output: u64,
        worst_cost: Option<Money>,
    ) -> Result<Ticket, Refused> {
        let prompt = prompt_reservation(self.prompt_tokens);
        let missing_price = model.missing_price();
        let mut ticket = state
            .limits
            .admit(&Ask {
                id,
                now_ms: self.started_ms,
                key: &self.caller.key,
                plan: &self.caller.plan,
                prompt_tokens: prompt,
                max_output_tokens: max_output,
                worst_cost,
                missing_price: missing_price.as_deref(),
            })
            .await?;
        let usage = Usage::new(self.prompt_tokens, 0);
        let cost = model.price().map(|p| p.cost(&usage));
        ticket.bill_if_dropped(usage.prompt_tokens, cost);
        Ok(ticket)
    }

    /// The output tokens to reserve per choice: the request's own limit; without one,
    /// `limits.default_max_output`, or the model's maximum output if that is smaller.
    pub fn output_per_choice(&self, state: &AppState, request_limit: Option<u32>) -> u64 {
        request_limit.map(u64::from).unwrap_or_else(|| {
            let default = state.limits.settings().default_max_output;
            self.model
                .info
                .as_ref()
                .map(|i| i.max_output)
                .filter(|m| *m > 0)
                .map_or(default, |m| m.min(default))
        })
    }

    /// Notes that this request's record is on its way to the store (written by the caller).
    pub(crate) fn mark_recorded(&self) {
        self.recorded.store(true, Ordering::Release);
    }

    /// The cost of `usage` at the model's price, when priced.
    pub fn cost(&self, usage: &Usage) -> Option<Money> {
        self.model.price().map(|p| p.cost(usage))
    }

    /// Settles `ticket` with what the request used and writes its one usage record;
    /// returns what it cost (at the price of the model that served). The record is durable
    /// when this returns. Without a ticket (a fallback's re-admission was refused after the
    /// first reservation was released) only the record is written.
    pub async fn finish(
        &self,
        state: &AppState,
        ticket: Option<Ticket>,
        ending: Ending<'_>,
    ) -> Option<Money> {
        let cost = ending.model.price().map(|p| p.cost(ending.usage));
        let tokens = ending
            .usage
            .prompt_tokens
            .saturating_add(ending.usage.completion_tokens);
        if let Some(ticket) = ticket {
            state
                .limits
                .settle(ticket, tokens, cost, state.now_ms())
                .await;
        }
        self.recorded.store(true, Ordering::Release);
        state
            .usage
            .record(self.record(state.now_ms(), cost, ending))
            .await;
        cost
    }

    /// The record of this request ending with `ending` at `finished_ms`.
    pub fn record(&self, finished_ms: i64, cost: Option<Money>, ending: Ending<'_>) -> UsageRecord {
        let usage = ending.usage;
        let (provider, upstream) = match ending.attempt {
            Some(a) if !a.provider.is_empty() => (a.provider.clone(), a.upstream_model.clone()),
            _ => (ending.model.provider.clone(), ending.model.upstream.clone()),
        };
        UsageRecord {
            id: uuid::Uuid::new_v4(),
            request_id: self.id.clone(),
            created_at: finished_ms,
            api_key_id: Some(self.caller.key.id),
            user_id: self.caller.key.user_id,
            organization_id: self.caller.key.organization_id,
            team_id: self.caller.key.team_id,
            model: ending.model.id.clone(),
            provider,
            upstream_model: upstream,
            prompt_tokens: to_i64(usage.prompt_tokens),
            completion_tokens: to_i64(usage.completion_tokens),
            cached_tokens: to_i64(usage.cached_tokens()),
            reasoning_tokens: to_i64(usage.reasoning_tokens()),
            cost_nanos: cost.and_then(|c| c.to_nano_units()),
            currency: cost.map(|c| c.currency.code().to_owned()),
            latency_ms: (finished_ms - self.started_ms).max(0),
            ttft_ms: ending.ttft_ms,
            status: ending.status,
            error_type: ending.error_type.map(str::to_owned),
            stream: self.stream,
            attempts: ending.attempts,
            usage_estimated: ending.estimated,
            upstream_request_id: ending.attempt.and_then(|a| a.upstream_request_id.clone()),
            cache_hit: false,
            attempt_log: ending.log.to_vec(),
        }
    }
}

/// Runs a request's work (its attempts, settlement and record) in a tracked task of its own;
/// `guard` is a clone of the request the work owns. A client that leaves does not cancel it.
/// See [`guarded`] for what happens when the work panics. The handle yields `None` after a
/// panic.
pub fn spawn_guarded<F>(state: &AppState, guard: Proxied, work: F) -> JoinHandle<Option<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    state.tasks.spawn(guarded(state, guard, work))
}

/// Runs a request's work in the caller's own task (no task to spawn, no wake-up to hand
/// over): if the caller is dropped before the work finished (its client left), the work moves
/// to a tracked task of its own and finishes there, so a client that leaves still cancels
/// nothing. See [`guarded`] for what happens when the work panics; the future yields `None`
/// then.
pub fn run_guarded<F>(state: &AppState, guard: Proxied, work: F) -> Detaching<Option<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Detaching {
        work: Some(Box::pin(guarded(state, guard, work))),
        tasks: state.tasks.clone(),
    }
}

/// A request's work polled where it is awaited, moved to a task of its own if dropped first
/// (it is boxed: moving it moves a pointer, the work itself stays where it was pinned).
pub struct Detaching<T: 'static> {
    work: Option<std::pin::Pin<Box<dyn Future<Output = T> + Send>>>,
    tasks: crate::tasks::Tasks,
}

impl<T: 'static> Future for Detaching<T> {
    type Output = T;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<T> {
        let Some(work) = self.work.as_mut() else {
            return std::task::Poll::Pending;
        };
        let out = work.as_mut().poll(cx);
        if out.is_ready() {
            self.work = None;
        }
        out
    }
}

impl<T: 'static> Drop for Detaching<T> {
    fn drop(&mut self) {
        if let Some(work) = self.work.take() {
            self.tasks.spawn_if_running(async move {
                let _ = work.await;
            });
        }
    }
}

/// A request's work that cannot leave it unrecorded: if the work panics before it wrote the
/// request's record, the record is written here: status 500, `gateway_error`, the counted
/// prompt as estimated usage at the model's price (the upstream may have been called and
/// may bill). A gateway bug therefore never leaves an admitted request unrecorded; the ticket,
/// dropped with the work, is settled with the same usage and releases its slot. Yields
/// `None` after a panic.
fn guarded<F>(
    state: &AppState,
    guard: Proxied,
    work: F,
) -> impl Future<Output = Option<F::Output>> + Send + 'static
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let guard_state = state.clone();
    // Boxed once here, so that moving the guarded future moves a pointer rather than the
    // whole request future.
    let work = Box::pin(work);
    async move {
        match AssertUnwindSafe(work).catch_unwind().await {
            Ok(out) => Some(out),
            Err(_) => {
                tracing::error!(request_id = %guard.id, "request task panicked");
                if !guard.recorded.swap(true, Ordering::AcqRel) {
                    let (usage, cost) = guard.failed_usage();
                    let record = guard.record(
                        guard_state.now_ms(),
                        cost,
                        Ending {
                            usage: &usage,
                            estimated: true,
                            ttft_ms: None,
                            status: 500,
                            error_type: Some("gateway_error"),
                            attempts: 1,
                            attempt: None,
                            log: &[],
                            model: &guard.model,
                        },
                    );
                    guard_state.usage.record(record).await;
                }
                None
            }
        }
    }
}

/// Runs `work` while keeping `ticket`'s reservations and slot alive: every
/// `Limiter::renew_every` (a third of `limits.lease_secs`) the lease is renewed, so a request
/// that runs longer than its lease never lets more requests in. `work` is boxed by the
/// caller (`Unpin`): an async function keeps its arguments for its whole life, so a large
/// future passed by value would be stored twice in every request's future.
pub async fn renewing<F: Future + Unpin>(
    state: &AppState,
    request_id: &str,
    ticket: &Ticket,
    mut work: F,
) -> F::Output {
    let every = state.limits.renew_every();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = tick.tick() => {
                // Boxed: renewing is rare, and its backend call's future would otherwise
                // make every request's future larger.
                if !Box::pin(state.limits.renew(ticket, state.now_ms())).await {
                    tracing::warn!(request_id, "could not renew a running request's reservation");
                }
            }
        }
    }
}

/// `usage` with the gateway's charge written into it, as the caller sees it.
pub fn with_cost(mut usage: Usage, cost: Option<Money>, estimated: bool) -> Usage {
    if let Some(c) = cost {
        usage.cost = Some(c.amount.normalize());
        usage.cost_currency = Some(c.currency.code().to_owned());
    }
    if estimated {
        usage.estimated = Some(true);
    }
    usage
}

#[cfg(test)]
#[path = "proxied_tests.rs"]
mod tests;
