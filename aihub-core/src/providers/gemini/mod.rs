//! Google Gemini API (`generativelanguage.googleapis.com/v1beta`).
//!
//! Chat goes to `models/{model}:generateContent`, streams to
//! `models/{model}:streamGenerateContent?alt=sse`, embeddings to
//! `models/{model}:batchEmbedContents`, the model list to `GET models`; the key travels
//! in the `x-goog-api-key` header.
//!
//! Translation choices a reader could get wrong:
//! - system and developer messages become `systemInstruction`; tool results are
//!   `functionResponse` parts of a `user` content, named after the call they answer.
//! - Tool and `json_schema` schemas are rewritten into Gemini's OpenAPI subset by
//!   [`gemini_schema`] and sent as `parameters` / `responseSchema` (not
//!   `parametersJsonSchema` / `responseJsonSchema`, which older models lack).
//! - `reasoning_effort` sets `thinkingConfig.thinkingBudget` as Google's OpenAI-compatible
//!   endpoint does (`none` 0, `minimal` 512, `low` 1024, `medium` 8192, `high` 24576) with
//!   `includeThoughts` when thinking is on, so thought summaries become reasoning text;
//!   `logit_bias`, `user` and `parallel_tool_calls` have no Gemini equivalent and are
//!   ignored. Extra fields `top_k`, `safety_settings` and `cached_content` are passed on.
//! - Tool call ids are generated (`call_…`); a Gemini 3 thought signature rides in the id
//!   after `__thought__` so that it returns with the call in the next turn.

mod request;
mod response;
mod stream;

#[cfg(test)]
mod tests;

use http::HeaderMap;
use secrecy::ExposeSecret;

pub use request::{
    THOUGHT_SIGNATURE_SEPARATOR, chat_body as request_body, embeddings_body, gemini_schema,
    image_mime_from_url,
};
pub use response::{parse_chat, parse_embeddings, parse_error, parse_models};
pub use stream::GeminiStreamState;

use super::{ProviderAdapter, ProviderConfig, ProviderRequest, StreamState};
use crate::error::{Error, Result};
use crate::types::{
    ChatCompletion, ChatCompletionRequest, EmbeddingRequest, EmbeddingResponse, ModelList,
};

/// The Gemini adapter.
#[derive(Debug, Clone)]
pub struct GeminiAdapter {
    config: ProviderConfig,
}

impl GeminiAdapter {
    /// An adapter for one Gemini endpoint.
    pub fn new(config: ProviderConfig) -> Self {
        Self { config }
    }

    /// The provider's configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    pub(crate) fn authorize(&self, req: &mut ProviderRequest) -> Result<()> {
        let key = self.config.api_key.as_ref().ok_or_else(|| {
            Error::config(format!(
                "no API key configured for provider {}",
                self.config.id
            ))
        })?;
        req.header("x-goog-api-key", key.expose_secret(), true)?;
        req.extra_headers(&self.config)
    }
}

/// The resource name of a model for the URL path: `models/{model}`, or the name as given
/// when it already has a collection (`tunedModels/…`, `models/…`), each segment
/// percent-encoded. A name that could change the URL (`..`, `?`, `#`, `%`, control
/// characters, more than one `/`) is a 400 about `model`.
pub fn model_path(model: &str) -> Result<String> {
    let path = super::path::model_in_path(model, 2)?;
    Ok(if path.contains('/') {
        path
    } else {
        format!("models/{path}")
    })
}

impl ProviderAdapter for GeminiAdapter {
    fn chat_request(
        &self,
        request: &ChatCompletionRequest,
        upstream_model: &str,
    ) -> Result<ProviderRequest> {
        let model = model_path(upstream_model)?;
        let body = request::chat_body(request)?;
        let mut req = if request.is_stream() {
            let url = self
                .config
                .url(&format!("/{model}:streamGenerateContent?alt=sse"));
            let mut req = ProviderRequest::post_json(url, body);
            req.header("accept", "text/event-stream", false)?;
            req
        } else {
            ProviderRequest::post_json(self.config.url(&format!("/{model}:generateContent")), body)
        };
        self.authorize(&mut req)?;
        Ok(req)
    }

    fn parse_chat_response(&self, body: &[u8], model: &str) -> Result<ChatCompletion> {
        response::parse_chat(body, model)
    }

    fn stream_state(&self, model: &str) -> StreamState {
        StreamState::Gemini(GeminiStreamState::new(model))
    }

    fn parse_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        response::parse_error(status, headers, body)
    }

    fn embeddings_request(
        &self,
        request: &EmbeddingRequest,
        upstream_model: &str,
    ) -> Result<ProviderRequest> {
        let model = model_path(upstream_model)?;
        // The body names the model unencoded, as Gemini reads it from JSON.
        let name = if upstream_model.contains('/') {
            upstream_model.to_owned()
        } else {
            format!("models/{upstream_model}")
        };
        let body = request::embeddings_body(request, &name)?;
        let mut req = ProviderRequest::post_json(
            self.config.url(&format!("/{model}:batchEmbedContents")),
            body,
        );
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

    /// Lists models with `pageSize=1000` (the maximum) so that one page holds them all.
    fn models_request(&self) -> Result<ProviderRequest> {
        let mut req = ProviderRequest::get(self.config.url("/models?pageSize=1000"));
        self.authorize(&mut req)?;
        Ok(req)
    }

    fn parse_models_response(&self, body: &[u8]) -> Result<ModelList> {
        response::parse_models(body)
    }
}
