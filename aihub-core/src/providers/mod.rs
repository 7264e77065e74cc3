//! Sans-IO provider adapters.
//!
//! An adapter turns a canonical request into a [`ProviderRequest`] (method, URL, headers,
//! JSON body) and turns provider responses and SSE events back into canonical objects. No
//! adapter performs I/O: the [`Client`](crate::Client) and the gateway send the requests,
//! and tests drive adapters from fixtures.
//!
//! Dispatch is a `match` on the closed [`Adapter`] enum, one variant per wire family.

pub mod anthropic;
pub mod azure;
pub mod gemini;
pub mod openai;
pub mod path;

use std::time::Duration;

use eventsource_stream::Event;
use http::HeaderMap;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorDetail, Result, parse_retry_after, request_id_from_headers};
use crate::types::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, EmbeddingRequest,
    EmbeddingResponse, ModelList,
};

pub use openai::Quirks;

/// The wire family a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProviderKind {
    /// OpenAI Chat Completions and every compatible API.
    #[serde(rename = "openai")]
    OpenAi,
    /// Azure OpenAI (deployment URLs, `api-version`, `api-key` header).
    #[serde(rename = "azure")]
    Azure,
    /// Anthropic Messages.
    #[serde(rename = "anthropic")]
    Anthropic,
    /// Google Gemini `generateContent`.
    #[serde(rename = "gemini")]
    Gemini,
}

impl ProviderKind {
    /// The family name as written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Azure => "azure",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
        }
    }
}

/// Everything an adapter needs to address one provider. Its `Debug` shows neither the key
/// nor the extra headers' values.
#[derive(Clone)]
pub struct ProviderConfig {
    /// Provider id used in model ids (`deepseek` in `deepseek/deepseek-chat`).
    pub id: String,
    /// Wire family.
    pub kind: ProviderKind,
    /// Base URL, e.g. `https://api.openai.com/v1`; no trailing slash needed.
    pub base_url: String,
    /// API key; `None` for keyless servers such as a local Ollama.
    pub api_key: Option<SecretString>,
    /// API version: Azure's `api-version` query value or Anthropic's `anthropic-version` header.
    pub api_version: Option<String>,
    /// Extra headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// Differences of OpenAI-compatible providers from OpenAI itself.
    pub quirks: Quirks,
    /// The `max_tokens` sent to a provider that requires one (see
    /// [`Adapter::requires_max_tokens`]) when the request sets no output limit; `None`
    /// for the family's default ([`anthropic::DEFAULT_MAX_TOKENS`]).
    pub default_max_tokens: Option<u32>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values can be credentials (`Authorization`, `X-Api-Key`, …); so can a base
        // URL's userinfo or query.
        let base_url = match self.base_url.split_once('?') {
            Some((path, _)) => format!("{path}?[REDACTED]"),
            None => self.base_url.clone(),
        };
        let base_url = match base_url.split_once("://") {
            Some((scheme, rest)) if rest.split('/').next().is_some_and(|a| a.contains('@')) => {
                let host = rest.split_once('@').map_or(rest, |(_, h)| h);
                format!("{scheme}://[REDACTED]@{host}")
            }
            _ => base_url,
        };
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, _)| (name.as_str(), "[REDACTED]"))
            .collect();
        f.debug_struct("ProviderConfig")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("base_url", &base_url)
            .field("api_key", &self.api_key)
            .field("api_version", &self.api_version)
            .field("headers", &headers)
            .field("quirks", &self.quirks)
            .finish()
    }
}

impl ProviderConfig {
    /// A configuration with no key, version, headers or quirks.
    pub fn new(id: impl Into<String>, kind: ProviderKind, base_url: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind,
            base_url: base_url.into(),
            api_key: None,
            api_version: None,
            headers: Vec::new(),
            quirks: Quirks::default(),
            default_max_tokens: None,
        }
    }

    /// This configuration with an API key.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// The base URL joined with `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), path)
    }
}

