use serde::{Deserialize, Serialize};

/// Token usage of one request, as OpenAI reports it.
///
/// `prompt_tokens` counts every input token, cached ones included; `completion_tokens`
/// counts every output token, reasoning ones included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens, including cached and cache-write tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Output tokens, including reasoning tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// `prompt_tokens + completion_tokens`.
    #[serde(default)]
    pub total_tokens: u64,
    /// Breakdown of the input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// Breakdown of the output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    /// What the AI Hub gateway charged for the request, an exact decimal written as a string
    /// (`"0.000123"`); an AI Hub extension, absent from providers' responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<rust_decimal::Decimal>,
    /// ISO 4217 code of [`cost`](Self::cost)'s currency (`USD`, `CNY`); an AI Hub extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_currency: Option<String>,
    /// True when the provider reported no usage and the AI Hub gateway counted the tokens
    /// itself; an AI Hub extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated: Option<bool>,
}

/// Breakdown of input tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptTokensDetails {
    /// Tokens read from the provider's prompt cache (billed at the cached-input price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Audio input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Tokens written to the prompt cache (Anthropic's `cache_creation_input_tokens`), for
    /// five minutes or for an hour; an AI Hub extension, absent from OpenAI responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
    /// Of `cache_write_tokens`, those written to the 1-hour cache (Anthropic's
    /// `cache_creation.ephemeral_1h_input_tokens`, billed at its own price); an AI Hub
    /// extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h_tokens: Option<u64>,
}

/// Breakdown of output tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionTokensDetails {
    /// Tokens spent on hidden reasoning (o-series, DeepSeek R1, Gemini thinking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Audio output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Predicted-output tokens that appeared in the completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_prediction_tokens: Option<u64>,
    /// Predicted-output tokens that did not appear in the completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_prediction_tokens: Option<u64>,
}

impl Usage {
    /// A usage with the given prompt and completion tokens and their total.
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
            ..Self::default()
        }
    }

    /// Tokens read from the prompt cache, zero when not reported.
    pub fn cached_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0)
    }

    /// Tokens written to the prompt cache, zero when not reported.
    pub fn cache_write_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cache_write_tokens)
            .unwrap_or(0)
    }

    /// Tokens written to the 1-hour prompt cache (part of
    /// [`cache_write_tokens`](Self::cache_write_tokens)), zero when not reported.
    pub fn cache_write_1h_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cache_write_1h_tokens)
            .unwrap_or(0)
    }

    /// Reasoning tokens within the completion, zero when not reported.
    pub fn reasoning_tokens(&self) -> u64 {
        self.completion_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0)
    }

    /// Sets the cached-token count, creating the details object when needed.
    pub fn with_cached_tokens(mut self, cached: u64) -> Self {
        self.prompt_tokens_details
            .get_or_insert_with(Default::default)
            .cached_tokens = Some(cached);
        self
    }

    /// Sets the reasoning-token count, creating the details object when needed.
    pub fn with_reasoning_tokens(mut self, reasoning: u64) -> Self {
        self.completion_tokens_details
            .get_or_insert_with(Default::default)
            .reasoning_tokens = Some(reasoning);
        self
    }
}
