//! One attempt against one provider: the entry the gateway's request pipeline calls.
//!
//! [`Chat::create`](super::Chat::create) and friends resolve a model, retry and fall back by
//! themselves; that suits an SDK calling providers directly. A gateway must account for
//! every attempt itself (which deployment served, how many attempts were made, which
//! were billed), so it plans the attempts and calls these methods, one attempt each: no
//! retries, no fallbacks, no model resolution. Each returns its result together with an
//! [`AttemptInfo`].

use std::time::Duration;

use futures_util::StreamExt;

use super::Client;
use crate::error::{Error, Result, request_id_from_headers};
use crate::providers::{Adapter, ProviderAdapter, ProviderRequest};
use crate::stream::ChatStream;
use crate::types::{ChatCompletion, ChatCompletionRequest, EmbeddingRequest, EmbeddingResponse};

/// Where one attempt goes and how long it may take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptOptions {
    /// 1-based number of this attempt within the caller's request (recorded, not used).
    pub number: u32,
    /// Request id sent upstream as `x-client-request-id`.
    pub request_id: Option<String>,
    /// Timeout of this attempt: the whole call, or for a stream the wait for its head.
    /// The client's own timeout when `None`.
    pub timeout: Option<Duration>,
}

/// What one attempt was: where it went, how it went, what the provider said about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptInfo {
    /// Provider id the attempt went to.
    pub provider: String,
    /// The provider's name for the model.
    pub upstream_model: String,
    /// 1-based attempt number, as given in [`AttemptOptions::number`].
    pub number: u32,
    /// The request id the provider assigned, when it sent one.
    pub upstream_request_id: Option<String>,
    /// From sending to the whole answer (or, for a stream, to its head or failure).
    pub latency: Duration,
    /// From sending to the response head, when one arrived.
    pub time_to_first_byte: Option<Duration>,
    /// HTTP status the provider answered with, when it answered.
    pub status: Option<u16>,
    /// Whether the provider reported usage (known here for non-streams; a stream's
    /// reader finds out at its end).
    pub usage_reported: bool,
}

/// A passthrough response's body as it arrives (`Send` on native targets).
#[cfg(not(target_family = "wasm"))]
pub type RawBody = futures_util::stream::BoxStream<'static, Result<bytes::Bytes>>;
/// A passthrough response's body as it arrives.
#[cfg(target_family = "wasm")]
pub type RawBody = futures_util::stream::LocalBoxStream<'static, Result<bytes::Bytes>>;

/// A provider's answer to a passthrough request: status, headers and the body as bytes.
pub struct RawResponse {
    /// HTTP status (any: a passthrough caller shows the provider's errors as they are).
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// The body, as it arrives.
    pub body: RawBody,
}

impl std::fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[cfg(not(target_family = "wasm"))]
type Instant = std::time::Instant;

/// A monotonic clock on native; wasm32 has none without extra dependencies, so attempts
/// there report zero durations.
#[derive(Clone, Copy)]
struct Timer {
    #[cfg(not(target_family = "wasm"))]
    start: Instant,
}

impl Timer {
    fn start() -> Self {
        Self {
            #[cfg(not(target_family = "wasm"))]
            start: Instant::now(),
        }
    }

    fn elapsed(self) -> Duration {
        #[cfg(not(target_family = "wasm"))]
        return self.start.elapsed();
        #[cfg(target_family = "wasm")]
        Duration::ZERO
    }
}

impl Client {
    /// The adapter of a provider this client has, by id.
    pub fn adapter(&self, provider: &str) -> Option<&Adapter> {
        match &self.inner.mode {
            super::Mode::Direct(adapters) => adapters.get(provider),
            super::Mode::Gateway(adapter) => Some(adapter),
        }
    }

    fn attempt_adapter(&self, provider: &str) -> Result<&Adapter> {
        self.adapter(provider).ok_or_else(|| {
            Error::config(format!(
                "provider {provider:?} is not configured in this client"
            ))
        })
    }