/// An HTTP request an adapter wants sent. Header values holding secrets are marked
/// sensitive so that they never appear in `Debug` output or logs.
#[derive(Debug, Clone)]
pub struct ProviderRequest {
    /// HTTP method.
    pub method: http::Method,
    /// Full URL.
    pub url: String,
    /// Headers, authentication included.
    pub headers: HeaderMap,
    /// JSON body, `None` for GET.
    pub body: Option<Value>,
}

impl ProviderRequest {
    /// A POST of `body` to `url` with a JSON content type.
    pub fn post_json(url: String, body: Value) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        Self {
            method: http::Method::POST,
            url,
            headers,
            body: Some(body),
        }
    }

    /// A GET of `url`.
    pub fn get(url: String) -> Self {
        Self {
            method: http::Method::GET,
            url,
            headers: HeaderMap::new(),
            body: None,
        }
    }

    /// Adds a header; secret values are marked sensitive.
    pub fn header(&mut self, name: &str, value: &str, secret: bool) -> Result<()> {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::config(format!("invalid header name {name:?}")))?;
        // A key pasted with a stray character (a typographic ellipsis, a non-breaking space)
        // would reach the provider as garbage and come back as a puzzling 401: say so here.
        if secret && !value.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(Error::config(format!(
                "the credential for header {name} contains characters that are not printable ASCII; check the key for pasted symbols"
            )));
        }
        let mut value = http::HeaderValue::from_str(value)
            .map_err(|_| Error::config(format!("invalid value for header {name}")))?;
        value.set_sensitive(secret);
        self.headers.insert(name, value);
        Ok(())
    }

    /// Adds the configuration's extra headers.
    pub fn extra_headers(&mut self, config: &ProviderConfig) -> Result<()> {
        for (name, value) in &config.headers {
            self.header(name, value, false)?;
        }
        Ok(())
    }
}

/// What every wire family implements. Each method is pure: bytes and values in,
/// canonical objects or [`ProviderRequest`]s out.
pub trait ProviderAdapter {
    /// The HTTP request for a chat completion (streamed when `request.stream` is set).
    /// `upstream_model` is the provider's own name for the model.
    fn chat_request(
        &self,
        request: &ChatCompletionRequest,
        upstream_model: &str,
    ) -> Result<ProviderRequest>;

    /// A successful (2xx) chat response body as a canonical completion.
    fn parse_chat_response(&self, body: &[u8], model: &str) -> Result<ChatCompletion>;

    /// A fresh parser for one streamed response.
    fn stream_state(&self, model: &str) -> StreamState;

    /// An error response (non-2xx) as an [`Error`], keeping the provider's message.
    fn parse_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error;

    /// The HTTP request for embeddings.
    fn embeddings_request(
        &self,
        _request: &EmbeddingRequest,
        _upstream_model: &str,
    ) -> Result<ProviderRequest> {
        Err(Error::bad_request(
            "this provider does not offer embeddings",
            Some("model"),
        ))
    }

    /// A successful embeddings response body as a canonical response.
    fn parse_embeddings_response(
        &self,
        _body: &[u8],
        _request: &EmbeddingRequest,
    ) -> Result<EmbeddingResponse> {
        Err(Error::bad_request(
            "this provider does not offer embeddings",
            Some("model"),
        ))
    }

    /// The HTTP request listing the provider's models.
    fn models_request(&self) -> Result<ProviderRequest>;

    /// A successful model list body as a canonical list.
    fn parse_models_response(&self, body: &[u8]) -> Result<ModelList>;
}

/// One adapter per wire family; the closed set AI Hub speaks.
#[derive(Debug, Clone)]
pub enum Adapter {
    /// OpenAI and OpenAI-compatible providers.
    OpenAi(openai::OpenAiAdapter),
    /// Azure OpenAI.
    Azure(azure::AzureAdapter),
    /// Anthropic Messages.
    Anthropic(anthropic::AnthropicAdapter),
    /// Google Gemini.
    Gemini(gemini::GeminiAdapter),
}

