//! Core errors → the exception classes of `aihub._exceptions`, one class per variant.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

static EXCEPTIONS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The Python exception for `error`.
pub fn to_py_err(error: &aihub_core::Error) -> PyErr {
    Python::attach(|py| build(py, error).unwrap_or_else(|e| e))
}

fn build(py: Python<'_>, error: &aihub_core::Error) -> PyResult<PyErr> {
    let module =
        EXCEPTIONS.get_or_try_init(py, || py.import("aihub._exceptions").map(Bound::unbind))?;
    let class = module.bind(py).getattr(error.sdk_class())?;
    let detail = error.detail();
    let kwargs = PyDict::new(py);
    let status = error.sdk_status();
    kwargs.set_item("status_code", status)?;
    kwargs.set_item("code", error.code())?;
    kwargs.set_item("type", error.error_type())?;
    kwargs.set_item("param", detail.param.as_deref())?;
    kwargs.set_item("request_id", detail.request_id.as_deref())?;
    kwargs.set_item("provider", detail.provider.as_deref())?;
    kwargs.set_item("kind", error.kind())?;
    kwargs.set_item("limit", detail.limit.as_deref())?;
    if let Some(wait) = error.retry_after() {
        kwargs.set_item("retry_after", wait.as_secs_f64())?;
    }
    let value = class.call((detail.message.as_str(),), Some(&kwargs))?;
    Ok(PyErr::from_value(value))
}

/// A Rust-side failure that is not a core error (a conversion that cannot fail in practice).
pub fn internal(message: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(format!("aihub: {message}"))
}
