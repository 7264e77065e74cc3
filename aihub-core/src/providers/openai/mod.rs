//! OpenAI Chat Completions and every OpenAI-compatible provider (DeepSeek, Qwen via
//! DashScope compatible mode, Moonshot/Kimi, Zhipu GLM, SiliconFlow, Mistral, Groq,
//! OpenRouter, Ollama, vLLM). One adapter; per-provider differences are [`Quirks`].

mod request;
mod response;
mod stream;

#[cfg(test)]
mod tests;

use http::HeaderMap;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

pub use request::chat_body as request_body;
pub use response::{normalize_usage, parse_chat, parse_embeddings};
pub use stream::OpenAiStreamState;

use super::{ProviderAdapter, ProviderConfig, ProviderRequest, StreamState};
use crate::error::{Error, Result};
use crate::types::{
    ChatCompletion, ChatCompletionRequest, EmbeddingRequest, EmbeddingResponse, ModelList,
};

/// Which field an OpenAI-compatible provider reads the output token limit from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxTokensField {
    /// Send whichever field the caller used (OpenAI accepts both).
    #[default]
    AsGiven,
    /// Only `max_tokens` is understood: `max_completion_tokens` is renamed.
    MaxTokens,
}

/// How an OpenAI-compatible provider differs from OpenAI itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quirks {
    /// Field that carries the output token limit.
    pub max_tokens_field: MaxTokensField,
    /// The provider understands the `developer` role; when not, it is sent as `system`.
    pub developer_role: bool,
    /// The provider accepts `stream_options.include_usage`; when not, it reports usage
    /// in its last chunk by itself (Mistral, Zhipu) or not at all.
    pub stream_usage: bool,
    /// The provider needs an API key (a local Ollama or vLLM does not).
    pub requires_key: bool,
}

impl Default for Quirks {
    fn default() -> Self {
        Self {
            max_tokens_field: MaxTokensField::AsGiven,
            developer_role: true,
            stream_usage: true,
            requires_key: true,
        }
    }
}

/// The OpenAI-compatible adapter.
#[derive(Debug, Clone)]
pub struct OpenAiAdapter {
    config: ProviderConfig,
}

impl OpenAiAdapter {
    /// An adapter for one OpenAI-compatible provider.
    pub fn new(config: ProviderConfig) -> Self {
        Self { config }
    }

    /// The provider's configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    pub(crate) fn authorize(&self, req: &mut ProviderRequest) -> Result<()> {
        match &self.config.api_key {
            Some(key) => req.header(
                "authorization",
                &format!("Bearer {}", key.expose_secret()),
                true,
            )?,
            None if self.config.quirks.requires_key => {
                return Err(Error::config(format!(
                    "no API key configured for provider {}",
                    self.config.id
                )));
            }
            None => {}
        }
        req.extra_headers(&self.config)
    }
}

impl ProviderAdapter for OpenAiAdapter {
    fn chat_request(
        &self,
        request: &ChatCompletionRequest,
        upstream_model: &str,
    ) -> Result<ProviderRequest> {
        let body = request::chat_body(request, upstream_model, &self.config.quirks)?;
        let mut req = ProviderRequest::post_json(self.config.url("/chat/completions"), body);
        if request.is_stream() {
            req.header("accept", "text/event-stream", false)?;
        }
        self.authorize(&mut req)?;
        Ok(req)
    }

    fn parse_chat_response(&self, body: &[u8], model: &str) -> Result<ChatCompletion> {
        response::parse_chat(body, model)
    }

    fn stream_state(&self, model: &str) -> StreamState {
        StreamState::OpenAi(OpenAiStreamState::new(model))
    }

    fn parse_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        super::openai_style_error(status, headers, body)
    }

    fn embeddings_request(
        &self,
        request: &EmbeddingRequest,
        upstream_model: &str,
    ) -> Result<ProviderRequest> {
        let mut body =
            serde_json::to_value(request).map_err(|e| Error::bad_request(e.to_string(), None))?;
        body["model"] = upstream_model.into();
        let mut req = ProviderRequest::post_json(self.config.url("/embeddings"), body);
        self.authorize(&mut req)?;
        Ok(req)
    }

    fn parse_embeddings_response(
        &self,
        body: &[u8],
        request: &EmbeddingRequest,
    ) -> Result<EmbeddingResponse> {
        response::parse_embeddings(body, request)
    }

    fn models_request(&self) -> Result<ProviderRequest> {
        let mut req = ProviderRequest::get(self.config.url("/models"));
        self.authorize(&mut req)?;
        Ok(req)
    }

    fn parse_models_response(&self, body: &[u8]) -> Result<ModelList> {
        super::parse_json(body, "model list")
    }
}
