//! Plans, key limits, budgets, budget alerts and spend sums.

use aihub_server::store::{
    BudgetPeriod, BudgetScope, BudgetSetter, KeyLimits, NewApiKey, NewBudget,
};

use crate::harness::TestDb;
use crate::usage::record;

on_both_backends!(
    a_users_plan_changes_and_authentication_sees_it,
    key_limits_round_trip,
    one_budget_per_scope_and_period_replaced_in_place,
    the_admins_and_the_owners_budget_on_a_key_are_two,
    a_soft_limit_alert_is_recorded_once_per_period,
    spend_is_summed_per_key_and_per_user_from_a_time,
);

async fn key(
    db: &TestDb,
    user: &aihub_server::store::User,
    hash: &str,
) -> aihub_server::store::ApiKey {
    db.store
        .create_api_key(NewApiKey {
            user_id: Some(user.id),
            organization_id: user.organization_id,
            team_id: None,
            name: "k".into(),
            prefix: "ai-hub-k".into(),
            key_hash: hash.into(),
            expires_at: None,
        })
        .await
        .unwrap()
}

async fn a_users_plan_changes_and_authentication_sees_it(db: TestDb) {
    let user = db.user().await;
    key(&db, &user, "hash-plan").await;
    let (_, plan) = db
        .store
        .api_key_for_request("hash-plan")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plan, "free");
    assert!(db.store.set_user_plan(user.id, "pro").await.unwrap());
    let (k, plan) = db
        .store
        .api_key_for_request("hash-plan")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((plan.as_str(), k.user_id), ("pro", Some(user.id)));
    assert!(
        !db.store
            .set_user_plan(uuid::Uuid::new_v4(), "pro")
            .await
            .unwrap()
    );
    db.store.disable_user(user.id, 1).await.unwrap();
    assert!(
        db.store
            .api_key_for_request("hash-plan")
            .await
            .unwrap()
            .is_none()
    );
}

async fn key_limits_round_trip(db: TestDb) {
    let user = db.user().await;
    let k = key(&db, &user, "hash-limits").await;
    assert_eq!(k.limits, KeyLimits::default());
    let limits = KeyLimits {
        rpm_limit: Some(20),
        tpm_limit: Some(5_000_000_000),
        max_concurrent: None,
        cache: Some(true),
    };
    assert!(db.store.set_api_key_limits(k.id, limits).await.unwrap());
    assert_eq!(
        db.store.api_key_by_id(k.id).await.unwrap().unwrap().limits,
        limits
    );
    assert_eq!(
        db.store.list_api_keys(user.id).await.unwrap()[0].limits,
        limits
    );
}

async fn one_budget_per_scope_and_period_replaced_in_place(db: TestDb) {
    let user = db.user().await;
    let k = key(&db, &user, "hash-budget").await;
    let new = |scope, scope_id, period, hard| NewBudget {
        scope,
        scope_id,
        period,
        currency: "USD".into(),
        hard_limit_nanos: hard,
        soft_limit_nanos: None,
        set_by: BudgetSetter::Admin,
    };
    let first = db
        .store
        .put_budget(&new(
            BudgetScope::ApiKey,
            k.id,
            BudgetPeriod::Monthly,
            Some(5),
        ))
        .await
        .unwrap();
    let again = db
        .store
        .put_budget(&new(
            BudgetScope::ApiKey,
            k.id,
            BudgetPeriod::Monthly,
            Some(9),
        ))
        .await
        .unwrap();
    assert_eq!((again.id, again.hard_limit_nanos), (first.id, Some(9)));
    db.store
        .put_budget(&new(
            BudgetScope::User,
            user.id,
            BudgetPeriod::Lifetime,
            None,
        ))
        .await
        .unwrap();
    let other = db.user().await;
    db.store
        .put_budget(&new(
            BudgetScope::User,
            other.id,
            BudgetPeriod::Monthly,
            Some(1),
        ))
        .await
        .unwrap();
    let applying = db
        .store
        .budgets_for_request(k.id, Some(user.id), None, user.organization_id)
        .await
        .unwrap();
    let scopes: Vec<_> = applying.iter().map(|b| (b.scope, b.period)).collect();
    assert_eq!(
        scopes,
        [
            (BudgetScope::ApiKey, BudgetPeriod::Monthly),
            (BudgetScope::User, BudgetPeriod::Lifetime)
        ]
    );
    assert!(
        db.store
            .delete_budget(
                BudgetScope::ApiKey,
                k.id,
                BudgetPeriod::Monthly,
                BudgetSetter::Admin
            )
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .delete_budget(
                BudgetScope::ApiKey,
                k.id,
                BudgetPeriod::Monthly,
                BudgetSetter::Admin
            )
            .await
            .unwrap()
    );
    assert_eq!(
        db.store
            .budgets_of(BudgetScope::ApiKey, k.id)
            .await
            .unwrap(),
        []
    );
}

