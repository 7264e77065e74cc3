//! Server plumbing: recording, counters, reset, shutdown, and the binary.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use mock_upstream::MockConfig;
use serde_json::{Value, json};

use crate::common::{client, server, server_with};

#[tokio::test]
async fn records_requests_with_secrets_redacted() {
    let s = server().await;
    assert_eq!(s.base_url(), format!("http://127.0.0.1:{}", s.addr.port()));
    assert_eq!(s.openai_base(), format!("{}/v1", s.base_url()));
    assert_eq!(s.gemini_base(), format!("{}/v1beta", s.base_url()));
    assert_eq!(s.azure_base(), s.base_url());
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    client()
        .post(format!("{}/chat/completions", s.openai_base()))
        .bearer_auth("sk-secret")
        .header("x-custom", "visible")
        .json(&body)
        .send()
        .await
        .unwrap();
    client()
        .post(format!(
            "{}/models/g:generateContent?key=topsecret",
            s.gemini_base()
        ))
        .header("x-goog-api-key", "also-secret")
        .header("api-key", "azure-secret")
        .header("x-api-key", "ant-secret")
        .body("not json")
        .send()
        .await
        .unwrap();
    client()
        .get(format!("{}/health", s.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(s.request_count(), 3);
    let recorded = s.requests();
    assert_eq!(recorded.len(), 3);
    let first = &recorded[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/v1/chat/completions");
    assert_eq!(first.body, body);
    assert_eq!(first.header("authorization"), Some("***"));
    assert_eq!(first.header("x-custom"), Some("visible"));
    let second = &recorded[1];
    assert_eq!(second.path, "/v1beta/models/g:generateContent?key=***");
    for name in ["x-goog-api-key", "api-key", "x-api-key"] {
        assert_eq!(second.header(name), Some("***"), "{name}");
    }
    assert_eq!(second.body, Value::String("not json".into()));
    assert_eq!(recorded[2].body, Value::Null);
    let all = format!("{recorded:?}");
    assert!(!all.contains("secret"), "no secret may be recorded: {all}");
    s.reset();
    assert_eq!(s.request_count(), 0);
    assert!(s.requests().is_empty());
}

#[tokio::test]
async fn recording_can_be_disabled_and_is_bounded() {
    let quiet = server_with(MockConfig {
        record: false,
        require_key: true,
        ..Default::default()
    })
    .await;
    client()
        .get(format!("{}/health", quiet.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(quiet.request_count(), 1);
    assert!(quiet.requests().is_empty());

    let s = server().await;
    let c = client();
    for i in 0..(mock_upstream::RECORD_LIMIT + 5) {
        c.get(format!("{}/health?i={i}", s.base_url()))
            .send()
            .await
            .unwrap();
    }
    let recorded = s.requests();
    assert_eq!(recorded.len(), mock_upstream::RECORD_LIMIT);
    assert_eq!(recorded[0].path, "/health?i=5");
    assert_eq!(s.request_count(), mock_upstream::RECORD_LIMIT as u64 + 5);
}

#[tokio::test]
async fn shutdown_stops_listening() {
    let s = server().await;
    let url = format!("{}/health", s.base_url());
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
    s.shutdown().await;
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(fresh.get(&url).send().await.is_err());

    let dropped = server().await;
    let url = format!("{}/health", dropped.base_url());
    drop(dropped);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(fresh.get(&url).send().await.is_err());
}

#[tokio::test]
async fn binary_prints_its_address_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-upstream"))
        .args(["--listen", "127.0.0.1:0", "--no-record"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("mock-upstream listening on ")
        .unwrap()
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    let r = client()
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth("k")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "{exit:?}");
            break;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("mock-upstream did not stop on SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
