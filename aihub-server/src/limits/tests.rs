//! The limiter over a real store (SQLite in a temporary directory) and both backends: what
//! `admit` refuses, and what a ticket gives back however its request ends.

use std::time::Duration;

use aihub_core::pricing::{Currency, Money};

use super::*;
use crate::config::RawConfig;
use crate::store::{NewApiKey, NewBudget};

/// A limiter, its store and one key of a user on the `free` plan of `tables`.
struct Setup {
    limiter: Limiter,
    store: Store,
    key: ApiKey,
    _dir: tempfile::TempDir,
}

async fn setup(tables: &str, redis: bool) -> Setup {
    let redis_url = std::env::var("AIHUB_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    setup_on(tables, redis.then_some(redis_url)).await
}

async fn setup_on(tables: &str, redis_url: Option<String>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("limits.db").display());
    let redis_line = match redis_url {
        Some(url) => format!("redis_url = \"{url}\"\n"),
        None => String::new(),
    };
    let text = format!("database_url = \"{db}\"\n{redis_line}{tables}");
    let config = Config::resolve(RawConfig::parse(&text).unwrap(), &|_| None).unwrap();
    let store = Store::connect(&db).await.unwrap();
    let limiter = Limiter::start(&config, store.clone()).await.unwrap();
    let user = store
        .create_user(&format!("u-{}@example.com", Uuid::new_v4()), "hash")
        .await
        .unwrap();
    let key = store
        .create_api_key(NewApiKey {
            user_id: Some(user.id),
            organization_id: user.organization_id,
            team_id: None,
            name: "k".into(),
            prefix: "ai-hub-k".into(),
            key_hash: format!("hash-{}", Uuid::new_v4()),
            expires_at: None,
        })
        .await
        .unwrap();
    Setup {
        limiter,
        store,
        key,
        _dir: dir,
    }
}

impl Setup {
    fn ask(&self, worst_cost: Option<Money>) -> Ask<'_> {
        Ask {
            id: "",
            now_ms: crate::timeutil::now_ms(),
            key: &self.key,
            plan: "free",
            prompt_tokens: 10,
            max_output_tokens: 10,
            worst_cost,
            missing_price: None,
        }
    }

    async fn admit(&self, worst_cost: Option<Money>) -> Result<Ticket, Refused> {
        let id = Uuid::new_v4().to_string();
        let ask = Ask {
            id: &id,
            ..self.ask(worst_cost)
        };
        self.limiter.admit(&ask).await
    }

    async fn key_budget(&self, hard: Option<i64>, soft: Option<i64>) {
        self.key_budget_for(BudgetPeriod::Monthly, hard, soft).await;
    }

    async fn key_budget_for(&self, period: BudgetPeriod, hard: Option<i64>, soft: Option<i64>) {
        self.store
            .put_budget(&NewBudget {
                scope: BudgetScope::ApiKey,
                scope_id: self.key.id,
                period,
                currency: "USD".into(),
                hard_limit_nanos: hard,
                soft_limit_nanos: soft,
                set_by: crate::store::BudgetSetter::Admin,
            })
            .await
            .unwrap();
    }
}

fn usd(nanos: i64) -> Option<Money> {
    Some(Money::from_nano_units(nanos, Currency::Usd))
}

