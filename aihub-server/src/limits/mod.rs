//! Plans, monthly token quotas, rate limits and budgets, enforced before a request goes
//! upstream and settled after it.
//!
//! Every proxied request goes through [`Limiter::admit`]: it reserves the request's worst case
//! — counted prompt tokens (plus a margin for tokenizer differences) and the most output it
//! may produce, priced at the catalog's dearest input and output prices — on every counter
//! that applies (the user's monthly token quota, each hard budget of the key and the user),
//! takes one unit from the per-minute request buckets and the reserved tokens from the
//! per-minute token buckets, and a concurrency slot — all or nothing, atomically, in this
//! process or in Redis. When the request ends, [`Limiter::settle`] adds what it really used and
//! releases the rest.
//!
//! The bound on overspend: a counter's `used + reserved` never exceeds its limit at admission,
//! and a request's real use exceeds its reservation only if the provider counts more prompt
//! tokens than the reserved count with its margin, or returns more output than `max_tokens`
//! allowed. So spend ≤ limit + Σ max(0, real − reserved) over requests in flight, which is
//! zero when providers honour `max_tokens` and the prompt count is within the margin. Lost
//! state widens it: a restarted Redis, or a counter seeded while requests were in flight,
//! forgets those in-flight reservations (at most one worst case per request then in flight).

mod alerts;
pub mod backend;
mod headers;
mod refusal;
mod settle;
mod tasks;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aihub_core::pricing::{Currency, Money};
use uuid::Uuid;

pub use headers::{RateHeaders, go_duration};
pub use refusal::{RateKind, Refused};

use refusal::{too_large, unpriced};

use self::backend::{
    Admission, Admit, Concurrency, LimitBackend, MemoryBackend, Rate, RedisBackend, Spend,
    SpendState,
};
use crate::config::{Alerts, Billing, Config, LimitSettings, OnBackendError, Plan};
use crate::error::ApiError;
use crate::store::{ApiKey, Budget, BudgetPeriod, BudgetScope, Store};
use crate::timeutil::{month_start_ms, next_month_start_ms, rfc3339};

/// One minute, the period of every rate limit.
const MINUTE_MS: u64 = 60_000;
/// Counters are kept this long after their period ends.
const COUNTER_GRACE_MS: i64 = 86_400_000;

/// What a request asks the limiter for.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    /// The gateway request id.
    pub id: &'a str,
    /// Now, unix ms.
    pub now_ms: i64,
    /// The key the request came with.
    pub key: &'a ApiKey,
    /// The key owner's plan id.
    pub plan: &'a str,
    /// Counted prompt tokens.
    pub prompt_tokens: u64,
    /// The most output tokens the request may produce.
    pub max_output_tokens: u64,
    /// The most the request may cost (catalog price of the reserved tokens), when priced.
    pub worst_cost: Option<Money>,
    /// When `worst_cost` is `None`: which price is missing, for the refusal's message
    /// (`` `mock/x` is not in the gateway's catalog and … ``).
    pub missing_price: Option<&'a str>,
}

/// What to do with a counter's settled amount.
#[derive(Debug, Clone)]
enum Counted {
    /// The user's monthly token quota.
    Quota,
    /// A budget, in its currency.
    Budget {
        budget: Budget,
        currency: Currency,
        period_start: i64,
    },
}

#[derive(Debug, Clone)]
struct Reserved {
    key: String,
    amount: i64,
    expires_at_ms: i64,
    counted: Counted,
}

/// An admitted request's reservations, to be settled when it ends.
///
/// A drop guard: a ticket dropped without [`Limiter::settle`] (a panic, an early return, a
/// cancelled future) releases its reservations and concurrency slot in the background,
/// settled with what [`Ticket::bill_if_dropped`] set (nothing by default).
pub struct Ticket {
    id: String,
    /// False when the backend failed and the configuration let the request through; its
    /// `spends` are then the counters its use is added to once the backend answers.
    checked: bool,
    reserved_tokens: u64,
    token_rates: Vec<(String, u64)>,
    spends: Vec<Reserved>,
    concurrency: Vec<String>,
    /// The `x-ratelimit-*` headers for the response.
    pub headers: RateHeaders,
    /// The caller's clock at admission, and when that was: the time of a settlement from
    /// `Drop`.
    admitted_ms: i64,
    admitted_at: Instant,
    /// Who releases the ticket if it is dropped unsettled; `None` once settled.
    guard: Option<Limiter>,
    /// What a ticket dropped unsettled is settled with: tokens and cost (nothing unless
    /// [`Ticket::bill_if_dropped`] said otherwise).
    if_dropped: (u64, Option<Money>),
}

