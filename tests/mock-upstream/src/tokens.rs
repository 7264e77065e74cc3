//! Honest prompt-token counting (o200k_base) and the deterministic hash behind all generated content.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use tiktoken_rs::o200k_base_singleton;

/// Tokens added per message by OpenAI's chat format (`<|start|>role…<|end|>`).
pub const TOKENS_PER_MESSAGE: u32 = 3;
/// Tokens that prime the assistant's reply.
pub const REPLY_PRIMING_TOKENS: u32 = 3;
/// Tokens added when a message carries a `name`.
pub const TOKENS_PER_NAME: u32 = 1;
/// Tokens counted for one image or other non-text part (OpenAI's low-detail image cost).
pub const TOKENS_PER_IMAGE: u32 = 85;

/// Distinct texts whose counts are remembered before the cache starts over.
const COUNT_CACHE_LIMIT: usize = 16_384;

/// Counts by (FNV-1a of the text, its length): benchmarks send the same prompts again and again,
/// and BPE encoding is the costliest step of a request.
static COUNT_CACHE: LazyLock<Mutex<HashMap<(u64, usize), u32>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Loads the o200k_base ranks now (a few hundred milliseconds, once per process) rather than
/// inside the first request, where it would stall every connection on that worker.
pub async fn warm_up() {
    let _ = tokio::task::spawn_blocking(|| o200k_base_singleton().encode_ordinary("warm up")).await;
}

/// Number of o200k_base tokens in `text`.
pub fn count(text: &str) -> u32 {
    if text.is_empty() {
        return 0;
    }
    let key = (fnv1a(text.as_bytes()), text.len());
    if let Some(n) = COUNT_CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return *n;
    }
    let n = o200k_base_singleton().encode_ordinary(text).len();
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    let mut cache = COUNT_CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= COUNT_CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(key, n);
    n
}

/// Accumulates prompt tokens with OpenAI's per-message formula, for every provider's request shape.
#[derive(Debug, Default, Clone, Copy)]
pub struct PromptCounter {
    total: u32,
}

impl PromptCounter {
    /// Starts a message with this role.
    pub fn message(&mut self, role: &str) {
        self.total = self
            .total
            .saturating_add(TOKENS_PER_MESSAGE)
            .saturating_add(count(role));
    }

    /// Adds a message's `name`.
    pub fn name(&mut self, name: &str) {
        self.total = self
            .total
            .saturating_add(TOKENS_PER_NAME)
            .saturating_add(count(name));
    }

    /// Adds text that belongs to the current message (content, tool arguments, tool definitions).
    pub fn text(&mut self, text: &str) {
        self.total = self.total.saturating_add(count(text));
    }

    /// Adds the JSON text of a value (tool definitions, tool-call arguments given as objects).
    pub fn json(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => self.text(s),
            other => self.text(&other.to_string()),
        }
    }

    /// Adds an image or other non-text part.
    pub fn image(&mut self) {
        self.total = self.total.saturating_add(TOKENS_PER_IMAGE);
    }

    /// The total, including the reply priming.
    pub fn finish(self) -> u32 {
        self.total.saturating_add(REPLY_PRIMING_TOKENS)
    }
}

/// 64-bit FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// SplitMix64: a tiny deterministic sequence seeded from a hash.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A sequence seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A deterministic unit-length embedding of `text` with `dims` dimensions.
pub fn embedding(text: &str, dims: usize) -> Vec<f32> {
    let mut rng = SplitMix::new(fnv1a(text.as_bytes()));
    let mut v: Vec<f32> = (0..dims)
        .map(|_| {
            // 24 random bits mapped to [-1, 1).
            let bits = (rng.next_u64() >> 40) as u32;
            (bits as f32 / (1u32 << 23) as f32) - 1.0
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut v {
            *x /= norm;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_like_openai_cookbook() {
        // "Hello" is one token; user role one token: 3 + 1 + 1 + 3 reply priming.
        let mut c = PromptCounter::default();
        c.message("user");
        c.text("Hello");
        assert_eq!(c.finish(), 8);
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
    }

    #[test]
    fn embedding_is_deterministic_and_normalised() {
        let a = embedding("hello", 8);
        assert_eq!(a, embedding("hello", 8));
        assert_ne!(a, embedding("hello!", 8));
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(embedding("x", 3).len(), 3);
        assert!(embedding("x", 0).is_empty());
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
