//! Chunk streams for Python: a blocking iterator and an async iterator over one core
//! `ChatStream`. Closing either drops the core stream, which closes the connection and so
//! cancels the request upstream.
//!
//! Each step waits for one chunk and then takes every chunk already received (up to
//! [`BATCH`]) without waiting again, so a fast stream crosses between Python and the
//! runtime once per burst rather than once per chunk. The Python side hands the chunks out
//! one at a time, in order; an error that follows chunks is raised after them.

use std::sync::{Arc, Mutex, PoisonError};

use aihub_core::stream::{ChatStream, ChunkBatch, next_batch};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::bridge::{Deliver, Pending, spawn};
use crate::convert::{block_on, to_py};
use crate::errors::to_py_err;

/// Most chunks one step hands to Python.
const BATCH: usize = 256;

/// One step of a stream: [`next_batch`] with this binding's batch size.
async fn read_batch(slot: &mut Option<ChatStream>) -> ChunkBatch {
    next_batch(slot, BATCH).await
}

/// `(chunks, error or None)` for Python; no chunks and no error means the end.
fn batch_to_py(py: Python<'_>, batch: ChunkBatch) -> PyResult<Py<PyAny>> {
    let chunks = PyList::empty(py);
    for chunk in &batch.chunks {
        chunks.append(to_py(py, chunk)?)?;
    }
    let error = match batch.error {
        Some(e) => to_py_err(&e).into_value(py).into_any(),
        None => py.None(),
    };
    Ok(PyTuple::new(py, [chunks.into_any().unbind(), error])?
        .into_any()
        .unbind())
}

/// A stream consumed with `for chunk in stream` (each step releases the GIL).
#[pyclass(module = "aihub._aihub", frozen)]
pub struct SyncStream {
    inner: Mutex<Option<ChatStream>>,
}

impl SyncStream {
    /// Wraps a started core stream.
    pub fn new(stream: ChatStream) -> Self {
        Self {
            inner: Mutex::new(Some(stream)),
        }
    }
}

#[pymethods]
impl SyncStream {
    /// The next chunks as `(list of dicts, error or None)`; an empty list and no error at
    /// the end or after `close()`. Ctrl-C while waiting closes the stream.
    fn next_batch(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match block_on(py, read_batch(&mut guard)) {
            Ok(batch) => batch_to_py(py, batch),
            Err(interrupted) => {
                *guard = None;
                Err(interrupted)
            }
        }
    }

    /// Stops the stream and cancels the request; later steps end at once.
    fn close(&self) {
        let stream = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(stream);
    }

    /// True once the stream has ended or been closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }
}

/// A stream consumed with `async for chunk in stream`.
#[pyclass(module = "aihub._aihub", frozen)]
pub struct AsyncStream {
    inner: Arc<tokio::sync::Mutex<Option<ChatStream>>>,
}

impl AsyncStream {
    /// Wraps a started core stream.
    pub fn new(stream: ChatStream) -> Self {
        Self {
            inner: Arc::new(tokio::sync::Mutex::new(Some(stream))),
        }
    }
}

#[pymethods]
impl AsyncStream {
    /// Reads the next chunks into the asyncio future `target`, as `next_batch` does.
    fn next_batch(&self, event_loop: Bound<'_, PyAny>, target: Bound<'_, PyAny>) -> Pending {
        let inner = Arc::clone(&self.inner);
        spawn(event_loop, target, async move {
            let batch = read_batch(&mut *inner.lock().await).await;
            Box::new(move |py: Python<'_>| batch_to_py(py, batch)) as Deliver
        })
    }

    /// Stops the stream and cancels the request, waiting for a step in progress to end.
    fn aclose(&self, event_loop: Bound<'_, PyAny>, target: Bound<'_, PyAny>) -> Pending {
        let inner = Arc::clone(&self.inner);
        spawn(event_loop, target, async move {
            let stream = inner.lock().await.take();
            drop(stream);
            Box::new(|py: Python<'_>| Ok(py.None())) as Deliver
        })
    }

    /// Stops the stream at once when no step is in progress (from `__del__` or sync code).
    fn close(&self) {
        if let Ok(mut guard) = self.inner.try_lock() {
            drop(guard.take());
        }
    }
}