/// Admits with a concurrency slot free within `within`, or fails.
async fn admitted_within(s: &Setup, within: Duration) -> Ticket {
    let start = std::time::Instant::now();
    loop {
        match s.admit(usd(1)).await {
            Ok(t) => return t,
            Err(refused) if start.elapsed() < within => {
                let _ = refused;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(refused) => panic!("still refused after {within:?}: {:?}", refused.error),
        }
    }
}

async fn a_dropped_ticket_frees_its_slot_at_once(redis: bool) {
    let s = setup("[plans.free]\nmax_concurrent = 1\n", redis).await;
    let first = s.admit(usd(1)).await.unwrap();
    assert!(s.admit(usd(1)).await.is_err(), "one slot only");
    // An early return, a panic or a cancelled future drops the ticket unsettled.
    drop(first);
    let second = admitted_within(&s, Duration::from_secs(2)).await;
    s.limiter
        .settle(second, 0, None, crate::timeutil::now_ms())
        .await;
    // A settled ticket gives nothing back twice: the next one gets the slot, and only one.
    let third = s.admit(usd(1)).await.unwrap();
    assert!(s.admit(usd(1)).await.is_err());
    s.limiter
        .settle(third, 0, None, crate::timeutil::now_ms())
        .await;
}

async fn a_dropped_ticket_is_settled_with_what_the_request_path_said_it_cost(redis: bool) {
    let s = setup("[plans.free]\nname = \"Free\"\n", redis).await;
    s.key_budget(Some(10), None).await;
    // A request whose task panicked: its ticket is dropped unsettled, and its record bills
    // 8 nano-dollars; the ticket must be settled with the same, not released with nothing.
    let mut first = s.admit(usd(4)).await.unwrap();
    first.bill_if_dropped(100, usd(8));
    drop(first);
    assert!(s.limiter.drain(Duration::from_secs(5)).await);
    // 8 of 10 spent: a request that could cost 4 no longer fits; one of 2 still does.
    let refused = s
        .admit(usd(4))
        .await
        .expect_err("8 + 4 is over the budget of 10");
    assert_eq!(
        refused.error.0.detail().limit.as_deref(),
        Some("budget.api_key.monthly")
    );
    let fits = s.admit(usd(2)).await.unwrap();
    s.limiter
        .settle(fits, 0, None, crate::timeutil::now_ms())
        .await;
}

async fn a_keys_own_concurrency_cap_only_tightens_the_plans(redis: bool) {
    let mut s = setup("[plans.free]\nmax_concurrent = 1\nrpm = 2\n", redis).await;
    s.key.limits.max_concurrent = Some(5);
    s.key.limits.rpm_limit = Some(100);
    let first = s.admit(usd(1)).await.unwrap();
    assert!(
        s.admit(usd(1)).await.is_err(),
        "the key's cap of 5 does not lift the plan's cap of 1"
    );
    s.limiter
        .settle(first, 0, None, crate::timeutil::now_ms())
        .await;
    // The plan's 2 requests a minute bind too, whatever the key's own rpm.
    let second = s.admit(usd(1)).await.unwrap();
    s.limiter
        .settle(second, 0, None, crate::timeutil::now_ms())
        .await;
    let refused = s
        .admit(usd(1))
        .await
        .expect_err("a third request in the minute");
    assert_eq!(
        refused.error.0.detail().code.as_deref(),
        Some("rate_limit_exceeded")
    );
    // And a key's own cap tighter than the plan's applies.
    let mut s = setup("[plans.free]\nmax_concurrent = 5\n", redis).await;
    s.key.limits.max_concurrent = Some(1);
    let first = s.admit(usd(1)).await.unwrap();
    assert!(s.admit(usd(1)).await.is_err());
    s.limiter
        .settle(first, 0, None, crate::timeutil::now_ms())
        .await;
}

async fn an_unpriced_request_is_refused_to_a_caller_with_a_hard_money_limit(redis: bool) {
    let s = setup("[plans.free]\n", redis).await;
    // No money limit: an unpriced request passes (token quotas and rates still count it).
    let t = s.admit(None).await.unwrap();
    s.limiter
        .settle(t, 0, None, crate::timeutil::now_ms())
        .await;
    // A soft limit alone is no limit to enforce.
    s.key_budget(None, Some(1_000_000)).await;
    let t = s.admit(None).await.unwrap();
    s.limiter
        .settle(t, 0, None, crate::timeutil::now_ms())
        .await;
    s.key_budget(Some(1_000_000_000), None).await;
    let refused = s
        .admit(None)
        .await
        .expect_err("an unpriced request passed a budget");
    let e = &refused.error.0;
    assert_eq!(e.status(), 403);
    assert_eq!(e.detail().code.as_deref(), Some("model_not_priced"));
    assert!(
        e.detail().message.contains("no price"),
        "{}",
        e.detail().message
    );
    // A priced request still passes.
    let t = s.admit(usd(1_000)).await.unwrap();
    s.limiter
        .settle(t, 0, usd(10), crate::timeutil::now_ms())
        .await;
}

async fn a_renewed_ticket_keeps_its_slot_past_the_lease(redis: bool) {
    let s = setup(
        "[plans.free]\nmax_concurrent = 1\n[limits]\nlease_secs = 1\n",
        redis,
    )
    .await;
    assert_eq!(s.limiter.renew_every(), Duration::from_secs(1) / 3);
    let t0 = crate::timeutil::now_ms();
    let at = |ms: i64| Ask {
        now_ms: t0 + ms,
        ..s.ask(usd(1))
    };
    let (a, b, c) = (
        "renewed-a".to_owned(),
        "renewed-b".to_owned(),
        "renewed-c".to_owned(),
    );
    let long = s.limiter.admit(&Ask { id: &a, ..at(0) }).await.unwrap();
    // A request bound to end well before the lease needs no renewal; one that may outlive
    // it, or is not bounded, does.
    assert!(
        !s.limiter
            .must_renew(&long, Some(Duration::from_millis(100)))
    );
    assert!(
        s.limiter
            .must_renew(&long, Some(Duration::from_millis(900)))
    );
    assert!(s.limiter.must_renew(&long, None));
    assert!(s.limiter.renew(&long, t0 + 700).await);
    // Past the original lease (1 s) the renewed slot still holds: no second request.
    assert!(
        s.limiter
            .admit(&Ask {
                id: &b,
                ..at(1_500)
            })
            .await
            .is_err()
    );
    // Without renewal it ends with the renewed lease.
    let next = s
        .limiter
        .admit(&Ask {
            id: &c,
            ..at(1_700)
        })
        .await
        .unwrap();
    s.limiter.settle(next, 0, None, t0 + 1_700).await;
    s.limiter.settle(long, 0, None, t0 + 1_800).await;
}

/// A Redis server of the test's own, without persistence, killed when dropped.
struct OwnRedis {
    child: std::process::Child,
    port: u16,
}

impl OwnRedis {
    /// Starts `redis-server` on a free port; `None` (after saying so) when it is not installed.
    async fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = match std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => {
                eprintln!(
                    "SKIPPED: redis-server is not installed ({e}); this test needs a Redis of its own"
                );
                return None;
            }
        };
        let server = Self { child, port };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not listen on {port}");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn flushall(&self) {
        let client = ::redis::Client::open(self.url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        ::redis::cmd("FLUSHALL")
            .query_async::<()>(&mut c)
            .await
            .unwrap();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A usage record of the key costing `nanos` USD.
fn record_of(s: &Setup, request_id: &str, nanos: i64) -> crate::store::UsageRecord {
    crate::store::UsageRecord {
        id: Uuid::new_v4(),
        request_id: request_id.to_owned(),
        created_at: crate::timeutil::now_ms(),
        api_key_id: Some(s.key.id),
        user_id: s.key.user_id,
        organization_id: s.key.organization_id,
        team_id: None,
        model: "openai/gpt-4o-mini".into(),
        provider: "openai".into(),
        upstream_model: "gpt-4o-mini".into(),
        prompt_tokens: 10,
        completion_tokens: 10,
        cached_tokens: 0,
        reasoning_tokens: 0,
        cost_nanos: Some(nanos),
        currency: Some("USD".into()),
        latency_ms: 1,
        ttft_ms: None,
        status: 200,
        error_type: None,
        stream: false,
        attempts: 1,
        usage_estimated: false,
        upstream_request_id: None,
        cache_hit: false,
        attempt_log: Vec::new(),
    }
}

#[tokio::test]
async fn after_redis_loses_its_data_a_lifetime_budget_remembers_what_was_spent() {
    let Some(redis) = OwnRedis::start().await else {
        return;
    };
    let s = setup_on("[plans.free]\n", Some(redis.url())).await;
    s.key_budget_for(BudgetPeriod::Lifetime, Some(100_000), None)
        .await;
    // Spent before: 60 000 nano-USD.
    s.store
        .insert_usage(&[record_of(&s, "before", 60_000)])
        .await
        .unwrap();
    let ticket = s.admit(usd(30_000)).await.unwrap();
    // Redis loses everything while the request runs; it ends having cost 20 000.
    redis.flushall().await;
    let ticket_id = ticket.id.clone();
    s.limiter
        .settle(ticket, 20, usd(20_000), crate::timeutil::now_ms())
        .await;
    s.store
        .insert_usage(&[record_of(&s, &ticket_id, 20_000)])
        .await
        .unwrap();
    // 80 000 spent: a request that could cost 30 000 more is refused, 20 000 still fits.
    let refused = s
        .admit(usd(30_000))
        .await
        .expect_err("the budget forgot its spend");
    assert_eq!(
        refused.error.0.detail().code.as_deref(),
        Some("insufficient_quota")
    );
    assert!(
        refused
            .error
            .0
            .detail()
            .message
            .contains("spent 0.000080 USD"),
        "{}",
        refused.error.0.detail().message
    );
    let last = s.admit(usd(20_000)).await.unwrap();
    s.limiter
        .settle(last, 0, usd(0), crate::timeutil::now_ms())
        .await;
}

#[tokio::test]
async fn drain_waits_for_a_settlement_retried_in_the_background() {
    let s = setup("[plans.free]\nmax_concurrent = 1\n", false).await;
    assert!(s.limiter.drain(Duration::from_millis(10)).await);
    // A ticket dropped unsettled is released by a background task, which drain waits for.
    let t = s.admit(usd(1)).await.unwrap();
    drop(t);
    assert!(s.limiter.drain(Duration::from_secs(5)).await);
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(false).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(true).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_dropped_ticket_frees_its_slot_at_once,
    a_dropped_ticket_is_settled_with_what_the_request_path_said_it_cost,
    a_keys_own_concurrency_cap_only_tightens_the_plans,
    an_unpriced_request_is_refused_to_a_caller_with_a_hard_money_limit,
    a_renewed_ticket_keeps_its_slot_past_the_lease,
);
