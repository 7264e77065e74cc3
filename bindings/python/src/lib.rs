//! `aihub._aihub`: the native half of the Python package `aihub`.
//!
//! Everything here converts at the edge and calls aihub-core: Python values become the
//! core's request types, core results become Python dicts (which `aihub.types` wraps for
//! attribute access), and core errors become the exceptions of `aihub._exceptions`.
//! Blocking calls release the GIL and wake every 50 ms to let Ctrl-C through.

mod bridge;
mod client;
mod convert;
mod errors;
mod stream;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _aihub(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_GATEWAY_URL", aihub_core::DEFAULT_GATEWAY_URL)?;
    m.add_class::<client::NativeClient>()?;
    m.add_class::<stream::SyncStream>()?;
    m.add_class::<stream::AsyncStream>()?;
    m.add_class::<bridge::Pending>()?;
    m.add_function(wrap_pyfunction!(bridge::shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(convert::count_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(convert::token_encoding, m)?)?;
    m.add_function(wrap_pyfunction!(convert::estimate_cost, m)?)?;
    m.add_function(wrap_pyfunction!(convert::catalog, m)?)?;
    m.add_function(wrap_pyfunction!(convert::catalog_model, m)?)?;
    Ok(())
}
