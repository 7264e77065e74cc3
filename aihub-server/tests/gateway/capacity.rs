//! Deployments' own rpm and tpm (docs/routing.md): a deployment at its limit is skipped before
//! its provider would answer 429, a route whose every deployment is at its limit is refused
//! with 429 `deployments_at_capacity` and `Retry-After`, and with Redis every instance counts
//! against one limit and shares each breaker (its opening, its one probe, its closing).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::limits::harness;
use crate::{Gateway, MASTER, chat};

/// Groups over `{provider}` (the mock's OpenAI wire): `capped` spills from a 2-rpm deployment
/// to an unlimited one, `tiny` has one 1-rpm deployment, `thrifty` one 5-tpm deployment, and
/// `flaky` a primary that always fails before a healthy secondary.
fn tables(provider: &str, base: &str, tag: &str) -> String {
    format!(
        r#"
[plans.free]
name = "Free (tests: unlimited)"

[providers.{provider}]
kind = "openai"
base_url = "{base}"
api_key = "sk-shared"
allow_unlisted_models = true
unlisted_price = {{ currency = "USD", input = "0.15", output = "0.60", as_of = "2026-11-22", source = "test" }}

[routing.breaker]
min_requests = 3
failure_percent = 50
cooldown_secs = 1

[routing.groups.capped]
deployments = [
  {{ id = "small", provider = "{provider}", model = "small-{tag}", rpm = 2, priority = 0 }},
  {{ id = "big", provider = "{provider}", model = "big-{tag}", priority = 1 }},
]

[routing.groups.tiny]
deployments = [{{ id = "tiny", provider = "{provider}", model = "tiny-{tag}", rpm = 1 }}]

[routing.groups.thrifty]
deployments = [{{ id = "thrifty", provider = "{provider}", model = "thrifty-{tag}", tpm = 5 }}]

[routing.groups.healing]
deployments = [
  {{ id = "healer", provider = "{provider}", model = "healer-{tag}@fail_times=3,status=500", priority = 0 }},
  {{ id = "stand-in", provider = "{provider}", model = "stand-in-{tag}", priority = 1 }},
]

[routing.groups.flaky]
deployments = [
  {{ id = "primary", provider = "{provider}", model = "primary-{tag}@status=500", priority = 0 }},
  {{ id = "secondary", provider = "{provider}", model = "secondary-{tag}", priority = 1 }},
]
"#
    )
}

/// A tag that keeps this run's deployments apart from any other test's in a shared Redis.
fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

async fn ask(g: &Gateway, key: &str, model: &str) -> (u16, Value) {
    g.post("/v1/chat/completions", Some(key), &chat(model, "hello"))
        .await
}

/// One gateway on its own mock, on SQLite or `db`, with `extra` top-level keys.
async fn alone(db: Option<String>, extra: &str, tag: &str) -> Gateway {
    Gateway::start_setup(db, extra, &tables("shared", "{mock_openai}", tag)).await
}

#[tokio::test]
async fn a_deployment_at_its_rpm_is_skipped_and_a_full_route_is_refused_with_429() {
    let run = |db: Option<String>, extra: &'static str| async move {
        let tag = tag();
        let g = alone(db, extra, &tag).await;
        let (_, key) = g.user("capacity@example.com").await;
        for _ in 0..5 {
            let (status, body) = ask(&g, &key, "capped").await;
            assert_eq!(status, 200, "{body}");
        }
        // The 2-rpm deployment took two requests; the others went on to the next one without
        // ever reaching it (no 429 from its provider).
        assert_eq!(g.upstream_calls(&format!("small-{tag}")), 2);
        assert_eq!(g.upstream_calls(&format!("big-{tag}")), 3);

        let (status, body) = ask(&g, &key, "tiny").await;
        assert_eq!(status, 200, "{body}");
        let answer = g
            .http
            .post(format!("{}/v1/chat/completions", g.url))
            .bearer_auth(&key)
            .json(&chat("tiny", "hello"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 429);
        let wait: u64 = answer.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "deployments_at_capacity", "{body}");
        assert_eq!(
            g.upstream_calls(&format!("tiny-{tag}")),
            1,
            "the refusal made no call"
        );
    };
    run(None, "").await;
    harness::in_fresh_postgres(|db| async move { run(Some(db), "").await }).await;
    run(None, "redis_url = \"redis://127.0.0.1:6379\"").await;
}

