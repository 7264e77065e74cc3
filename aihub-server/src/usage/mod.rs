//! Usage records: built once per proxied request, written durably before the response
//! completes, by one writer task that group-commits concurrent records in one transaction.

mod writer;

pub use writer::UsageWriter;

use aihub_core::Usage;
use aihub_core::pricing::Money;

use crate::auth::KeyAuth;
use crate::routing::RoutedModel;
use crate::store::UsageRecord;

/// What the gateway learnt about one request, turned into a [`UsageRecord`].
#[derive(Debug, Clone)]
pub struct RequestOutcome<'a> {
    /// Gateway request id.
    pub request_id: &'a str,
    /// The caller.
    pub auth: &'a KeyAuth,
    /// The model that served (or was asked for).
    pub model: &'a RoutedModel,
    /// Token usage (zero when none was consumed).
    pub usage: &'a Usage,
    /// Start of the request, unix ms.
    pub started_ms: i64,
    /// End of the request, unix ms.
    pub finished_ms: i64,
    /// Time to the first streamed token, ms.
    pub ttft_ms: Option<i64>,
    /// HTTP status answered.
    pub status: u16,
    /// Error kind, for failures.
    pub error_type: Option<&'a str>,
    /// Streamed or not.
    pub stream: bool,
}

impl RequestOutcome<'_> {
    /// The cost of the usage at the model's catalog price, when priced.
    pub fn cost(&self) -> Option<Money> {
        let price = self.model.info.as_ref()?.price.as_ref()?;
        Some(price.cost(self.usage))
    }

    /// The record to store.
    pub fn record(&self) -> UsageRecord {
        let cost = self.cost();
        let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        UsageRecord {
            id: uuid::Uuid::new_v4(),
            request_id: self.request_id.to_owned(),
            created_at: self.finished_ms,
            api_key_id: Some(self.auth.key.id),
            user_id: self.auth.key.user_id,
            organization_id: self.auth.key.organization_id,
            team_id: self.auth.key.team_id,
            model: self.model.id.clone(),
            provider: self.model.provider.clone(),
            upstream_model: self.model.upstream.clone(),
            prompt_tokens: to_i64(self.usage.prompt_tokens),
            completion_tokens: to_i64(self.usage.completion_tokens),
            cached_tokens: to_i64(self.usage.cached_tokens()),
            reasoning_tokens: to_i64(self.usage.reasoning_tokens()),
            cost_nanos: cost.and_then(|c| c.to_nano_units()),
            currency: cost.map(|c| c.currency.code().to_owned()),
            latency_ms: (self.finished_ms - self.started_ms).max(0),
            ttft_ms: self.ttft_ms,
            status: self.status,
            error_type: self.error_type.map(str::to_owned),
            stream: self.stream,
        }
    }
}
