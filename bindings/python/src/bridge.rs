//! Awaitables for asyncio without a Python-aware runtime: a Rust future runs on the shared
//! tokio runtime and, when it finishes, hands its result to an asyncio future through
//! `loop.call_soon_threadsafe`. Cancelling the asyncio side aborts the Rust task.
//!
//! Interpreter exit: a tokio thread that takes the GIL while Python is finalizing is killed
//! by CPython mid-call, which aborts the process. So every hand-over counts itself in
//! [`IN_FLIGHT`], and `aihub` registers [`shutdown`] with `atexit`: it stops new hand-overs
//! and waits for running ones before finalization begins.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::convert::runtime;

static EXITING: AtomicBool = AtomicBool::new(false);
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static RESOLVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Longest `shutdown` waits for hand-overs in progress.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// Builds the Python result of a finished future, with the GIL held.
pub type Deliver = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// A running native call behind an asyncio future; `cancel()` aborts it.
#[pyclass(module = "aihub._aihub", frozen)]
pub struct Pending {
    abort: Mutex<Option<tokio::task::AbortHandle>>,
}

#[pymethods]
impl Pending {
    /// Aborts the call (its request is cancelled); the asyncio future is left to its canceller.
    fn cancel(&self) {
        if let Some(handle) = self
            .abort
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            handle.abort();
        }
    }
}

/// Runs `future` on the runtime and resolves the asyncio future `target` of `event_loop`
/// with what `future`'s output turns into.
pub fn spawn<F>(event_loop: Bound<'_, PyAny>, target: Bound<'_, PyAny>, future: F) -> Pending
where
    F: Future<Output = Deliver> + Send + 'static,
{
    let event_loop = event_loop.unbind();
    let target = target.unbind();
    let task = runtime().spawn(async move {
        let deliver = future.await;
        hand_over(event_loop, target, deliver);
    });
    Pending {
        abort: Mutex::new(Some(task.abort_handle())),
    }
}

fn hand_over(event_loop: Py<PyAny>, target: Py<PyAny>, deliver: Deliver) {
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    if !EXITING.load(Ordering::SeqCst) {
        Python::attach(|py| {
            let (ok, value) = match deliver(py) {
                Ok(value) => (true, value),
                Err(error) => (false, error.into_value(py).into_any()),
            };
            let resolve = RESOLVE.get_or_try_init(py, || {
                py.import("aihub._bridge")
                    .and_then(|m| m.getattr("resolve"))
                    .map(Bound::unbind)
            });
            if let Ok(resolve) = resolve {
                // A closed loop (the caller gave up) raises here; nobody is waiting then.
                let _ = event_loop.call_method1(
                    py,
                    "call_soon_threadsafe",
                    (resolve.clone_ref(py), target, ok, value),
                );
            }
        });
    }
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
}

/// Called at interpreter exit: no more hand-overs; waits for those in progress.
#[pyfunction]
pub fn shutdown(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        while IN_FLIGHT.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}
