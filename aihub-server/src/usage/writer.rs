//! The usage writer: one task owns all usage inserts.
//!
//! Handlers send a record and wait for its acknowledgement; the task takes every record
//! waiting (up to [`MAX_BATCH`]) and inserts them in one transaction, so concurrent requests
//! share one commit. A batch the database refuses is retried, then appended to a spill file
//! (fsynced) that is replayed at the next start: a completed request's record is never lost.
//!
//! A handler waits for its record's commit and nothing else. Keys' `last_used_at` is written
//! at most once every [`HOUSEKEEPING_EVERY`] (the latest use of each key, one statement per
//! key). The SQLite WAL is checkpointed as often, in a task of its own beside the writer,
//! instead of inside whichever commit crossed SQLite's threshold (about every 40 commits).
//! When one finds the WAL longer than [`WAL_RESTART_PAGES`], the writer checkpoints too, at
//! once, between two batches, so that the WAL starts over.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::store::{Checkpoint, Store, UsageRecord};

/// Most records committed in one transaction.
pub const MAX_BATCH: usize = 512;
const QUEUE: usize = 8192;
/// How often keys' last use is written and the SQLite WAL checkpointed, while there are writes.
pub const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(1);
/// WAL pages (64 MiB of 4 KiB pages) past which the writer itself checkpoints.
pub const WAL_RESTART_PAGES: u64 = 16_384;
/// [`Housekeeping::wal_pages`] while a checkpoint beside the writer runs.
const CHECKPOINTING: u64 = u64::MAX;

struct Job {
    record: UsageRecord,
    done: Option<oneshot::Sender<()>>,
}

/// Handle to the usage writer task. Cloning shares the task.
#[derive(Debug, Clone)]
pub struct UsageWriter {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("record", &self.record.id)
            .finish()
    }
}

impl UsageWriter {
    /// Starts the writer; replays `spill` first if a previous run left records there.
    /// The task ends, having written everything sent, when every handle is dropped.
    pub async fn start(store: Store, spill: PathBuf) -> (Self, JoinHandle<()>) {
        replay_spill(&store, &spill).await;
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(store, spill, rx));
        (Self { tx }, task)
    }

    /// Writes `record` and returns once it is committed (or spilled to disk).
    pub async fn record(&self, record: UsageRecord) {
        let (done, wait) = oneshot::channel();
        let id = record.id;
        if self
            .tx
            .send(Job {
                record,
                done: Some(done),
            })
            .await
            .is_err()
        {
            tracing::error!(usage_id = %id, "usage writer stopped; record not written");
            return;
        }
        let _ = wait.await;
    }
}

async fn run(store: Store, spill: PathBuf, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut chores = Housekeeping::new(store.clone());
    loop {
        let received = match chores.due_at() {
            None => rx.recv_many(&mut batch, MAX_BATCH).await,
            Some(due) => {
                match tokio::time::timeout_at(due, rx.recv_many(&mut batch, MAX_BATCH)).await {
                    Ok(received) => received,
                    Err(_) => {
                        chores.run().await;
                        continue;
                    }
                }
            }
        };
        if received == 0 {
            break;
        }
        let records: Vec<UsageRecord> = batch.iter().map(|j| j.record.clone()).collect();
        write_batch(&store, &spill, &records).await;
        for job in batch.drain(..) {
            if let Some(done) = job.done {
                let _ = done.send(());
            }
        }
        chores.note(&records);
        chores.restart_long_wal().await;
        if chores.due_at().is_some_and(|due| due <= Instant::now()) {
            chores.run().await;
        }
    }
    chores.run().await;
    chores.finish().await;
}

/// What the writer does after records, at most once every [`HOUSEKEEPING_EVERY`].
struct Housekeeping {
    store: Store,
    /// The latest use of each key since the last run.
    last_use: HashMap<uuid::Uuid, i64>,
    /// Records written since the last run, and when the first of them was.
    since: Option<Instant>,
    /// Pages in the WAL after the last checkpoint beside the writer, or [`CHECKPOINTING`].
    wal_pages: Arc<AtomicU64>,
    /// The checkpoint beside the writer, while one runs (awaited before the writer ends).
    checkpoint: Option<JoinHandle<()>>,
}

