//! Routing state every gateway instance shares through Redis when `redis_url` is set: each
//! deployment's requests and tokens per minute (one Lua script per attempt, for deployments
//! with an `rpm` or `tpm` only), its breaker's changes of state (announced on a channel that
//! every instance follows), and the breaker's one probe after a cooldown (claimed with
//! `SET NX`, so that one instance of all sends it).
//!
//! Each instance still counts failures in its own window; the first to take a deployment out
//! announces it, and every instance keeps it out until the same time. When Redis fails, each
//! instance goes on alone: it counts rpm/tpm itself and probes by itself.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use std::fmt::Write as _;

use aihub_core::providers::Adapter;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::capacity::{Full, Limits, WINDOW_MS};
use super::sync::describe;
use super::{Health, Router, Transition};

/// The Redis channel breaker changes are announced on.
pub const BREAKER_CHANNEL: &str = "aihub:breakers";

static CAPACITY: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("capacity.lua")));

/// Routing's end of Redis. Clones share one connection, which reconnects by itself.
#[derive(Clone)]
pub struct SharedRouting {
    connection: ConnectionManager,
    timeout: Duration,
    /// This instance, so that it ignores its own announcements.
    instance: Arc<str>,
}

impl std::fmt::Debug for SharedRouting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRouting")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// A breaker change, as announced.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Announcement {
    /// The announcing instance.
    from: String,
    /// The deployment's shared key.
    deployment: String,
    /// Taken out for this many ms from now; absent when it serves again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    open_ms: Option<u64>,
}

fn key(deployment: &str, what: &str, minute: i64) -> String {
    format!("aihub:deployment:{deployment}:{what}:{minute}")
}

fn probe_key(deployment: &str) -> String {
    format!("aihub:deployment:{deployment}:probe")
}

impl SharedRouting {
    /// Connects to the Redis at `url`; every later call gives up after `timeout`.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("redis_url: not a Redis URL ({})", describe(&e)))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let connection =
            tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
                .await
                .map_err(|_| format!("connecting to Redis timed out after {timeout:?}"))?
                .map_err(|e| format!("connecting to Redis: {}", describe(&e)))?;
        Ok(Self {
            connection,
            timeout,
            instance: uuid::Uuid::new_v4().to_string().into(),
        })
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(error = %describe(&e), "Redis {what} failed; this instance decides alone");
                None
            }
            Err(_) => {
                tracing::warn!("Redis {what} timed out; this instance decides alone");
                None
            }
        }
    }

    /// Takes one request of `tokens` from `deployment`'s limits, shared by every instance;
    /// `None` when Redis did not answer.
    pub async fn take(
        &self,
        deployment: &str,
        limits: Limits,
        tokens: u64,
        now_ms: i64,
    ) -> Option<Result<(), Full>> {
        let minute = now_ms.div_euclid(WINDOW_MS);
        let mut invocation = CAPACITY.prepare_invoke();
        invocation
            .key(key(deployment, "requests", minute))
            .key(key(deployment, "requests", minute - 1))
            .key(key(deployment, "tokens", minute))
            .key(key(deployment, "tokens", minute - 1))
            .arg(limits.rpm.map_or(-1, i64::from))
            .arg(
                limits
                    .tpm
                    .map_or(-1, |t| i64::try_from(t).unwrap_or(i64::MAX)),
            )
            .arg(tokens)
            .arg(now_ms.rem_euclid(WINDOW_MS));
        let mut connection = self.connection.clone();
        let reply: i64 = self
            .run("rpm/tpm check", invocation.invoke_async(&mut connection))
            .await?;
        Some(match reply {
            0 => Ok(()),
            1 => Err(Full::Requests),
            _ => Err(Full::Tokens),
        })
    }

    /// Adds `tokens` to `deployment`'s count this minute.
    pub async fn add_tokens(&self, deployment: &str, tokens: u64, now_ms: i64) {
        let k = key(deployment, "tokens", now_ms.div_euclid(WINDOW_MS));
        let mut connection = self.connection.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("INCRBY")
            .arg(&k)
            .arg(tokens)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&k)
            .arg(2 * WINDOW_MS)
            .ignore();
        let _: Option<()> = self
            .run("token count", pipe.query_async(&mut connection))
            .await;
    }

    /// Claims the one probe of `deployment` for this instance, for at most `hold`. `true`
    /// also when Redis did not answer (each instance then probes by itself).
    pub async fn claim_probe(&self, deployment: &str, hold: Duration) -> bool {
        let mut connection = self.connection.clone();
        let ms = u64::try_from(hold.as_millis()).unwrap_or(u64::MAX).max(1);
        let set: Option<Option<String>> = self
            .run(
                "probe claim",
                redis::cmd("SET")
                    .arg(probe_key(deployment))
                    .arg(&*self.instance)
                    .arg("NX")
                    .arg("PX")
                    .arg(ms)
                    .query_async(&mut connection),
            )
            .await;
        match set {
            Some(reply) => reply.is_some(),
            None => true,
        }
    }

    /// Frees `deployment`'s probe (it ended without a change of state).
    pub async fn release_probe(&self, deployment: &str) {
        let mut connection = self.connection.clone();
        let _: Option<i64> = self
            .run(
                "probe release",
                redis::cmd("DEL")
                    .arg(probe_key(deployment))
                    .query_async(&mut connection),
            )
            .await;
    }

    /// Announces `deployment`'s breaker change. A deployment taken out keeps its probe
    /// claimed until its cooldown ends, so that no instance probes before it hears of the
    /// change; one that serves again frees it.
    pub async fn announce(&self, deployment: &str, change: Transition) {
        let open_ms = match change {
            Transition::Opened(wait) => {
                Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1))
            }
            Transition::Closed => None,
        };
        let message = Announcement {
            from: self.instance.to_string(),
            deployment: deployment.to_owned(),
            open_ms,
        };
        let Ok(payload) = serde_json::to_string(&message) else {
            return;
        };
        let mut connection = self.connection.clone();
        let mut pipe = redis::pipe();
        match open_ms {
            Some(ms) => pipe
                .cmd("SET")
                .arg(probe_key(deployment))
                .arg("open")
                .arg("PX")
                .arg(ms)
                .ignore(),
            None => pipe.cmd("DEL").arg(probe_key(deployment)).ignore(),
        };
        pipe.cmd("PUBLISH")
            .arg(BREAKER_CHANNEL)
            .arg(payload)
            .ignore();
        let _: Option<()> = self
            .run("breaker announcement", pipe.query_async(&mut connection))
            .await;
    }

    /// Applies an announcement heard on [`BREAKER_CHANNEL`] to this instance's breakers.
    pub fn heard(&self, router: &Router, payload: &[u8]) {
        let Ok(message) = serde_json::from_slice::<Announcement>(payload) else {
            tracing::debug!("ignored a breaker announcement that is not one");
            return;
        };
        if *message.from == *self.instance {
            return;
        }
        for health in router.health_shared_as(&message.deployment) {
            apply(&health, message.open_ms, Instant::now());
        }
    }
}

