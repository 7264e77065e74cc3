//! Plans, rate limits, monthly quotas and budgets through the HTTP API, on one gateway with
//! SQLite and in-process limits, and on two gateways sharing PostgreSQL and Redis.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aihub_server::store::BudgetScope;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::{Gateway, MASTER, chat};

#[path = "../store/harness.rs"]
#[allow(dead_code)]
pub(crate) mod harness;
mod integrity;

/// A small chat request whose output is bounded: 8 generated words, `max_tokens` 8.
fn small(text: &str) -> Value {
    let mut body = chat("mock/gpt-4o-mini", text);
    body["max_tokens"] = json!(8);
    body
}

/// Sends a chat request with `key`; returns status, headers and JSON body.
async fn send(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = http
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// Unix ms of an RFC 3339 time.
fn at(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

impl Gateway {
    /// Moves the gateway's clock so that it reads `target_ms` now.
    fn set_time(&self, target_ms: i64) {
        let offset = target_ms - aihub_server::timeutil::now_ms();
        self.clock_offset.store(offset, Ordering::SeqCst);
    }

    /// The id of the only API key of the user with this session token.
    async fn key_id(&self, token: &str) -> String {
        let (_, keys) = self.get("/api/v1/auth/api-keys", Some(token)).await;
        keys["data"][0]["id"].as_str().unwrap().to_owned()
    }

    /// PUTs JSON with a bearer token; returns status and body.
    async fn put(&self, path: &str, bearer: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .put(format!("{}{path}", self.url))
            .bearer_auth(bearer)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn a_free_burst_passes_exactly_ten_then_429_with_a_retry_after_that_works() {
    // The built-in plans: a new user is on Free, 10 requests a minute.
    let gw = Gateway::start_setup(None, "", "").await;
    let (token, key) = gw.user("burst@example.com").await;
    let (_, now) = gw.get("/api/v1/usage/current", Some(&token)).await;
    assert_eq!(now["plan"]["id"], "free");
    assert_eq!(now["plan"]["rpm"], 10);

    let sends = (0..15).map(|i| {
        let (http, url, key) = (gw.http.clone(), gw.url.clone(), key.clone());
        async move { send(&http, &url, &key, &small(&format!("burst {i}"))).await }
    });
    let answers = futures::future::join_all(sends).await;
    let passed = answers.iter().filter(|a| a.0 == 200).count();
    assert_eq!(passed, 10, "exactly the plan's per-minute allowance passes");
    let mut waits = Vec::new();
    for (status, headers, body) in answers.iter().filter(|a| a.0 != 200) {
        assert_eq!(*status, 429);
        assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert_eq!(header(headers, "x-ratelimit-limit-requests"), "10");
        assert_eq!(header(headers, "x-ratelimit-remaining-requests"), "0");
        assert!(
            headers.get("x-should-retry").is_none(),
            "a rate limit is worth retrying"
        );
        let secs: u64 = header(headers, "retry-after").parse().unwrap();
        let ms: u64 = header(headers, "retry-after-ms").parse().unwrap();
        // One request's worth of capacity returns every 60 s / 10 = 6 s (give or take the
        // few milliseconds between concurrent requests' clock readings).
        assert!(ms > 5_000 && ms <= 6_100, "{ms}");
        assert_eq!(secs, ms.div_ceil(1000));
        waits.push(ms);
    }
    // Waiting less than Retry-After is still too early; waiting that long passes, once.
    let wait = *waits.iter().max().unwrap();
    gw.clock_offset
        .store(i64::try_from(wait).unwrap() - 200, Ordering::SeqCst);
    assert_eq!(send(&gw.http, &gw.url, &key, &small("early")).await.0, 429);
    gw.clock_offset
        .store(i64::try_from(wait).unwrap(), Ordering::SeqCst);
    let (status, headers, body) = send(&gw.http, &gw.url, &key, &small("after")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&headers, "x-ratelimit-remaining-requests"), "0");
    assert_eq!(send(&gw.http, &gw.url, &key, &small("again")).await.0, 429);
}

#[tokio::test]
async fn rate_limit_headers_count_down_and_reset_in_openai_format() {
    let gw = Gateway::start_setup(None, "", "").await;
    let (_, key) = gw.user("countdown@example.com").await;
    for expected in (0..10).rev() {
        let (status, headers, body) = send(&gw.http, &gw.url, &key, &small("count")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(header(&headers, "x-ratelimit-limit-requests"), "10");
        assert_eq!(
            header(&headers, "x-ratelimit-remaining-requests"),
            expected.to_string()
        );
        // Full again after (10 - remaining) × 6 s, minus the time the test has taken.
        let reset = header(&headers, "x-ratelimit-reset-requests");
        let full_in = (10 - expected) * 6;
        let shown = parse_go_duration(reset);
        assert!(
            shown <= Duration::from_secs(full_in) && shown > Duration::from_secs(full_in - 1),
            "{reset} for {full_in}s"
        );
        assert_eq!(header(&headers, "x-ratelimit-limit-tokens"), "10000");
        let tokens_left: u64 = header(&headers, "x-ratelimit-remaining-tokens")
            .parse()
            .unwrap();
        assert!(tokens_left < 10_000);
    }
}

/// Parses `1m6.5s`, `6s`, `12ms`.
fn parse_go_duration(text: &str) -> Duration {
    if let Some(ms) = text.strip_suffix("ms") {
        return Duration::from_millis(ms.parse().unwrap());
    }
    let (minutes, rest) = match text.split_once('m') {
        Some((m, rest)) => (m.parse::<u64>().unwrap(), rest),
        None => (0, text),
    };
    let secs: f64 = rest.strip_suffix('s').unwrap().parse().unwrap();
    Duration::from_secs(minutes * 60) + Duration::from_secs_f64(secs)
}

/// Uses a 300-token quota until it refuses; returns the refusal.
async fn exhaust_quota(gw: &Gateway, key: &str) -> Value {
    for i in 0..40 {
        let (status, headers, body) = send(&gw.http, &gw.url, key, &small(&format!("q {i}"))).await;
        if status != 200 {
            assert_eq!(status, 429, "{body}");
            assert_eq!(header(&headers, "x-should-retry"), "false");
            return body;
        }
    }
    panic!("a 300-token quota never ran out");
}

#[tokio::test]
async fn monthly_quota_resets_at_the_start_of_the_month_in_utc_and_in_shanghai() {
    const PLAN: &str = "[plans.free]\nmonthly_tokens = 300\nrpm = 1000\n";
    for zone in ["UTC", "Asia/Shanghai"] {
        let gw = Gateway::start_setup(
            None,
            "",
            &format!("{PLAN}[limits]\ntimezone = \"{zone}\"\n"),
        )
        .await;
        // 23:59 on 31 March in Shanghai is 15:59 UTC.
        gw.set_time(at("2026-03-31T15:59:00Z"));
        let (token, key) = gw.user(&format!("quota-{}@example.com", zone.len())).await;
        let refusal = exhaust_quota(&gw, &key).await;
        assert_eq!(refusal["error"]["type"], "insufficient_quota", "{refusal}");
        assert_eq!(refusal["error"]["code"], "insufficient_quota");
        let (_, usage) = gw.get("/api/v1/usage/current", Some(&token)).await;
        let quota = &usage["quota"];
        assert_eq!(quota["limit"], 300);
        let used = quota["used"].as_u64().unwrap();
        assert!(used > 0 && used <= 300, "{usage}");
        assert_eq!(quota["remaining"].as_u64().unwrap(), 300 - used);
        let resets = match zone {
            "UTC" => "2026-04-01T00:00:00Z",
            _ => "2026-03-31T16:00:00Z",
        };
        assert_eq!(quota["resets_at"], resets, "{usage}");
        assert_eq!(usage["period"]["timezone"], zone);

        // One minute later it is April in Shanghai, still March in UTC.
        gw.set_time(at("2026-03-31T16:00:30Z"));
        let (status, _, body) = send(&gw.http, &gw.url, &key, &small("april?")).await;
        match zone {
            "UTC" => assert_eq!(status, 429, "{body}"),
            _ => assert_eq!(status, 200, "the Shanghai month has turned: {body}"),
        }
        // Eight hours later it is April everywhere.
        gw.set_time(at("2026-04-01T00:00:30Z"));
        let (status, _, body) = send(&gw.http, &gw.url, &key, &small("april!")).await;
        assert_eq!(status, 200, "{zone}: {body}");
        let (_, usage) = gw.get("/api/v1/usage/current", Some(&token)).await;
        assert!(usage["quota"]["used"].as_u64().unwrap() < used, "{usage}");
    }
}

/// Counts the alerts a webhook receives.
async fn webhook() -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<Value>>>) {
    let count = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, b) = (count.clone(), bodies.clone());
    let app = axum::Router::new().route(
        "/alerts",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let (c, b) = (c.clone(), b.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                b.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, count, bodies)
}

/// What one `small` request really costs, in nano-USD, measured on a throwaway user.
async fn cost_of_one(gw: &Gateway) -> i64 {
    let (token, key) = gw
        .user(&format!("calibrate-{}@example.com", uuid::Uuid::new_v4()))
        .await;
    let (status, _, body) = send(&gw.http, &gw.url, &key, &small("the same prompt")).await;
    assert_eq!(status, 200, "{body}");
    let rows = gw.wait_for_records(&token, 1).await;
    let cost: Decimal = rows[0]["cost"].as_str().unwrap().parse().unwrap();
    rust_decimal::prelude::ToPrimitive::to_i64(&(cost * Decimal::from(1_000_000_000))).unwrap()
}

/// Fires 200 simultaneous requests with `key`, spread over `urls`; returns the statuses
/// and bodies.
async fn fire_200(http: &reqwest::Client, urls: &[String], key: &str) -> Vec<(u16, Value)> {
    let sends = (0..200).map(|i| {
        let (http, url, key) = (http.clone(), urls[i % urls.len()].clone(), key.to_owned());
        async move {
            let (status, _, body) = send(&http, &url, &key, &small("the same prompt")).await;
            (status, body)
        }
    });
    futures::future::join_all(sends).await
}

/// Checks a budget run: at most 50 passed (a request never costs more than its reservation
/// here, so the bound on overspend is zero), every refusal is `insufficient_quota`, and the
/// recorded spend is within the budget.
fn check_budget_run(answers: &[(u16, Value)], spent: i64, budget: i64) -> usize {
    let passed = answers.iter().filter(|a| a.0 == 200).count();
    for (status, body) in answers.iter().filter(|a| a.0 != 200) {
        assert_eq!(*status, 429, "{body}");
        assert_eq!(body["error"]["type"], "insufficient_quota", "{body}");
        assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
    }
    assert!(passed >= 1, "the budget pays for some requests");
    assert!(
        passed <= 50,
        "{passed} requests passed a budget that pays for 50"
    );
    assert!(spent <= budget, "spent {spent} of a budget of {budget}");
    eprintln!("budget run: {passed} of 200 passed; spent {spent} of {budget} nano-USD");
    passed
}

#[tokio::test]
async fn a_budget_for_fifty_holds_against_two_hundred_concurrent_requests() {
    let (hook, alerts, bodies) = webhook().await;
    let gw = Gateway::start_setup(
        None,
        "",
        &format!("[plans.free]\nname = \"Unthrottled\"\n[alerts]\nwebhook_url = \"{hook}\"\n"),
    )
    .await;
    let one = cost_of_one(&gw).await;
    let budget = 50 * one;
    let (token, key) = gw.user("budget@example.com").await;
    let key_id = gw.key_id(&token).await;
    let (status, body) = gw
        .put(
            &format!("/api/v1/admin/api-keys/{key_id}/budget"),
            MASTER,
            &json!({
                "hard_limit": Decimal::new(budget, 9).to_string(),
                "soft_limit": Decimal::new(10 * one, 9).to_string(),
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["period"], "monthly");

    let answers = fire_200(&gw.http, std::slice::from_ref(&gw.url), &key).await;
    let state = gw.stop().await;
    let spent = state
        .store
        .spent_since(BudgetScope::ApiKey, key_id.parse().unwrap(), 0)
        .await
        .unwrap();
    let spent_nanos = spent.costs.iter().map(|c| c.1).sum::<i64>();
    let passed = check_budget_run(&answers, spent_nanos, budget);
    assert_eq!(spent_nanos, one * i64::try_from(passed).unwrap());

    // The soft limit (10 requests' worth) fired exactly one alert.
    for _ in 0..50 {
        if alerts.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        passed >= 10,
        "the soft limit was reached: {passed} requests passed"
    );
    assert_eq!(alerts.load(Ordering::SeqCst), 1);
    let alert = bodies.lock().unwrap()[0].clone();
    assert_eq!(alert["type"], "budget.soft_limit_reached");
    assert_eq!(alert["budget"]["scope"], "api_key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_one_postgres_and_redis_share_one_budget_and_one_rate_limit() {
    harness::in_fresh_postgres(|db| async move {
        // Two gateways, a shared Redis and the other test binaries on two cores: a Redis call
        // can take longer than the default 250 ms here, which would refuse (fail closed) a
        // request this test expects to be counted. Sharing, not timeouts, is tested here.
        let tables = "[plans.free]\nname = \"Unthrottled\"\n[limits]\nbackend_timeout_ms = 5000\n";
        let extra = "redis_url = \"redis://127.0.0.1:6379\"";
        let a = Gateway::start_setup(Some(db.clone()), extra, tables).await;
        let b = Gateway::start_setup(Some(db.clone()), extra, tables).await;
        let one = cost_of_one(&a).await;
        let budget = 50 * one;
        let (token, key) = a.user("shared@example.com").await;
        let key_id = a.key_id(&token).await;
        let (status, body) = b
            .put(
                &format!("/api/v1/admin/api-keys/{key_id}/budget"),
                MASTER,
                &json!({"hard_limit": Decimal::new(budget, 9).to_string()}),
            )
            .await;
        assert_eq!(status, 200, "{body}");

        let answers = fire_200(&a.http, &[a.url.clone(), b.url.clone()], &key).await;
        let state = a.stop().await;
        b.stop().await;
        let spent = state
            .store
            .spent_since(BudgetScope::ApiKey, key_id.parse().unwrap(), 0)
            .await
            .unwrap();
        let spent_nanos = spent.costs.iter().map(|c| c.1).sum::<i64>();
        check_budget_run(&answers, spent_nanos, budget);

        // A per-key limit of 10 requests a minute, set through one instance, binds both.
        let a = Gateway::start_setup(Some(db.clone()), extra, tables).await;
        let b = Gateway::start_setup(Some(db.clone()), extra, tables).await;
        let (token, key) = a.user("shared-rate@example.com").await;
        let key_id = a.key_id(&token).await;
        let (status, body) = a
            .put(
                &format!("/api/v1/auth/api-keys/{key_id}/limits"),
                &token,
                &json!({"rpm_limit": 10}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let sends = (0..16).map(|i| {
            let url = if i % 2 == 0 {
                a.url.clone()
            } else {
                b.url.clone()
            };
            let (http, key) = (a.http.clone(), key.clone());
            async move { send(&http, &url, &key, &small("shared rate")).await.0 }
        });
        let statuses = futures::future::join_all(sends).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            10,
            "{statuses:?}"
        );
        assert!(statuses.iter().all(|s| *s == 200 || *s == 429));
    })
    .await;
}

#[tokio::test]
async fn plans_and_budgets_are_managed_through_the_api() {
    let gw = Gateway::start_setup(None, "", "").await;
    let (_, plans) = gw.get("/api/v1/plans", None).await;
    let ids: Vec<&str> = plans["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["developer", "enterprise", "free", "pro"]);
    let dev = &plans["data"][0];
    assert_eq!(
        dev["price_monthly"],
        json!({"currency": "USD", "amount": "29"})
    );
    assert_eq!(dev["monthly_tokens"], 1_000_000);
    assert_eq!(dev["rpm"], 100);

    let (token, key) = gw.user("admin-target@example.com").await;
    let (_, me) = gw.get("/api/v1/usage/current", Some(&token)).await;
    assert_eq!(me["plan"]["id"], "free");
    assert_eq!(me["quota"]["limit"], 10_000);
    // Only the master key changes plans, and only to a configured plan.
    let (_, users) = gw
        .post(
            "/api/v1/admin/users",
            Some(MASTER),
            &json!({"email": "x@example.com", "password": "a long password"}),
        )
        .await;
    let user_id = users["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/users/{user_id}/plan");
    assert_eq!(gw.put(&path, &key, &json!({"plan": "pro"})).await.0, 401);
    let (status, body) = gw.put(&path, MASTER, &json!({"plan": "platinum"})).await;
    assert_eq!(
        (status, body["error"]["param"].clone()),
        (400, json!("plan"))
    );
    let (status, body) = gw.put(&path, MASTER, &json!({"plan": "pro"})).await;
    assert_eq!((status, body["plan"].clone()), (200, json!("pro")));

    // A key's owner caps its spend; another user cannot see or touch that key.
    let key_id = gw.key_id(&token).await;
    let (status, body) = gw
        .put(
            &format!("/api/v1/auth/api-keys/{key_id}/budget"),
            &token,
            &json!({"hard_limit": "2.50", "period": "lifetime"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hard_limit"], "2.5");
    assert_eq!(body["spent"], "0");
    let (status, body) = gw
        .put(
            &format!("/api/v1/auth/api-keys/{key_id}/budget"),
            &token,
            &json!({"hard_limit": "-1"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["param"].clone()),
        (400, json!("hard_limit"))
    );
    let (other, _) = gw.user("someone-else@example.com").await;
    let (status, _) = gw
        .put(
            &format!("/api/v1/auth/api-keys/{key_id}/budget"),
            &other,
            &json!({"hard_limit": "100"}),
        )
        .await;
    assert_eq!(status, 404);
    let (_, list) = gw.get("/api/v1/budgets", Some(&token)).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["period"], "lifetime");
}

/// A TCP relay to the real Redis that the test can cut and restore, to play an outage.
pub(crate) struct RedisRelay {
    pub(crate) port: u16,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl RedisRelay {
    pub(crate) async fn start(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
        let t = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:6379").await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                t.lock().unwrap().push(relay);
            }
        });
        tasks.lock().unwrap().push(accept);
        Self { port, tasks }
    }

    /// Closes the listener and every relayed connection.
    pub(crate) fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_away_limits_fail_closed_and_nothing_is_double_counted() {
    let relay = RedisRelay::start(0).await;
    let gw = Gateway::start_setup(
        None,
        &format!("redis_url = \"redis://127.0.0.1:{}\"", relay.port),
        "[limits]\nbackend_timeout_ms = 300\n",
    )
    .await;
    let (_, key) = gw.user("outage@example.com").await;
    let (status, headers, _) = send(&gw.http, &gw.url, &key, &small("before")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-ratelimit-remaining-requests"), "9");

    relay.cut();
    for _ in 0..3 {
        let (status, headers, body) = send(&gw.http, &gw.url, &key, &small("during")).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "limits_unavailable");
        assert!(headers.get("x-ratelimit-remaining-requests").is_none());
    }

    let port = relay.port;
    let _relay = RedisRelay::start(port).await;
    let mut after = None;
    for _ in 0..50 {
        let (status, headers, _) = send(&gw.http, &gw.url, &key, &small("after")).await;
        if status == 200 {
            after = Some(headers);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let headers = after.expect("limits work again once Redis is back");
    // The refused requests took nothing: this is the second request counted.
    assert_eq!(header(&headers, "x-ratelimit-remaining-requests"), "8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_configured_to_fail_open_let_requests_through_while_redis_is_away() {
    let relay = RedisRelay::start(0).await;
    let gw = Gateway::start_setup(
        None,
        &format!("redis_url = \"redis://127.0.0.1:{}\"", relay.port),
        "[limits]\non_backend_error = \"open\"\nbackend_timeout_ms = 300\n",
    )
    .await;
    let (token, key) = gw.user("open@example.com").await;
    relay.cut();
    let (status, headers, body) = send(&gw.http, &gw.url, &key, &small("unchecked")).await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.get("x-ratelimit-remaining-requests").is_none());
    // Its usage is recorded all the same.
    assert_eq!(gw.wait_for_records(&token, 1).await.len(), 1);
}

#[tokio::test]
async fn a_keys_concurrency_cap_refuses_the_third_request_in_flight() {
    let gw = Gateway::start_setup(None, "", crate::UNLIMITED_FREE).await;
    let (token, key) = gw.user("concurrency@example.com").await;
    let key_id = gw.key_id(&token).await;
    let (status, body) = gw
        .put(
            &format!("/api/v1/auth/api-keys/{key_id}/limits"),
            &token,
            &json!({"max_concurrent": 2}),
        )
        .await;
    assert_eq!((status, body["max_concurrent"].clone()), (200, json!(2)));
    let slow = chat("mock/gpt-4o-mini@latency_ms=800", "slow");
    let sends = (0..4).map(|_| {
        let (http, url, key, body) = (gw.http.clone(), gw.url.clone(), key.clone(), slow.clone());
        async move { send(&http, &url, &key, &body).await }
    });
    let answers = futures::future::join_all(sends).await;
    assert_eq!(answers.iter().filter(|a| a.0 == 200).count(), 2);
    for (status, headers, body) in answers.iter().filter(|a| a.0 != 200) {
        assert_eq!(*status, 429, "{body}");
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        assert_eq!(header(headers, "retry-after"), "1");
    }
    // The slots are free again once those requests have ended.
    assert_eq!(send(&gw.http, &gw.url, &key, &small("after")).await.0, 200);
}
