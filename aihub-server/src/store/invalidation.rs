//! Telling every gateway instance that shares a Redis when keys, users or budgets change, so
//! that each drops its [`HotCache`] at once instead of after `key_cache_secs`.
//!
//! A change publishes this instance's id on [`CHANNEL`]; every instance subscribes on a
//! connection of its own and drops its copies on any message that is not its own. While the
//! subscription is down (Redis restarting, a network cut) messages are lost, so the copies
//! then expire by their time to live, as without Redis; the subscriber reconnects by itself,
//! and drops everything once it is back, for what it may have missed.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;
use tokio::task::AbortHandle;

use super::cache::HotCache;

/// The Redis channel changes are announced on.
pub(crate) const CHANNEL: &str = "aihub:hot-cache:invalidate";

/// Longest a publish or a subscription attempt may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How often an idle subscription is checked with a PING (a half-open connection never
/// ends the message stream by itself).
const PING_EVERY: Duration = Duration::from_secs(15);
/// Longest wait between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// This instance's end of the channel: publishes changes, and owns the subscriber task
/// (stopped when the last [`Store`](super::Store) clone goes).
pub(crate) struct Invalidations {
    client: redis::Client,
    instance: String,
    publisher: OnceCell<ConnectionManager>,
    subscriber: AbortHandle,
}

impl std::fmt::Debug for Invalidations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invalidations")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Drop for Invalidations {
    fn drop(&mut self) {
        self.subscriber.abort();
    }
}

impl Invalidations {
    /// Subscribes `hot` to the channel on the Redis at `url`. Waits for the first subscription
    /// (up to a few seconds) so that changes made elsewhere count from the moment this returns;
    /// if Redis cannot be reached, keeps trying in the background, and the copies expire by
    /// their time to live meanwhile. Fails only for a URL that is not a Redis URL.
    pub(crate) async fn start(url: &str, hot: &Arc<HotCache>) -> Result<Self, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("redis_url: not a Redis URL ({})", describe(&e)))?;
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let first = subscribe(&client).await;
        if let Err(e) = &first {
            tracing::warn!(
                error = %e,
                "cannot subscribe to key and budget changes in Redis; other instances' \
                 changes show within key_cache_secs until the subscription is up"
            );
        }
        let task = tokio::spawn(listen(
            client.clone(),
            instance.clone(),
            Arc::downgrade(hot),
            first.ok(),
        ));
        Ok(Self {
            client,
            instance,
            publisher: OnceCell::new(),
            subscriber: task.abort_handle(),
        })
    }

    /// Tells the other instances that something changed. A failure is logged, not returned:
    /// the change itself is made, and elsewhere it shows within the time to live.
    pub(crate) async fn publish(&self) {
        let sent = tokio::time::timeout(TIMEOUT, async {
            let connection = self
                .publisher
                .get_or_try_init(|| {
                    let config = ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(TIMEOUT))
                        .set_response_timeout(Some(TIMEOUT))
                        .set_number_of_retries(1);
                    ConnectionManager::new_with_config(self.client.clone(), config)
                })
                .await?;
            redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(&self.instance)
                .query_async::<i64>(&mut connection.clone())
                .await
        })
        .await;
        let error = match sent {
            Ok(Ok(_)) => return,
            Ok(Err(e)) => describe(&e),
            Err(_) => "timed out".to_owned(),
        };
        tracing::warn!(
            %error,
            "cannot announce a key or budget change in Redis; other instances see it \
             within key_cache_secs"
        );
    }
}

/// What went wrong, without the error's text (which may quote the URL and its password).
fn describe(e: &redis::RedisError) -> String {
    format!("{} ({:?})", e.category(), e.kind())
}

/// A subscription to [`CHANNEL`], or why there is none (without the URL, which may hold a
/// password).
async fn subscribe(client: &redis::Client) -> Result<redis::aio::PubSub, String> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(TIMEOUT, attempt).await {
        Ok(Ok(pubsub)) => Ok(pubsub),
        Ok(Err(e)) => Err(describe(&e)),
        Err(_) => Err("timed out".to_owned()),
    }
}

/// The subscriber: drops `hot`'s copies on every message from another instance, and
/// resubscribes whenever the connection is lost, until the store is gone.
async fn listen(
    client: redis::Client,
    instance: String,
    hot: Weak<HotCache>,
    mut pubsub: Option<redis::aio::PubSub>,
) {
    let mut backoff = Duration::from_millis(250);
    let mut was_down = pubsub.is_none();
    loop {
        if let Some(subscribed) = pubsub.take() {
            if was_down {
                tracing::info!("subscribed to key and budget changes in Redis again");
                // Whatever changed while the subscription was down was not heard.
                match hot.upgrade() {
                    Some(hot) => hot.invalidate(),
                    None => return,
                }
            }
            backoff = Duration::from_millis(250);
            if !relay(subscribed, &instance, &hot).await {
                return;
            }
            tracing::warn!(
                "lost the Redis subscription to key and budget changes; other instances' \
                 changes show within key_cache_secs until it is back"
            );
            was_down = true;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if hot.strong_count() == 0 {
            return;
        }
        match subscribe(&client).await {
            Ok(subscribed) => pubsub = Some(subscribed),
            Err(e) => tracing::debug!(error = %e, "resubscribing to Redis failed"),
        }
    }
}

/// Relays messages until the connection is lost (`true`) or the store is gone (`false`).
async fn relay(pubsub: redis::aio::PubSub, instance: &str, hot: &Weak<HotCache>) -> bool {
    let (mut sink, mut messages) = pubsub.split();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { return true };
                if message.get_payload_bytes() == instance.as_bytes() {
                    continue;
                }
                match hot.upgrade() {
                    Some(hot) => hot.invalidate(),
                    None => return false,
                }
            }
            _ = ping.tick() => {
                if hot.strong_count() == 0 {
                    return false;
                }
                let pong = tokio::time::timeout(TIMEOUT, sink.ping::<redis::Value>()).await;
                if !matches!(pong, Ok(Ok(_))) {
                    return true;
                }
            }
        }
    }
}