    /// One chat completion attempt at `provider`'s `upstream` model: no retry, no fallback.
    pub async fn attempt_chat(
        &self,
        provider: &str,
        upstream: &str,
        request: &ChatCompletionRequest,
        options: &AttemptOptions,
    ) -> (Result<ChatCompletion>, AttemptInfo) {
        match self.attempt_adapter(provider) {
            Ok(adapter) => {
                Box::pin(self.attempt_chat_on(adapter, upstream, request, options)).await
            }
            Err(e) => (Err(e), AttemptInfo::new(provider, upstream, options.number)),
        }
    }

    /// [`attempt_chat`](Self::attempt_chat) through `adapter`, which need not be one of this
    /// client's own (a gateway deployment with a credential of its own); the client's HTTP
    /// connections, timeouts and limits are used.
    pub async fn attempt_chat_on(
        &self,
        adapter: &Adapter,
        upstream: &str,
        request: &ChatCompletionRequest,
        options: &AttemptOptions,
    ) -> (Result<ChatCompletion>, AttemptInfo) {
        let provider = adapter.config().id.as_str();
        let mut info = AttemptInfo::new(provider, upstream, options.number);
        let timer = Timer::start();
        let result = async {
            // Copied only when the caller's request names a stream (a large prompt is
            // not copied for nothing).
            let plain;
            let request = if request.stream.is_some() || request.stream_options.is_some() {
                let mut copy = request.clone();
                copy.stream = None;
                copy.stream_options = None;
                plain = copy;
                &plain
            } else {
                request
            };
            let http = adapter.chat_request(request, upstream)?;
            let response = self.send_attempt(adapter, http, options, false, &mut info, timer);
            let response = response.await?;
            let body = self.read_body(response).await?;
            let completion = adapter.parse_chat_response(&body, upstream)?;
            info.usage_reported = completion.usage.is_some();
            Ok(completion)
        }
        .await;
        info.latency = timer.elapsed();
        (result.map_err(|e: Error| e.with_provider(provider)), info)
    }

    /// One streamed chat completion attempt. Success means the provider answered 2xx and
    /// the stream began; a failure after that arrives as an `Err` item of the stream.
    pub async fn attempt_chat_stream(
        &self,
        provider: &str,
        upstream: &str,
        request: &ChatCompletionRequest,
        options: &AttemptOptions,
    ) -> (Result<ChatStream>, AttemptInfo) {
        match self.attempt_adapter(provider) {
            Ok(adapter) => {
                Box::pin(self.attempt_chat_stream_on(adapter, upstream, request, options)).await
            }
            Err(e) => (Err(e), AttemptInfo::new(provider, upstream, options.number)),
        }
    }

    /// [`attempt_chat_stream`](Self::attempt_chat_stream) through `adapter` (see
    /// [`attempt_chat_on`](Self::attempt_chat_on)).
    pub async fn attempt_chat_stream_on(
        &self,
        adapter: &Adapter,
        upstream: &str,
        request: &ChatCompletionRequest,
        options: &AttemptOptions,
    ) -> (Result<ChatStream>, AttemptInfo) {
        let provider = adapter.config().id.as_str();
        let mut info = AttemptInfo::new(provider, upstream, options.number);
        let timer = Timer::start();
        let result = async {
            let streamed;
            let request = if request.stream == Some(true) {
                request
            } else {
                let mut copy = request.clone();
                copy.stream = Some(true);
                streamed = copy;
                &streamed
            };
            let http = adapter.chat_request(request, upstream)?;
            let response = self.send_attempt(adapter, http, options, true, &mut info, timer);
            let response = response.await?;
            let state = adapter.stream_state(upstream);
            Ok(self.chunk_stream(response, state, adapter.config().id.clone()))
        }
        .await;
        info.latency = timer.elapsed();
        (result.map_err(|e: Error| e.with_provider(provider)), info)
    }