impl Housekeeping {
    fn new(store: Store) -> Self {
        Self {
            store,
            last_use: HashMap::new(),
            since: None,
            wal_pages: Arc::new(AtomicU64::new(0)),
            checkpoint: None,
        }
    }

    /// Waits for a checkpoint still running, so that none outlives the writer.
    async fn finish(&mut self) {
        if let Some(task) = self.checkpoint.take() {
            let _ = task.await;
        }
    }

    /// Notes records just committed.
    fn note(&mut self, records: &[UsageRecord]) {
        for r in records {
            if let Some(key) = r.api_key_id {
                let at = self.last_use.entry(key).or_insert(r.created_at);
                *at = (*at).max(r.created_at);
            }
        }
        self.since.get_or_insert_with(Instant::now);
    }

    /// Right after a checkpoint beside the writer found the WAL too long, checkpoints on the
    /// writer: little is left to copy then, so the commits waiting meanwhile wait least.
    async fn restart_long_wal(&mut self) {
        let pages = self.wal_pages.load(Ordering::Acquire);
        if pages == CHECKPOINTING || pages <= WAL_RESTART_PAGES {
            return;
        }
        // The next commit starts the WAL over; the next checkpoint beside the writer reports
        // its size again (still long if a reader kept the old pages in use).
        if let Err(e) = self.store.checkpoint(Checkpoint::OnWriter).await {
            tracing::warn!(error = %e, "database checkpoint failed; the next one retries");
        }
        self.wal_pages.store(0, Ordering::Release);
    }

    /// When the next run is due, if anything was written since the last.
    fn due_at(&self) -> Option<Instant> {
        self.since.map(|t| t + HOUSEKEEPING_EVERY)
    }

    /// Writes keys' last use, then starts a checkpoint beside the writer unless one is
    /// still running.
    async fn run(&mut self) {
        if self.since.take().is_none() {
            return;
        }
        let touched: Vec<(uuid::Uuid, i64)> = self.last_use.drain().collect();
        if let Err(e) = self.store.touch_api_keys(&touched).await {
            tracing::warn!(error = %e, "could not update keys' last use");
        }
        if self.wal_pages.load(Ordering::Acquire) == CHECKPOINTING {
            return;
        }
        self.wal_pages.store(CHECKPOINTING, Ordering::Release);
        let (store, wal_pages) = (self.store.clone(), self.wal_pages.clone());
        self.checkpoint = Some(tokio::spawn(async move {
            let pages = match store.checkpoint(Checkpoint::BesideWriter).await {
                Ok(pages) => pages.unwrap_or(0),
                Err(e) => {
                    tracing::warn!(error = %e, "database checkpoint failed; the next one retries");
                    0
                }
            };
            wal_pages.store(pages, Ordering::Release);
        }));
    }
}

async fn write_batch(store: &Store, spill: &PathBuf, records: &[UsageRecord]) {
    let mut wait = Duration::from_millis(50);
    for attempt in 1..=5 {
        match store.insert_usage(records).await {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, attempt, records = records.len(), "usage insert failed; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
    match append_spill(spill, records).await {
        Ok(()) => tracing::error!(
            records = records.len(),
            file = %spill.display(),
            "database unavailable: usage records kept in the spill file, replayed at next start"
        ),
        Err(e) => {
            tracing::error!(error = %e, records = records.len(), "usage records could not be written anywhere")
        }
    }
}

async fn append_spill(path: &PathBuf, records: &[UsageRecord]) -> std::io::Result<()> {
    let mut text = String::new();
    for r in records {
        text.push_str(&serde_json::to_string(r).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    let mut f = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    f.write_all(text.as_bytes()).await?;
    f.sync_all().await
}

async fn replay_spill(store: &Store, path: &PathBuf) {
    let Ok(text) = tokio::fs::read_to_string(path).await else {
        return;
    };
    let records: Vec<UsageRecord> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if records.is_empty() {
        let _ = tokio::fs::remove_file(path).await;
        return;
    }
    match store.insert_usage(&records).await {
        Ok(_) => {
            tracing::info!(records = records.len(), "replayed spilled usage records");
            let _ = tokio::fs::remove_file(path).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "spilled usage records could not be replayed yet; kept for the next start")
        }
    }
}