macro_rules! dispatch {
    ($self:ident, $a:ident => $e:expr) => {
        match $self {
            Adapter::OpenAi($a) => $e,
            Adapter::Azure($a) => $e,
            Adapter::Anthropic($a) => $e,
            Adapter::Gemini($a) => $e,
        }
    };
}

impl Adapter {
    /// The adapter for a provider's wire family.
    pub fn new(config: ProviderConfig) -> Self {
        match config.kind {
            ProviderKind::OpenAi => Self::OpenAi(openai::OpenAiAdapter::new(config)),
            ProviderKind::Azure => Self::Azure(azure::AzureAdapter::new(config)),
            ProviderKind::Anthropic => Self::Anthropic(anthropic::AnthropicAdapter::new(config)),
            ProviderKind::Gemini => Self::Gemini(gemini::GeminiAdapter::new(config)),
        }
    }

    /// The provider's configuration.
    pub fn config(&self) -> &ProviderConfig {
        dispatch!(self, a => a.config())
    }

    /// True when the provider rejects a chat request without an output limit (Anthropic
    /// requires `max_tokens`). A gateway that reserves budget for a request without one
    /// should set the request's `max_tokens` to the output it reserved for, so that the
    /// provider is sent the same number.
    pub fn requires_max_tokens(&self) -> bool {
        matches!(self, Self::Anthropic(_))
    }

    /// The output limit this adapter sends when the request sets none:
    /// [`ProviderConfig::default_max_tokens`] or the family's default for a provider that
    /// requires one, `None` for one that does not (the provider then decides).
    pub fn default_max_tokens(&self) -> Option<u32> {
        self.requires_max_tokens().then(|| {
            self.config()
                .default_max_tokens
                .unwrap_or(anthropic::DEFAULT_MAX_TOKENS)
        })
    }

    /// A request in the provider's own wire format: `path` (with its query, starting with
    /// `/`) joined to the base URL, with the provider's credentials and extra headers.
    pub fn passthrough_request(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<ProviderRequest> {
        if !path.starts_with('/') || path.contains("..") || path.contains('#') {
            return Err(Error::bad_request(
                format!("passthrough path {path:?} must start with '/' and hold no '..' or '#'"),
                None,
            ));
        }
        let url = self.config().url(path);
        let mut request = match body {
            Some(body) => ProviderRequest::post_json(url, body),
            None => ProviderRequest::get(url),
        };
        request.method = method;
        dispatch!(self, a => a.authorize(&mut request))?;
        Ok(request)
    }
}

impl ProviderAdapter for Adapter {
    fn chat_request(
        &self,
        request: &ChatCompletionRequest,
        upstream_model: &str,
    ) -> Result<ProviderRequest> {
        dispatch!(self, a => a.chat_request(request, upstream_model))
    }
    fn parse_chat_response(&self, body: &[u8], model: &str) -> Result<ChatCompletion> {
        dispatch!(self, a => a.parse_chat_response(body, model))
    }
    fn stream_state(&self, model: &str) -> StreamState {
        dispatch!(self, a => a.stream_state(model))
    }
    fn parse_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        let id = &self.config().id;
        dispatch!(self, a => a.parse_error(status, headers, body)).with_provider(id)
    }
    fn embeddings_request(
        &self,
        request: &EmbeddingRequest,
        upstream_model: &str,
    ) -> Result<ProviderRequest> {
        dispatch!(self, a => a.embeddings_request(request, upstream_model))
    }
    fn parse_embeddings_response(
        &self,
        body: &[u8],
        request: &EmbeddingRequest,
    ) -> Result<EmbeddingResponse> {
        dispatch!(self, a => a.parse_embeddings_response(body, request))
    }
    fn models_request(&self) -> Result<ProviderRequest> {
        dispatch!(self, a => a.models_request())
    }
    fn parse_models_response(&self, body: &[u8]) -> Result<ModelList> {
        dispatch!(self, a => a.parse_models_response(body))
    }
}

