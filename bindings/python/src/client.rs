//! `NativeClient`: one `aihub_core::Client`, with blocking methods (GIL released) for
//! `aihub.Client` and awaitable ones for `aihub.AsyncClient`.

use std::collections::HashMap;
use std::time::Duration;

use aihub_core::{
    ChatCompletionRequest, Client, EmbeddingRequest, Error, RequestOptions, RetryPolicy,
};
use pyo3::prelude::*;

use crate::bridge::{Deliver, Pending, spawn};
use crate::convert::{block_on, from_py, to_py};
use crate::errors::to_py_err;
use crate::stream::{AsyncStream, SyncStream};

/// A client shared by every thread that holds it (the core client is `Send + Sync`).
#[pyclass(module = "aihub._aihub", frozen)]
pub struct NativeClient {
    inner: Client,
}

/// Hands a core result to Python: the value as plain dicts, or the matching exception.
fn deliver_value<T: serde::Serialize + Send + 'static>(result: aihub_core::Result<T>) -> Deliver {
    Box::new(move |py: Python<'_>| match result {
        Ok(value) => to_py(py, &value),
        Err(e) => Err(to_py_err(&e)),
    })
}

/// A duration in seconds from Python, `None` for no limit.
fn seconds(value: Option<f64>, name: &str) -> PyResult<Option<Duration>> {
    match value {
        None => Ok(None),
        // A checked conversion: `Duration::from_secs_f64` panics on 1e300, NaN or -1.
        Some(s) => match aihub_core::error::duration_from_secs(s) {
            Some(d) if s > 0.0 => Ok(Some(d)),
            _ => Err(to_py_err(&Error::config(format!(
                "{name} must be a positive number of seconds that a duration can hold, or None, not {s}"
            )))),
        },
    }
}

fn options(
    timeout: Option<f64>,
    max_retries: Option<u32>,
    fallback_models: Option<Vec<String>>,
    request_id: Option<String>,
) -> PyResult<RequestOptions> {
    Ok(RequestOptions {
        fallback_models,
        max_retries,
        timeout: seconds(timeout, "timeout")?,
        request_id,
    })
}

