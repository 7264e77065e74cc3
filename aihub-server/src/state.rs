//! The shared state handlers see.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use aihub_core::Client;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::counting::PromptCounter;
use crate::limits::Limiter;
use crate::routing::ModelRouter;
use crate::store::Store;
use crate::tasks::Tasks;
use crate::usage::UsageWriter;

/// Where the time comes from: the system clock, or a test's.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

/// The gateway's services.
pub struct Services {
    /// Validated configuration.
    pub config: Config,
    /// Accounts, keys and usage.
    pub store: Store,
    /// Model name → provider.
    pub models: ModelRouter,
    /// Model groups and their deployments (a name that is not a group is its catalog
    /// model, served alone).
    pub router: crate::routing::Router,
    /// aihub-core's client in direct mode over the configured providers.
    pub client: Client,
    /// Durable usage recording.
    pub usage: UsageWriter,
    /// Plans, quotas, rate limits and budgets.
    pub limits: Limiter,
    /// Prompt token counting, large prompts off the async workers.
    pub counter: PromptCounter,
    /// Request tasks and the shutdown deadline.
    pub tasks: Tasks,
    /// Announces deployment changes to the other instances (with `redis_url`).
    pub announcer: Option<crate::routing::sync::Announcer>,
    /// The exact-match response cache.
    pub cache: crate::cache::ResponseCache,
    /// Deployments' rpm/tpm, breaker changes and probes shared with the other instances
    /// (with `redis_url`).
    pub shared_routing: Option<crate::routing::shared::SharedRouting>,
    clock: Clock,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("listen", &self.0.config.listen)
            .finish_non_exhaustive()
    }
}

impl Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

/// Longest the limiter's background work (settlements retried, alert webhooks) may take
/// after the last request, at shutdown.
const LIMITS_DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Background work owned by a running gateway; await [`Background::drain`] after the
/// last request to finish every request task and flush every usage record.
#[derive(Debug)]
pub struct Background {
    usage: JoinHandle<()>,
    deployments: tokio::task::AbortHandle,
    tasks: Tasks,
    limits: Limiter,
}

impl Background {
    /// Waits until every request task has ended and every queued usage record is written.
    /// Call after the server stopped; the usage writer ends once every [`AppState`] clone
    /// is gone.
    pub async fn drain(self) {
        self.deployments.abort();
        self.tasks.drain().await;
        self.limits.drain(LIMITS_DRAIN).await;
        drop(self.limits);
        let _ = self.usage.await;
    }
}

impl AppState {
    /// Connects the store, builds the client and starts the usage writer.
    pub async fn start(config: Config, clock: Option<Clock>) -> Result<(Self, Background), String> {
        let options = crate::store::StoreOptions {
            key_cache_ttl: config.key_cache_ttl,
            redis_url: config.redis_url.clone(),
            ..crate::store::StoreOptions::default()
        };
        let store = Store::connect_with(&config.database_url, &options)
            .await
            .map_err(|e| e.to_string())?;
        Self::with_store(config, store, clock).await
    }

    /// Like [`start`](Self::start) with an already connected store.
    pub async fn with_store(
        config: Config,
        store: Store,
        clock: Option<Clock>,
    ) -> Result<(Self, Background), String> {
        let mut builder = Client::builder()
            .keys_from_env(false)
            .catalog(config.catalog.clone())
            .timeout(Some(config.upstream_timeout))
            .read_timeout(Some(config.upstream_read_timeout))
            .connect_timeout(Some(config.upstream_connect_timeout))
            .stream_timeout(Some(config.upstream_stream_timeout))
            .max_retries(config.upstream_max_retries);
        for p in config.providers.values() {
            builder = builder.provider(p.adapter.clone());
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        let spill = spill_path(&config.database_url);
        let (usage, task) = UsageWriter::start(store.clone(), spill).await;
        let limits = Limiter::start(&config, store.clone()).await?;
        let models = ModelRouter::new(config.providers.clone(), config.catalog.clone());
        let router = crate::routing::Router::new(&config, models.clone())?;
        router
            .reload(&store, config.secrets_key.as_ref(), true)
            .await
            .map_err(|e| format!("cannot load the stored deployments: {e}"))?;
        let announcer = match &config.redis_url {
            Some(url) => Some(crate::routing::sync::Announcer::new(url)?),
            None => None,
        };
        let shared_routing = match &config.redis_url {
            Some(url) => Some(
                crate::routing::shared::SharedRouting::connect(url, config.limits.backend_timeout)
                    .await?,
            ),
            None => None,
        };
        let subscribed = match &announcer {
            Some(a) => crate::routing::sync::first_subscription(a).await,
            None => None,
        };
        let poll = config.routing.deployments_poll;
        let clock = clock.unwrap_or_else(|| Arc::new(crate::timeutil::now_ms));
        let tasks = Tasks::new();
        let cache = crate::cache::ResponseCache::new(&config.cache, config.redis_url.as_deref())?;
        let state = Self(Arc::new(Services {
            config,
            store,
            models,
            router,
            client,
            usage,
            limits,
            counter: PromptCounter::for_this_machine(),
            tasks: tasks.clone(),
            announcer,
            cache,
            shared_routing,
            clock,
        }));
        let follower = tokio::spawn(crate::routing::sync::follow(
            Arc::downgrade(&state.0),
            poll,
            subscribed,
        ));
        let limits = state.limits.clone();
        Ok((
            state,
            Background {
                usage: task,
                deployments: follower.abort_handle(),
                tasks,
                limits,
            },
        ))
    }

    /// The state of `services` (for background tasks that hold them weakly).
    pub(crate) fn from_services(services: Arc<Services>) -> Self {
        Self(services)
    }

    /// Unix milliseconds now, by the state's clock.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }
}

/// The spill file sits next to an SQLite database, or in the working directory.
fn spill_path(database_url: &str) -> PathBuf {
    let sqlite_path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && !p.starts_with(":memory:"));
    match sqlite_path {
        Some(p) => PathBuf::from(format!("{p}.usage-spill.jsonl")),
        None => PathBuf::from("aihub-usage-spill.jsonl"),
    }
}
