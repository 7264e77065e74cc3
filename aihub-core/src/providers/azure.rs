//! Azure OpenAI: OpenAI's wire format at deployment URLs, with `api-version` and an
//! `api-key` header.

use http::HeaderMap;
use secrecy::ExposeSecret;

use super::openai::{OpenAiStreamState, Quirks};
use super::{ProviderAdapter, ProviderConfig, ProviderRequest, StreamState};
use crate::error::{Error, Result};
use crate::types::{
    ChatCompletion, ChatCompletionRequest, EmbeddingRequest, EmbeddingResponse, ModelList,
};

/// The `api-version` used when the configuration names none (latest GA at the time of writing).
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

/// The Azure OpenAI adapter. The upstream model name is the deployment name.
#[derive(Debug, Clone)]
pub struct AzureAdapter {
    config: ProviderConfig,
}

impl AzureAdapter {
    /// An adapter for one Azure OpenAI resource (`https://NAME.openai.azure.com`).
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

    /// The URL of `operation` on a deployment; a deployment name that could change the
    /// URL (`/`, `..`, `?`, `#`, `%`, control characters) is a 400 about `model`.
    fn deployment_url(&self, deployment: &str, operation: &str) -> Result<String> {
        let deployment = super::path::model_in_path(deployment, 1)?;
        Ok(self.config.url(&format!(
            "/openai/deployments/{deployment}/{operation}?api-version={}",
            self.api_version()
        )))
    }

    pub(crate) fn authorize(&self, req: &mut ProviderRequest) -> Result<()> {
        let key = self.config.api_key.as_ref().ok_or_else(|| {
            Error::config(format!(
                "no API key configured for provider {}",
                self.config.id
            ))
        })?;
        req.header("api-key", key.expose_secret(), true)?;
        req.extra_headers(&self.config)
    }
}

impl ProviderAdapter for AzureAdapter {
    fn chat_request(
        &self,
        request: &ChatCompletionRequest,
        upstream_model: &str,
    ) -> Result<ProviderRequest> {
        // Azure takes the deployment from the URL; it speaks OpenAI's body otherwise.
        let body = super::openai::request_body(request, upstream_model, &Quirks::default())?;
        let mut req = ProviderRequest::post_json(
            self.deployment_url(upstream_model, "chat/completions")?,
            body,
        );
        if request.is_stream() {
            req.header("accept", "text/event-stream", false)?;
        }
        self.authorize(&mut req)?;
        Ok(req)
    }

    fn parse_chat_response(&self, body: &[u8], model: &str) -> Result<ChatCompletion> {
        super::openai::parse_chat(body, model)
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
        let mut req =
            ProviderRequest::post_json(self.deployment_url(upstream_model, "embeddings")?, body);
        self.authorize(&mut req)?;
        Ok(req)
    }

    fn parse_embeddings_response(
        &self,
        body: &[u8],
        request: &EmbeddingRequest,
    ) -> Result<EmbeddingResponse> {
        super::openai::parse_embeddings(body, request)
    }

    fn models_request(&self) -> Result<ProviderRequest> {
        let mut req = ProviderRequest::get(self.config.url(&format!(
            "/openai/models?api-version={}",
            self.api_version()
        )));
        self.authorize(&mut req)?;
        Ok(req)
    }

    fn parse_models_response(&self, body: &[u8]) -> Result<ModelList> {
        super::parse_json(body, "model list")
    }
}
