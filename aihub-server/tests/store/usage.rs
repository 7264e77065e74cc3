//! Writing usage records: batches, idempotent retries, concurrency, overflow.

use std::collections::HashSet;

use aihub_server::store::{
    AttemptRecord, Checkpoint, StoreError, UsageFilter, UsageRecord, UsageTotals, User,
};
use uuid::Uuid;

use crate::harness::TestDb;

on_both_backends!(
    batches_round_trip_and_add_up,
    retried_batches_are_not_counted_twice,
    concurrent_inserts_lose_nothing,
    sums_fail_loudly_instead_of_wrapping,
    a_failing_batch_stores_nothing,
);

/// A successful, priced, non-streamed request of `user` at `created_at`.
pub fn record(user: &User, created_at: i64, model: &str) -> UsageRecord {
    UsageRecord {
        id: Uuid::new_v4(),
        request_id: format!("req_{}", Uuid::new_v4().simple()),
        created_at,
        api_key_id: None,
        user_id: Some(user.id),
        organization_id: user.organization_id,
        team_id: None,
        model: model.to_owned(),
        provider: "openai".to_owned(),
        upstream_model: format!("{model}-2025-01-01"),
        prompt_tokens: 100,
        completion_tokens: 20,
        cached_tokens: 0,
        reasoning_tokens: 0,
        cost_nanos: Some(1_500),
        currency: Some("USD".to_owned()),
        latency_ms: 250,
        ttft_ms: None,
        status: 200,
        error_type: None,
        stream: false,
        attempts: 1,
        usage_estimated: false,
        upstream_request_id: None,
        cache_hit: false,
        attempt_log: vec![
            AttemptRecord {
                deployment: "primary".into(),
                model: "openai/gpt-4o-mini".into(),
                status: Some(503),
                latency_ms: 12,
                error: Some("upstream_error".into()),
            },
            AttemptRecord {
                deployment: "openai/gpt-4o-mini".into(),
                model: "openai/gpt-4o-mini".into(),
                status: Some(200),
                latency_ms: 40,
                error: None,
            },
        ],
    }
}

/// Every record of `user`, newest first.
pub async fn all_records(db: &TestDb, user: &User) -> Vec<UsageRecord> {
    db.store
        .usage_history(&UsageFilter {
            user_id: user.id,
            from: None,
            to: None,
            model: None,
            api_key_id: None,
            limit: 100_000,
            cursor: None,
        })
        .await
        .unwrap()
}