/// The gateway's limit enforcement: one per process.
#[derive(Debug, Clone)]
pub struct Limiter(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    backend: LimitBackend,
    settings: LimitSettings,
    plans: std::collections::BTreeMap<String, Plan>,
    /// The plan of users whose plan id is not configured.
    default_plan: Plan,
    billing: Billing,
    alerts: Alerts,
    store: Store,
    http: reqwest::Client,
    /// Soft-limit alerts this instance knows were sent: `(budget id, period start)`.
    alerted: Mutex<HashSet<(Uuid, i64)>>,
    /// Settlement retries and catch-ups, released dropped tickets, alert webhooks.
    tasks: tasks::Tasks,
}

/// The start of a budget's current period and when its counter may be forgotten.
fn period_of(period: BudgetPeriod, now_ms: i64, settings: &LimitSettings) -> (i64, i64) {
    match period {
        BudgetPeriod::Monthly => (
            month_start_ms(now_ms, &settings.timezone),
            next_month_start_ms(now_ms, &settings.timezone).saturating_add(COUNTER_GRACE_MS),
        ),
        BudgetPeriod::Lifetime => (0, i64::MAX),
    }
}

/// Nano-units of `money` in `currency`, rounded up (reservations never round in the caller's
/// favour); `None` when no exchange rate connects the two.
fn nanos_in(billing: &Billing, money: Money, currency: Currency) -> Option<i64> {
    let converted = billing.convert(money, currency)?;
    let nanos = converted
        .amount
        .checked_mul(rust_decimal::Decimal::from(1_000_000_000))?
        .ceil();
    rust_decimal::prelude::ToPrimitive::to_i64(&nanos)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Limiter {
    /// The limiter for `config`: in-process, or in Redis when `redis_url` is set.
    pub async fn start(config: &Config, store: Store) -> Result<Self, String> {
        let backend = match &config.redis_url {
            Some(url) => LimitBackend::Redis(
                RedisBackend::connect(url, config.limits.backend_timeout)
                    .await
                    .map_err(|e| e.to_string())?,
            ),
            None => LimitBackend::Memory(MemoryBackend::new()),
        };
        let default_plan = config
            .plans
            .get(&config.limits.default_plan)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "limits.default_plan: no plan {:?}",
                    config.limits.default_plan
                )
            })?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("alert webhook client: {e}"))?;
        Ok(Self(Arc::new(Inner {
            backend,
            settings: config.limits.clone(),
            plans: config.plans.clone(),
            default_plan,
            billing: config.billing.clone(),
            alerts: config.alerts.clone(),
            store,
            http,
            alerted: Mutex::new(HashSet::new()),
            tasks: tasks::Tasks::new(),
        })))
    }

    /// The plan with this id, or the default plan when it is not configured.
    pub fn plan(&self, id: &str) -> &Plan {
        self.0.plans.get(id).unwrap_or(&self.0.default_plan)
    }

    /// Every configured plan.
    pub fn plans(&self) -> impl Iterator<Item = &Plan> {
        self.0.plans.values()
    }

    /// The limit settings.
    pub fn settings(&self) -> &LimitSettings {
        &self.0.settings
    }

    /// The billing currency and rates.
    pub fn billing(&self) -> &Billing {
        &self.0.billing
    }

    /// Reserves `ask`'s worst case on every limit that applies, or refuses it with the
    /// OpenAI error a client expects (429 `rate_limit_exceeded` with `Retry-After`, 429
    /// `insufficient_quota`), or 503 when the backend is unavailable and limits fail closed.
    pub async fn admit(&self, ask: &Ask<'_>) -> Result<Ticket, Refused> {
        let inner = &self.0;
        let plan = self.plan(ask.plan);
        let key = ask.key;
        let tokens = ask.prompt_tokens.saturating_add(ask.max_output_tokens);

        let mut rates = Vec::new();
        let mut rate_kinds = Vec::new();
        let mut add_rate = |key: String, limit: u64, cost: u64, kind: RateKind| {
            rates.push(Rate {
                key,
                limit,
                period_ms: MINUTE_MS,
                cost,
            });
            rate_kinds.push(kind);
        };
        if let Some(rpm) = plan.rpm {
            add_rate(
                format!("rpm:org:{}", key.organization_id),
                rpm.into(),
                1,
                RateKind::UserRequests,
            );
        }
        if let Some(rpm) = key.limits.rpm_limit {
            add_rate(
                format!("rpm:key:{}", key.id),
                rpm.into(),
                1,
                RateKind::KeyRequests,
            );
        }
        if let Some(tpm) = plan.tpm {
            add_rate(
                format!("tpm:org:{}", key.organization_id),
                tpm,
                tokens,
                RateKind::UserTokens,
            );
        }
        if let Some(tpm) = key.limits.tpm_limit {
            add_rate(
                format!("tpm:key:{}", key.id),
                tpm,
                tokens,
                RateKind::KeyTokens,
            );
        }
        for (rate, kind) in rates.iter().zip(&rate_kinds) {
            if rate.cost > rate.limit {
                return Err(too_large(*kind, rate.limit, rate.cost));
            }
        }

        let mut spends = Vec::new();
        let mut spend_limits = Vec::new();
        if let Some(quota) = plan.monthly_tokens {
            let start = month_start_ms(ask.now_ms, &inner.settings.timezone);
            let end = next_month_start_ms(ask.now_ms, &inner.settings.timezone);
            spends.push(Reserved {
                key: format!("quota:org:{}:{start}", key.organization_id),
                amount: to_i64(tokens),
                expires_at_ms: end.saturating_add(COUNTER_GRACE_MS),
                counted: Counted::Quota,
            });
            spend_limits.push(to_i64(quota));
        }
        let budgets = inner
            .store
            .budgets_for_request(key.id, key.user_id, key.team_id, key.organization_id)
            .await;
        let budgets = match budgets {
            Ok(b) => b,
            Err(e) => return self.backend_failed(ask, &format!("reading budgets: {e}"), spends),
        };
        for budget in budgets {
            let Some(currency) = crate::config::parse_currency(&budget.currency) else {
                tracing::error!(budget = %budget.id, currency = %budget.currency, "budget in an unknown currency is not enforced");
                continue;
            };
            if ask.worst_cost.is_none() && budget.hard_limit_nanos.is_some() {
                // Counting it as zero would let an unpriced model spend past every budget.
                return Err(unpriced(budget.scope, ask.missing_price));
            }
            let (period_start, expires_at_ms) =
                period_of(budget.period, ask.now_ms, &inner.settings);
            let amount = match ask.worst_cost {
                Some(cost) => match nanos_in(&inner.billing, cost, currency) {
                    Some(n) => n,
                    None => {
                        tracing::error!(budget = %budget.id, "no exchange rate from {} to {}; the request is not counted against this budget", cost.currency, currency);
                        0
                    }
                },
                None => 0,
            };
            let period_name = match budget.period {
                BudgetPeriod::Monthly => period_start.to_string(),
                BudgetPeriod::Lifetime => "lifetime".to_owned(),
            };
            spend_limits.push(budget.hard_limit_nanos.unwrap_or(i64::MAX));
            spends.push(Reserved {
                key: format!("budget:{}:{period_name}", budget.id),
                amount,
                expires_at_ms,
                counted: Counted::Budget {
                    budget,
                    currency,
                    period_start,
                },
            });
        }

        let mut concurrency = Vec::new();
        // A key's own cap only tightens its plan's (both count requests through this key).
        let cap = match (key.limits.max_concurrent, plan.max_concurrent) {
            (Some(own), Some(plans)) => Some(own.min(plans)),
            (own, plans) => own.or(plans),
        };
        if let Some(max) = cap {
            concurrency.push(Concurrency {
                key: format!("conc:key:{}", key.id),
                max,
            });
        }

        let admission = Admission {
            id: ask.id.to_owned(),
            now_ms: ask.now_ms,
            lease_ms: i64::try_from(inner.settings.lease.as_millis()).unwrap_or(i64::MAX),
            rates,
            spends: spends
                .iter()
                .zip(&spend_limits)
                .map(|(s, limit)| Spend {
                    key: s.key.clone(),
                    limit: *limit,
                    amount: s.amount,
                    expires_at_ms: s.expires_at_ms,
                })
                .collect(),
            concurrency,
        };
        if admission.rates.is_empty()
            && admission.spends.is_empty()
            && admission.concurrency.is_empty()
        {
            return Ok(Ticket::unchecked(ask, Vec::new()));
        }

        let mut answer = None;
        for _ in 0..3 {
            let result = inner.backend.admit(&admission).await;
            match result {
                Err(e) => return self.backend_failed(ask, &e.0, spends),
                Ok(Admit::Unseeded { indices }) => {
                    let mut failed = None;
                    for i in indices {
                        if let Err(e) = self
                            .seed(ask, &spends[i], admission.spends[i].expires_at_ms)
                            .await
                        {
                            failed = Some(e);
                            break;
                        }
                    }
                    if let Some(e) = failed {
                        return self.backend_failed(ask, &e, spends);
                    }
                }
                Ok(other) => {
                    answer = Some(other);
                    break;
                }
            }
        }
        let Some(answer) = answer else {
            return self.backend_failed(ask, "counters could not be seeded", spends);
        };
        match answer {
            Admit::Granted { rates, .. } => Ok(Ticket {
                id: ask.id.to_owned(),
                checked: true,
                reserved_tokens: tokens,
                token_rates: admission
                    .rates
                    .iter()
                    .zip(&rate_kinds)
                    .filter(|(_, k)| k.is_tokens())
                    .map(|(r, _)| (r.key.clone(), r.limit))
                    .collect(),
                spends,
                concurrency: admission
                    .concurrency
                    .iter()
                    .map(|c| c.key.clone())
                    .collect(),
                headers: RateHeaders::from_states(&rate_kinds, &rates),
                admitted_ms: ask.now_ms,
                admitted_at: Instant::now(),
                guard: Some(self.clone()),
                if_dropped: (0, None),
            }),
            Admit::RateLimited {
                index,
                retry_after_ms,
                rates,
            } => {
                let kind = rate_kinds[index];
                let limit = admission.rates[index].limit;
                let wait = Duration::from_millis(retry_after_ms.max(1));
                let detail = aihub_core::ErrorDetail {
                    message: format!(
                        "Rate limit reached for {} on {}: limit {limit}, requested {}. Please try again in {}.",
                        kind.unit_name(),
                        kind.scope_name(),
                        admission.rates[index].cost,
                        go_duration(wait),
                    ),
                    code: Some("rate_limit_exceeded".into()),
                    limit: Some(kind.limit_name().into()),
                    ..aihub_core::ErrorDetail::default()
                };
                Err(Refused {
                    error: ApiError(aihub_core::Error::RateLimit {
                        detail,
                        retry_after: Some(wait),
                    }),
                    headers: Some(RateHeaders::from_states(&rate_kinds, &rates)),
                })
            }
            Admit::OverLimit { index, state } => Err(self.over_limit(
                ask,
                &spends[index],
                admission.spends[index].limit,
                state,
                tokens,
            )),
            Admit::TooConcurrent { .. } => {
                let max = admission.concurrency.first().map_or(0, |c| c.max);
                let whose = if key.limits.max_concurrent == Some(max) {
                    "key.concurrency"
                } else {
                    "plan.concurrency"
                };
                Err(Refused::from(ApiError(aihub_core::Error::RateLimit {
                    detail: aihub_core::ErrorDetail {
                        message: format!(
                            "Too many requests in flight for this API key (at most {max} at once). Please retry when one finishes."
                        ),
                        code: Some("rate_limit_exceeded".into()),
                        limit: Some(whose.into()),
                        ..aihub_core::ErrorDetail::default()
                    },
                    retry_after: Some(Duration::from_secs(1)),
                })))
            }
            Admit::Unseeded { .. } => {
                self.backend_failed(ask, "counters could not be seeded", spends)
            }
        }
    }
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("id", &self.id)
            .field("checked", &self.checked)
            .field("reserved_tokens", &self.reserved_tokens)
            .field("spends", &self.spends.len())
            .field("concurrency", &self.concurrency)
            .field("armed", &self.guard.is_some())
            .finish_non_exhaustive()
    }
}