    /// One embeddings attempt.
    pub async fn attempt_embeddings(
        &self,
        provider: &str,
        upstream: &str,
        request: &EmbeddingRequest,
        options: &AttemptOptions,
    ) -> (Result<EmbeddingResponse>, AttemptInfo) {
        match self.attempt_adapter(provider) {
            Ok(adapter) => {
                Box::pin(self.attempt_embeddings_on(adapter, upstream, request, options)).await
            }
            Err(e) => (Err(e), AttemptInfo::new(provider, upstream, options.number)),
        }
    }

    /// [`attempt_embeddings`](Self::attempt_embeddings) through `adapter` (see
    /// [`attempt_chat_on`](Self::attempt_chat_on)).
    pub async fn attempt_embeddings_on(
        &self,
        adapter: &Adapter,
        upstream: &str,
        request: &EmbeddingRequest,
        options: &AttemptOptions,
    ) -> (Result<EmbeddingResponse>, AttemptInfo) {
        let provider = adapter.config().id.as_str();
        let mut info = AttemptInfo::new(provider, upstream, options.number);
        let timer = Timer::start();
        let result = async {
            let http = adapter.embeddings_request(request, upstream)?;
            let response = self.send_attempt(adapter, http, options, false, &mut info, timer);
            let response = response.await?;
            let body = self.read_body(response).await?;
            let parsed = adapter.parse_embeddings_response(&body, request)?;
            info.usage_reported = parsed.usage.prompt_tokens > 0;
            Ok(parsed)
        }
        .await;
        info.latency = timer.elapsed();
        (result.map_err(|e: Error| e.with_provider(provider)), info)
    }

    /// One request in the provider's own wire format, carried untouched: `path` (with its
    /// query) is joined to the provider's base URL, the provider's credentials and extra
    /// headers are added, and the answer comes back as it is, errors included.
    pub async fn attempt_passthrough(
        &self,
        provider: &str,
        method: http::Method,
        path: &str,
        body: Option<serde_json::Value>,
        options: &AttemptOptions,
    ) -> (Result<RawResponse>, AttemptInfo) {
        let mut info = AttemptInfo::new(provider, "", options.number);
        let timer = Timer::start();
        let result = async {
            let adapter = self.attempt_adapter(provider)?;
            let http = adapter.passthrough_request(method, path, body)?;
            let request_id = options
                .request_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let response = self
                .send_raw(&http, &request_id, options.timeout.or(self.inner.timeout))
                .await?;
            info.time_to_first_byte = Some(timer.elapsed());
            info.status = Some(response.status().as_u16());
            info.upstream_request_id = request_id_from_headers(response.headers());
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.bytes_stream().map(|r| r.map_err(Error::from));
            Ok(RawResponse {
                status,
                headers,
                body: Box::pin(body),
            })
        }
        .await;
        info.latency = timer.elapsed();
        (result, info)
    }

    /// Sends one attempt, filling `info` with what the response head says.
    async fn send_attempt(
        &self,
        adapter: &Adapter,
        http: ProviderRequest,
        options: &AttemptOptions,
        stream: bool,
        info: &mut AttemptInfo,
        timer: Timer,
    ) -> Result<reqwest::Response> {
        let request_id = options
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let total = options.timeout.or(self.inner.timeout);
        let result = self
            .send_once(adapter, &http, &request_id, total, stream)
            .await;
        match &result {
            Ok(response) => {
                info.time_to_first_byte = Some(timer.elapsed());
                info.status = Some(response.status().as_u16());
                info.upstream_request_id = request_id_from_headers(response.headers());
            }
            Err(e) => {
                info.status = e.detail().upstream_status;
                if info.status.is_some() {
                    info.time_to_first_byte = Some(timer.elapsed());
                }
                info.upstream_request_id = e.request_id().map(str::to_owned);
            }
        }
        result
    }
}

impl AttemptInfo {
    fn new(provider: &str, upstream: &str, number: u32) -> Self {
        Self {
            provider: provider.to_owned(),
            upstream_model: upstream.to_owned(),
            number: number.max(1),
            ..Self::default()
        }
    }
}
