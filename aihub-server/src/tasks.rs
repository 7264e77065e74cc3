//! The pipeline's background work and the shutdown deadline.
//!
//! Every request task (and anything else the gateway starts in the background) is spawned
//! through [`Tasks`], so that shutdown can wait for all of them. When the shutdown deadline
//! passes, [`Tasks::deadline_reached`] completes: open streams end with an error event and
//! their record, waits between retries stop, and the process exits with nothing unrecorded.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Tracked background tasks and the shutdown deadline. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    deadline: CancellationToken,
}

impl Tasks {
    /// No tasks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `future` in the background, tracked.
    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(future)
    }

    /// Runs `future` in the background, tracked, if there is a runtime to run it on (there
    /// is none while the runtime itself shuts down; then it is dropped). For a `Drop` impl.
    pub fn spawn_if_running<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                self.tracker.spawn_on(future, &handle);
            }
            Err(_) => tracing::error!("no runtime to finish a request on; it is dropped"),
        }
    }

    /// Completes once the shutdown deadline has passed.
    pub async fn deadline_reached(&self) {
        self.deadline.cancelled().await;
    }

    /// True once the shutdown deadline has passed.
    pub fn past_deadline(&self) -> bool {
        self.deadline.is_cancelled()
    }

    /// Ends the grace period now: open streams and waiting requests finish at once.
    pub fn end_grace_period(&self) {
        self.deadline.cancel();
    }

    /// Starts the shutdown clock: after `grace`, [`deadline_reached`](Self::deadline_reached)
    /// completes.
    pub fn start_deadline(&self, grace: Duration) {
        let token = self.deadline.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if !token.is_cancelled() {
                tracing::warn!(
                    grace_secs = grace.as_secs(),
                    "shutdown deadline reached: ending open streams and requests"
                );
            }
            token.cancel();
        });
    }

    /// Waits until every tracked task has finished. Tasks spawned after this is called are
    /// still waited for.
    pub async fn drain(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// Tasks still running.
    pub fn len(&self) -> usize {
        self.tracker.len()
    }

    /// True when no task runs.
    pub fn is_empty(&self) -> bool {
        self.tracker.is_empty()
    }
}