impl Ticket {
    /// What this ticket is settled with if it is dropped unsettled (a panic in the request's
    /// task): the request path sets the usage its record would then show, so that the
    /// counters and the record agree.
    pub fn bill_if_dropped(&mut self, tokens: u64, cost: Option<Money>) {
        self.if_dropped = (tokens, cost);
    }

    /// A ticket that reserved nothing; `spends` are the counters its use is added to when
    /// it is settled.
    fn unchecked(ask: &Ask<'_>, spends: Vec<Reserved>) -> Self {
        Self {
            id: ask.id.to_owned(),
            checked: false,
            reserved_tokens: 0,
            token_rates: Vec::new(),
            spends,
            concurrency: Vec::new(),
            headers: RateHeaders::default(),
            admitted_ms: ask.now_ms,
            admitted_at: Instant::now(),
            guard: None,
            if_dropped: (0, None),
        }
    }
}

impl Limiter {
    /// Loads a counter's spend so far from the database into the backend.
    async fn seed(
        &self,
        ask: &Ask<'_>,
        spend: &Reserved,
        expires_at_ms: i64,
    ) -> Result<(), String> {
        let inner = &self.0;
        let used = match &spend.counted {
            Counted::Quota => {
                let start = month_start_ms(ask.now_ms, &inner.settings.timezone);
                inner
                    .store
                    .spent_since(BudgetScope::Organization, ask.key.organization_id, start)
                    .await
                    .map_err(|e| format!("reading usage: {e}"))?
                    .tokens
            }
            Counted::Budget {
                budget,
                currency,
                period_start,
            } => {
                let spent = inner
                    .store
                    .spent_since(budget.scope, budget.scope_id, *period_start)
                    .await
                    .map_err(|e| format!("reading spend: {e}"))?;
                let mut total: i64 = 0;
                for (code, nanos) in spent.costs {
                    let Some(from) = crate::config::parse_currency(&code) else {
                        continue;
                    };
                    let money = Money::from_nano_units(nanos, from);
                    let n = nanos_in(&inner.billing, money, *currency).unwrap_or(0);
                    total = total.saturating_add(n);
                }
                total
            }
        };
        inner
            .backend
            .seed(&spend.key, used, expires_at_ms, ask.now_ms)
            .await
            .map_err(|e| e.0)
    }

