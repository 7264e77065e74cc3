//! The async client: one API for every provider, through an AI Hub gateway or direct.
//!
//! ```no_run
//! # async fn demo() -> aihub_core::Result<()> {
//! use aihub_core::{ChatCompletionRequest, ChatMessage, Client};
//!
//! let client = Client::builder()
//!     .gateway("http://127.0.0.1:8080/v1", "ai-hub-…")
//!     .build()?;
//! let request = ChatCompletionRequest::new("openai/gpt-4o-mini", vec![ChatMessage::user("Hello!")]);
//! let completion = client.chat().create(request).await?;
//! println!("{}", completion.choices[0].message.content.as_deref().unwrap_or(""));
//! # Ok(())
//! # }
//! ```

mod attempt;
mod builder;
mod retry;
mod settings;
mod transport;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use attempt::{AttemptInfo, AttemptOptions, RawResponse};
pub use builder::{
    API_KEY_ENV, BASE_URL_ENV, ClientBuilder, DEFAULT_GATEWAY_URL, GATEWAY_KEY_PREFIX,
};
pub use retry::RetryPolicy;
pub use settings::{CallSettings, ClientSettings};
pub use transport::{DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_STREAM_TIMEOUT};

use futures_util::StreamExt;

use crate::catalog::Catalog;
use crate::error::{Error, ErrorDetail, Result};
use crate::providers::{Adapter, ProviderAdapter};
use crate::stream::ChatStream;
use crate::types::{
    ChatCompletion, ChatCompletionRequest, EmbeddingRequest, EmbeddingResponse, Model, ModelList,
};

/// The AI Hub client. Cheap to clone; share one across tasks.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    mode: Mode,
    catalog: Catalog,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    limits: transport::ResponseLimits,
    fallback_models: Vec<String>,
}

#[derive(Debug)]
enum Mode {
    /// One OpenAI-compatible endpoint (an AI Hub gateway) resolves every model.
    Gateway(Adapter),
    /// Provider adapters by provider id; models resolved through the catalog.
    Direct(HashMap<String, Adapter>),
}

/// Per-call options overriding the client's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Models to try, in order, when the requested one fails in a way another might not.
    pub fallback_models: Option<Vec<String>>,
    /// Retries after the first attempt.
    pub max_retries: Option<u32>,
    /// Timeout for this call.
    pub timeout: Option<Duration>,
    /// Client request id sent as `x-client-request-id` (one is generated otherwise).
    pub request_id: Option<String>,
}

/// A model name resolved to the adapter that serves it.
struct Route<'a> {
    adapter: &'a Adapter,
    upstream: String,
}

impl Client {
    /// A builder; without [`ClientBuilder::gateway`] the client runs in direct mode.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Chat completions.
    pub fn chat(&self) -> Chat<'_> {
        Chat { client: self }
    }

    /// Embeddings.
    pub fn embeddings(&self) -> Embeddings<'_> {
        Embeddings { client: self }
    }

    /// Models.
    pub fn models(&self) -> Models<'_> {
        Models { client: self }
    }

    /// The catalog this client resolves models with.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// True in gateway mode.
    pub fn is_gateway(&self) -> bool {
        matches!(self.inner.mode, Mode::Gateway(_))
    }

    fn route(&self, model: &str) -> Result<Route<'_>> {
        match &self.inner.mode {
            Mode::Gateway(adapter) => Ok(Route {
                adapter,
                upstream: model.to_owned(),
            }),
            Mode::Direct(adapters) => {
                let not_found = || {
                    Error::NotFound(ErrorDetail {
                        message: format!(
                            "model {model:?} is not in the catalog; use provider/model"
                        ),
                        param: Some("model".to_owned()),
                        ..ErrorDetail::default()
                    })
                };
                let (provider, upstream) = match self.inner.catalog.resolve(model) {
                    Some(r) => (r.provider.to_owned(), r.upstream.to_owned()),
                    None => {
                        let (p, m) = model.split_once('/').ok_or_else(not_found)?;
                        if !adapters.contains_key(p) {
                            return Err(not_found());
                        }
                        (p.to_owned(), m.to_owned())
                    }
                };
                let adapter = adapters.get(&provider).ok_or_else(|| {
                    let env = self
                        .inner
                        .catalog
                        .provider(&provider)
                        .and_then(|p| p.api_key_env.clone())
                        .map(|v| format!(" (set {v})"))
                        .unwrap_or_default();
                    Error::Authentication(ErrorDetail {
                        message: format!("no API key for provider {provider}{env}"),
                        provider: Some(provider.clone()),
                        ..ErrorDetail::default()
                    })
                })?;
                Ok(Route { adapter, upstream })
            }
        }
    }

    /// Runs `attempt` with the requested model, then with each fallback model while the
    /// failure is one another model might not have; returns the first success or the last error.
    async fn with_fallbacks<T, F, Fut>(
        &self,
        model: &str,
        options: &RequestOptions,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut(String) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut last = None;
        for candidate in self.models_to_try(model, options) {
            match attempt(candidate.clone()).await {
                Ok(value) => return Ok(value),
                Err(e) if e.allows_fallback() => {
                    tracing::warn!(model = %candidate, error = %e, "model failed, trying the next fallback");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::config("no model to try")))
    }

    fn models_to_try(&self, model: &str, options: &RequestOptions) -> Vec<String> {
        let fallbacks = options
            .fallback_models
            .as_ref()
            .unwrap_or(&self.inner.fallback_models);
        let mut models = Vec::with_capacity(1 + fallbacks.len());
        models.push(model.to_owned());
        models.extend(fallbacks.iter().filter(|m| m.as_str() != model).cloned());
        models
    }
}