/// A deployment's name in Redis: what its provider sees (base URL, model, credential),
/// hashed, so that every instance — and every deployment the provider cannot tell apart —
/// counts against one rpm/tpm and shares one breaker, and no credential is readable there.
pub fn shared_key(adapter: &Adapter, upstream: &str) -> String {
    use sha2::{Digest, Sha256};
    let config = adapter.config();
    let mut hash = Sha256::new();
    hash.update(config.base_url.as_bytes());
    hash.update([0]);
    hash.update(upstream.as_bytes());
    hash.update([0]);
    if let Some(key) = &config.api_key {
        hash.update(key.expose_secret().as_bytes());
    }
    let digest = hash.finalize();
    let mut out = String::with_capacity(32);
    for byte in &digest[..16] {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn apply(health: &Health, open_ms: Option<u64>, now: Instant) {
    match open_ms {
        Some(ms) => {
            // Never longer than this instance's own cooldown: a clock or a setting that
            // differs elsewhere cannot keep a deployment out here for ever.
            let wait = Duration::from_millis(ms).min(health.settings().cooldown);
            health.open_until(now + wait);
        }
        None => health.close(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BreakerSettings;
    use crate::routing::BreakerState;

    #[test]
    fn announcements_round_trip_and_apply_within_the_local_cooldown() {
        let a = Announcement {
            from: "x".into(),
            deployment: "primary".into(),
            open_ms: Some(5_000),
        };
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Announcement>(&text).unwrap(), a);
        let closed: Announcement =
            serde_json::from_str(r#"{"from":"x","deployment":"d"}"#).unwrap();
        assert_eq!(closed.open_ms, None);

        let settings = BreakerSettings {
            window: Duration::from_secs(60),
            min_requests: 5,
            failure_percent: 50,
            cooldown: Duration::from_secs(1),
        };
        let health = Health::new(settings);
        let now = Instant::now();
        apply(&health, Some(u64::MAX), now);
        assert_eq!(health.state(now), BreakerState::Open);
        assert_eq!(
            health.state(now + Duration::from_millis(1_001)),
            BreakerState::HalfOpen
        );
        apply(&health, None, now);
        assert_eq!(health.state(now), BreakerState::Closed);
    }
}