    /// The backend could not answer: refuse (fail closed) or let the request through with
    /// the counters it would have reserved on (`spends`), to be caught up on settlement.
    fn backend_failed(
        &self,
        ask: &Ask<'_>,
        why: &str,
        spends: Vec<Reserved>,
    ) -> Result<Ticket, Refused> {
        match self.0.settings.on_backend_error {
            OnBackendError::Closed => {
                tracing::error!(
                    request_id = ask.id,
                    error = why,
                    "limits unavailable; request refused (limits.on_backend_error = closed)"
                );
                Err(Refused::from(ApiError::unavailable(
                    "The gateway cannot check usage limits right now; please retry shortly.",
                    "limits_unavailable",
                )))
            }
            OnBackendError::Open => {
                tracing::warn!(
                    request_id = ask.id,
                    error = why,
                    "limits unavailable; request let through unchecked (limits.on_backend_error = open)"
                );
                Ok(Ticket::unchecked(ask, spends))
            }
        }
    }

    fn over_limit(
        &self,
        ask: &Ask<'_>,
        spend: &Reserved,
        limit: i64,
        state: SpendState,
        tokens: u64,
    ) -> Refused {
        let inner = &self.0;
        let name = match &spend.counted {
            Counted::Quota => "plan.monthly_tokens".to_owned(),
            Counted::Budget { budget, .. } => {
                format!(
                    "budget.{}.{}",
                    budget.scope.as_str(),
                    budget.period.as_str()
                )
            }
        };
        let message = match &spend.counted {
            Counted::Quota => {
                let plan = self.plan(ask.plan);
                let resets = next_month_start_ms(ask.now_ms, &inner.settings.timezone);
                format!(
                    "You exceeded your monthly token quota ({} plan: {limit} tokens; {} used, {} reserved by requests in flight). \
                     This request could use up to {tokens} tokens ({} prompt + {} max output); set a lower max_tokens, \
                     or wait until the quota resets at {}.",
                    plan.name,
                    state.used,
                    state.reserved,
                    ask.prompt_tokens,
                    ask.max_output_tokens,
                    rfc3339(resets),
                )
            }
            Counted::Budget {
                budget, currency, ..
            } => {
                let money = |n: i64| Money::from_nano_units(n, *currency).to_string();
                let scope = match budget.scope {
                    BudgetScope::ApiKey => "this API key",
                    BudgetScope::User => "your account",
                    BudgetScope::Team => "your team",
                    BudgetScope::Organization => "your organization",
                };
                format!(
                    "The {} budget of {scope} is exhausted: limit {}, spent {}, reserved by requests in flight {}; \
                     this request could cost up to {}.",
                    budget.period,
                    money(limit),
                    money(state.used),
                    money(state.reserved),
                    money(spend.amount),
                )
            }
        };
        Refused::from(ApiError(aihub_core::Error::InsufficientQuota(
            aihub_core::ErrorDetail {
                message,
                code: Some("insufficient_quota".into()),
                limit: Some(name),
                ..aihub_core::ErrorDetail::default()
            },
        )))
    }
}
