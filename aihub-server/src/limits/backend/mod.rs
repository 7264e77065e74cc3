//! Where limit state lives: in this process, or in Redis so that every gateway instance
//! enforces one limit.
//!
//! Both backends implement the same operations with the same semantics, and one test suite
//! runs against both:
//!
//! - [`LimitBackend::admit`] checks every rate bucket, spend counter and concurrency slot of a
//!   request and takes all of them or none (one mutex section in-process, one Lua script in
//!   Redis, so two instances can never both take the last unit);
//! - [`LimitBackend::settle`] gives back what a request reserved but did not use and adds what
//!   it did use. It is idempotent per reservation id: settling twice (a retry after a timeout,
//!   say) counts once;
//! - a reservation that is never settled (its gateway instance died) is released by itself
//!   once its lease ends; [`LimitBackend::renew`] extends the lease of a request still running;
//! - settling on a spend counter the backend does not know (Redis lost its data, or the period
//!   ended) leaves it unknown: recreating it from one request would forget what was spent
//!   before, and the next admission seeds it from the usage records instead;
//! - a spend counter the backend does not know yet (first use in a period, or Redis restarted)
//!   is reported as [`Admit::Unseeded`]; the caller loads the period's spend from the database,
//!   calls [`LimitBackend::seed`] (set if absent) and asks again.
//!
//! Time is the caller's (`now_ms`), not the backend's, so that tests can inject a clock. Redis
//! also drops keys by its own clock (a counter at its `expires_at_ms`, a bucket a second after
//! it is full again, leases a minute after the last one ends), so gateway clocks must agree
//! with Redis's to within those margins.
//!
//! Rate buckets are GCRA with an exact theoretical arrival time (whole µs plus a fraction in
//! `1 / limit` µs), so a burst of exactly `limit` passes whatever the period. In Redis every
//! number is a Lua double: limits up to 2^52 units and periods up to 2^40 ms are exact (larger
//! ones are clamped), and spend counters are exact up to 2^53 (about nine million currency
//! units in nano-units; beyond that a comparison may be off by a few nano-units).

mod gcra;
mod memory;
mod redis;
#[cfg(test)]
mod tests;

pub use self::memory::MemoryBackend;
pub use self::redis::RedisBackend;

/// A rate limit as a GCRA bucket: `limit` units per `period_ms`, with a burst of `limit`
/// (a fresh bucket can spend its whole allowance at once; capacity then returns steadily,
/// one unit every `period_ms / limit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    /// Backend key, e.g. `rpm:key:<uuid>`.
    pub key: String,
    /// Units per period (requests or tokens); at least 1.
    pub limit: u64,
    /// Period length in ms (60 000 for per-minute limits).
    pub period_ms: u64,
    /// Units this request takes; at most `limit` (the caller refuses larger requests itself).
    pub cost: u64,
}

/// A spend counter for one period (a month, or a lifetime): what was used plus what is
/// reserved by requests in flight must stay within `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spend {
    /// Backend key; the caller puts the period in it, e.g. `quota:user:<uuid>:<period start ms>`.
    pub key: String,
    /// The most that `used + reserved` may reach, in the counter's unit (tokens or nano-units
    /// of money).
    pub limit: i64,
    /// What this request reserves: its worst case.
    pub amount: i64,
    /// When the counter may be forgotten (the period's end plus a margin; `i64::MAX` for
    /// lifetime counters).
    pub expires_at_ms: i64,
}

/// A cap on requests in flight at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concurrency {
    /// Backend key, e.g. `conc:key:<uuid>`.
    pub key: String,
    /// Most requests in flight; at least 1.
    pub max: u32,
}

/// Everything one request takes before it is sent upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// Unique reservation id (the gateway request id).
    pub id: String,
    /// Now, unix ms, by the gateway's clock.
    pub now_ms: i64,
    /// How long the reservation and concurrency slots live if never settled, ms.
    pub lease_ms: i64,
    /// Rate buckets to take `cost` from.
    pub rates: Vec<Rate>,
    /// Spend counters to reserve `amount` on.
    pub spends: Vec<Spend>,
    /// Concurrency slots to take.
    pub concurrency: Vec<Concurrency>,
}

/// The state of one rate bucket after an admission, for the `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    /// The bucket's limit.
    pub limit: u64,
    /// Units that could be taken right now.
    pub remaining: u64,
    /// Time until the bucket is full again, ms.
    pub reset_ms: u64,
}

/// The state of one spend counter after an admission or settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpendState {
    /// Used by settled requests.
    pub used: i64,
    /// Reserved by requests in flight (this one included, after an admission).
    pub reserved: i64,
}

