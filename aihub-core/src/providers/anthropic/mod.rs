//! Anthropic adapter (being written).

use eventsource_stream::Event;
use http::HeaderMap;

use super::{ProviderAdapter, ProviderConfig, ProviderRequest, StreamState};
use crate::error::{Error, Result};
use crate::types::{ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ModelList};

/// The Anthropic adapter.
#[derive(Debug, Clone)]
pub struct AnthropicAdapter {
    config: ProviderConfig,
}

impl AnthropicAdapter {
    /// An adapter for one Anthropic endpoint.
    pub fn new(config: ProviderConfig) -> Self {
        Self { config }
    }

    /// The provider's configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }
}

impl ProviderAdapter for AnthropicAdapter {
    fn chat_request(
        &self,
        _request: &ChatCompletionRequest,
        _upstream_model: &str,
    ) -> Result<ProviderRequest> {
        Err(Error::config("not yet implemented"))
    }
    fn parse_chat_response(&self, _body: &[u8], _model: &str) -> Result<ChatCompletion> {
        Err(Error::config("not yet implemented"))
    }
    fn stream_state(&self, model: &str) -> StreamState {
        StreamState::Anthropic(AnthropicStreamState::new(model))
    }
    fn parse_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        super::openai_style_error(status, headers, body)
    }
    fn models_request(&self) -> Result<ProviderRequest> {
        Err(Error::config("not yet implemented"))
    }
    fn parse_models_response(&self, _body: &[u8]) -> Result<ModelList> {
        Err(Error::config("not yet implemented"))
    }
}

/// Parser state for one Anthropic stream.
#[derive(Debug, Clone)]
pub struct AnthropicStreamState {
    model: String,
    done: bool,
}

impl AnthropicStreamState {
    /// A parser for a stream answering for `model`.
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            done: false,
        }
    }
    /// True once the terminal event has arrived.
    pub fn is_done(&self) -> bool {
        self.done
    }
    /// Feeds one event.
    pub fn on_event(&mut self, _event: &Event) -> Result<Vec<ChatCompletionChunk>> {
        let _ = &self.model;
        Err(Error::config("not yet implemented"))
    }
}
