//! Retries, Retry-After, fallbacks, timeouts and broken streams.

use std::time::{Duration, Instant};

use aihub_core::*;
use futures::StreamExt;

use crate::mock;

fn client(base: &str, scenario_id: &str) -> ClientBuilder {
    Client::builder()
        .gateway(base, "ai-hub-test")
        .default_header("x-mock-id", scenario_id)
        .retry_policy(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
        })
}

fn hello(model: &str) -> ChatCompletionRequest {
    ChatCompletionRequest::new(model, vec![ChatMessage::user("hello")])
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let m = mock().await;
    let c = client(&m.openai_base(), "retry-5xx").build().unwrap();
    let r = c
        .chat()
        .create(hello("gpt-4o-mini@status=500,fail_times=2"))
        .await
        .unwrap();
    assert!(!r.choices.is_empty());
    assert_eq!(m.request_count(), 3, "two failures, then success");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let m = mock().await;
    let c = client(&m.openai_base(), "retry-429").build().unwrap();
    let start = Instant::now();
    c.chat()
        .create(hello("gpt-4o-mini@status=429,retry_after=1,fail_times=1"))
        .await
        .unwrap();
    // The computed backoff is at most 50 ms here; only the server's Retry-After explains a 1 s wait.
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited only {:?}",
        start.elapsed()
    );
    assert_eq!(m.request_count(), 2);
}

#[tokio::test]
async fn retries_give_up_and_keep_the_last_error() {
    let m = mock().await;
    let c = client(&m.openai_base(), "always-503").build().unwrap();
    let e = c
        .chat()
        .create(hello("gpt-4o-mini@status=503"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "upstream");
    assert_eq!(e.detail().upstream_status, Some(503));
    assert_eq!(m.request_count(), 4, "first attempt + 3 retries");
}

#[tokio::test]
async fn final_errors_are_not_retried() {
    let m = mock().await;
    let c = client(&m.openai_base(), "final").build().unwrap();
    for status in [400, 404] {
        m.reset();
        let e = c
            .chat()
            .create(hello(&format!("gpt-4o-mini@status={status}")))
            .await
            .unwrap_err();
        assert_eq!(e.status(), status);
        assert_eq!(m.request_count(), 1, "status {status} retried");
    }
}

#[tokio::test]
async fn fallback_models_are_tried_in_order() {
    let m = mock().await;
    let c = client(&m.openai_base(), "fallback")
        .max_retries(0)
        .fallback_models([
            "gpt-4o-mini@status=502",
            "gpt-4o-mini@content=from the fallback",
        ])
        .build()
        .unwrap();
    let r = c.chat().create(hello("gpt-4o@status=500")).await.unwrap();
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("from the fallback")
    );
    assert_eq!(m.request_count(), 3);
    // Per-call options override the client's list; a final error stops the chain.
    m.reset();
    let opts = RequestOptions {
        fallback_models: Some(vec!["gpt-4o-mini".into()]),
        ..Default::default()
    };
    let e = c
        .chat()
        .create_with(hello("gpt-4o@status=400"), &opts)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "bad_request");
    assert_eq!(m.request_count(), 1);
    // Streams fall back too.
    m.reset();
    let mut s = c
        .chat()
        .stream_with(hello("gpt-4o@status=503"), &opts)
        .await
        .unwrap();
    let mut n = 0;
    while let Some(chunk) = s.next().await {
        chunk.unwrap();
        n += 1;
    }
    assert!(n > 0);
}

#[tokio::test]
async fn timeouts_fire() {
    let m = mock().await;
    let c = client(&m.openai_base(), "slow")
        .max_retries(0)
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let e = c
        .chat()
        .create(hello("gpt-4o-mini@latency_ms=3000"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "timeout");
    let e = match c.chat().stream(hello("gpt-4o-mini@latency_ms=3000")).await {
        Err(e) => e,
        Ok(_) => panic!("stream started despite the timeout"),
    };
    assert_eq!(e.kind(), "timeout");
    // Between chunks the read timeout applies.
    let c = client(&m.openai_base(), "stall")
        .max_retries(0)
        .read_timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let mut s = c
        .chat()
        .stream(hello("gpt-4o-mini@ttft_ms=3000"))
        .await
        .unwrap();
    let mut last = None;
    while let Some(item) = s.next().await {
        last = Some(item);
    }
    let e = last.unwrap().unwrap_err();
    assert_eq!(e.kind(), "timeout", "{e}");
}

#[tokio::test]
async fn cut_off_and_malformed_streams_are_errors() {
    let m = mock().await;
    let c = client(&m.openai_base(), "broken").build().unwrap();
    for (model, kinds) in [
        (
            "gpt-4o-mini@chunks=10,drop_after=3",
            &["invalid_response", "connection"][..],
        ),
        ("gpt-4o-mini@malformed=true", &["invalid_response"][..]),
        ("gpt-4o-mini@error_event=2", &["upstream"][..]),
    ] {
        let mut s = c.chat().stream(hello(model)).await.unwrap();
        let mut ok = 0;
        let mut err = None;
        while let Some(item) = s.next().await {
            match item {
                Ok(_) => ok += 1,
                Err(e) => err = Some(e),
            }
        }
        let err =
            err.unwrap_or_else(|| panic!("{model}: ended without an error after {ok} chunks"));
        assert!(kinds.contains(&err.kind()), "{model}: {err:?}");
    }
}

#[tokio::test]
async fn connection_refused_is_a_connection_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = client(&format!("http://{addr}/v1"), "refused")
        .max_retries(1)
        .build()
        .unwrap();
    let e = c.chat().create(hello("gpt-4o-mini")).await.unwrap_err();
    assert_eq!(e.kind(), "connection");
    assert!(e.is_retryable());
}