#[tokio::test]
async fn a_deployment_past_its_tpm_is_skipped_until_its_minute_moves_on() {
    let tag = tag();
    let g = alone(None, "", &tag).await;
    let (_, key) = g.user("tpm@example.com").await;
    // The first request is let through (nothing was sent this minute); its tokens use up
    // the 5-token limit, so the second is refused without a call.
    let (status, body) = ask(&g, &key, "thrifty").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = ask(&g, &key, "thrifty").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "deployments_at_capacity");
    assert_eq!(g.upstream_calls(&format!("thrifty-{tag}")), 1);
    // Two minutes on (the gateway's clock), nothing of that minute is left.
    g.clock_offset
        .store(120_000, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = ask(&g, &key, "thrifty").await;
    assert_eq!(status, 200, "{body}");
}

/// Two instances on one PostgreSQL and one Redis, both calling one mock upstream (the first's).
async fn pair(db: String, tag: &str) -> (Gateway, Gateway) {
    let extra = "redis_url = \"redis://127.0.0.1:6379\"";
    let a = Gateway::start_setup(
        Some(db.clone()),
        extra,
        &tables("shared", "{mock_openai}", tag),
    )
    .await;
    let b = Gateway::start_setup(
        Some(db),
        extra,
        &tables("shared", &a.mock.openai_base(), tag),
    )
    .await;
    (a, b)
}

async fn breaker(g: &Gateway, id: &str) -> String {
    let (status, list) = g
        .get("/api/v1/admin/deployments/health", Some(MASTER))
        .await;
    assert_eq!(status, 200, "{list}");
    let d = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list}"));
    d["breaker"].as_str().unwrap().to_owned()
}

async fn until_breaker(g: &Gateway, id: &str, want: &str) {
    let start = Instant::now();
    loop {
        let now = breaker(g, id).await;
        if now == want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{id} stayed {now}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_instances_with_redis_share_a_deployments_rpm_and_its_breaker() {
    harness::in_fresh_postgres(|db| async move {
        let tag = tag();
        let (a, b) = pair(db, &tag).await;
        let (_, key) = a.user("pair@example.com").await;

        // One 1-rpm deployment for both: whichever instance asks second is refused.
        assert_eq!(ask(&a, &key, "tiny").await.0, 200);
        let (status, body) = ask(&b, &key, "tiny").await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["error"]["code"], "deployments_at_capacity");
        // Two requests each on `capped`: its 2-rpm deployment serves two of the four.
        for g in [&a, &b, &a, &b] {
            assert_eq!(ask(g, &key, "capped").await.0, 200);
        }
        assert_eq!(a.upstream_calls(&format!("small-{tag}")), 2);
        assert_eq!(a.upstream_calls(&format!("big-{tag}")), 2);

        // Three failures on the first instance open the primary's breaker there; the second
        // hears of it and sends the primary nothing.
        let primary = format!("primary-{tag}@status=500");
        for _ in 0..3 {
            assert_eq!(ask(&a, &key, "flaky").await.0, 200);
        }
        assert_eq!(a.upstream_calls(&primary), 3);
        until_breaker(&b, "primary", "open").await;
        for _ in 0..5 {
            assert_eq!(ask(&b, &key, "flaky").await.0, 200);
        }
        assert_eq!(
            a.upstream_calls(&primary),
            3,
            "the second instance kept out"
        );

        // After the cooldown, eight requests at once over both instances send the primary
        // exactly one probe; it fails, and both keep the primary out again.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let asks = (0..8).map(|i| {
            let g = if i % 2 == 0 { &a } else { &b };
            let key = key.clone();
            async move { ask(g, &key, "flaky").await.0 }
        });
        let statuses = futures::future::join_all(asks).await;
        assert_eq!(statuses, [200; 8]);
        assert_eq!(
            a.upstream_calls(&primary),
            4,
            "one probe between both instances"
        );
        until_breaker(&a, "primary", "open").await;
        until_breaker(&b, "primary", "open").await;

        // A deployment that recovers: opened by the first instance, probed by the second
        // after the cooldown (its scripted failures are used up), closed on both.
        for _ in 0..3 {
            assert_eq!(ask(&a, &key, "healing").await.0, 200);
        }
        until_breaker(&b, "healer", "open").await;
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        assert_eq!(ask(&b, &key, "healing").await.0, 200);
        assert_eq!(
            a.upstream_calls(&format!("healer-{tag}@fail_times=3,status=500")),
            4
        );
        until_breaker(&a, "healer", "closed").await;
        assert_eq!(ask(&a, &key, "healing").await.0, 200);
        assert_eq!(
            a.upstream_calls(&format!("healer-{tag}@fail_times=3,status=500")),
            5
        );
    })
    .await;
}
