//! One conformance suite, run against both backends: `memory::*` and `redis::*` are the same
//! cases. The Redis cases need a Redis at `AIHUB_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`); each case uses its own random key prefix, so cases run in
//! parallel and nothing is ever flushed.

use std::time::Duration;

use super::*;

mod lifecycle;
use lifecycle::*;

/// Per-minute limits.
const MINUTE: u64 = 60_000;
/// Lease of every admission unless a case says otherwise.
const LEASE: i64 = 30_000;

fn memory_backend() -> LimitBackend {
    LimitBackend::Memory(MemoryBackend::new())
}

async fn redis_backend() -> LimitBackend {
    let url = std::env::var("AIHUB_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    match RedisBackend::connect(&url, Duration::from_secs(5)).await {
        Ok(b) => LimitBackend::Redis(b),
        Err(e) => panic!(
            "{e}: these tests need Redis (redis-server --daemonize yes --save '' --appendonly no)"
        ),
    }
}

/// A backend, a random key prefix and a start time (the real clock: Redis expires keys by it).
struct Fixture {
    backend: LimitBackend,
    prefix: String,
    t0: i64,
}

impl Fixture {
    fn new(backend: LimitBackend) -> Self {
        Self {
            backend,
            prefix: format!("test:{}:", uuid::Uuid::new_v4().simple()),
            t0: crate::timeutil::now_ms(),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Deletes what the case left in Redis (lifetime counters never expire by themselves).
    async fn forget(&self) {
        if let LimitBackend::Redis(redis) = &self.backend {
            redis.forget_prefix(&self.prefix).await.unwrap();
        }
    }

    fn rate(&self, name: &str, limit: u64, period_ms: u64, cost: u64) -> Rate {
        Rate {
            key: self.key(name),
            limit,
            period_ms,
            cost,
        }
    }

    fn spend(&self, name: &str, limit: i64, amount: i64) -> Spend {
        Spend {
            key: self.key(name),
            limit,
            amount,
            expires_at_ms: self.t0 + 3_600_000,
        }
    }

    fn cap(&self, name: &str, max: u32) -> Concurrency {
        Concurrency {
            key: self.key(name),
            max,
        }
    }

    fn admission(
        &self,
        id: &str,
        at: i64,
        rates: &[Rate],
        spends: &[Spend],
        caps: &[Concurrency],
    ) -> Admission {
        Admission {
            id: self.key(id),
            now_ms: self.t0 + at,
            lease_ms: LEASE,
            rates: rates.to_vec(),
            spends: spends.to_vec(),
            concurrency: caps.to_vec(),
        }
    }

    async fn admit(
        &self,
        id: &str,
        at: i64,
        rates: &[Rate],
        spends: &[Spend],
        caps: &[Concurrency],
    ) -> Admit {
        self.admit_exactly(&self.admission(id, at, rates, spends, caps))
            .await
    }

    async fn admit_exactly(&self, admission: &Admission) -> Admit {
        match self.backend.admit(admission).await {
            Ok(admit) => admit,
            Err(e) => panic!("admit: {e}"),
        }
    }

    /// The state of one bucket, taking nothing (a cost of 0).
    async fn peek(&self, at: i64, name: &str, limit: u64, period_ms: u64) -> RateState {
        let rate = self.rate(name, limit, period_ms, 0);
        match self.admit("peek", at, &[rate], &[], &[]).await {
            Admit::Granted { rates, .. } => rates[0],
            other => panic!("peek: {other:?}"),
        }
    }

    async fn settle(
        &self,
        id: &str,
        at: i64,
        refunds: &[(&str, u64, u64, u64)],
        spends: &[(&str, i64, i64)],
        caps: &[&str],
    ) -> Vec<SpendState> {
        self.settle_ended(id, at, at, refunds, spends, caps).await
    }

    /// A settlement at `at` of a request that ended at `ended` (a retried settlement).
    async fn settle_ended(
        &self,
        id: &str,
        at: i64,
        ended: i64,
        refunds: &[(&str, u64, u64, u64)],
        spends: &[(&str, i64, i64)],
        caps: &[&str],
    ) -> Vec<SpendState> {
        let settlement = Settlement {
            id: self.key(id),
            now_ms: self.t0 + at,
            ended_ms: self.t0 + ended,
            rate_refunds: refunds
                .iter()
                .map(|&(name, limit, period_ms, units)| RateRefund {
                    key: self.key(name),
                    limit,
                    period_ms,
                    units,
                })
                .collect(),
            spends: spends
                .iter()
                .map(|&(name, reserved, actual)| SpendSettle {
                    key: self.key(name),
                    reserved,
                    actual,
                    expires_at_ms: self.t0 + 3_600_000,
                })
                .collect(),
            concurrency: caps.iter().map(|name| self.key(name)).collect(),
        };
        match self.backend.settle(&settlement).await {
            Ok(states) => states,
            Err(e) => panic!("settle: {e}"),
        }
    }

    async fn seed(&self, name: &str, used: i64) {
        self.seed_until(name, used, self.t0 + 3_600_000).await;
    }

    async fn seed_until(&self, name: &str, used: i64, expires_at_ms: i64) {
        self.seed_exactly(name, used, expires_at_ms, 0).await;
    }

    /// Seeds as if the usage records were read at `at`.
    async fn seed_exactly(&self, name: &str, used: i64, expires_at_ms: i64, at: i64) {
        if let Err(e) = self
            .backend
            .seed(&self.key(name), used, expires_at_ms, self.t0 + at)
            .await
        {
            panic!("seed: {e}");
        }
    }
}

fn rs(limit: u64, remaining: u64, reset_ms: u64) -> RateState {
    RateState {
        limit,
        remaining,
        reset_ms,
    }
}

fn ss(used: i64, reserved: i64) -> SpendState {
    SpendState { used, reserved }
}

fn granted(rates: &[RateState], spends: &[SpendState]) -> Admit {
    Admit::Granted {
        rates: rates.to_vec(),
        spends: spends.to_vec(),
    }
}

async fn burst_of_limit_then_rate_limited(f: &Fixture) {
    let rpm = [f.rate("rpm", 10, MINUTE, 1)];
    for taken in 1..=10u64 {
        assert_eq!(
            f.admit(&format!("r{taken}"), 0, &rpm, &[], &[]).await,
            granted(&[rs(10, 10 - taken, taken * 6_000)], &[]),
            "request {taken}"
        );
    }
    let limited = Admit::RateLimited {
        index: 0,
        retry_after_ms: 6_000,
        rates: vec![rs(10, 0, 60_000)],
    };
    assert_eq!(f.admit("r11", 0, &rpm, &[], &[]).await, limited);
    assert_eq!(
        f.admit("r11", 5_999, &rpm, &[], &[]).await,
        Admit::RateLimited {
            index: 0,
            retry_after_ms: 1,
            rates: vec![rs(10, 0, 54_001)],
        }
    );
    assert_eq!(
        f.admit("r11", 6_000, &rpm, &[], &[]).await,
        granted(&[rs(10, 0, 60_000)], &[])
    );
    assert_eq!(
        f.admit("r12", 6_000, &rpm, &[], &[]).await,
        Admit::RateLimited {
            index: 0,
            retry_after_ms: 6_000,
            rates: vec![rs(10, 0, 60_000)],
        }
    );
}

async fn burst_of_limit_when_the_period_does_not_divide(f: &Fixture) {
    // 60 000 ms / 7 = 8 571.43 ms per request: rounding each request up to a whole µs would
    // refuse the 7th.
    let rpm = [f.rate("rpm7", 7, MINUTE, 1)];
    let resets = [8_572, 17_143, 25_715, 34_286, 42_858, 51_429, 60_000];
    for (taken, reset) in (1..=7u64).zip(resets) {
        assert_eq!(
            f.admit(&format!("r{taken}"), 0, &rpm, &[], &[]).await,
            granted(&[rs(7, 7 - taken, reset)], &[]),
            "request {taken}"
        );
    }
    for (at, retry) in [(0, 8_572), (8_571, 1)] {
        assert_eq!(
            f.admit("r8", at, &rpm, &[], &[]).await,
            Admit::RateLimited {
                index: 0,
                retry_after_ms: retry,
                rates: vec![rs(7, 0, 60_000 - at.unsigned_abs())],
            }
        );
    }
    assert_eq!(
        f.admit("r8", 8_572, &rpm, &[], &[]).await,
        granted(&[rs(7, 0, 60_000)], &[])
    );
}

async fn remaining_and_reset_count_down_exactly(f: &Fixture) {
    let four = f.rate("rps", 4, 1_000, 3);
    assert_eq!(
        f.admit("a", 0, &[four], &[], &[]).await,
        granted(&[rs(4, 1, 750)], &[])
    );
    for (at, remaining, reset) in [
        (100, 1, 650),
        (249, 1, 501),
        (250, 2, 500),
        (499, 2, 251),
        (500, 3, 250),
        (749, 3, 1),
        (750, 4, 0),
        (60_000, 4, 0),
    ] {
        assert_eq!(
            f.peek(at, "rps", 4, 1_000).await,
            rs(4, remaining, reset),
            "at {at} ms"
        );
    }
}

async fn tokens_taken_and_given_back(f: &Fixture) {
    let tpm = |cost| f.rate("tpm", 1_000, MINUTE, cost);
    assert_eq!(
        f.admit("a", 0, &[tpm(400)], &[], &[]).await,
        granted(&[rs(1_000, 600, 24_000)], &[])
    );
    assert_eq!(
        f.admit("b", 0, &[tpm(700)], &[], &[]).await,
        Admit::RateLimited {
            index: 0,
            retry_after_ms: 6_000,
            rates: vec![rs(1_000, 600, 24_000)],
        }
    );
    // `a` reserved 400 tokens and used 100.
    f.settle("a", 0, &[("tpm", 1_000, MINUTE, 300)], &[], &[])
        .await;
    assert_eq!(f.peek(0, "tpm", 1_000, MINUTE).await, rs(1_000, 900, 6_000));
    assert_eq!(
        f.admit("b", 0, &[tpm(700)], &[], &[]).await,
        granted(&[rs(1_000, 200, 48_000)], &[])
    );
    // Giving back more than was taken leaves a full bucket, never more.
    f.settle("b", 0, &[("tpm", 1_000, MINUTE, 1_000)], &[], &[])
        .await;
    assert_eq!(f.peek(0, "tpm", 1_000, MINUTE).await, rs(1_000, 1_000, 0));
    assert_eq!(
        f.admit("c", 0, &[tpm(1_000)], &[], &[]).await,
        granted(&[rs(1_000, 0, 60_000)], &[])
    );
}

async fn a_failing_rate_takes_nothing(f: &Fixture) {
    let wide = f.rate("wide", 10, MINUTE, 1);
    let narrow = f.rate("narrow", 1, MINUTE, 1);
    let both = [wide.clone(), narrow];
    assert_eq!(
        f.admit("a", 0, &both, &[], &[]).await,
        granted(&[rs(10, 9, 6_000), rs(1, 0, 60_000)], &[])
    );
    assert_eq!(
        f.admit("b", 0, &both, &[], &[]).await,
        Admit::RateLimited {
            index: 1,
            retry_after_ms: 60_000,
            rates: vec![rs(10, 9, 6_000), rs(1, 0, 60_000)],
        }
    );
    assert_eq!(
        f.admit("c", 0, &[wide], &[], &[]).await,
        granted(&[rs(10, 8, 12_000)], &[])
    );
}

async fn a_refused_spend_or_slot_takes_nothing(f: &Fixture) {
    f.seed("budget", 0).await;
    let rpm = [f.rate("rpm", 10, MINUTE, 1)];
    let cap = [f.cap("conc", 1)];
    assert_eq!(
        f.admit("a", 0, &rpm, &[f.spend("budget", 100, 150)], &cap)
            .await,
        Admit::OverLimit {
            index: 0,
            state: ss(0, 0),
        }
    );
    // Neither the rate nor the slot was taken.
    assert_eq!(
        f.admit("b", 0, &rpm, &[], &cap).await,
        granted(&[rs(10, 9, 6_000)], &[])
    );
    // The slot is full now: neither the rate nor the spend is taken.
    assert_eq!(
        f.admit("c", 0, &rpm, &[f.spend("budget", 100, 10)], &cap)
            .await,
        Admit::TooConcurrent { index: 0 }
    );
    assert_eq!(
        f.admit("d", 0, &rpm, &[f.spend("budget", 100, 100)], &[])
            .await,
        granted(&[rs(10, 8, 12_000)], &[ss(0, 100)])
    );
}

async fn unseeded_counters_then_seed(f: &Fixture) {
    let spends = [
        f.spend("s1", 100, 10),
        f.spend("s2", 100, 10),
        f.spend("s3", 100, 10),
    ];
    // Unseeded is checked first, before an exhausted rate.
    let exhausted = [f.rate("one", 1, MINUTE, 1)];
    assert_eq!(
        f.admit("x", 0, &exhausted, &[], &[]).await,
        granted(&[rs(1, 0, 60_000)], &[])
    );
    f.seed("s1", 5).await;
    assert_eq!(
        f.admit("a", 0, &exhausted, &spends, &[]).await,
        Admit::Unseeded {
            indices: vec![1, 2]
        }
    );
    f.seed("s2", 50).await;
    f.seed("s3", 0).await;
    // Seeding never overwrites an existing counter.
    f.seed("s1", 999).await;
    f.seed("s2", 999).await;
    let rpm = [f.rate("rpm", 10, MINUTE, 1)];
    assert_eq!(
        f.admit("a", 0, &rpm, &spends, &[]).await,
        granted(&[rs(10, 9, 6_000)], &[ss(5, 10), ss(50, 10), ss(0, 10)])
    );
}

async fn over_limit_at_the_exact_boundary(f: &Fixture) {
    f.seed("quota", 30).await;
    assert_eq!(
        f.admit("a", 0, &[], &[f.spend("quota", 100, 70)], &[])
            .await,
        granted(&[], &[ss(30, 70)])
    );
    assert_eq!(
        f.admit("b", 0, &[], &[f.spend("quota", 100, 1)], &[]).await,
        Admit::OverLimit {
            index: 0,
            state: ss(30, 70),
        }
    );
    assert_eq!(
        f.admit("b", 0, &[], &[f.spend("quota", 100, 0)], &[]).await,
        granted(&[], &[ss(30, 70)])
    );
}

async fn concurrency_cap_and_release(f: &Fixture) {
    let cap = [f.cap("conc", 2)];
    assert_eq!(f.admit("a", 0, &[], &[], &cap).await, granted(&[], &[]));
    assert_eq!(f.admit("b", 0, &[], &[], &cap).await, granted(&[], &[]));
    assert_eq!(
        f.admit("c", 0, &[], &[], &cap).await,
        Admit::TooConcurrent { index: 0 }
    );
    f.settle("a", 5, &[], &[], &["conc"]).await;
    assert_eq!(f.admit("c", 10, &[], &[], &cap).await, granted(&[], &[]));
    assert_eq!(
        f.admit("d", 10, &[], &[], &cap).await,
        Admit::TooConcurrent { index: 0 }
    );
    // b's lease ends at LEASE, c's at LEASE + 10.
    assert_eq!(f.admit("d", LEASE, &[], &[], &cap).await, granted(&[], &[]));
    assert_eq!(
        f.admit("e", LEASE, &[], &[], &cap).await,
        Admit::TooConcurrent { index: 0 }
    );
    assert_eq!(
        f.admit("e", LEASE + 10, &[], &[], &cap).await,
        granted(&[], &[])
    );
}

async fn a_key_named_twice_counts_twice(f: &Fixture) {
    let twice = [f.rate("rpm", 2, MINUTE, 1), f.rate("rpm", 2, MINUTE, 1)];
    assert_eq!(
        f.admit("a", 0, &twice, &[], &[]).await,
        granted(&[rs(2, 1, 30_000), rs(2, 0, 60_000)], &[])
    );
    assert_eq!(
        f.admit("b", 0, &twice[..1], &[], &[]).await,
        Admit::RateLimited {
            index: 0,
            retry_after_ms: 30_000,
            rates: vec![rs(2, 0, 60_000)],
        }
    );
    f.seed("budget", 0).await;
    let spends = [f.spend("budget", 100, 60), f.spend("budget", 100, 50)];
    assert_eq!(
        f.admit("c", 0, &[], &spends, &[]).await,
        Admit::OverLimit {
            index: 1,
            state: ss(0, 0),
        }
    );
    let spends = [f.spend("budget", 100, 60), f.spend("budget", 100, 40)];
    assert_eq!(
        f.admit("c", 0, &[], &spends, &[]).await,
        granted(&[], &[ss(0, 100), ss(0, 100)])
    );
    assert_eq!(
        f.settle("c", 0, &[], &[("budget", 60, 10), ("budget", 40, 10)], &[])
            .await,
        vec![ss(10, 0), ss(20, 0)]
    );
}

async fn lifetime_counters_never_expire(f: &Fixture) {
    let lifetime = |amount| Spend {
        expires_at_ms: i64::MAX,
        ..f.spend("lifetime", 1_000, amount)
    };
    f.seed_until("lifetime", 10, i64::MAX).await;
    assert_eq!(
        f.admit("a", 0, &[], &[lifetime(990)], &[]).await,
        granted(&[], &[ss(10, 990)])
    );
    assert_eq!(
        f.settle("a", 0, &[], &[("lifetime", 990, 500)], &[]).await,
        vec![ss(510, 0)]
    );
    assert_eq!(
        f.admit("b", 100 * 365 * 86_400_000, &[], &[lifetime(490)], &[])
            .await,
        granted(&[], &[ss(510, 490)])
    );
}

async fn large_money_amounts_are_exact(f: &Fixture) {
    // About a million currency units in nano-units: beyond f32/i32, within 2^53.
    let used = 1_000_000_000_000_001;
    let limit = 2_000_000_000_000_000;
    f.seed("budget", used).await;
    assert_eq!(
        f.admit("a", 0, &[], &[f.spend("budget", limit, limit - used)], &[])
            .await,
        granted(&[], &[ss(used, limit - used)])
    );
    assert_eq!(
        f.admit("b", 0, &[], &[f.spend("budget", limit, 1)], &[])
            .await,
        Admit::OverLimit {
            index: 0,
            state: ss(used, limit - used),
        }
    );
    assert_eq!(
        f.settle(
            "a",
            0,
            &[],
            &[("budget", limit - used, 123_456_789_012_345)],
            &[]
        )
        .await,
        vec![ss(used + 123_456_789_012_345, 0)]
    );
    // A large token bucket: 2^40 tokens a minute.
    let big = 1u64 << 40;
    assert_eq!(
        f.admit("c", 0, &[f.rate("tpm", big, MINUTE, big - 1)], &[], &[])
            .await,
        granted(&[rs(big, 1, 60_000)], &[])
    );
}

/// 200 admissions at once, spread over `backends` (several gateways), on a counter that
/// affords exactly 50: exactly 50 are granted.
async fn two_hundred_at_once(backends: Vec<LimitBackend>) {
    let f = Fixture::new(backends[0].clone());
    f.seed("budget", 0).await;
    let mut tasks = Vec::new();
    for n in 0..200 {
        let backend = backends[n % backends.len()].clone();
        let admission = f.admission(&format!("r{n}"), 0, &[], &[f.spend("budget", 500, 10)], &[]);
        tasks.push(tokio::spawn(async move { backend.admit(&admission).await }));
    }
    let mut granted_count = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Admit::Granted { .. } => granted_count += 1,
            Admit::OverLimit { .. } => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((granted_count, refused), (50, 150));
    assert_eq!(
        f.admit("last", 0, &[], &[f.spend("budget", 500, 0)], &[])
            .await,
        granted(&[], &[ss(0, 500)])
    );
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(&super::Fixture::new(super::memory_backend())).await;
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn two_hundred_at_once() {
                let one = super::memory_backend();
                super::two_hundred_at_once(vec![one; 8]).await;
            }
        }

        mod redis {
            $(
                #[tokio::test]
                async fn $case() {
                    let fixture = super::Fixture::new(super::redis_backend().await);
                    super::$case(&fixture).await;
                    fixture.forget().await;
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn two_hundred_at_once() {
                let mut gateways = Vec::new();
                for _ in 0..4 {
                    gateways.push(super::redis_backend().await);
                }
                super::two_hundred_at_once(gateways).await;
            }
        }
    };
}

conformance!(
    burst_of_limit_then_rate_limited,
    burst_of_limit_when_the_period_does_not_divide,
    remaining_and_reset_count_down_exactly,
    tokens_taken_and_given_back,
    a_failing_rate_takes_nothing,
    a_refused_spend_or_slot_takes_nothing,
    unseeded_counters_then_seed,
    over_limit_at_the_exact_boundary,
    settle_releases_reserved_and_adds_actual_once,
    an_unsettled_reservation_ends_with_its_lease,
    concurrency_cap_and_release,
    settling_an_unknown_or_expired_counter_leaves_it_for_seeding,
    a_renewed_lease_outlives_the_original,
    a_counter_seeded_after_a_request_ended_does_not_count_it_twice,
    a_key_named_twice_counts_twice,
    lifetime_counters_never_expire,
    large_money_amounts_are_exact,
);

#[test]
fn memory_forgets_what_has_expired() {
    let backend = MemoryBackend::new();
    let t0 = 1_700_000_000_000;
    for n in 0..100 {
        backend.seed(&format!("c{n}"), 0, t0 + 60_000, t0);
        let admit = backend.admit(&Admission {
            id: format!("r{n}"),
            now_ms: t0,
            lease_ms: 1_000,
            rates: vec![Rate {
                key: format!("rate{n}"),
                limit: 10,
                period_ms: 1_000,
                cost: 1,
            }],
            spends: vec![Spend {
                key: format!("c{n}"),
                limit: 10,
                amount: 1,
                expires_at_ms: t0 + 60_000,
            }],
            concurrency: vec![Concurrency {
                key: format!("conc{n}"),
                max: 1,
            }],
        });
        assert!(matches!(admit, Admit::Granted { .. }), "{admit:?}");
        backend.settle(&Settlement {
            id: format!("r{n}"),
            now_ms: t0,
            ended_ms: t0,
            rate_refunds: vec![],
            spends: vec![],
            concurrency: vec![],
        });
    }
    // 100 buckets, counters, slot sets and settled ids.
    assert_eq!(backend.entries(), 400);
    let later = Admission {
        id: "later".to_owned(),
        now_ms: t0 + 3_600_000,
        lease_ms: 1_000,
        rates: vec![],
        spends: vec![],
        concurrency: vec![],
    };
    assert_eq!(
        backend.admit(&later),
        Admit::Granted {
            rates: vec![],
            spends: vec![],
        }
    );
    assert_eq!(backend.entries(), 0);
}
