//! The end of an admitted request: settling its ticket (also when it was let through
//! unchecked, and when it is dropped unsettled), renewing its lease while it runs, and waiting
//! for the settlements still in the background at shutdown.

use std::time::{Duration, Instant};

use aihub_core::pricing::Money;

use super::backend::{BackendError, RateRefund, Renewal, Settlement, SpendSettle};
use super::{Counted, Limiter, MINUTE_MS, Ticket, nanos_in, to_i64};

/// How long a failed settlement of a checked ticket is retried. Its reservation ends with its
/// lease anyway; the retries are for the usage it adds.
const RETRY_CHECKED: Duration = Duration::from_secs(120);
/// The shortest time a settlement of an unchecked ticket is retried for (see
/// [`Limiter::settle`]); normally it is `limits.lease`.
const RETRY_UNCHECKED_AT_LEAST: Duration = Duration::from_secs(60);

/// Milliseconds in `d`, saturating.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Limiter {
    /// Settles `ticket` with what the request really used: `tokens` (prompt plus completion)
    /// and `cost` (at the catalog price, when priced). Retries in the background when the
    /// backend is unavailable; settlement is idempotent, so nothing is counted twice.
    ///
    /// A ticket let through unchecked (the backend was down and `limits.on_backend_error` is
    /// `open`) reserved nothing; its use is added to the counters it would have taken from,
    /// in the background, retried until the backend answers (for up to `limits.lease`; after
    /// that its usage record counts when the counters are next seeded).
    pub async fn settle(&self, mut ticket: Ticket, tokens: u64, cost: Option<Money>, now_ms: i64) {
        if !ticket.checked && ticket.spends.is_empty() {
            ticket.guard = None;
            return;
        }
        let settlement = self.settlement(&ticket, tokens, cost, now_ms);
        if !ticket.checked {
            ticket.guard = None;
            let this = self.clone();
            self.0
                .tasks
                .spawn(async move { this.retry_settle(ticket, settlement, None).await });
            return;
        }
        // Awaited here, with the ticket's drop guard still armed and told what to settle
        // with: if this future is dropped before the backend answered, the ticket settles
        // itself in the background with the same usage (settlements are idempotent by
        // request id, so a settlement that did reach the backend is not counted twice).
        ticket.if_dropped = (tokens, cost);
        self.settle_checked(ticket, settlement).await;
    }

    async fn settle_checked(&self, mut ticket: Ticket, settlement: Settlement) {
        let result = self.0.backend.settle(&settlement).await;
        ticket.guard = None;
        match result {
            Ok(states) => {
                self.check_soft_limits(&ticket, &states, settlement.now_ms)
                    .await;
            }
            Err(e) => {
                tracing::warn!(request_id = %ticket.id, error = %e, "settlement failed; retrying in the background");
                let this = self.clone();
                self.0
                    .tasks
                    .spawn(async move { this.retry_settle(ticket, settlement, Some(e)).await });
            }
        }
    }

    /// [`settle`](Self::settle) from a context that cannot wait (a dropped stream).
    pub fn settle_detached(&self, ticket: Ticket, tokens: u64, cost: Option<Money>, now_ms: i64) {
        let this = self.clone();
        self.0
            .tasks
            .spawn(async move { this.settle(ticket, tokens, cost, now_ms).await });
    }

    /// How often the request path should [`renew`](Self::renew) the ticket of a request
    /// still running: a third of `limits.lease`, so that two renewals can fail before the
    /// lease ends.
    pub fn renew_every(&self) -> Duration {
        (self.0.settings.lease / 3).max(Duration::from_millis(1))
    }

    /// Whether a request holding `ticket` must [`renew`](Self::renew) it while it runs for
    /// at most `runs_for` more (`None`: unbounded). Not when the ticket holds nothing that
    /// a lease ends (no spend reservation, no concurrency slot, or let through unchecked),
    /// nor when the request is bound to end before its lease does, with
    /// [`renew_every`](Self::renew_every) to spare: a non-stream attempt bounded by an
    /// upstream timeout shorter than the lease then sets no timer at all.
    pub fn must_renew(&self, ticket: &Ticket, runs_for: Option<Duration>) -> bool {
        if !ticket.checked || (ticket.spends.is_empty() && ticket.concurrency.is_empty()) {
            return false;
        }
        runs_for.is_none_or(|d| {
            ticket.admitted_at.elapsed() + d + self.renew_every() > self.0.settings.lease
        })
    }

    /// Extends the lease of `ticket`'s reservations and concurrency slot to `limits.lease`
    /// from `now_ms`, so that a request running longer than the lease keeps them and lets no
    /// more requests in than its limits allow. Call it every [`renew_every`](Self::renew_every)
    /// while the request runs (a long stream), until it is settled. Returns false when the
    /// backend did not answer or part of the ticket was already released (its lease ran out
    /// before this renewal); the request may go on either way.
    pub async fn renew(&self, ticket: &Ticket, now_ms: i64) -> bool {
        if !ticket.checked || (ticket.spends.is_empty() && ticket.concurrency.is_empty()) {
            return true;
        }
        let renewal = Renewal {
            id: ticket.id.clone(),
            now_ms,
            lease_ms: millis(self.0.settings.lease),
            spends: ticket.spends.iter().map(|s| s.key.clone()).collect(),
            concurrency: ticket.concurrency.clone(),
        };
        let expected = renewal.spends.len() + renewal.concurrency.len();
        match self.0.backend.renew(&renewal).await {
            Ok(held) if held == expected => true,
            Ok(held) => {
                tracing::warn!(request_id = %ticket.id, held, expected, "lease renewal came too late for part of the request's reservations");
                false
            }
            Err(e) => {
                tracing::warn!(request_id = %ticket.id, error = %e, "lease renewal failed; retried at the next interval");
                false
            }
        }
    }

    /// Waits up to `deadline` for the limiter's background work: settlements being retried
    /// or caught up, tickets released after being dropped, alert webhooks. Returns false if
    /// some was still running (it is abandoned with the process; the usage records count at
    /// the next seeding).
    pub async fn drain(&self, deadline: Duration) -> bool {
        let done = self.0.tasks.drain(deadline).await;
        if !done {
            tracing::warn!(
                tasks = self.0.tasks.running(),
                "limiter background work still running at the shutdown deadline"
            );
        }
        done
    }

    /// Retries `settlement` with backoff until the backend answers or the bound for this
    /// kind of ticket has passed. `last` is the first attempt's error, when there was one
    /// (an unchecked ticket's first attempt is the first loop round).
    async fn retry_settle(
        &self,
        ticket: Ticket,
        mut settlement: Settlement,
        mut last: Option<BackendError>,
    ) {
        let started = Instant::now();
        let bound = if ticket.checked {
            RETRY_CHECKED
        } else {
            self.0.settings.lease.max(RETRY_UNCHECKED_AT_LEAST)
        };
        let mut wait = Duration::from_millis(500);
        loop {
            if last.is_some() {
                if started.elapsed() + wait > bound {
                    break;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
            // The caller's clock, moved on by the time spent retrying.
            settlement.now_ms = settlement
                .ended_ms
                .saturating_add(millis(started.elapsed()));
            match self.0.backend.settle(&settlement).await {
                Ok(states) => {
                    if !ticket.checked {
                        tracing::info!(request_id = %ticket.id, "usage of a request let through unchecked is counted");
                    }
                    self.check_soft_limits(&ticket, &states, settlement.now_ms)
                        .await;
                    return;
                }
                Err(e) => last = Some(e),
            }
        }
        let error = last.map(|e| e.to_string()).unwrap_or_default();
        tracing::error!(request_id = %ticket.id, error = %error, "settlement abandoned: the reservation is released when its lease ends, and the usage record in the database counts when counters are next seeded");
    }

    fn settlement(
        &self,
        ticket: &Ticket,
        tokens: u64,
        cost: Option<Money>,
        now_ms: i64,
    ) -> Settlement {
        let refund = ticket.reserved_tokens.saturating_sub(tokens);
        Settlement {
            id: ticket.id.clone(),
            now_ms,
            ended_ms: now_ms,
            rate_refunds: ticket
                .token_rates
                .iter()
                .map(|(key, limit)| RateRefund {
                    key: key.clone(),
                    limit: *limit,
                    period_ms: MINUTE_MS,
                    units: refund,
                })
                .collect(),
            spends: ticket
                .spends
                .iter()
                .map(|s| SpendSettle {
                    key: s.key.clone(),
                    reserved: s.amount,
                    actual: match &s.counted {
                        Counted::Quota => to_i64(tokens),
                        Counted::Budget { currency, .. } => cost
                            .and_then(|c| nanos_in(&self.0.billing, c, *currency))
                            .unwrap_or(0),
                    },
                    expires_at_ms: s.expires_at_ms,
                })
                .collect(),
            concurrency: ticket.concurrency.clone(),
        }
    }
}

impl Drop for Ticket {
    /// A ticket dropped unsettled (a panic, an early return, a cancelled future) releases its
    /// reservations and concurrency slot at once, in the background, as a settlement with the
    /// usage [`Ticket::bill_if_dropped`] set (none by default). A settled ticket does nothing
    /// here.
    fn drop(&mut self) {
        let Some(limiter) = self.guard.take() else {
            return;
        };
        tracing::warn!(request_id = %self.id, "admission ticket dropped without settlement; releasing its reservations");
        let now_ms = self
            .admitted_ms
            .saturating_add(millis(self.admitted_at.elapsed()));
        let ticket = Ticket {
            id: std::mem::take(&mut self.id),
            checked: self.checked,
            reserved_tokens: self.reserved_tokens,
            token_rates: std::mem::take(&mut self.token_rates),
            spends: std::mem::take(&mut self.spends),
            concurrency: std::mem::take(&mut self.concurrency),
            headers: self.headers,
            admitted_ms: self.admitted_ms,
            admitted_at: self.admitted_at,
            guard: None,
            if_dropped: (0, None),
        };
        let (tokens, cost) = self.if_dropped;
        limiter.settle_detached(ticket, tokens, cost, now_ms);
    }
}
