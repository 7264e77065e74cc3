//! The exact-match response cache: successful chat answers kept by the SHA-256 of what decides
//! them, in memory (bounded by bytes) and, when `redis_url` is set, in Redis, so that every
//! instance sharing it shares hits. Redis is never a point of failure: a lookup or a write that
//! fails or takes longer than `cache.redis_timeout_ms` counts as a miss (or is skipped), and
//! after a failure Redis is left alone for a few seconds so that requests do not queue on it.
//!
//! See docs/cache.md for the controls, the key and the billing of a hit.

mod controls;
pub mod replay;

pub use controls::{AGE_HEADER, CacheControls, HEADER, TTL_HEADER, chat_key};

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use aihub_core::ChatCompletion;
use aihub_core::pricing::Money;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::config::CacheSettings;

/// Redis keys of cached answers start with this.
const REDIS_PREFIX: &str = "aihub:cache:v1:";
/// How long Redis is left alone after it failed, ms.
const REDIS_PAUSE_MS: i64 = 5_000;

/// A stored answer: the completion as the upstream gave it (its usage without any charge),
/// what served it, and what it cost then.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedAnswer {
    /// The assembled completion, usage as the provider reported it.
    pub completion: ChatCompletion,
    /// The gateway model id that served it.
    pub model: String,
    /// The provider that served it.
    pub provider: String,
    /// The provider's name of the model.
    pub upstream_model: String,
    /// What the original request cost, when priced.
    pub cost: Option<Money>,
    /// When it was stored, unix ms.
    pub stored_ms: i64,
    /// When it expires, unix ms.
    pub expires_ms: i64,
}

/// A cache status shown to the caller in `x-aihub-cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Served from the cache, stored this many seconds ago.
    Hit {
        /// Age of the entry, s.
        age_secs: u64,
    },
    /// Looked up, not found: served by the upstream (and stored unless `no-store`).
    Miss,
    /// Not looked up (`no-cache`): served by the upstream and stored.
    Refresh,
    /// The request asked not to use the cache.
    Bypass,
}

impl CacheStatus {
    /// The header value: `hit`, `miss`, `refresh` or `bypass`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit { .. } => "hit",
            Self::Miss => "miss",
            Self::Refresh => "refresh",
            Self::Bypass => "bypass",
        }
    }
}

/// An entry in memory, with the time to live it was stored for.
#[derive(Debug)]
struct Kept {
    answer: Arc<CachedAnswer>,
    ttl: Duration,
    bytes: u32,
}

/// Gives each memory entry its own time to live.
struct KeptExpiry;

impl moka::Expiry<[u8; 32], Arc<Kept>> for KeptExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Kept>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The response cache of one gateway instance.
pub struct ResponseCache {
    settings: CacheSettings,
    memory: moka::sync::Cache<[u8; 32], Arc<Kept>>,
    redis: Option<RedisCache>,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("entries", &self.memory.entry_count())
            .field("redis", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

impl ResponseCache {
    /// A cache with `settings`, in Redis too when `redis_url` is set (connected on first use).
    pub fn new(settings: &CacheSettings, redis_url: Option<&str>) -> Result<Self, String> {
        let memory = moka::sync::Cache::builder()
            .max_capacity(settings.max_memory_bytes)
            .weigher(|_k: &[u8; 32], v: &Arc<Kept>| v.bytes)
            .expire_after(KeptExpiry)
            .build();
        let redis = match redis_url {
            Some(url) => Some(RedisCache {
                client: redis::Client::open(url)
                    .map_err(|_| "redis_url: not a Redis URL".to_owned())?,
                connection: OnceCell::new(),
                paused_until_ms: AtomicI64::new(0),
                timeout: settings.redis_timeout,
            }),
            None => None,
        };
        Ok(Self {
            settings: settings.clone(),
            memory,
            redis,
        })
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &CacheSettings {
        &self.settings
    }

    /// The answer stored under `key`, if any is live at `now_ms` and at most `max_age_secs`
    /// old: from memory, else from Redis (then kept in memory too).
    pub async fn get(
        &self,
        key: &[u8; 32],
        now_ms: i64,
        max_age_secs: Option<u64>,
    ) -> Option<Arc<CachedAnswer>> {
        let fresh = |a: &CachedAnswer| {
            let age_ms = now_ms.saturating_sub(a.stored_ms);
            a.expires_ms > now_ms
                && max_age_secs
                    .is_none_or(|m| age_ms <= i64::try_from(m * 1000).unwrap_or(i64::MAX))
        };
        if let Some(kept) = self.memory.get(key) {
            return fresh(&kept.answer).then(|| kept.answer.clone());
        }
        let redis = self.redis.as_ref()?;
        let bytes = redis.get(key, now_ms).await?;
        let answer: CachedAnswer = serde_json::from_slice(&bytes).ok()?;
        let answer = Arc::new(answer);
        let left = answer.expires_ms.saturating_sub(now_ms);
        if left > 0 {
            self.keep(key, answer.clone(), left, bytes.len());
        }
        fresh(&answer).then_some(answer)
    }

    /// Stores `answer` under `key` for `ttl`, unless its JSON is larger than
    /// `cache.max_entry_bytes`. Returns whether it was stored (in memory; Redis is best effort).
    pub async fn put(&self, key: &[u8; 32], answer: CachedAnswer, ttl: Duration) -> bool {
        let Ok(json) = serde_json::to_vec(&answer) else {
            return false;
        };
        if json.len() > self.settings.max_entry_bytes {
            tracing::debug!(bytes = json.len(), "an answer too large for the cache");
            return false;
        }
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        self.keep(key, Arc::new(answer), ttl_ms, json.len());
        if let Some(redis) = &self.redis {
            redis.set(key, &json, ttl.as_secs().max(1)).await;
        }
        true
    }

    fn keep(&self, key: &[u8; 32], answer: Arc<CachedAnswer>, ttl_ms: i64, bytes: usize) {
        let ttl = Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0));
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        self.memory
            .insert(*key, Arc::new(Kept { answer, ttl, bytes }));
    }
}

/// The Redis half: one multiplexed connection, made on first use.
struct RedisCache {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    paused_until_ms: AtomicI64,
    timeout: Duration,
}

fn redis_key(key: &[u8; 32]) -> String {
    let mut out = String::with_capacity(REDIS_PREFIX.len() + 64);
    out.push_str(REDIS_PREFIX);
    for b in key {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl RedisCache {
    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let connection = self
            .connection
            .get_or_try_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(0);
                ConnectionManager::new_with_config(self.client.clone(), config)
            })
            .await?;
        Ok(connection.clone())
    }

