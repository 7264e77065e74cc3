//! The limiter's background work, counted so that shutdown can wait for it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Spawns tasks and counts those still running.
#[derive(Debug, Clone)]
pub(super) struct Tasks(Arc<watch::Sender<usize>>);

/// Counts its task as finished when dropped, whether the task ended or was cancelled.
struct Finished(Arc<watch::Sender<usize>>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Tasks {
    /// No tasks yet.
    pub(super) fn new() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }

    /// Runs `task` on the current runtime and returns its handle (awaiting it is optional:
    /// the task runs to its end either way); `None`, and `task` is dropped, outside a runtime.
    pub(super) fn spawn(
        &self,
        task: impl Future<Output = ()> + Send + 'static,
    ) -> Option<JoinHandle<()>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        self.0.send_modify(|n| *n += 1);
        let finished = Finished(self.0.clone());
        Some(runtime.spawn(async move {
            let _finished = finished;
            task.await;
        }))
    }

    /// Tasks still running.
    pub(super) fn running(&self) -> usize {
        *self.0.borrow()
    }

    /// Waits until no task runs, for at most `deadline`; true if none is left.
    pub(super) async fn drain(&self, deadline: Duration) -> bool {
        let mut running = self.0.subscribe();
        matches!(
            tokio::time::timeout(deadline, running.wait_for(|n| *n == 0)).await,
            Ok(Ok(_))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_running_tasks_up_to_its_deadline() {
        let tasks = Tasks::new();
        assert!(tasks.drain(Duration::from_millis(1)).await);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        assert!(
            tasks
                .spawn(async move {
                    let _ = rx.await;
                })
                .is_some()
        );
        assert_eq!(tasks.running(), 1);
        assert!(!tasks.drain(Duration::from_millis(50)).await);
        let _ = tx.send(());
        assert!(tasks.drain(Duration::from_secs(5)).await);
        assert_eq!(tasks.running(), 0);
    }
}
