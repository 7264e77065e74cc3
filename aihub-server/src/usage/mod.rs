//! Usage records: built once per proxied request, written durably before the response
//! completes, by one writer task that group-commits concurrent records in one transaction.

mod writer;

pub use writer::UsageWriter;

use aihub_core::Usage;
use aihub_core::pricing::Money;

use crate::auth::KeyAuth;
use crate::limits::{Ask, Refused, Ticket};
use crate::routing::RoutedModel;
use crate::state::AppState;
use crate::store::UsageRecord;

/// One proxied request: who asked, for which model, since when. It turns what the request
/// used into its [`UsageRecord`].
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Gateway request id (also sent as `x-request-id`).
    pub id: String,
    /// The caller.
    pub auth: KeyAuth,
    /// The model that serves it.
    pub model: RoutedModel,
    /// Start, unix ms.
    pub started_ms: i64,
    /// Streamed or not.
    pub stream: bool,
}

/// How a request ended.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    /// Tokens used (zero when none were consumed).
    pub usage: &'a Usage,
    /// End, unix ms.
    pub finished_ms: i64,
    /// Time to the first streamed token, ms.
    pub ttft_ms: Option<i64>,
    /// HTTP status answered.
    pub status: u16,
    /// Error kind, for failures.
    pub error_type: Option<&'a str>,
}

/// Tokens reserved for a prompt counted at `counted`: a tenth more plus 16, because providers
/// other than OpenAI tokenize differently from the tiktoken count.
pub fn prompt_reservation(counted: u64) -> u64 {
    counted
        .saturating_add(counted.div_ceil(10))
        .saturating_add(16)
}

impl Exchange {
    /// Asks the limiter for this request's worst case: `prompt_tokens` counted, at most
    /// `max_output` produced.
    pub async fn admit(
        &self,
        state: &AppState,
        prompt_tokens: u64,
        max_output: u64,
    ) -> Result<Ticket, Refused> {
        let prompt = prompt_reservation(prompt_tokens);
        let worst_cost = self
            .model
            .info
            .as_ref()
            .and_then(|i| i.price.as_ref())
            .map(|p| p.estimate(prompt, max_output));
        state
            .limits
            .admit(&Ask {
                id: &self.id,
                now_ms: self.started_ms,
                key: &self.auth.key,
                plan: &self.auth.plan,
                prompt_tokens: prompt,
                max_output_tokens: max_output,
                worst_cost,
            })
            .await
    }

    /// The output tokens to reserve for a chat request: its own limit; without one,
    /// `limits.default_max_output`, or the model's maximum output if that is smaller; times
    /// `n` choices.
    pub fn max_output(&self, state: &AppState, request_limit: Option<u32>, n: Option<u32>) -> u64 {
        let per_choice = request_limit.map(u64::from).unwrap_or_else(|| {
            let default = state.limits.settings().default_max_output;
            self.model
                .info
                .as_ref()
                .map(|i| i.max_output)
                .filter(|m| *m > 0)
                .map_or(default, |m| m.min(default))
        });
        per_choice.saturating_mul(u64::from(n.unwrap_or(1).max(1)))
    }

    /// Settles `ticket` with what the request used.
    pub async fn settle(&self, state: &AppState, ticket: Ticket, usage: &Usage) {
        let tokens = usage.prompt_tokens.saturating_add(usage.completion_tokens);
        state
            .limits
            .settle(ticket, tokens, self.cost(usage), state.now_ms())
            .await;
    }

    /// [`settle`](Self::settle) without waiting (from `Drop`).
    pub fn settle_detached(&self, state: &AppState, ticket: Ticket, usage: &Usage) {
        let tokens = usage.prompt_tokens.saturating_add(usage.completion_tokens);
        state
            .limits
            .settle_detached(ticket, tokens, self.cost(usage), state.now_ms());
    }

    /// The cost of `usage` at the model's catalog price, when priced.
    pub fn cost(&self, usage: &Usage) -> Option<Money> {
        let price = self.model.info.as_ref()?.price.as_ref()?;
        Some(price.cost(usage))
    }

    /// The record to store for this request ending with `outcome`.
    pub fn record(&self, outcome: Outcome<'_>) -> UsageRecord {
        let usage = outcome.usage;
        let cost = self.cost(usage);
        let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        UsageRecord {
            id: uuid::Uuid::new_v4(),
            request_id: self.id.clone(),
            created_at: outcome.finished_ms,
            api_key_id: Some(self.auth.key.id),
            user_id: self.auth.key.user_id,
            organization_id: self.auth.key.organization_id,
            team_id: self.auth.key.team_id,
            model: self.model.id.clone(),
            provider: self.model.provider.clone(),
            upstream_model: self.model.upstream.clone(),
            prompt_tokens: to_i64(usage.prompt_tokens),
            completion_tokens: to_i64(usage.completion_tokens),
            cached_tokens: to_i64(usage.cached_tokens()),
            reasoning_tokens: to_i64(usage.reasoning_tokens()),
            cost_nanos: cost.and_then(|c| c.to_nano_units()),
            currency: cost.map(|c| c.currency.code().to_owned()),
            latency_ms: (outcome.finished_ms - self.started_ms).max(0),
            ttft_ms: outcome.ttft_ms,
            status: outcome.status,
            error_type: outcome.error_type.map(str::to_owned),
            stream: self.stream,
            attempts: 1,
            usage_estimated: false,
            upstream_request_id: None,
        }
    }

    /// The record of a request that ended with `result` (no stream): usage on success,
    /// nothing used and the error's status on failure.
    pub fn record_result<T>(
        &self,
        finished_ms: i64,
        result: &Result<T, aihub_core::Error>,
        usage_of: impl Fn(&T) -> Usage,
    ) -> UsageRecord {
        let (usage, status, error_type) = match result {
            Ok(v) => (usage_of(v), 200, None),
            Err(e) => (Usage::default(), e.status(), Some(e.kind())),
        };
        self.record(Outcome {
            usage: &usage,
            finished_ms,
            ttft_ms: None,
            status,
            error_type,
        })
    }
}