async fn the_admins_and_the_owners_budget_on_a_key_are_two(db: TestDb) {
    let user = db.user().await;
    let k = key(&db, &user, "hash-two-budgets").await;
    let new = |set_by, hard| NewBudget {
        scope: BudgetScope::ApiKey,
        scope_id: k.id,
        period: BudgetPeriod::Lifetime,
        currency: "USD".into(),
        hard_limit_nanos: Some(hard),
        soft_limit_nanos: None,
        set_by,
    };
    let admins = db
        .store
        .put_budget(&new(BudgetSetter::Admin, 5))
        .await
        .unwrap();
    assert_eq!(admins.set_by, BudgetSetter::Admin);
    // The owner's budget for the same key and period is another row: the admin's stays.
    let owners = db
        .store
        .put_budget(&new(BudgetSetter::Owner, 1_000))
        .await
        .unwrap();
    assert_ne!(owners.id, admins.id);
    let again = db
        .store
        .put_budget(&new(BudgetSetter::Owner, 2_000))
        .await
        .unwrap();
    assert_eq!((again.id, again.hard_limit_nanos), (owners.id, Some(2_000)));
    let both = db
        .store
        .budgets_for_request(k.id, Some(user.id), None, user.organization_id)
        .await
        .unwrap();
    let limits: Vec<_> = both
        .iter()
        .map(|b| (b.set_by, b.hard_limit_nanos))
        .collect();
    assert_eq!(
        limits,
        [
            (BudgetSetter::Admin, Some(5)),
            (BudgetSetter::Owner, Some(2_000))
        ]
    );
    // Deleting the owner's leaves the admin's, and the owner's delete never reaches it.
    let delete = |set_by| {
        db.store
            .delete_budget(BudgetScope::ApiKey, k.id, BudgetPeriod::Lifetime, set_by)
    };
    assert!(delete(BudgetSetter::Owner).await.unwrap());
    assert!(!delete(BudgetSetter::Owner).await.unwrap());
    let left = db
        .store
        .budgets_of(BudgetScope::ApiKey, k.id)
        .await
        .unwrap();
    assert_eq!(left, [admins]);
    assert!(delete(BudgetSetter::Admin).await.unwrap());
}

async fn a_soft_limit_alert_is_recorded_once_per_period(db: TestDb) {
    let user = db.user().await;
    let budget = db
        .store
        .put_budget(&NewBudget {
            scope: BudgetScope::User,
            scope_id: user.id,
            period: BudgetPeriod::Monthly,
            currency: "USD".into(),
            hard_limit_nanos: None,
            soft_limit_nanos: Some(10),
            set_by: BudgetSetter::Admin,
        })
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        db.store.record_budget_alert(budget.id, 1_000, 11, 2_000),
        db.store.record_budget_alert(budget.id, 1_000, 12, 2_001),
    );
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|f| **f).count(), 1);
    assert!(
        db.store
            .record_budget_alert(budget.id, 5_000, 11, 6_000)
            .await
            .unwrap()
    );
}

