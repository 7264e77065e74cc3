//! Counting prompt tokens without starving other tenants.
//!
//! Counting a large prompt takes milliseconds of CPU (tiktoken does about 20 MB/s). Small
//! prompts are counted where they are, on the async worker; a prompt above
//! [`INLINE_BYTES`] is counted on the blocking pool, at most `permits` at once, so a key
//! sending many huge prompts queues behind its own work instead of occupying every async
//! worker that other tenants' requests need.

use std::sync::Arc;

use aihub_core::{ChatCompletionRequest, EmbeddingInput, EmbeddingRequest};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Prompts up to this many bytes of text are counted inline.
pub const INLINE_BYTES: usize = 32 * 1024;

/// Counts prompts, large ones off the async workers with bounded concurrency.
#[derive(Debug, Clone)]
pub struct PromptCounter {
    permits: Arc<Semaphore>,
}

impl PromptCounter {
    /// A counter running at most `permits` large counts at once (at least one).
    pub fn new(permits: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
        }
    }

    /// One permit per core but one, so a core stays free for everything else.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::new(cores.saturating_sub(1))
    }

    /// Prompt tokens of a chat request (messages, tools, schema).
    pub async fn chat(&self, request: &ChatCompletionRequest) -> Result<u64, ApiError> {
        if fits_inline(&request.messages) {
            return Ok(to_u64(aihub_core::tokens::count_request(request)));
        }
        let request = request.clone();
        self.off_workers(move || aihub_core::tokens::count_request(&request))
            .await
    }

    /// Input tokens of an embeddings request.
    pub async fn embeddings(
        &self,
        model: &str,
        request: &EmbeddingRequest,
    ) -> Result<u64, ApiError> {
        let texts = match &request.input {
            EmbeddingInput::Tokens(t) => return Ok(to_u64(t.len())),
            EmbeddingInput::TokenBatches(b) => return Ok(to_u64(b.iter().map(Vec::len).sum())),
            input => input
                .texts()
                .iter()
                .map(|t| (*t).to_owned())
                .collect::<Vec<_>>(),
        };
        let model = model.to_owned();
        let count = move || {
            texts
                .iter()
                .map(|t| aihub_core::tokens::count_text(&model, t))
                .sum::<usize>()
        };
        if texts_len(&request.input) <= INLINE_BYTES {
            return Ok(to_u64(count()));
        }
        self.off_workers(count).await
    }

    async fn off_workers(
        &self,
        count: impl FnOnce() -> usize + Send + 'static,
    ) -> Result<u64, ApiError> {
        let unavailable =
            || ApiError::unavailable("The gateway is shutting down.", "gateway_unavailable");
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| unavailable())?;
        let counted = tokio::task::spawn_blocking(move || {
            let n = count();
            drop(permit);
            n
        })
        .await
        .map_err(|_| unavailable())?;
        Ok(to_u64(counted))
    }
}

/// A writer that takes [`INLINE_BYTES`] and then refuses: serializing into it tells whether
/// a value is small without serializing all of a large one.
struct SizeProbe(usize);

impl std::io::Write for SizeProbe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        if self.0 > INLINE_BYTES {
            return Err(std::io::Error::other("large"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn fits_inline<T: serde::Serialize>(value: &T) -> bool {
    serde_json::to_writer(SizeProbe(0), value).is_ok()
}

fn texts_len(input: &EmbeddingInput) -> usize {
    input.texts().iter().map(|t| t.len()).sum()
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
