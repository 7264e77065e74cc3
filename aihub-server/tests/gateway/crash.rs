//! kill -9 during load loses no completed request's record.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aihub_server::store::{Store, UsageFilter};

use crate::{UNLIMITED_FREE, chat, config_text};

fn cli(config: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_aihub-server"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("AIHUB_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_completed_record() {
    let mock = mock_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let config = dir.path().join("aihub.toml");
    let text = format!(
        "database_url = \"sqlite://{}\"\n{}\n{UNLIMITED_FREE}",
        db.display(),
        config_text(&mock, "")
    );
    std::fs::write(&config, text).unwrap();
    cli(
        &config,
        &[
            "users",
            "create",
            "--email",
            "load@example.com",
            "--password",
            "a long password",
        ],
    );
    let key = cli(
        &config,
        &[
            "keys",
            "create",
            "--email",
            "load@example.com",
            "--name",
            "load",
        ],
    )
    .trim()
    .to_owned();
    assert!(key.starts_with("ai-hub-"), "{key}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_aihub-server"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env("AIHUB_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();

    let completed = Arc::new(Mutex::new(Vec::<String>::new()));
    let http = reqwest::Client::new();
    let mut workers = Vec::new();
    for w in 0..16 {
        let (http, url, key, completed) =
            (http.clone(), url.clone(), key.clone(), completed.clone());
        workers.push(tokio::spawn(async move {
            for i in 0..1000 {
                let body = chat(
                    "mock/gpt-4o-mini@chunks=2",
                    &format!("worker {w} request {i}"),
                );
                let Ok(r) = http
                    .post(format!("{url}/v1/chat/completions"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                else {
                    return;
                };
                let id = r
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                // A request is completed when its whole response has arrived.
                if r.status() == 200 && r.bytes().await.is_ok() {
                    completed.lock().unwrap().push(id.unwrap());
                }
            }
        }));
    }
    // Let the load run, then kill the gateway without warning.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while completed.lock().unwrap().len() < 200 {
        if std::time::Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!(
                "the gateway completed only {} requests in 60 s",
                completed.lock().unwrap().len()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for w in workers {
        let _ = w.await;
    }
    let completed = completed.lock().unwrap().clone();
    assert!(completed.len() >= 200);

    let store = Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let (user, _) = store
        .user_by_email("load@example.com")
        .await
        .unwrap()
        .unwrap();
    let filter = UsageFilter {
        user_id: user.id,
        from: None,
        to: None,
        model: None,
        api_key_id: None,
        limit: 1_000_000,
        cursor: None,
    };
    let recorded: std::collections::HashSet<String> = store
        .usage_history(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.request_id)
        .collect();
    let lost: Vec<&String> = completed
        .iter()
        .filter(|id| !recorded.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} completed requests have no record: {:?}",
        lost.len(),
        completed.len(),
        &lost[..lost.len().min(5)]
    );
}