/// `client.chat()`.
#[derive(Debug, Clone, Copy)]
pub struct Chat<'a> {
    client: &'a Client,
}

impl Chat<'_> {
    /// Creates a completion (the request's `stream` flag is ignored).
    pub async fn create(&self, request: ChatCompletionRequest) -> Result<ChatCompletion> {
        self.create_with(request, &RequestOptions::default()).await
    }

    /// Creates a completion with per-call options.
    pub async fn create_with(
        &self,
        mut request: ChatCompletionRequest,
        options: &RequestOptions,
    ) -> Result<ChatCompletion> {
        request.stream = None;
        request.stream_options = None;
        request.validate()?;
        let client = self.client;
        let request = &request;
        client
            .with_fallbacks(&request.model, options, |model| async move {
                let route = client.route(&model)?;
                let http = route.adapter.chat_request(request, &route.upstream)?;
                let response = client.send(route.adapter, http, options, false).await?;
                let body = client.read_body(response).await?;
                let mut completion = route.adapter.parse_chat_response(&body, &route.upstream)?;
                if !client.is_gateway() {
                    completion.model = model;
                }
                Ok(completion)
            })
            .await
    }

    /// Starts a streamed completion. Failures before the first byte are retried and fall
    /// back like [`create`](Self::create); a failure after it ends the stream with `Err`.
    pub async fn stream(&self, request: ChatCompletionRequest) -> Result<ChatStream> {
        self.stream_with(request, &RequestOptions::default()).await
    }

    /// Starts a streamed completion with per-call options.
    pub async fn stream_with(
        &self,
        mut request: ChatCompletionRequest,
        options: &RequestOptions,
    ) -> Result<ChatStream> {
        request.stream = Some(true);
        request.validate()?;
        let client = self.client;
        let request = &request;
        client
            .with_fallbacks(&request.model, options, |model| async move {
                let route = client.route(&model)?;
                let http = route.adapter.chat_request(request, &route.upstream)?;
                let response = client.send(route.adapter, http, options, true).await?;
                let state = route.adapter.stream_state(&route.upstream);
                let stream =
                    client.chunk_stream(response, state, route.adapter.config().id.clone());
                if client.is_gateway() {
                    return Ok(stream);
                }
                // Direct mode names the model as the caller did, in every chunk as in
                // `create`.
                let renamed = stream.map(move |item| {
                    item.map(|mut chunk| {
                        chunk.model.clone_from(&model);
                        chunk
                    })
                });
                Ok(Box::pin(renamed) as ChatStream)
            })
            .await
    }
}

/// `client.embeddings()`.
#[derive(Debug, Clone, Copy)]
pub struct Embeddings<'a> {
    client: &'a Client,
}

impl Embeddings<'_> {
    /// Embeds the request's input.
    pub async fn create(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse> {
        self.create_with(request, &RequestOptions::default()).await
    }

    /// Embeds the request's input with per-call options (fallback models do not apply:
    /// another model's vectors are not interchangeable).
    pub async fn create_with(
        &self,
        request: EmbeddingRequest,
        options: &RequestOptions,
    ) -> Result<EmbeddingResponse> {
        let client = self.client;
        let route = client.route(&request.model)?;
        let http = route
            .adapter
            .embeddings_request(&request, &route.upstream)?;
        let response = client.send(route.adapter, http, options, false).await?;
        let body = client.read_body(response).await?;
        let mut response = route.adapter.parse_embeddings_response(&body, &request)?;
        if !client.is_gateway() {
            response.model.clone_from(&request.model);
        }
        Ok(response)
    }
}

/// `client.models()`.
#[derive(Debug, Clone, Copy)]
pub struct Models<'a> {
    client: &'a Client,
}

impl Models<'_> {
    /// Lists models: the gateway's list in gateway mode; in direct mode, the catalog's
    /// models of every provider the client has a key for (no network call).
    pub async fn list(&self) -> Result<ModelList> {
        self.list_with(&RequestOptions::default()).await
    }

    /// Lists models with per-call options (timeout, retries, request id; they apply to
    /// the gateway call, as direct mode makes none).
    pub async fn list_with(&self, options: &RequestOptions) -> Result<ModelList> {
        let client = self.client;
        match &client.inner.mode {
            Mode::Gateway(adapter) => {
                let http = adapter.models_request()?;
                let response = client.send(adapter, http, options, false).await?;
                let body = client.read_body(response).await?;
                adapter.parse_models_response(&body)
            }
            Mode::Direct(adapters) => Ok(ModelList {
                object: "list".to_owned(),
                data: client
                    .inner
                    .catalog
                    .models()
                    .iter()
                    .filter(|m| adapters.contains_key(m.provider()))
                    .map(|m| Model {
                        id: m.id.clone(),
                        object: "model".to_owned(),
                        created: 0,
                        owned_by: m.provider().to_owned(),
                        extra: Default::default(),
                    })
                    .collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
