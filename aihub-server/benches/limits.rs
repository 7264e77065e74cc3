//! One admit + settle round trip of a realistic admission (2 request rates, 2 token rates,
//! 3 spend counters, 1 concurrency cap), in process and against Redis on localhost.
//!
//! `cargo bench -p aihub-server --bench limits`. The Redis half needs Redis at
//! `AIHUB_BENCH_REDIS_URL` (default `redis://127.0.0.1:6379`) and is skipped without it.
//! The clock advances 1 ms per round trip (1 000 requests a second), so settled ids and
//! leases age and get swept as they would in a gateway.

use std::hint::black_box;
use std::time::Duration;

use aihub_server::limits::backend::{
    Admission, Admit, Concurrency, LimitBackend, MemoryBackend, Rate, RateRefund, RedisBackend,
    Settlement, Spend, SpendSettle,
};
use criterion::{Criterion, criterion_group, criterion_main};

const MINUTE: u64 = 60_000;
const HOUR: i64 = 3_600_000;

/// Keys and amounts of one caller, under a random prefix.
struct Workload {
    prefix: String,
    t0: i64,
}

impl Workload {
    fn new() -> Self {
        Self {
            prefix: format!("bench:{}:", uuid::Uuid::new_v4().simple()),
            t0: aihub_server::timeutil::now_ms(),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn counters(&self) -> [String; 3] {
        [
            self.key("quota:user"),
            self.key("budget:user"),
            self.key("budget:key"),
        ]
    }

    fn admission(&self, n: i64) -> Admission {
        let rate = |name: &str, limit: u64, cost: u64| Rate {
            key: self.key(name),
            limit,
            period_ms: MINUTE,
            cost,
        };
        let [quota, user_budget, key_budget] = self.counters();
        let spend = |key: String, amount: i64| Spend {
            key,
            limit: 1 << 50,
            amount,
            expires_at_ms: self.t0 + HOUR,
        };
        Admission {
            id: format!("{}req:{n}", self.prefix),
            now_ms: self.t0 + n,
            lease_ms: 60_000,
            rates: vec![
                rate("rpm:key", 1_000_000_000, 1),
                rate("rpm:user", 1_000_000_000, 1),
                rate("tpm:key", 1 << 40, 4_096),
                rate("tpm:user", 1 << 40, 4_096),
            ],
            spends: vec![
                spend(quota, 4_096),
                spend(user_budget, 2_000_000),
                spend(key_budget, 2_000_000),
            ],
            concurrency: vec![Concurrency {
                key: self.key("conc:key"),
                max: 1_000_000,
            }],
        }
    }

    fn settlement(&self, a: &Admission) -> Settlement {
        Settlement {
            id: a.id.clone(),
            now_ms: a.now_ms,
            ended_ms: a.now_ms,
            rate_refunds: a
                .rates
                .iter()
                .map(|r| RateRefund {
                    key: r.key.clone(),
                    limit: r.limit,
                    period_ms: r.period_ms,
                    units: if r.cost > 1 { r.cost - 1_000 } else { 0 },
                })
                .collect(),
            spends: a
                .spends
                .iter()
                .map(|s| SpendSettle {
                    key: s.key.clone(),
                    reserved: s.amount,
                    actual: s.amount / 4,
                    expires_at_ms: s.expires_at_ms,
                })
                .collect(),
            concurrency: a.concurrency.iter().map(|c| c.key.clone()).collect(),
        }
    }
}

fn memory(c: &mut Criterion) {
    let backend = MemoryBackend::new();
    let work = Workload::new();
    for key in work.counters() {
        backend.seed(&key, 0, work.t0 + HOUR, work.t0);
    }
    let mut n = 0;
    c.bench_function("memory admit+settle", |b| {
        b.iter(|| {
            n += 1;
            let admission = work.admission(n);
            let admit = backend.admit(black_box(&admission));
            assert!(matches!(admit, Admit::Granted { .. }), "{admit:?}");
            black_box(backend.settle(&work.settlement(&admission)));
        });
    });
}

fn redis(c: &mut Criterion) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let url = std::env::var("AIHUB_BENCH_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let backend = match runtime.block_on(RedisBackend::connect(&url, Duration::from_secs(2))) {
        Ok(b) => LimitBackend::Redis(b),
        Err(e) => {
            eprintln!("skipping the Redis benchmark: {e}");
            return;
        }
    };
    let work = Workload::new();
    for key in work.counters() {
        if let Err(e) = runtime.block_on(backend.seed(&key, 0, work.t0 + HOUR, work.t0)) {
            eprintln!("skipping the Redis benchmark: {e}");
            return;
        }
    }
    let mut n = 0;
    c.bench_function("redis admit+settle", |b| {
        b.to_async(&runtime).iter(|| {
            n += 1;
            let admission = work.admission(n);
            let settlement = work.settlement(&admission);
            let backend = &backend;
            async move {
                let admit = backend.admit(black_box(&admission)).await;
                assert!(matches!(admit, Ok(Admit::Granted { .. })), "{admit:?}");
                black_box(backend.settle(&settlement).await.is_ok());
            }
        });
    });
}

criterion_group!(benches, memory, redis);
criterion_main!(benches);
