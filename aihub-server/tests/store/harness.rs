//! Fresh databases for each test, and shared helpers.

use std::future::Future;

use aihub_server::store::{Backend, Store, User};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

/// A store on a database of the test's own, and how to reach that database again.
pub struct TestDb {
    /// The store under test.
    pub store: Store,
    /// The database URL, for reconnecting.
    pub url: String,
    /// Which backend this run uses.
    pub backend: Backend,
}

impl TestDb {
    /// A plain sqlx pool on the same database, to look at rows the store API does not return.
    pub async fn raw(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.url).await.unwrap()
    }

    /// A new user with a unique email.
    pub async fn user(&self) -> User {
        self.store
            .create_user(
                &format!("user-{}@example.com", Uuid::new_v4()),
                "argon2-hash",
            )
            .await
            .unwrap()
    }
}

/// The current time as unix milliseconds.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Runs `test` on a store over a new SQLite file, deleted afterwards.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let store = Store::connect(&url).await.unwrap();
    let db = TestDb {
        store,
        url,
        backend: Backend::Sqlite,
    };
    let outcome = tokio::spawn(test(db)).await;
    drop(dir);
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// The URL of `aihub.db` in `dir`.
pub fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("aihub.db").display())
}

/// The server where the PostgreSQL tests create their databases.
pub fn postgres_admin_url() -> String {
    std::env::var("AIHUB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".to_owned())
}

/// A PostgreSQL database created for one test.
struct PgDatabase {
    name: String,
    url: String,
}

async fn admin_connection() -> PgConnection {
    let admin_url = postgres_admin_url();
    PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "PostgreSQL is not reachable at {admin_url}: {error}\n\
             The store tests need a running PostgreSQL (trust auth). Start it with \
             `pg_ctlcluster 15 main start`, or point AIHUB_TEST_POSTGRES_URL at another server."
            )
        })
}

impl PgDatabase {
    /// Creates an empty database `aihub_t_<uuid>` on the test server.
    async fn create() -> Self {
        let name = format!("aihub_t_{}", Uuid::new_v4().simple());
        let mut admin = admin_connection().await;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
        let admin_url = postgres_admin_url();
        let (location, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
        let (server, _database) = location.rsplit_once('/').unwrap();
        let url = if query.is_empty() {
            format!("{server}/{name}")
        } else {
            format!("{server}/{name}?{query}")
        };
        Self { name, url }
    }

    /// Drops the database, disconnecting whoever is still connected.
    async fn drop(self) {
        let mut admin = admin_connection().await;
        admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
    }
}

/// Runs `test` with the URL of a new, empty PostgreSQL database, dropped afterwards even if
/// the test fails.
pub async fn in_fresh_postgres<F, Fut>(test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let database = PgDatabase::create().await;
    let outcome = tokio::spawn(test(database.url.clone())).await;
    database.drop().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// Runs `test` on a store over a new PostgreSQL database, dropped afterwards.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(TestDb) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    in_fresh_postgres(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let db = TestDb {
            store: store.clone(),
            url,
            backend: Backend::Postgres,
        };
        let outcome = tokio::spawn(test(db)).await;
        store.close().await;
        if let Err(error) = outcome {
            std::panic::resume_unwind(error.into_panic());
        }
    })
    .await;
}
