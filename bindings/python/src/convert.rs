//! Conversions at the edge (Python values ⇄ core types), blocking with Ctrl-C, and the
//! helpers that need no client: token counts, cost estimates and the catalog.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use aihub_core::Error;
use aihub_core::catalog::Catalog;
use aihub_core::pricing::TokenCounts;
use aihub_core::types::from_json_value;
use pyo3::prelude::*;
use pyo3::types::PyString;
use pythonize::{depythonize, pythonize};
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::{internal, to_py_err};

/// How often a blocking call wakes to let Python handle signals (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// The tokio runtime every client shares: multi-threaded, started on first use.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("aihub-worker")
            .build()
            .unwrap_or_else(|e| {
                // Without threads there is nothing this package can do; say so and stop.
                eprintln!("aihub: cannot start the tokio runtime: {e}");
                std::process::abort()
            })
    })
}

/// A Python value (dicts, lists, strings, numbers) as a core request type; a value that
/// does not fit raises `BadRequestError` naming the field, as the gateway's 400 does.
pub fn from_py<T: DeserializeOwned>(value: &Bound<'_, PyAny>) -> PyResult<T> {
    let json: serde_json::Value = depythonize(value).map_err(|e| {
        to_py_err(&Error::bad_request(
            format!("the request holds a value that is not JSON: {e}"),
            None,
        ))
    })?;
    from_json_value(json).map_err(|e| to_py_err(&e))
}

/// A core value as plain Python dicts and lists.
pub fn to_py<T: Serialize + ?Sized>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    pythonize(py, value).map(Bound::unbind).map_err(internal)
}

/// Runs `future` to completion on the shared runtime with the GIL released. Every
/// [`SIGNAL_POLL`] it takes the GIL to run Python's signal handlers: when one raises
/// (KeyboardInterrupt), the future is dropped, which cancels its request, and the
/// exception propagates.
pub fn block_on<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    py.detach(|| {
        runtime().block_on(async {
            let start = tokio::time::Instant::now() + SIGNAL_POLL;
            let mut tick = tokio::time::interval_at(start, SIGNAL_POLL);
            let mut future = std::pin::pin!(future);
            loop {
                tokio::select! {
                    biased;
                    out = &mut future => return Ok(out),
                    _ = tick.tick() => Python::attach(|py| py.check_signals())?,
                }
            }
        })
    })
}

/// Tokens in a text, or the prompt tokens of a list of chat messages, for `model`.
#[pyfunction]
pub fn count_tokens(model: &str, text_or_messages: &Bound<'_, PyAny>) -> PyResult<usize> {
    if let Ok(text) = text_or_messages.cast::<PyString>() {
        return Ok(aihub_core::tokens::count_text(model, &text.to_cow()?));
    }
    let input: serde_json::Value = from_py(text_or_messages)?;
    aihub_core::tokens::count_input(model, input, "text_or_messages").map_err(|e| to_py_err(&e))
}

/// The tiktoken encoding `model` is counted with, and whether its counts are exact.
#[pyfunction]
pub fn token_encoding(model: &str) -> (&'static str, bool) {
    let (encoding, exactness) = aihub_core::tokens::encoding_for_model(model);
    (
        encoding.name(),
        exactness == aihub_core::tokens::Exactness::Exact,
    )
}

/// The exact cost of a usage on a catalog model, in the currency of its price, or `None`
/// when the model's price is unknown. An unknown model raises `NotFoundError`.
#[pyfunction]
#[pyo3(signature = (model, *, prompt_tokens, completion_tokens, cached_tokens = 0, cache_write_tokens = 0, cache_write_1h_tokens = 0))]
pub fn estimate_cost(
    model: &str,
    prompt_tokens: u64,
    completion_tokens: u64,
    cached_tokens: u64,
    cache_write_tokens: u64,
    cache_write_1h_tokens: u64,
) -> PyResult<Option<(Decimal, &'static str)>> {
    let counts = TokenCounts {
        prompt_tokens,
        completion_tokens,
        cached_tokens,
        cache_write_tokens,
        cache_write_1h_tokens,
    };
    let cost = aihub_core::catalog::estimate_cost(Catalog::builtin(), model, &counts.to_usage())
        .map_err(|e| to_py_err(&e))?;
    Ok(cost.map(|cost| (cost.amount, cost.currency.code())))
}

/// Every model of the built-in catalog, as dicts (prices as decimal strings).
#[pyfunction]
pub fn catalog(py: Python<'_>) -> PyResult<Py<PyAny>> {
    to_py(py, Catalog::builtin().models())
}

/// The catalog entry for a model id or alias, as a dict, or `None`.
#[pyfunction]
pub fn catalog_model(py: Python<'_>, model: &str) -> PyResult<Option<Py<PyAny>>> {
    Catalog::builtin()
        .get(model)
        .map(|info| to_py(py, info))
        .transpose()
}
