//! Counting prompt tokens without starving other tenants.
//!
//! Counting a large prompt takes milliseconds of CPU (tiktoken does about 20 MB/s). Small
//! prompts are counted where they are, on the async worker; a prompt above
//! [`INLINE_BYTES`] is counted on the blocking pool, at most `permits` at once, so a key
//! sending many huge prompts queues behind its own work instead of occupying every async
//! worker that other tenants' requests need.
//!
//! Before a large prompt is counted, the key's request rate is checked in this process (the
//! plan's and the key's requests per minute, one unit per large request): a key over its rate
//! is refused before any counting work. This check never refuses a request the limiter would
//! admit — it sees only this instance's large requests, a subset of what the limiter counts —
//! and the limiter's own admission still follows.

use std::sync::Arc;

use std::time::Duration;

use aihub_core::{ChatCompletionRequest, EmbeddingInput, EmbeddingRequest};
use tokio::sync::Semaphore;

use crate::config::Plan;
use crate::error::ApiError;
use crate::limits::backend::{Admission, Admit, MemoryBackend, Rate};
use crate::store::ApiKey;

/// Prompts up to this many bytes of text are counted inline.
pub const INLINE_BYTES: usize = 32 * 1024;

/// Counts prompts, large ones off the async workers with bounded concurrency.
#[derive(Debug, Clone)]
pub struct PromptCounter {
    permits: Arc<Semaphore>,
    rates: MemoryBackend,
}

/// Who is asking, for the request-rate check before a large count.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    /// The caller's key.
    pub key: &'a ApiKey,
    /// The caller's plan.
    pub plan: &'a Plan,
    /// Now, unix ms.
    pub now_ms: i64,
}

impl PromptCounter {
    /// A counter running at most `permits` large counts at once (at least one).
    pub fn new(permits: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            rates: MemoryBackend::new(),
        }
    }

    /// One permit per core but one, so a core stays free for everything else.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::new(cores.saturating_sub(1))
    }

    /// Prompt tokens of a chat request (messages, tools, schema); the request comes back
    /// with its count (a large one travels to the blocking pool and back, not copied).
    pub async fn chat(
        &self,
        request: ChatCompletionRequest,
        asker: Asker<'_>,
    ) -> Result<(ChatCompletionRequest, u64), ApiError> {
        if fits_inline(&request.messages) {
            let n = aihub_core::tokens::count_request(&request);
            return Ok((request, to_u64(n)));
        }
        self.check_rate(asker)?;
        self.off_workers(move || {
            let n = aihub_core::tokens::count_request(&request);
            (request, to_u64(n))
        })
        .await
    }

    /// Input tokens of an embeddings request.
    pub async fn embeddings(
        &self,
        model: &str,
        request: &EmbeddingRequest,
        asker: Asker<'_>,
    ) -> Result<u64, ApiError> {
        let count = |model: &str, texts: &[&str]| -> usize {
            texts
                .iter()
                .map(|t| aihub_core::tokens::count_text(model, t))
                .sum()
        };
        let texts = match &request.input {
            EmbeddingInput::Tokens(t) => return Ok(to_u64(t.len())),
            EmbeddingInput::TokenBatches(b) => return Ok(to_u64(b.iter().map(Vec::len).sum())),
            input => input.texts(),
        };
        if texts.iter().map(|t| t.len()).sum::<usize>() <= INLINE_BYTES {
            return Ok(to_u64(count(model, &texts)));
        }
        self.check_rate(asker)?;
        let owned: Vec<String> = texts.iter().map(|t| (*t).to_owned()).collect();
        let model = model.to_owned();
        self.off_workers(move || {
            let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
            to_u64(count(&model, &texts))
        })
        .await
    }

    /// Takes one unit from this process's copy of the key's and the plan's request rates,
    /// or refuses as the limiter would (429 `rate_limit_exceeded` with `Retry-After`).
    fn check_rate(&self, asker: Asker<'_>) -> Result<(), ApiError> {
        let key = asker.key;
        let mut rates = Vec::new();
        if let Some(rpm) = asker.plan.rpm {
            rates.push(Rate {
                key: format!("large:rpm:org:{}", key.organization_id),
                limit: rpm.into(),
                period_ms: 60_000,
                cost: 1,
            });
        }
        if let Some(rpm) = key.limits.rpm_limit {
            rates.push(Rate {
                key: format!("large:rpm:key:{}", key.id),
                limit: rpm.into(),
                period_ms: 60_000,
                cost: 1,
            });
        }
        if rates.is_empty() {
            return Ok(());
        }
        let admission = Admission {
            id: String::new(),
            now_ms: asker.now_ms,
            lease_ms: 0,
            rates,
            spends: Vec::new(),
            concurrency: Vec::new(),
        };
        match self.rates.admit(&admission) {
            Admit::RateLimited {
                retry_after_ms,
                index,
                ..
            } => {
                let which = if index == 0 && asker.plan.rpm.is_some() {
                    "plan.rpm"
                } else {
                    "key.rpm"
                };
                let wait = Duration::from_millis(retry_after_ms.max(1));
                Err(ApiError(aihub_core::Error::RateLimit {
                    detail: aihub_core::ErrorDetail {
                        message: format!(
                            "Rate limit reached for requests per min (RPM) on this API key or plan. Please try again in {}.",
                            crate::limits::go_duration(wait)
                        ),
                        code: Some("rate_limit_exceeded".into()),
                        limit: Some(which.into()),
                        ..aihub_core::ErrorDetail::default()
                    },
                    retry_after: Some(wait),
                }))
            }
            _ => Ok(()),
        }
    }

    async fn off_workers<T: Send + 'static>(
        &self,
        count: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
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
        Ok(counted)
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

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
