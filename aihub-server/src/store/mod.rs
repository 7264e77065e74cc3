//! Persistence: accounts, sessions, API keys and usage records, on SQLite or PostgreSQL.
//!
//! One [`Store`] runs the same portable SQL (`$1, $2, …` placeholders, `ON CONFLICT`, integer
//! arithmetic only) on both backends through sqlx's `Any` driver; only the migrations differ per
//! backend. Conventions, in the schema and in this API:
//! - ids are [`Uuid`](uuid::Uuid)s, stored as lowercase hyphenated text;
//! - times are unix milliseconds, UTC, as `i64`; time ranges are half-open, `[from, to)`;
//! - money is an `i64` count of nano-units (1e-9 of the currency unit) plus an ISO 4217 code;
//! - sums are computed as `BIGINT` and fail loudly rather than wrap.
//!
//! Connection URLs:
//! - `sqlite://path/to/aihub.db` — created if missing (its directory must exist), WAL journal,
//!   `synchronous=NORMAL`, foreign keys on, 5 s busy timeout. A committed transaction survives
//!   the gateway being killed (`kill -9`, a crash); surviving power loss or a kernel crash needs
//!   `sqlite://aihub.db?synchronous=full` (each commit then waits for fsync of the WAL).
//!   SQLite's own URL options (`mode`, `cache`, `immutable`, `vfs`) pass through.
//!   Commits never copy the WAL back into the database file themselves (`wal_autocheckpoint`
//!   is off): that copy waits for the disk, and doing it inside a commit stalled the request
//!   whose usage record happened to cross the threshold (about every 40 commits). The usage
//!   writer calls [`Store::checkpoint`] instead: about once a second beside the writer, and on
//!   the writer only when the WAL has grown past 64 MiB.
//! - `sqlite::memory:` — a private in-memory database on a single connection, for tests.
//! - `postgres://user:password@host:port/database?…` (or `postgresql://`) — every libpq-style
//!   option sqlx supports (`sslmode`, `application_name`, …).
//!
//! Migrations run on connect, so a new gateway version upgrades the schema on start; several
//! instances starting together on one PostgreSQL serialize on sqlx's advisory lock.

mod accounts;
mod api_keys;
mod budgets;
mod cache;
mod deployments;
mod error;
mod invalidation;
mod invitations;
mod migrate;
mod organizations;
mod rows;
mod teams;
mod usage;
mod usage_report;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Connection, Executor};

pub use accounts::{User, normalize_email};
pub use api_keys::{ApiKey, KeyLimits, NewApiKey};
pub use budgets::{Budget, BudgetPeriod, BudgetScope, BudgetSetter, NewBudget, Spent};
pub use deployments::StoredDeployment;
pub use error::StoreError;
pub use invitations::{Acceptance, Invitation, NewInvitation};
pub use organizations::{
    After, InstanceRole, Member, MemberChange, OrgRole, Organization, TeamRole,
};
pub use teams::{Team, TeamMember};

pub use usage::{AttemptRecord, UsageRecord};
pub use usage_report::{CostReport, DayCost, ModelCost, UsageFilter, UsageTotals};

/// Where the gateway keeps its data when nothing else is configured: `./aihub.db`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://aihub.db";

/// A pooled connection idle for longer than this is pinged before use; a busy pool pays no
/// extra round trip per query (sqlx's own `test_before_acquire` pings every time).
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(30);

/// Pool settings shared by both backends.
fn pool_options(options: &StoreOptions) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_WHEN_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// The database a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded SQLite: one gateway process, no setup.
    Sqlite,
    /// PostgreSQL: shared by several gateway instances.
    Postgres,
}

impl Backend {
    /// Which backend a connection URL names.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(StoreError::Config(format!(
                "unsupported database URL scheme `{scheme}:` (use sqlite:// or postgres://)"
            )))
        }
    }
}

/// How often SQLite waits for the disk on commit (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    /// Commits survive a crash of the process but not of the machine (power loss may roll back
    /// the last transactions, never corrupt the database). The default.
    #[default]
    Normal,
    /// Commits also survive power loss: every commit waits for the WAL to reach the disk.
    Full,
    /// `FULL`, and the directory is synced too after deleting a journal.
    Extra,
}

impl SqliteSync {
    fn pragma_value(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::Full => "FULL",
            Self::Extra => "EXTRA",
        }
    }
}

