//! The load generator against a real mock-upstream: counts, stream timings, errors, the cap.

#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::time::Duration;

use aihub_loadgen::{Plan, run};

async fn setup(model: &str, stream: bool) -> (mock_upstream::MockServer, Plan) {
    let server = mock_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let body = serde_json::json!({
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    });
    let plan = Plan {
        url: format!("{}/chat/completions", server.openai_base()),
        api_key: "sk-test".into(),
        body: body.to_string().into(),
        stream,
        rate: 50.0,
        requests: 20,
        max_in_flight: 1000,
        timeout: Duration::from_secs(10),
    };
    (server, plan)
}

#[tokio::test]
async fn streams_are_timed_to_first_token_and_to_done() {
    let (server, plan) = setup("gpt-4o-mini@chunks=5,ttft_ms=60,tps=100", true).await;
    let report = run(plan).await.unwrap();
    assert_eq!((report.sent, report.ok, report.not_sent), (20, 20, 0));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(server.request_count(), 20);
    let ttft = report.ttft_ms.unwrap();
    let last = report.latency_ms.unwrap();
    assert!(
        ttft.p50 >= 60.0,
        "the first token waits for ttft_ms: {ttft:?}"
    );
    // Five tokens at 100/s: the last leaves about 40 ms after the first.
    assert!(last.p50 >= ttft.p50 + 30.0, "{last:?} against {ttft:?}");
    let (fewest, most) = report.events_per_stream.unwrap();
    assert_eq!(fewest, most);
    assert!(fewest >= 5, "five content chunks at least: {fewest}");
    // 20 requests at 50/s are due over 0.38 s.
    assert!(report.elapsed_s >= 0.38, "{}", report.elapsed_s);
}

#[tokio::test]
async fn failures_are_counted_by_kind_not_timed() {
    let (_server, plan) = setup("gpt-4o-mini@status=429", false).await;
    let report = run(plan).await.unwrap();
    assert_eq!(report.ok, 0);
    assert_eq!(report.errors.get("status 429"), Some(&20));
    assert!(report.latency_ms.is_none());

    let (_server, plan) = setup("gpt-4o-mini@chunks=4,drop_after=2", true).await;
    let report = run(plan).await.unwrap();
    assert_eq!(report.ok, 0);
    let broken: u64 = report.errors.values().sum();
    assert_eq!(broken, 20, "{:?}", report.errors);
}

#[tokio::test]
async fn latency_counts_from_the_due_time_and_the_cap_refuses_extra_requests() {
    // Each answer takes 200 ms; with one request allowed in flight, the nine due meanwhile
    // (every 20 ms) are not sent.
    let (_server, mut plan) = setup("gpt-4o-mini@latency_ms=200", false).await;
    plan.max_in_flight = 1;
    let report = run(plan).await.unwrap();
    assert!(report.ok >= 1 && report.ok <= 3, "{report:?}");
    assert_eq!(report.ok + report.not_sent, 20);
    let latency = report.latency_ms.unwrap();
    assert!(latency.p50 >= 200.0, "{latency:?}");
}
