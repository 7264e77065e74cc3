//! A database made by an earlier version keeps its data through the migrations that follow:
//! the earlier migrations are applied from the files, rows written the way that version wrote
//! them, then the store opens the database (applying the rest) and reads them back.

use aihub_server::store::{Store, TeamRole};
use sqlx::Executor;
use uuid::Uuid;

/// Applies migrations up to `version` (inclusive) from `migrations/{backend}`.
async fn migrate_to(url: &str, backend: &str, version: i64) {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let number: i64 = name[..4].parse().unwrap();
        if number <= version {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    if backend == "sqlite" {
        pool.execute("PRAGMA foreign_keys = ON").await.unwrap();
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    migrator.run(&pool).await.unwrap();
    pool.close().await;
}

/// Writes, as version 8 did, a user on the `pro` plan in a team of their personal
/// organization, with a key for the team and one usage record; then opens the store.
async fn version_8_data_survives(url: String, backend: &str) {
    migrate_to(&url, backend, 8).await;
    let (org, user, team, key) = (
        Uuid::new_v4().to_string(),
        Uuid::new_v4().to_string(),
        Uuid::new_v4().to_string(),
        Uuid::new_v4().to_string(),
    );
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    for (sql, binds) in [
        (
            "INSERT INTO organizations (id, name, personal, created_at) VALUES ($1, 'old@example.com', 1, 1)",
            vec![&org],
        ),
        (
            "INSERT INTO users (id, email, password_hash, plan, personal_organization_id, created_at) \
             VALUES ($1, 'old@example.com', 'x', 'pro', $2, 1)",
            vec![&user, &org],
        ),
        (
            "INSERT INTO teams (id, organization_id, name, created_at) VALUES ($1, $2, 'core', 1)",
            vec![&team, &org],
        ),
        (
            "INSERT INTO memberships (user_id, organization_id, team_id, role, created_at) \
             VALUES ($1, $2, $3, 'owner', 1)",
            vec![&user, &org, &team],
        ),
        (
            "INSERT INTO api_keys (id, user_id, organization_id, team_id, name, prefix, key_hash, \
             created_at, rpm_limit, allowed_models) \
             VALUES ($1, $2, $3, $4, 'k', 'ai-hub-old', 'old-hash', 1, 7, '[\"gpt-4o\"]')",
            vec![&key, &user, &org, &team],
        ),
        (
            "INSERT INTO usage_records (id, request_id, created_at, api_key_id, user_id, \
             organization_id, team_id, model, provider, upstream_model, prompt_tokens, \
             completion_tokens, cached_tokens, reasoning_tokens, latency_ms, status, stream, \
             attempt_log) \
             VALUES ($1, 'r', 1, $2, $3, $4, $5, 'm', 'p', 'u', 10, 20, 0, 0, 5, 200, 0, '[]')",
            vec![&Uuid::new_v4().to_string(), &key, &user, &org, &team],
        ),
    ] {
        let mut query = sqlx::query(sql);
        for b in binds {
            query = query.bind(b.clone());
        }
        query.execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = Store::connect(&url).await.unwrap();
    let user_id = Uuid::parse_str(&user).unwrap();
    let found = store.user_by_id(user_id).await.unwrap().unwrap();
    assert_eq!(
        found.plan, "pro",
        "the plan moved to the personal organization"
    );
    let org_id = Uuid::parse_str(&org).unwrap();
    assert_eq!(
        store
            .organization_by_id(org_id)
            .await
            .unwrap()
            .unwrap()
            .plan,
        "pro"
    );
    let team_id = Uuid::parse_str(&team).unwrap();
    assert_eq!(
        store.team_role(team_id, user_id).await.unwrap(),
        Some(TeamRole::Member),
        "the member's team moved to team_memberships"
    );
    let (k, plan) = store
        .api_key_for_request("old-hash")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (k.user_id, k.team_id, plan.as_str()),
        (Some(user_id), Some(team_id), "pro")
    );
    assert_eq!(k.limits.rpm_limit, Some(7));
    assert_eq!(k.models, Some(vec!["gpt-4o".to_owned()]));
    let spent = store
        .spent_since(aihub_server::store::BudgetScope::Team, team_id, 0)
        .await
        .unwrap();
    assert_eq!(spent.tokens, 30, "the usage record is still there");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_version_8_data_survives_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    version_8_data_survives(url, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_version_8_data_survives_the_upgrade() {
    crate::harness::in_fresh_postgres(|url| async move {
        version_8_data_survives(url, "postgres").await;
    })
    .await;
}