async fn batches_round_trip_and_add_up(db: TestDb) {
    let user = db.user().await;
    let other = db.user().await;
    let key = Uuid::new_v4();
    let team = Uuid::new_v4();
    let base = 1_750_000_000_000;
    // 250 records: more than one INSERT statement's worth, so the batch spans statements.
    let mut batch: Vec<UsageRecord> = (0..250)
        .map(|i| {
            let mut r = record(
                &user,
                base + i,
                if i % 3 == 0 { "gpt-4o" } else { "claude" },
            );
            r.prompt_tokens = 1_000 + i;
            r.completion_tokens = i;
            r.cached_tokens = i % 7;
            r.reasoning_tokens = i % 5;
            match i % 4 {
                0 => {
                    r.cost_nanos = None;
                    r.currency = None;
                }
                1 => {
                    r.cost_nanos = Some(2_000_000_000 + i);
                    r.currency = Some("CNY".into());
                }
                _ => r.cost_nanos = Some(3 * i),
            }
            if i % 2 == 0 {
                r.api_key_id = Some(key);
                r.team_id = Some(team);
                r.stream = true;
                r.ttft_ms = Some(i);
            }
            if i % 10 == 0 {
                r.status = 429;
                r.error_type = Some("rate_limit_exceeded".into());
            }
            r
        })
        .collect();
    batch.push(record(&other, base, "gpt-4o"));
    assert_eq!(db.store.insert_usage(&batch).await.unwrap(), 251);
    assert_eq!(db.store.insert_usage(&[]).await.unwrap(), 0);

    // Every field comes back as written.
    let mut expected: Vec<UsageRecord> = batch[..250].to_vec();
    expected.sort_by_key(|r| std::cmp::Reverse(r.cursor()));
    assert_eq!(all_records(&db, &user).await, expected);

    // Totals over [from, to): the record at `from` counts, the one at `to` does not.
    let (from, to) = (base + 10, base + 200);
    let inside: Vec<&UsageRecord> = batch[..250]
        .iter()
        .filter(|r| r.created_at >= from && r.created_at < to)
        .collect();
    let sum = |f: fn(&UsageRecord) -> i64| inside.iter().map(|r| f(r)).sum::<i64>();
    let cost_in = |currency: &str| {
        inside
            .iter()
            .filter(|r| r.currency.as_deref() == Some(currency))
            .map(|r| r.cost_nanos.unwrap())
            .sum::<i64>()
    };
    let totals = db.store.usage_totals(user.id, from, to).await.unwrap();
    assert_eq!(
        totals,
        UsageTotals {
            requests: 190,
            prompt_tokens: sum(|r| r.prompt_tokens),
            completion_tokens: sum(|r| r.completion_tokens),
            cached_tokens: sum(|r| r.cached_tokens),
            reasoning_tokens: sum(|r| r.reasoning_tokens),
            total_tokens: sum(|r| r.prompt_tokens + r.completion_tokens),
            costs: vec![
                ("CNY".into(), cost_in("CNY")),
                ("USD".into(), cost_in("USD"))
            ],
        }
    );
    // CNY costs sum past 2^32 nano-units: 47 records of ~2e9 each.
    assert!(totals.costs[0].1 > i64::from(u32::MAX));

    let empty = db
        .store
        .usage_totals(user.id, base - 100, base)
        .await
        .unwrap();
    assert_eq!(empty, UsageTotals::default());
    let others = db.store.usage_totals(other.id, 0, i64::MAX).await.unwrap();
    assert_eq!(others.requests, 1);
    assert_eq!(others.costs, vec![("USD".into(), 1_500)]);
}

async fn retried_batches_are_not_counted_twice(db: TestDb) {
    let user = db.user().await;
    let first: Vec<UsageRecord> = (0..5).map(|i| record(&user, 1_000 + i, "m")).collect();
    assert_eq!(db.store.insert_usage(&first).await.unwrap(), 5);
    // A retry of the same batch, plus two new records (a group commit that grew meanwhile).
    let mut retry = first.clone();
    retry.push(record(&user, 2_000, "m"));
    retry.push(record(&user, 2_001, "m"));
    assert_eq!(db.store.insert_usage(&retry).await.unwrap(), 2);
    let totals = db.store.usage_totals(user.id, 0, 10_000).await.unwrap();
    assert_eq!(totals.requests, 7);
    assert_eq!(totals.costs, vec![("USD".into(), 7 * 1_500)]);
}

async fn concurrent_inserts_lose_nothing(db: TestDb) {
    const TASKS: usize = 16;
    const BATCHES: usize = 10;
    const PER_BATCH: usize = 25;
    let user = db.user().await;
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = db.store.clone();
        let user = user.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for batch in 0..BATCHES {
                let records: Vec<UsageRecord> = (0..PER_BATCH)
                    .map(|i| record(&user, (task * 1_000 + batch * 100 + i) as i64, "m"))
                    .collect();
                assert_eq!(
                    store.insert_usage(&records).await.unwrap(),
                    PER_BATCH as u64
                );
                ids.extend(records.iter().map(|r| r.id));
            }
            ids
        }));
    }
    let mut written = HashSet::new();
    for task in tasks {
        written.extend(task.await.unwrap());
    }
    assert_eq!(written.len(), TASKS * BATCHES * PER_BATCH);
    let stored: HashSet<Uuid> = all_records(&db, &user).await.iter().map(|r| r.id).collect();
    assert_eq!(stored, written);
    let totals = db.store.usage_totals(user.id, 0, i64::MAX).await.unwrap();
    assert_eq!(totals.requests, (TASKS * BATCHES * PER_BATCH) as i64);
}