#[pymethods]
impl NativeClient {
    /// Gateway mode with `api_key` (or `AIHUB_API_KEY`), direct mode otherwise.
    #[new]
    #[pyo3(signature = (
        *, api_key = None, base_url = None, provider_keys = None, provider_base_urls = None,
        keys_from_env = true, timeout = Some(600.0), connect_timeout = Some(10.0),
        read_timeout = Some(120.0), max_retries = 2, fallback_models = None,
        default_headers = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        api_key: Option<String>,
        base_url: Option<String>,
        provider_keys: Option<HashMap<String, String>>,
        provider_base_urls: Option<HashMap<String, String>>,
        keys_from_env: bool,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        read_timeout: Option<f64>,
        max_retries: u32,
        fallback_models: Option<Vec<String>>,
        default_headers: Option<HashMap<String, String>>,
    ) -> PyResult<Self> {
        let mut builder = Client::builder()
            .keys_from_env(keys_from_env)
            .timeout(seconds(timeout, "timeout")?)
            .connect_timeout(seconds(connect_timeout, "connect_timeout")?)
            .read_timeout(seconds(read_timeout, "read_timeout")?)
            .retry_policy(RetryPolicy {
                max_retries,
                ..RetryPolicy::default()
            })
            .fallback_models(fallback_models.unwrap_or_default());
        if let Some(key) = api_key {
            builder = builder.api_key(key);
        }
        if let Some(url) = base_url {
            builder = builder.base_url(url);
        }
        for (provider, key) in provider_keys.unwrap_or_default() {
            builder = builder.provider_key(provider, key);
        }
        for (provider, url) in provider_base_urls.unwrap_or_default() {
            builder = builder.provider_base_url(provider, url);
        }
        for (name, value) in default_headers.unwrap_or_default() {
            builder = builder.default_header(name, value);
        }
        let inner = builder.build().map_err(|e| to_py_err(&e))?;
        Ok(Self { inner })
    }

    /// True when every request goes to one gateway.
    #[getter]
    fn is_gateway(&self) -> bool {
        self.inner.is_gateway()
    }

    /// A chat completion as a dict, blocking with the GIL released.
    #[pyo3(signature = (request, *, timeout = None, max_retries = None, fallback_models = None, request_id = None))]
    fn chat_create(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        timeout: Option<f64>,
        max_retries: Option<u32>,
        fallback_models: Option<Vec<String>>,
        request_id: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let request: ChatCompletionRequest = from_py(request)?;
        let options = options(timeout, max_retries, fallback_models, request_id)?;
        let client = &self.inner;
        let result = block_on(py, client.chat().create_with(request, &options))?;
        let completion = result.map_err(|e| to_py_err(&e))?;
        to_py(py, &completion)
    }

    /// A streamed chat completion, blocking until the stream has started.
    #[pyo3(signature = (request, *, timeout = None, max_retries = None, fallback_models = None, request_id = None))]
    fn chat_stream(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        timeout: Option<f64>,
        max_retries: Option<u32>,
        fallback_models: Option<Vec<String>>,
        request_id: Option<String>,
    ) -> PyResult<SyncStream> {
        let request: ChatCompletionRequest = from_py(request)?;
        let options = options(timeout, max_retries, fallback_models, request_id)?;
        let client = &self.inner;
        let result = block_on(py, client.chat().stream_with(request, &options))?;
        Ok(SyncStream::new(result.map_err(|e| to_py_err(&e))?))
    }

    /// Embeddings as a dict, blocking with the GIL released.
    fn embeddings_create(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let request: EmbeddingRequest = from_py(request)?;
        let client = &self.inner;
        let result = block_on(py, client.embeddings().create(request))?;
        to_py(py, &result.map_err(|e| to_py_err(&e))?)
    }

    /// The model list as a dict, blocking with the GIL released.
    fn models_list(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let client = &self.inner;
        let result = block_on(py, client.models().list())?;
        to_py(py, &result.map_err(|e| to_py_err(&e))?)
    }

    /// Starts a chat completion that resolves the asyncio future `target` with a dict.
    #[pyo3(signature = (request, event_loop, target, *, timeout = None, max_retries = None, fallback_models = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn chat_create_async(
        &self,
        request: &Bound<'_, PyAny>,
        event_loop: Bound<'_, PyAny>,
        target: Bound<'_, PyAny>,
        timeout: Option<f64>,
        max_retries: Option<u32>,
        fallback_models: Option<Vec<String>>,
        request_id: Option<String>,
    ) -> PyResult<Pending> {
        let request: ChatCompletionRequest = from_py(request)?;
        let options = options(timeout, max_retries, fallback_models, request_id)?;
        let client = self.inner.clone();
        Ok(spawn(event_loop, target, async move {
            let result = client.chat().create_with(request, &options).await;
            deliver_value(result)
        }))
    }

    /// Starts a stream that resolves `target` with an `AsyncStream` once it has started.
    #[pyo3(signature = (request, event_loop, target, *, timeout = None, max_retries = None, fallback_models = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn chat_stream_async(
        &self,
        request: &Bound<'_, PyAny>,
        event_loop: Bound<'_, PyAny>,
        target: Bound<'_, PyAny>,
        timeout: Option<f64>,
        max_retries: Option<u32>,
        fallback_models: Option<Vec<String>>,
        request_id: Option<String>,
    ) -> PyResult<Pending> {
        let request: ChatCompletionRequest = from_py(request)?;
        let options = options(timeout, max_retries, fallback_models, request_id)?;
        let client = self.inner.clone();
        Ok(spawn(event_loop, target, async move {
            let result = client.chat().stream_with(request, &options).await;
            Box::new(move |py: Python<'_>| match result {
                Ok(stream) => Ok(Py::new(py, AsyncStream::new(stream))?.into_any()),
                Err(e) => Err(to_py_err(&e)),
            }) as Deliver
        }))
    }

    /// Starts an embeddings request that resolves `target` with a dict.
    fn embeddings_create_async(
        &self,
        request: &Bound<'_, PyAny>,
        event_loop: Bound<'_, PyAny>,
        target: Bound<'_, PyAny>,
    ) -> PyResult<Pending> {
        let request: EmbeddingRequest = from_py(request)?;
        let client = self.inner.clone();
        Ok(spawn(event_loop, target, async move {
            let result = client.embeddings().create(request).await;
            deliver_value(result)
        }))
    }

    /// Starts listing models; resolves `target` with a dict.
    fn models_list_async(&self, event_loop: Bound<'_, PyAny>, target: Bound<'_, PyAny>) -> Pending {
        let client = self.inner.clone();
        spawn(event_loop, target, async move {
            let result = client.models().list().await;
            deliver_value(result)
        })
    }
}
