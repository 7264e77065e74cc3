//! Chunk streams for Python: a blocking iterator and an async iterator over one core
//! `ChatStream`. Closing either drops the core stream, which closes the connection and so
//! cancels the request upstream.

use std::sync::{Arc, Mutex, PoisonError};

use aihub_core::stream::ChatStream;
use futures_util::StreamExt;
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;

use crate::bridge::{Deliver, Pending, spawn};
use crate::convert::{block_on, to_py};
use crate::errors::to_py_err;

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
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next chunk as a dict; `StopIteration` at the end or after `close()`.
    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(stream) = guard.as_mut() else {
            return Err(PyStopIteration::new_err(()));
        };
        match block_on(py, stream.next()) {
            Ok(Some(Ok(chunk))) => to_py(py, &chunk),
            Ok(Some(Err(e))) => {
                *guard = None;
                Err(to_py_err(&e))
            }
            Ok(None) => {
                *guard = None;
                Err(PyStopIteration::new_err(()))
            }
            Err(interrupted) => {
                *guard = None;
                Err(interrupted)
            }
        }
    }

    /// Stops the stream and cancels the request; later iteration ends at once.
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
    /// Reads the next chunk into the asyncio future `target`: a dict, or `None` at the end.
    fn next(&self, event_loop: Bound<'_, PyAny>, target: Bound<'_, PyAny>) -> Pending {
        let inner = Arc::clone(&self.inner);
        spawn(event_loop, target, async move {
            let mut guard = inner.lock().await;
            let item = match guard.as_mut() {
                Some(stream) => stream.next().await,
                None => None,
            };
            if !matches!(item, Some(Ok(_))) {
                *guard = None;
            }
            drop(guard);
            Box::new(move |py: Python<'_>| match item {
                Some(Ok(chunk)) => to_py(py, &chunk),
                Some(Err(e)) => Err(to_py_err(&e)),
                None => Ok(py.None()),
            }) as Deliver
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