async fn sums_fail_loudly_instead_of_wrapping(db: TestDb) {
    let user = db.user().await;
    let mut a = record(&user, 10, "m");
    a.cost_nanos = Some(i64::MAX - 10);
    let mut b = record(&user, 11, "m");
    b.cost_nanos = Some(100);
    db.store.insert_usage(&[a, b]).await.unwrap();
    let error = db.store.usage_totals(user.id, 0, 100).await.unwrap_err();
    assert!(matches!(error, StoreError::Database(_)), "{error}");
    let error = db.store.usage_cost(user.id, 0, 100).await.unwrap_err();
    assert!(matches!(error, StoreError::Database(_)), "{error}");
    // A range holding one of them is fine.
    let totals = db.store.usage_totals(user.id, 0, 11).await.unwrap();
    assert_eq!(totals.costs, vec![("USD".into(), i64::MAX - 10)]);
}

async fn a_failing_batch_stores_nothing(db: TestDb) {
    let user = db.user().await;
    let good: Vec<UsageRecord> = (0..150).map(|i| record(&user, i, "m")).collect();
    let mut bad = good.clone();
    // Past the first INSERT statement: a cost without a currency breaks a CHECK constraint.
    bad[120].currency = None;
    let error = db.store.insert_usage(&bad).await.unwrap_err();
    assert!(matches!(error, StoreError::Database(_)), "{error}");
    assert_eq!(all_records(&db, &user).await, vec![]);
    assert_eq!(db.store.insert_usage(&good).await.unwrap(), 150);
}

/// SQLite: a commit never copies the WAL back into the database file (that waits for the
/// disk, inside some unlucky request); `Store::checkpoint` does, and loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_commits_leave_the_copy_to_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::harness::sqlite_url(dir.path());
    let store = aihub_server::store::Store::connect(&url).await.unwrap();
    let db = TestDb {
        store: store.clone(),
        url,
        backend: aihub_server::store::Backend::Sqlite,
    };
    let user = db.user().await;
    let file = dir.path().join("aihub.db");
    let size = || std::fs::metadata(&file).unwrap().len();
    let before = size();
    // About 6 MB of pages: SQLite's default would have checkpointed after 4 MB (1,000 pages).
    let now = crate::harness::now_ms();
    for batch in 0..40 {
        let records: Vec<UsageRecord> = (0..500)
            .map(|i| record(&user, now + batch * 500 + i, "gpt-4o-mini"))
            .collect();
        store.insert_usage(&records).await.unwrap();
    }
    let wal = std::fs::metadata(dir.path().join("aihub.db-wal"))
        .unwrap()
        .len();
    assert!(wal > 4_096_000, "the WAL holds the commits: {wal} bytes");
    assert_eq!(size(), before, "no commit copied the WAL back");

    let pages = store.checkpoint(Checkpoint::BesideWriter).await.unwrap();
    assert!(
        pages.unwrap() > 1_000,
        "the WAL still holds its pages: {pages:?}"
    );
    assert!(
        size() > before + 4_096_000,
        "the checkpoint copied them: {} bytes, from {before}",
        size()
    );
    assert_eq!(all_records(&db, &user).await.len(), 20_000);

    // A checkpoint on the writer lets the next commit start the WAL over.
    store.checkpoint(Checkpoint::OnWriter).await.unwrap();
    store
        .insert_usage(&[record(&user, now, "gpt-4o-mini")])
        .await
        .unwrap();
    let pages = store.checkpoint(Checkpoint::BesideWriter).await.unwrap();
    assert!(pages.unwrap() < 100, "the WAL started over: {pages:?}");
    assert_eq!(all_records(&db, &user).await.len(), 20_001);
}