    /// Runs `command` within the timeout, unless Redis failed a moment ago; a failure pauses
    /// Redis for [`REDIS_PAUSE_MS`].
    async fn run<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Option<T> {
        let now = crate::timeutil::now_ms();
        if self.paused_until_ms.load(Ordering::Relaxed) > now {
            return None;
        }
        let done = tokio::time::timeout(self.timeout, async {
            let mut connection = self.connection().await?;
            command.query_async::<T>(&mut connection).await
        })
        .await;
        match done {
            Ok(Ok(v)) => Some(v),
            failed => {
                let why = match failed {
                    Err(_) => "timed out".to_owned(),
                    Ok(Err(e)) => format!("{:?}", e.kind()),
                    Ok(Ok(_)) => String::new(),
                };
                tracing::warn!(error = %why, "the response cache cannot reach Redis; serving misses");
                self.paused_until_ms
                    .store(now + REDIS_PAUSE_MS, Ordering::Relaxed);
                None
            }
        }
    }

    async fn get(&self, key: &[u8; 32], _now_ms: i64) -> Option<Vec<u8>> {
        let mut command = redis::cmd("GET");
        command.arg(redis_key(key));
        self.run::<Option<Vec<u8>>>(command).await.flatten()
    }

    async fn set(&self, key: &[u8; 32], json: &[u8], ttl_secs: u64) {
        let mut command = redis::cmd("SET");
        command
            .arg(redis_key(key))
            .arg(json)
            .arg("EX")
            .arg(ttl_secs);
        let _ = self.run::<()>(command).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(now: i64, ttl_ms: i64) -> CachedAnswer {
        let completion: ChatCompletion = serde_json::from_value(serde_json::json!({
            "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
        }))
        .unwrap();
        CachedAnswer {
            completion,
            model: "mock/m".into(),
            provider: "mock".into(),
            upstream_model: "m".into(),
            cost: None,
            stored_ms: now,
            expires_ms: now + ttl_ms,
        }
    }

    #[tokio::test]
    async fn entries_expire_respect_max_age_and_the_size_bound() {
        let settings = CacheSettings {
            max_entry_bytes: 2000,
            ..CacheSettings::default()
        };
        let cache = ResponseCache::new(&settings, None).unwrap();
        let now = crate::timeutil::now_ms();
        let key = [1u8; 32];
        assert!(cache.get(&key, now, None).await.is_none());
        assert!(
            cache
                .put(&key, answer(now, 60_000), Duration::from_secs(60))
                .await
        );
        assert!(cache.get(&key, now, None).await.is_some());
        assert!(
            cache.get(&key, now + 2_000, Some(1)).await.is_none(),
            "too old"
        );
        assert!(
            cache.get(&key, now + 61_000, None).await.is_none(),
            "expired"
        );
        let mut big = answer(now, 60_000);
        big.completion.choices[0].message.content = Some("x".repeat(5000));
        assert!(!cache.put(&[2u8; 32], big, Duration::from_secs(60)).await);
        assert!(cache.get(&[2u8; 32], now, None).await.is_none());
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_a_quick_miss() {
        let settings = CacheSettings {
            redis_timeout: Duration::from_millis(200),
            ..CacheSettings::default()
        };
        let cache = ResponseCache::new(&settings, Some("redis://127.0.0.1:1")).unwrap();
        let started = Instant::now();
        let now = crate::timeutil::now_ms();
        assert!(cache.get(&[3u8; 32], now, None).await.is_none());
        assert!(
            cache
                .put(&[3u8; 32], answer(now, 60_000), Duration::from_secs(60))
                .await
        );
        assert!(
            cache.get(&[3u8; 32], now, None).await.is_some(),
            "memory still serves"
        );
        assert!(cache.get(&[4u8; 32], now, None).await.is_none());
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
}