async fn spend_is_summed_per_key_and_per_user_from_a_time(db: TestDb) {
    let user = db.user().await;
    let k = key(&db, &user, "hash-spent").await;
    let mut with_key = record(&user, 2_000, "openai/gpt-4o-mini");
    with_key.api_key_id = Some(k.id);
    let mut yuan = record(&user, 3_000, "deepseek/deepseek-chat");
    yuan.currency = Some("CNY".into());
    yuan.cost_nanos = Some(7_000);
    let mut unpriced = record(&user, 4_000, "ollama/llama3");
    (unpriced.cost_nanos, unpriced.currency) = (None, None);
    let early = record(&user, 500, "openai/gpt-4o-mini");
    db.store
        .insert_usage(&[with_key, yuan, unpriced, early])
        .await
        .unwrap();
    let by_user = db
        .store
        .spent_since(BudgetScope::User, user.id, 1_000)
        .await
        .unwrap();
    assert_eq!(by_user.tokens, 3 * 120);
    assert_eq!(
        by_user.costs,
        [("CNY".into(), 7_000), ("USD".into(), 1_500)]
    );
    let by_key = db
        .store
        .spent_since(BudgetScope::ApiKey, k.id, 0)
        .await
        .unwrap();
    assert_eq!(
        (by_key.tokens, by_key.costs),
        (120, vec![("USD".into(), 1_500)])
    );
}

/// Schema version 2 with one budget and its alert, then version 3 applied as the gateway
/// applies it (one transaction, foreign keys on): the budget becomes the admin's, its alert
/// survives, and the owner can then have a budget of their own beside it.
async fn budgets_from_version_2_become_the_admins(url: &str, scripts: [&str; 3]) {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    if url.starts_with("sqlite:") {
        c.execute("PRAGMA foreign_keys = ON").await.unwrap();
    }
    for script in &scripts[..2] {
        c.execute(sqlx::raw_sql(script)).await.unwrap();
    }
    c.execute(
        "INSERT INTO budgets (id, scope, scope_id, period, currency, hard_limit_nanos, \
         soft_limit_nanos, created_at, updated_at) \
         VALUES ('b1', 'api_key', 'k1', 'monthly', 'USD', 5, 3, 1, 1)",
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO budget_alerts (budget_id, period_start, spent_nanos, fired_at) \
         VALUES ('b1', 0, 4, 2)",
    )
    .await
    .unwrap();
    let mut tx = c.begin().await.unwrap();
    tx.execute(sqlx::raw_sql(scripts[2])).await.unwrap();
    tx.commit().await.unwrap();

    let set_by: String = sqlx::query_scalar("SELECT set_by FROM budgets WHERE id = 'b1'")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(set_by, "admin");
    let alerts: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM budget_alerts WHERE budget_id = 'b1'",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(alerts, 1, "the alert survived the migration");
    c.execute(
        "INSERT INTO budgets (id, scope, scope_id, period, currency, hard_limit_nanos, \
         created_at, updated_at, set_by) \
         VALUES ('b2', 'api_key', 'k1', 'monthly', 'USD', 9, 1, 1, 'owner')",
    )
    .await
    .unwrap();
    let twice = c
        .execute(
            "INSERT INTO budgets (id, scope, scope_id, period, currency, created_at, \
             updated_at, set_by) \
             VALUES ('b3', 'api_key', 'k1', 'monthly', 'USD', 1, 1, 'owner')",
        )
        .await;
    assert!(twice.is_err(), "one budget per scope, period and setter");
    // The alert still follows its budget.
    c.execute("DELETE FROM budgets WHERE id = 'b1'")
        .await
        .unwrap();
    let alerts: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM budget_alerts")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(alerts, 0);
    c.close().await.unwrap();
}

#[tokio::test]
async fn budgets_from_version_2_become_the_admins_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}?mode=rwc", crate::harness::sqlite_url(dir.path()));
    budgets_from_version_2_become_the_admins(
        &url,
        [
            include_str!("../../migrations/sqlite/0001_initial_schema.sql"),
            include_str!("../../migrations/sqlite/0002_limits_and_budgets.sql"),
            include_str!("../../migrations/sqlite/0003_budget_setters.sql"),
        ],
    )
    .await;
}

#[tokio::test]
async fn budgets_from_version_2_become_the_admins_on_postgres() {
    crate::harness::in_fresh_postgres(|url| async move {
        budgets_from_version_2_become_the_admins(
            &url,
            [
                include_str!("../../migrations/postgres/0001_initial_schema.sql"),
                include_str!("../../migrations/postgres/0002_limits_and_budgets.sql"),
                include_str!("../../migrations/postgres/0003_budget_setters.sql"),
            ],
        )
        .await;
    })
    .await;
}
