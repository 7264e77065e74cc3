//! Upstreams that misbehave for a while (docs/routing.md): a flapping primary and a storm of
//! 429s with `Retry-After`. No request fails that a healthy deployment could serve, and no
//! request makes more attempts than configured.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Gateway, chat};

const STORMS: &str = r#"
[plans.free]
name = "Free (tests: unlimited)"

[routing]
max_attempts = 3
max_retry_wait_secs = 5

[routing.breaker]
min_requests = 4
failure_percent = 50
cooldown_secs = 60

[routing.groups.flapping]
deployments = [
  { id = "flapper", provider = "mock", model = "flap@fail_every=2,status=500", priority = 0 },
  { id = "steady", provider = "mock", model = "steady", priority = 1 },
]

[routing.groups.stormy]
deployments = [
  { id = "storm-a", provider = "mock", model = "storm-a@status=429,retry_after=1", priority = 0 },
  { id = "storm-b", provider = "mock", model = "storm-b@status=429,retry_after=1", priority = 1 },
  { id = "calm", provider = "mock", model = "calm", priority = 2 },
]

[routing.groups.only-storm]
deployments = [{ id = "lone", provider = "mock", model = "lone@status=429,retry_after=1" }]

[routing.groups.broken]
deployments = [{ id = "broken", provider = "mock", model = "broken@status=500" }]

[routing.groups.long-storm]
deployments = [{ id = "long", provider = "mock", model = "long@status=429,retry_after=120" }]
"#;

async fn gateway() -> Gateway {
    Gateway::start_setup(None, "upstream_max_retries = 2", STORMS).await
}

async fn ask(g: &Gateway, key: &str, model: &str) -> (u16, Value) {
    g.post("/v1/chat/completions", Some(key), &chat(model, "hello"))
        .await
}

#[tokio::test]
async fn a_flapping_primary_fails_no_request_and_is_taken_out_by_its_failure_rate() {
    let g = gateway().await;
    let (token, key) = g.user("flap@example.com").await;
    for _ in 0..20 {
        let (status, body) = ask(&g, &key, "flapping").await;
        assert_eq!(status, 200, "{body}");
    }
    // Fail, answer, fail, answer, fail: the fifth request makes three failures in five
    // (over 50 % with at least four) and the breaker opens for its 60 s cooldown.
    let flapper = "flap@fail_every=2,status=500";
    assert_eq!(g.upstream_calls(flapper), 5);
    // The steady deployment served the three that met a failure and the fifteen after.
    assert_eq!(g.upstream_calls("steady"), 18);
    let rows = g.wait_for_records(&token, 20).await;
    assert!(rows.iter().all(|r| r["status"] == 200), "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r["attempts"] == 2).count(), 3);
    assert!(rows.iter().all(|r| r["attempts"].as_u64() <= Some(2)));
}

#[tokio::test]
async fn a_429_storm_moves_to_the_calm_deployment_within_the_attempt_limit() {
    let g = gateway().await;
    let (token, key) = g.user("storm@example.com").await;
    let started = Instant::now();
    for _ in 0..8 {
        let (status, body) = ask(&g, &key, "stormy").await;
        assert_eq!(status, 200, "{body}");
    }
    // A 429 moves on to the next deployment at once (no wait while another is left); each
    // storming deployment is taken out after four 429s.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(g.upstream_calls("storm-a@status=429,retry_after=1"), 4);
    assert_eq!(g.upstream_calls("storm-b@status=429,retry_after=1"), 4);
    assert_eq!(g.upstream_calls("calm"), 8);
    let rows = g.wait_for_records(&token, 8).await;
    assert!(
        rows.iter().all(|r| r["attempts"].as_u64() <= Some(3)),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .all(|r| r["provider"] == "mock" && r["upstream_model"] == "calm")
    );
}

#[tokio::test]
async fn a_lone_storming_deployment_is_retried_after_its_retry_after_up_to_the_limit() {
    let g = gateway().await;
    let (_, key) = g.user("lone@example.com").await;
    let started = Instant::now();
    let answer = g
        .http
        .post(format!("{}/v1/chat/completions", g.url))
        .bearer_auth(&key)
        .json(&chat("only-storm", "hello"))
        .send()
        .await
        .unwrap();
    // Three attempts (max_attempts), each after the upstream's one-second Retry-After.
    assert_eq!(answer.status(), 429);
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(g.upstream_calls("lone@status=429,retry_after=1"), 3);
    assert!(answer.headers().contains_key("retry-after"));

    // A Retry-After beyond max_retry_wait_secs is not waited for: one attempt, then the
    // caller is told when to come back.
    let started = Instant::now();
    let (status, body) = ask(&g, &key, "long-storm").await;
    assert_eq!(status, 429, "{body}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(g.upstream_calls("long@status=429,retry_after=120"), 1);
}

#[tokio::test]
async fn a_group_whose_every_deployment_is_out_fails_fast_with_503_and_records_it() {
    let g = gateway().await;
    let (token, key) = g.user("broken@example.com").await;
    // Three attempts, then one more: four failures open the breaker.
    for _ in 0..2 {
        let (status, body) = ask(&g, &key, "broken").await;
        assert_eq!(status, 502, "{body}");
    }
    assert_eq!(g.upstream_calls("broken@status=500"), 4);
    let answer = g
        .http
        .post(format!("{}/v1/chat/completions", g.url))
        .bearer_auth(&key)
        .json(&chat("broken", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
    assert!(answer.headers().contains_key("retry-after"));
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "deployments_unavailable", "{body}");
    assert_eq!(
        g.upstream_calls("broken@status=500"),
        4,
        "no call while it is out"
    );
    // The record keeps the status the caller got.
    let rows = g.wait_for_records(&token, 3).await;
    let mut statuses: Vec<u64> = rows.iter().filter_map(|r| r["status"].as_u64()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [502, 502, 503], "{rows:?}");
}

#[tokio::test]
async fn one_deadline_bounds_a_request_over_all_its_attempts() {
    let tables = r#"
[plans.free]
name = "Free (tests: unlimited)"

[routing]
request_timeout_secs = 1

[routing.groups.slow-first]
fallbacks = ["mock/after-the-deadline"]
deployments = [{ id = "slow", provider = "mock", model = "slow@latency_ms=1500" }]
"#;
    // Each attempt alone may take 2 s (upstream_timeout_secs); the request as a whole, 1 s.
    let g = Gateway::start_setup(None, "", tables).await;
    let (token, key) = g.user("deadline@example.com").await;
    let started = Instant::now();
    let (status, body) = ask(&g, &key, "slow-first").await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert!(
        started.elapsed() < Duration::from_millis(1_450),
        "cut at the deadline"
    );
    assert_eq!(
        g.upstream_calls("after-the-deadline"),
        0,
        "no fallback after the deadline"
    );
    let rows = g.wait_for_records(&token, 1).await;
    assert_eq!(rows[0]["status"], 504, "{rows:?}");
    assert_eq!(rows[0]["attempts"], 1, "{rows:?}");
}
