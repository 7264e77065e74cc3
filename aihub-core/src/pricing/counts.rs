//! Token counts as the SDKs' `estimate_cost` takes them.

use serde::Deserialize;

use crate::types::{PromptTokensDetails, Usage};

/// Token counts for an estimate, as the SDKs' `estimate_cost` takes them. `prompt_tokens`
/// includes `cached_tokens` and `cache_write_tokens`, and `cache_write_tokens` includes
/// `cache_write_1h_tokens`, as usage is reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenCounts {
    /// Every input token.
    #[serde(alias = "prompt_tokens")]
    pub prompt_tokens: u64,
    /// Output tokens (reasoning included).
    #[serde(alias = "completion_tokens")]
    pub completion_tokens: u64,
    /// Input tokens read from the prompt cache.
    #[serde(alias = "cached_tokens")]
    pub cached_tokens: u64,
    /// Input tokens written to the prompt cache, for five minutes or for an hour.
    #[serde(alias = "cache_write_tokens")]
    pub cache_write_tokens: u64,
    /// Of `cache_write_tokens`, those written to the 1-hour cache.
    #[serde(rename = "cacheWrite1hTokens", alias = "cache_write_1h_tokens")]
    pub cache_write_1h_tokens: u64,
}

impl TokenCounts {
    /// The [`Usage`] these counts stand for.
    pub fn to_usage(self) -> Usage {
        let mut usage = Usage::new(self.prompt_tokens, self.completion_tokens);
        let cache = [
            self.cached_tokens,
            self.cache_write_tokens,
            self.cache_write_1h_tokens,
        ];
        if cache.iter().any(|n| *n > 0) {
            usage.prompt_tokens_details = Some(PromptTokensDetails {
                cached_tokens: Some(self.cached_tokens),
                cache_write_tokens: Some(self.cache_write_tokens),
                cache_write_1h_tokens: (self.cache_write_1h_tokens > 0)
                    .then_some(self.cache_write_1h_tokens),
                ..Default::default()
            });
        }
        usage
    }
}
