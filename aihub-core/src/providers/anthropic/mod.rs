//! Anthropic Messages (`POST /v1/messages`).
//!
//! Requests are translated from the canonical Chat Completions shape into Anthropic's
//! (system prompt lifted to the top level, content blocks, `tool_use` / `tool_result`
//! blocks, strictly alternating roles, a required `max_tokens`); responses, typed stream
//! events and error bodies are translated back. Embeddings are not offered: Anthropic
//! has no embeddings endpoint, so the trait's default answers with a bad request.
//!
//! What has no Anthropic equivalent, and what happens to it:
//! - `n` above 1, `input_audio` parts and OpenAI `file_id` references are rejected with a
//!   bad request naming the parameter (they would change the response's shape or lose data).
//! - `response_format` `json_object` / `json_schema`: the classic Messages API has no
//!   native structured output, so an instruction (with the schema, when given) is appended
//!   to the system prompt. The output is very likely, not guaranteed, to be valid JSON.
//! - `seed`, `presence_penalty`, `frequency_penalty`, `logit_bias`, `logprobs`,
//!   `top_logprobs`, `reasoning_effort`, `stream_options`, message `name`s and assistant
//!   `reasoning_content` (Anthropic needs signed thinking blocks to replay reasoning) are
//!   dropped: the sampling knobs are hints, and Anthropic rejects fields it does not know.
//! - Unknown extra fields are dropped for the same reason, except Anthropic's own
//!   [`FORWARDED_EXTRA_FIELDS`] (`top_k`, `thinking`), which are passed through so that
//!   callers can enable extended thinking.
//! - `temperature` is forwarded unchanged: Anthropic's range is 0 to 1 and it answers
//!   values above 1 with its own 400 error rather than having them silently clamped here.

mod request;
mod response;
mod stream;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod max_tokens_tests;

use http::HeaderMap;
use secrecy::ExposeSecret;

pub use request::{
    DEFAULT_MAX_TOKENS, FORWARDED_EXTRA_FIELDS, chat_body as request_body, chat_body_with_default,
};
pub use response::{parse_chat, parse_error, parse_models};
pub use stream::AnthropicStreamState;

use super::{ProviderAdapter, ProviderConfig, ProviderRequest, StreamState};
use crate::error::{Error, Result};
use crate::types::{ChatCompletion, ChatCompletionRequest, ModelList};

/// The `anthropic-version` header value used when the configuration names none.
pub const DEFAULT_API_VERSION: &str = "2023-06-01";

/// How many models one `GET /models` asks for (Anthropic's maximum page size), so that
/// the whole list normally arrives in one page.
pub const MODELS_PAGE_LIMIT: u32 = 1000;

/// The Anthropic Messages adapter.
#[derive(Debug, Clone)]
pub struct AnthropicAdapter {
    config: ProviderConfig,
}

impl AnthropicAdapter {
    /// An adapter for one Anthropic endpoint (base URL like `https://api.anthropic.com/v1`).
    pub fn new(config: ProviderConfig) -> Self {
        Self { config }
    }

    /// The provider's configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    fn api_version(&self) -> &str {
        self.config
            .api_version
            .as_deref()
            .unwrap_or(DEFAULT_API_VERSION)
    }

    pub(crate) fn authorize(&self, req: &mut ProviderRequest) -> Result<()> {
        let key = self.config.api_key.as_ref().ok_or_else(|| {
            Error::config(format!(
                "no API key configured for provider {}",
                self.config.id
            ))
        })?;
        req.header("x-api-key", key.expose_secret(), true)?;
        req.header("anthropic-version", self.api_version(), false)?;
        req.extra_headers(&self.config)
    }
}

impl ProviderAdapter for AnthropicAdapter {
    fn chat_request(
        &self,
        request: &ChatCompletionRequest,
        upstream_model: &str,
    ) -> Result<ProviderRequest> {
        let default = self.config.default_max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
        let body = request::chat_body_with_default(request, upstream_model, default)?;
        let mut req = ProviderRequest::post_json(self.config.url("/messages"), body);
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
        StreamState::Anthropic(AnthropicStreamState::new(model))
    }

    fn parse_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        response::parse_error(status, headers, body)
    }

    fn models_request(&self) -> Result<ProviderRequest> {
        let url = self
            .config
            .url(&format!("/models?limit={MODELS_PAGE_LIMIT}"));
        let mut req = ProviderRequest::get(url);
        self.authorize(&mut req)?;
        Ok(req)
    }

    fn parse_models_response(&self, body: &[u8]) -> Result<ModelList> {
        response::parse_models(body)
    }
}
