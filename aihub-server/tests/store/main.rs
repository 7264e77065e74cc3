//! Tests of `aihub_server::store`: each one is written once and runs on SQLite (a temporary
//! file) and on PostgreSQL (a fresh database of its own), so the two backends cannot drift.
//!
//! PostgreSQL must be running: `postgres://root@127.0.0.1:5432/test` by default, or the URL in
//! `AIHUB_TEST_POSTGRES_URL`. The PostgreSQL tests fail, with that message, when it is not.

/// Runs each named `async fn(TestDb)` of the current module as two tests, `sqlite::<name>` and
/// `postgres::<name>`.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::harness::on_sqlite(super::$test).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::harness::on_postgres(super::$test).await;
                }
            )*
        }
    };
}

// `cfg(test)` (always true here) tells clippy these modules are test code, where unwrap and
// panic are the point.
#[cfg(test)]
mod accounts;
#[cfg(test)]
mod api_keys;
#[cfg(test)]
mod budgets;
#[cfg(test)]
mod connect;
#[cfg(test)]
mod harness;
#[cfg(test)]
mod hot_cache;
#[cfg(test)]
mod upgrade;
#[cfg(test)]
mod usage;
#[cfg(test)]
mod usage_reports;