/// Parser state for one streamed response, per wire family.
#[derive(Debug, Clone)]
pub enum StreamState {
    /// OpenAI-compatible `data:` chunks ending in `[DONE]`.
    OpenAi(openai::OpenAiStreamState),
    /// Anthropic's typed event sequence ending in `message_stop`.
    Anthropic(anthropic::AnthropicStreamState),
    /// Gemini `GenerateContentResponse` objects; ends with a `finishReason`.
    Gemini(gemini::GeminiStreamState),
}

impl StreamState {
    /// Feeds one SSE event; returns the canonical chunks it yields (possibly none).
    /// Error events in the stream come back as `Err`.
    pub fn on_event(&mut self, event: &Event) -> Result<Vec<ChatCompletionChunk>> {
        match self {
            Self::OpenAi(s) => s.on_event(event),
            Self::Anthropic(s) => s.on_event(event),
            Self::Gemini(s) => s.on_event(event),
        }
    }

    /// True once the stream's terminal event has been seen.
    pub fn is_done(&self) -> bool {
        match self {
            Self::OpenAi(s) => s.is_done(),
            Self::Anthropic(s) => s.is_done(),
            Self::Gemini(s) => s.is_done(),
        }
    }

    /// True when a stream that ends (its connection closes) here is a complete answer:
    /// its terminal event arrived, or, for OpenAI-compatible streams without `[DONE]`,
    /// every choice has its finish reason. Anthropic needs `message_stop`.
    pub fn is_complete(&self) -> bool {
        match self {
            Self::OpenAi(s) => s.is_complete(),
            Self::Anthropic(s) => s.is_done(),
            Self::Gemini(s) => s.is_done(),
        }
    }
}

impl crate::stream::EventParser for StreamState {
    fn on_event(&mut self, event: &Event) -> Result<Vec<ChatCompletionChunk>> {
        StreamState::on_event(self, event)
    }

    fn is_done(&self) -> bool {
        StreamState::is_done(self)
    }

    fn is_complete(&self) -> bool {
        StreamState::is_complete(self)
    }
}

/// Details parsed from an error body shaped `{"error": {"message", "type", "code", "param"}}`
/// (OpenAI and most compatible providers) or close to it; falls back to the raw text.
pub fn openai_style_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let mut detail = ErrorDetail {
        upstream_status: Some(status),
        request_id: request_id_from_headers(headers),
        ..ErrorDetail::default()
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let err = parsed.as_ref().map(|v| v.get("error").unwrap_or(v));
    match err {
        Some(Value::Object(obj)) => {
            detail.message = obj
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| Value::Object(obj.clone()).to_string());
            detail.param = obj.get("param").and_then(Value::as_str).map(str::to_owned);
            detail.code = match obj.get("code") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => obj.get("type").and_then(Value::as_str).map(str::to_owned),
            };
            // The AI Hub gateway names the limit that refused a request.
            detail.limit = obj.get("limit").and_then(Value::as_str).map(str::to_owned);
        }
        Some(Value::String(s)) => detail.message = s.clone(),
        _ => detail.message = body_text(status, body),
    }
    Error::from_status(status, detail, parse_retry_after(headers))
}

/// The body as text for an error message, or the status when the body is empty.
pub fn body_text(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        format!("upstream answered HTTP {status} with an empty body")
    } else {
        text.chars().take(2000).collect()
    }
}

/// Parses a JSON body, mapping failures to [`Error::InvalidResponse`].
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::invalid_response(format!("{what}: {e}")))
}

/// Unix time now, in seconds.
pub fn unix_now() -> i64 {
    web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A fresh id with the given prefix (`chatcmpl-…`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// Default time the [`Client`](crate::Client) waits before retrying when the server gives no hint.
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_millis(500);
