//! Keeping every gateway instance's deployments in step with the database (and, on the same
//! Redis subscription, its breakers with the others': see `shared`): a change made on
//! one instance is loaded there at once, announced on a Redis channel when `redis_url` is
//! set (every instance reloads on hearing it), and found by every instance's poll of the
//! deployments' generation (`routing.deployments_poll_secs`), the safety net for a lost
//! message or a gateway without Redis. A reload is a no-op when the generation did not move.

use std::sync::Weak;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use crate::state::{AppState, Services};

/// The Redis channel deployment changes are announced on.
pub const CHANNEL: &str = "aihub:deployments:changed";

/// Longest a publish or a subscription attempt may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait between two attempts to subscribe again.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// This instance's end of the channel: announces its changes.
pub struct Announcer {
    client: redis::Client,
    publisher: OnceCell<ConnectionManager>,
}

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcer").finish_non_exhaustive()
    }
}

/// What went wrong, without the error's text (which may quote the URL and its password).
pub(crate) fn describe(e: &redis::RedisError) -> String {
    format!("{} ({:?})", e.category(), e.kind())
}

impl Announcer {
    /// An announcer on the Redis at `url`; fails only for a URL that is not a Redis URL.
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("redis_url: not a Redis URL ({})", describe(&e)))?;
        Ok(Self {
            client,
            publisher: OnceCell::new(),
        })
    }

    /// Tells the other instances that deployments changed. A failure is logged, not
    /// returned: the change is made, and the others find it by their poll.
    pub async fn announce(&self) {
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
                .arg("changed")
                .query_async::<i64>(&mut connection.clone())
                .await
        })
        .await;
        let error = match sent {
            Ok(Ok(_)) => return,
            Ok(Err(e)) => describe(&e),
            Err(_) => "timed out".to_owned(),
        };
        tracing::warn!(%error, "cannot announce a deployment change in Redis; other instances find it by their poll");
    }

    async fn subscribe(&self) -> Result<redis::aio::PubSub, String> {
        let attempt = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(CHANNEL).await?;
            pubsub.subscribe(super::shared::BREAKER_CHANNEL).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(TIMEOUT, attempt).await {
            Ok(Ok(pubsub)) => Ok(pubsub),
            Ok(Err(e)) => Err(describe(&e)),
            Err(_) => Err("timed out".to_owned()),
        }
    }
}

/// Loads the stored deployments if they changed; failures are logged (the groups in use
/// stay as they were).
pub async fn reload(state: &AppState) {
    let key = state.config.secrets_key.as_ref();
    if let Err(e) = state.router.reload(&state.store, key, false).await {
        tracing::warn!(error = %e, "cannot load stored deployments; serving the ones loaded before");
    }
}

/// Loads the stored deployments after a change made here, then announces it.
pub async fn changed(state: &AppState) -> Result<(), crate::store::StoreError> {
    let key = state.config.secrets_key.as_ref();
    state.router.reload(&state.store, key, false).await?;
    if let Some(announcer) = &state.announcer {
        announcer.announce().await;
    }
    Ok(())
}

/// Follows changes made elsewhere until the gateway is gone: reloads on every announcement
/// heard and on every poll. `subscribed` is the subscription made before start, if any.
pub(crate) async fn follow(
    state: Weak<Services>,
    poll: Option<Duration>,
    mut subscribed: Option<redis::aio::PubSub>,
) {
    let mut ticks = poll.map(|every| {
        let mut t = tokio::time::interval(every);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let mut backoff = Duration::from_millis(250);
    let mut retry_at = tokio::time::Instant::now();
    loop {
        let has_announcer = match state.upgrade() {
            Some(s) => s.announcer.is_some(),
            None => return,
        };
        let want_subscription = has_announcer && subscribed.is_none();
        let messages = subscribed.as_mut().map(|p| p.on_message());
        let event = tokio::select! {
            Some(_) = tick(&mut ticks) => Event::Poll,
            heard = next(messages) => match heard {
                Some(message) => Event::Heard(message),
                None => Event::Lost,
            },
            () = tokio::time::sleep_until(retry_at), if want_subscription => Event::Resubscribe,
        };
        let Some(services) = state.upgrade() else {
            return;
        };
        let app = AppState::from_services(services);
        match event {
            Event::Heard(message)
                if message.get_channel_name() == super::shared::BREAKER_CHANNEL =>
            {
                if let Some(shared) = &app.shared_routing {
                    shared.heard(&app.router, message.get_payload_bytes());
                }
            }
            Event::Poll | Event::Heard(_) => reload(&app).await,
            Event::Lost => {
                tracing::warn!(
                    "lost the Redis subscription to deployment changes; polling only until it is back"
                );
                subscribed = None;
                retry_at = tokio::time::Instant::now() + backoff;
            }
            Event::Resubscribe => {
                let Some(announcer) = &app.announcer else {
                    continue;
                };
                match announcer.subscribe().await {
                    Ok(p) => {
                        subscribed = Some(p);
                        backoff = Duration::from_millis(250);
                        // Whatever changed while the subscription was down was not heard.
                        reload(&app).await;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "subscribing to deployment changes failed");
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        retry_at = tokio::time::Instant::now() + backoff;
                    }
                }
            }
        }
    }
}

enum Event {
    Poll,
    Heard(redis::Msg),
    Lost,
    Resubscribe,
}

async fn tick(ticks: &mut Option<tokio::time::Interval>) -> Option<()> {
    match ticks {
        Some(t) => {
            t.tick().await;
            Some(())
        }
        None => std::future::pending().await,
    }
}

/// The next announcement: `Some` when one arrived, `None` when the subscription ended;
/// never ready without a subscription.
async fn next(
    messages: Option<impl futures::Stream<Item = redis::Msg> + Unpin>,
) -> Option<redis::Msg> {
    match messages {
        Some(mut m) => m.next().await,
        None => std::future::pending().await,
    }
}

/// Subscribes before the gateway starts serving, so that changes count from then on; `None`
/// (and a retry in the background) when Redis cannot be reached now.
pub(crate) async fn first_subscription(announcer: &Announcer) -> Option<redis::aio::PubSub> {
    match announcer.subscribe().await {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(error = %e, "cannot subscribe to deployment changes in Redis; polling only until it can");
            None
        }
    }
}