impl FromStr for SqliteSync {
    type Err = StoreError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "normal" | "1" => Ok(Self::Normal),
            "full" | "2" => Ok(Self::Full),
            "extra" | "3" => Ok(Self::Extra),
            _ => Err(StoreError::Config(format!(
                "unknown value `{value}` for `synchronous` (use normal, full or extra)"
            ))),
        }
    }
}

/// Where [`Store::checkpoint`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// On a reader connection, while commits go on.
    BesideWriter,
    /// On the writer connection, between two commits.
    OnWriter,
}

/// Connection pool settings; [`Default`] suits a gateway.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Largest number of connections: to PostgreSQL, or SQLite readers (SQLite always has exactly
    /// one writer connection, since its writers serialize anyway). Default: 10 for PostgreSQL,
    /// 4 SQLite readers.
    pub max_connections: Option<u32>,
    /// How long a call waits for a free connection before failing. Default: 5 s.
    pub acquire_timeout: Duration,
    /// How long an API key, its owner's plan and the budgets that apply to it are kept in
    /// memory after being read for a request. Changes made through this store drop them at
    /// once; changes made by another gateway instance show within this time, or at once when
    /// both share [`StoreOptions::redis_url`]. Zero: read the database on every request.
    /// Default: 5 s.
    pub key_cache_ttl: Duration,
    /// A Redis (`redis://…`) through which every store that names the same one announces its
    /// changes, so that each drops its in-memory copies at once. While Redis cannot be
    /// reached, copies expire after `key_cache_ttl` instead. Default: none.
    pub redis_url: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            acquire_timeout: Duration::from_secs(5),
            key_cache_ttl: Duration::from_secs(5),
            redis_url: None,
        }
    }
}

/// The gateway's database: cheap to clone (clones share the pools).
///
/// On SQLite, writes go through a single dedicated connection and reads through a pool of
/// readers, so writers queue in the process instead of failing with `SQLITE_BUSY`, and reads
/// never wait for writes (WAL). On PostgreSQL both are one pool.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
    /// A SQLite file whose WAL [`Store::checkpoint`] must copy back (commits do not).
    checkpoints: bool,
    /// What requests read on every call, kept for [`StoreOptions::key_cache_ttl`].
    hot: Arc<cache::HotCache>,
    /// Changes announced to, and heard from, the other instances ([`StoreOptions::redis_url`]).
    shared: Option<Arc<invalidation::Invalidations>>,
}

impl std::fmt::Debug for Store {
    // The pools' own Debug shows their connect options, and so the URL and its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database at `url` (see the [module docs](self)) and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit pool settings.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        let store = match backend {
            Backend::Sqlite => connect_sqlite(url, options).await?,
            Backend::Postgres => {
                let pool = pool_options(options)
                    .max_connections(options.max_connections.unwrap_or(10))
                    .connect(url)
                    .await?;
                migrate::run(&pool, backend).await?;
                Self {
                    backend,
                    read: pool.clone(),
                    write: pool,
                    checkpoints: false,
                    hot: Arc::new(cache::HotCache::new(options.key_cache_ttl)),
                    shared: None,
                }
            }
        };
        let store = match &options.redis_url {
            Some(redis_url) => {
                let shared = invalidation::Invalidations::start(redis_url, &store.hot)
                    .await
                    .map_err(StoreError::Config)?;
                Self {
                    shared: Some(Arc::new(shared)),
                    ..store
                }
            }
            _ => store,
        };
        tracing::debug!(backend = ?store.backend, "database ready");
        Ok(store)
    }

    /// Drops every in-memory copy after a change to keys, users or budgets, here and (through
    /// Redis, when configured) on every other instance.
    pub(crate) async fn changed(&self) {
        self.hot.invalidate();
        if let Some(shared) = &self.shared {
            shared.publish().await;
        }
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (for readiness probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read.execute("SELECT 1").await?;
        Ok(())
    }

    /// Copies what the SQLite WAL holds back into the database file, as far as readers allow
    /// (`PRAGMA wal_checkpoint(PASSIVE)`), and returns how many pages the WAL now holds
    /// (`None` where there is no WAL to copy).
    ///
    /// [`Checkpoint::BesideWriter`] runs on a reader connection and never delays a commit, but
    /// under steady writes it never quite catches up, and SQLite reuses the WAL from its start
    /// only after a checkpoint that did: run alone, it let the WAL reach 966 MB in 20 s at 2,000
    /// requests a second. [`Checkpoint::OnWriter`] runs between two commits, so it does catch
    /// up, and the next commit starts the WAL over; commits wait while it runs.
    pub async fn checkpoint(&self, mode: Checkpoint) -> Result<Option<u64>, StoreError> {
        if !self.checkpoints {
            return Ok(None);
        }
        let pool = match mode {
            Checkpoint::BesideWriter => &self.read,
            Checkpoint::OnWriter => &self.write,
        };
        let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await?;
        let pages: i64 = sqlx::Row::try_get(&row, 1)?;
        Ok(Some(u64::try_from(pages).unwrap_or(0)))
    }

    /// Closes every connection, waiting for calls in progress; later calls fail.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// A `sqlite:` URL split into what sqlx understands and the options the store handles itself.
#[derive(Debug, PartialEq, Eq)]
struct SqliteUrl {
    /// The URL for sqlx: our options removed, `mode=rwc` added unless a mode was given.
    url: String,
    /// An in-memory database (each connection would get its own).
    memory: bool,
    synchronous: SqliteSync,
}

fn parse_sqlite_url(url: &str) -> Result<SqliteUrl, StoreError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params = Vec::new();
    let mut synchronous = SqliteSync::default();
    let mut memory = base == "sqlite::memory:" || base == "sqlite://:memory:" || base == "sqlite:";
    let mut has_mode = false;
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        match key {
            "synchronous" => synchronous = value.parse()?,
            "mode" => {
                has_mode = true;
                memory |= value == "memory";
                params.push(param);
            }
            _ => params.push(param),
        }
    }
    if !has_mode && !memory {
        params.push("mode=rwc");
    }
    let url = if params.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", params.join("&"))
    };
    Ok(SqliteUrl {
        url,
        memory,
        synchronous,
    })
}