/// The answer to an [`Admission`]. Nothing is taken unless it is `Granted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// Everything was taken. `rates` and `spends` are in the admission's order.
    Granted {
        /// Each rate bucket after this request.
        rates: Vec<RateState>,
        /// Each spend counter after this request.
        spends: Vec<SpendState>,
    },
    /// `rates[index]` has too little; it will have enough after `retry_after_ms`.
    RateLimited {
        /// Which rate.
        index: usize,
        /// Wait before the same request would pass that bucket, ms (at least 1).
        retry_after_ms: u64,
        /// Each rate bucket, unchanged, in the admission's order.
        rates: Vec<RateState>,
    },
    /// `spends[index]` would go over its limit.
    OverLimit {
        /// Which spend counter.
        index: usize,
        /// Its state, unchanged.
        state: SpendState,
    },
    /// `concurrency[index]` is full.
    TooConcurrent {
        /// Which slot set.
        index: usize,
    },
    /// These spend counters are unknown to the backend: seed them and ask again.
    Unseeded {
        /// Indexes into `spends`.
        indices: Vec<usize>,
    },
}

/// Returning what an admitted request did not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The admission's id.
    pub id: String,
    /// Now, unix ms.
    pub now_ms: i64,
    /// For each rate of the admission: units to give back (reserved minus used; 0 for
    /// request counts).
    pub rate_refunds: Vec<RateRefund>,
    /// For each spend of the admission: what was reserved and what was really used.
    pub spends: Vec<SpendSettle>,
    /// Concurrency keys whose slot this request releases.
    pub concurrency: Vec<String>,
    /// When the request ended (its first settlement attempt; a retry keeps it), unix ms. A
    /// counter seeded at or after that already holds the request's use through its usage
    /// record, written right after settlement: the use is not added again.
    pub ended_ms: i64,
}

/// Units given back to a rate bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRefund {
    /// The bucket's key.
    pub key: String,
    /// Its limit (as admitted).
    pub limit: u64,
    /// Its period (as admitted), ms.
    pub period_ms: u64,
    /// Units to give back; a bucket never holds more than `limit`.
    pub units: u64,
}

/// A spend counter's settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendSettle {
    /// The counter's key.
    pub key: String,
    /// The amount admitted; released from `reserved` (unless the lease already released it).
    /// The backend releases what it recorded for this id, so this is informational.
    pub reserved: i64,
    /// The amount really spent; added to `used` (even after the lease ended) when the counter
    /// exists; an unknown counter stays unknown, for seeding.
    pub actual: i64,
    /// When the counter may be forgotten, as admitted (informational).
    pub expires_at_ms: i64,
}

/// Extending the lease of a request that is still running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    /// The admission's id.
    pub id: String,
    /// Now, unix ms.
    pub now_ms: i64,
    /// The new lease, from now, ms.
    pub lease_ms: i64,
    /// Spend counter keys the request holds a reservation on.
    pub spends: Vec<String>,
    /// Concurrency keys the request holds a slot in.
    pub concurrency: Vec<String>,
}

/// A backend that could not be reached or answered nonsense. The caller decides, by
/// configuration, whether that refuses the request (fail closed) or lets it through.
#[derive(Debug, Clone, thiserror::Error)]
#[error("limit backend: {0}")]
pub struct BackendError(pub String);

/// In this process, or in Redis.
#[derive(Debug, Clone)]
pub enum LimitBackend {
    /// One gateway instance.
    Memory(MemoryBackend),
    /// Shared by every instance using the same Redis.
    Redis(RedisBackend),
}

impl LimitBackend {
    /// Takes everything `admission` asks for, or nothing.
    pub async fn admit(&self, admission: &Admission) -> Result<Admit, BackendError> {
        match self {
            Self::Memory(b) => Ok(b.admit(admission)),
            Self::Redis(b) => b.admit(admission).await,
        }
    }

    /// Settles an admitted request; idempotent per `settlement.id`. Returns each spend
    /// counter's state afterwards, in the settlement's order.
    pub async fn settle(&self, settlement: &Settlement) -> Result<Vec<SpendState>, BackendError> {
        match self {
            Self::Memory(b) => Ok(b.settle(settlement)),
            Self::Redis(b) => b.settle(settlement).await,
        }
    }

    /// Extends the lease of a running request's reservations and slots to `now + lease`
    /// (never shortens one); returns how many of them it still held. A lease that already
    /// ended is not taken again.
    pub async fn renew(&self, renewal: &Renewal) -> Result<usize, BackendError> {
        match self {
            Self::Memory(b) => Ok(b.renew(renewal)),
            Self::Redis(b) => b.renew(renewal).await,
        }
    }

    /// Sets a spend counter's `used` to what the database says, unless it already exists;
    /// `seeded_ms` is when the database was read (see [`Settlement::ended_ms`]).
    pub async fn seed(
        &self,
        key: &str,
        used: i64,
        expires_at_ms: i64,
        seeded_ms: i64,
    ) -> Result<(), BackendError> {
        match self {
            Self::Memory(b) => {
                b.seed(key, used, expires_at_ms, seeded_ms);
                Ok(())
            }
            Self::Redis(b) => b.seed(key, used, expires_at_ms, seeded_ms).await,
        }
    }
}
