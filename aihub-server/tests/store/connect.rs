//! Connecting: migrations, racing instances, in-memory SQLite, errors, and durability.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use aihub_server::store::{Backend, Store, StoreError, User};
use uuid::Uuid;

use crate::harness::{TestDb, in_fresh_postgres, sqlite_url};
use crate::usage::{all_records, record};

on_both_backends!(migrations_are_idempotent);

async fn migrations_are_idempotent(db: TestDb) {
    let user = db.user().await;
    // A second gateway start (and a third, concurrently with the second) finds the schema done.
    let (again, third) = tokio::join!(Store::connect(&db.url), Store::connect(&db.url));
    let (again, third) = (again.unwrap(), third.unwrap());
    assert_eq!(again.backend(), db.backend);
    assert_eq!(again.user_by_id(user.id).await.unwrap(), Some(user.clone()));
    third.ping().await.unwrap();

    let raw = db.raw().await;
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&raw)
            .await
            .unwrap();
    // Every migration file, by its version (read from the directory, so that a migration
    // added on another branch needs no change here).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut files: Vec<i64> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            e.unwrap().file_name().to_string_lossy()[..4]
                .parse()
                .unwrap()
        })
        .collect();
    files.sort_unstable();
    assert_eq!(versions, files);
    again.close().await;
    third.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_on_a_fresh_postgres_all_succeed() {
    in_fresh_postgres(instances_start_together).await;
}

async fn instances_start_together(url: String) {
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for start in starts {
        stores.push(start.await.unwrap().unwrap());
    }
    let user = stores[0]
        .create_user("race@example.com", "h")
        .await
        .unwrap();
    for store in &stores {
        assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user.clone()));
        store.close().await;
    }
}

#[tokio::test]
async fn in_memory_sqlite_is_one_database() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    let user = store.create_user("mem@example.com", "h").await.unwrap();
    // Reads and writes must reach the same in-memory database.
    assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user.clone()));
    store.insert_usage(&[record(&user, 5, "m")]).await.unwrap();
    assert_eq!(
        store.usage_totals(user.id, 0, 10).await.unwrap().requests,
        1
    );
}

#[tokio::test]
async fn sqlite_creates_the_file_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    assert!(!dir.path().join("aihub.db").exists());
    let store = Store::connect(&url).await.unwrap();
    assert!(dir.path().join("aihub.db").exists());
    store.close().await;
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    // The power-loss option is accepted; unknown values are configuration errors.
    Store::connect(&format!("{url}?synchronous=full"))
        .await
        .unwrap();
    let error = Store::connect(&format!("{url}?synchronous=maybe"))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Config(_)), "{error}");
}

#[tokio::test]
async fn errors_never_show_the_database_password() {
    let url = "postgres://aihub:hunter2-secret@127.0.0.1:1/aihub";
    let error = Store::connect(url).await.unwrap_err();
    assert!(matches!(error, StoreError::Database(_)), "{error}");
    for shown in [format!("{error}"), format!("{error:?}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    let error = Store::connect("mysql://root:hunter2@localhost/db")
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Config(_)), "{error}");
    assert!(!format!("{error}").contains("hunter2"));
}

const CHILD_DB: &str = "AIHUB_STORE_TEST_DURABILITY_DB";
const CHILD_USER: &str = "AIHUB_STORE_TEST_DURABILITY_USER";
const BATCH: usize = 20;

/// A user to attribute records to (usage records do not require the user row).
fn record_owner(id: Uuid) -> User {
    User {
        id,
        email: String::new(),
        plan: String::new(),
        organization_id: id,
        created_at: 0,
        disabled_at: None,
        instance_role: None,
    }
}

/// The child half of `sqlite_acknowledged_usage_survives_sigkill`: inserts batches forever and
/// prints `ACK <ids>` after each `insert_usage` returns. Does nothing when run by hand.
#[tokio::test]
#[ignore = "run as a child process by sqlite_acknowledged_usage_survives_sigkill"]
async fn durability_child() {
    let (Ok(url), Ok(user)) = (std::env::var(CHILD_DB), std::env::var(CHILD_USER)) else {
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    let user_id: Uuid = user.parse().unwrap();
    let user = record_owner(user_id);
    for batch in 0_i64.. {
        let records: Vec<_> = (0..BATCH as i64)
            .map(|i| record(&user, batch * 100 + i, "m"))
            .collect();
        store.insert_usage(&records).await.unwrap();
        // Rust's stdout is line-buffered: the line is out when println! returns.
        let ids: Vec<String> = records.iter().map(|r| r.id.to_string()).collect();
        println!("ACK {}", ids.join(","));
    }
}

#[test]
fn sqlite_acknowledged_usage_survives_sigkill() {
    use std::os::unix::process::ExitStatusExt;

    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let user_id = Uuid::new_v4();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "connect::durability_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_DB, &url)
        .env(CHILD_USER, user_id.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acknowledged = Vec::new();
    let mut batches = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(ids) = line.strip_prefix("ACK ") {
            acknowledged.extend(ids.split(',').map(|id| id.parse::<Uuid>().unwrap()));
            batches += 1;
            if batches == 40 {
                break;
            }
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(batches, 40, "the child stopped early: {status}");
    assert_eq!(status.signal(), Some(9), "{status}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        let db = TestDb {
            store,
            url: url.clone(),
            backend: Backend::Sqlite,
        };
        let user = record_owner(user_id);
        let stored: std::collections::HashSet<Uuid> =
            all_records(&db, &user).await.iter().map(|r| r.id).collect();
        let lost: Vec<&Uuid> = acknowledged
            .iter()
            .filter(|id| !stored.contains(id))
            .collect();
        assert!(lost.is_empty(), "{} acknowledged records lost", lost.len());
        // Batches are atomic: whatever the kill interrupted is entirely there or entirely not.
        assert_eq!(stored.len() % BATCH, 0, "{} records stored", stored.len());
        assert!(stored.len() >= acknowledged.len());
    });
}