async fn connect_sqlite(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
    let parsed = parse_sqlite_url(url)?;
    // busy_timeout first: switching to WAL takes a lock another process may hold.
    let pragmas: std::sync::Arc<str> = format!(
        "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
         PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
         PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;",
        parsed.synchronous.pragma_value()
    )
    .into();
    let sqlite_pool_options = move || {
        let pragmas = pragmas.clone();
        pool_options(options).after_connect(move |conn, _meta| {
            let pragmas = pragmas.clone();
            Box::pin(async move {
                conn.execute(&*pragmas).await?;
                Ok(())
            })
        })
    };
    // The writer stays open for the life of the store: it keeps an in-memory database alive,
    // and on a file it keeps the WAL index warm.
    let write = sqlite_pool_options()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect(&parsed.url)
        .await?;
    migrate::run(&write, Backend::Sqlite).await?;
    let read = if parsed.memory {
        write.clone()
    } else {
        sqlite_pool_options()
            .max_connections(options.max_connections.unwrap_or(4).max(1))
            .connect(&parsed.url)
            .await?
    };
    Ok(Store {
        backend: Backend::Sqlite,
        read,
        write,
        checkpoints: !parsed.memory,
        hot: Arc::new(cache::HotCache::new(options.key_cache_ttl)),
        shared: None,
    })
}

/// The current time as unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_the_file_and_keep_sqlx_options() {
        let parsed = parse_sqlite_url("sqlite://./aihub.db").unwrap();
        assert_eq!(
            parsed,
            SqliteUrl {
                url: "sqlite://./aihub.db?mode=rwc".into(),
                memory: false,
                synchronous: SqliteSync::Normal,
            }
        );
        let parsed =
            parse_sqlite_url("sqlite:///var/lib/aihub.db?synchronous=FULL&cache=private").unwrap();
        assert_eq!(
            parsed.url,
            "sqlite:///var/lib/aihub.db?cache=private&mode=rwc"
        );
        assert_eq!(parsed.synchronous, SqliteSync::Full);
        let parsed = parse_sqlite_url("sqlite://a.db?mode=ro").unwrap();
        assert_eq!(parsed.url, "sqlite://a.db?mode=ro");
    }

    #[test]
    fn sqlite_memory_urls_are_recognised() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://x?mode=memory",
        ] {
            assert!(parse_sqlite_url(url).unwrap().memory, "{url}");
        }
        assert_eq!(
            parse_sqlite_url("sqlite::memory:").unwrap().url,
            "sqlite::memory:"
        );
    }

    #[test]
    fn bad_options_and_schemes_are_config_errors() {
        assert!(matches!(
            parse_sqlite_url("sqlite://a.db?synchronous=sometimes"),
            Err(StoreError::Config(_))
        ));
        assert!(matches!(
            Backend::from_url("mysql://root@localhost/db"),
            Err(StoreError::Config(_))
        ));
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap(),
            Backend::Postgres
        );
    }
}
