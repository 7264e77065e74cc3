//! The in-memory copies of keys, plans and budgets that requests read: changes made through a
//! store show at once; changes made through another store on the same database show within
//! `key_cache_ttl`, and at once with a zero time to live or when both stores share a Redis.
//!
//! Redis must be running for the last: `redis://127.0.0.1:6379` by default, or the URL in
//! `AIHUB_TEST_REDIS_URL`.

use std::time::Duration;

use aihub_server::store::{
    BudgetPeriod, BudgetScope, NewApiKey, NewBudget, Store, StoreOptions, User,
};

use crate::harness::{TestDb, now_ms};

on_both_backends!(
    changes_through_the_store_show_at_once,
    another_instance_sees_changes_within_the_time_to_live,
    instances_sharing_a_redis_see_changes_at_once,
);

fn key(user: &User, hash: &str) -> NewApiKey {
    NewApiKey {
        user_id: Some(user.id),
        organization_id: user.organization_id,
        team_id: None,
        name: "hot".into(),
        prefix: "ai-hub-hot".into(),
        key_hash: hash.to_owned(),
        expires_at: None,
    }
}

fn budget(user: &User, nanos: i64) -> NewBudget {
    NewBudget {
        scope: BudgetScope::User,
        scope_id: user.id,
        period: BudgetPeriod::Monthly,
        currency: "USD".into(),
        hard_limit_nanos: Some(nanos),
        soft_limit_nanos: None,
        set_by: aihub_server::store::BudgetSetter::Admin,
    }
}

async fn changes_through_the_store_show_at_once(db: TestDb) {
    let user = db.user().await;
    let created = db.store.create_api_key(key(&user, "hot-1")).await.unwrap();
    let (first, plan) = db
        .store
        .api_key_for_request("hot-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.id, first.revoked_at), (created.id, None));
    assert!(
        db.store
            .budgets_for_request(created.id, Some(user.id), None, user.organization_id)
            .await
            .unwrap()
            .is_empty()
    );

    db.store.set_user_plan(user.id, "pro").await.unwrap();
    let (_, now_plan) = db
        .store
        .api_key_for_request("hot-1")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(plan, "pro");
    assert_eq!(now_plan, "pro", "a new plan applies to the next request");

    db.store.put_budget(&budget(&user, 7)).await.unwrap();
    let budgets = db
        .store
        .budgets_for_request(created.id, Some(user.id), None, user.organization_id)
        .await
        .unwrap();
    assert_eq!(budgets.len(), 1, "a new budget applies to the next request");

    let now = now_ms();
    assert!(
        db.store
            .revoke_api_key(user.id, created.id, now)
            .await
            .unwrap()
    );
    let (revoked, _) = db
        .store
        .api_key_for_request("hot-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        revoked.revoked_at,
        Some(now),
        "a revocation applies at once"
    );

    db.store.disable_user(user.id, now).await.unwrap();
    assert!(
        db.store
            .api_key_for_request("hot-1")
            .await
            .unwrap()
            .is_none(),
        "a disabled user's keys stop at once"
    );
}

async fn another_instance_sees_changes_within_the_time_to_live(db: TestDb) {
    let ttl = Duration::from_millis(300);
    let other = |ttl| {
        let url = db.url.clone();
        async move {
            Store::connect_with(
                &url,
                &StoreOptions {
                    key_cache_ttl: ttl,
                    ..StoreOptions::default()
                },
            )
            .await
            .unwrap()
        }
    };
    let cached = other(ttl).await;
    let uncached = other(Duration::ZERO).await;
    let user = db.user().await;
    let created = db.store.create_api_key(key(&user, "hot-2")).await.unwrap();
    for store in [&cached, &uncached] {
        let (read, _) = store.api_key_for_request("hot-2").await.unwrap().unwrap();
        assert_eq!(read.revoked_at, None);
        assert!(
            store
                .budgets_for_request(created.id, Some(user.id), None, user.organization_id)
                .await
                .unwrap()
                .is_empty()
        );
    }

    let now = now_ms();
    db.store
        .revoke_api_key(user.id, created.id, now)
        .await
        .unwrap();
    db.store.put_budget(&budget(&user, 9)).await.unwrap();

    let (fresh, _) = uncached
        .api_key_for_request("hot-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fresh.revoked_at, Some(now), "no cache: seen at once");
    assert_eq!(
        uncached
            .budgets_for_request(created.id, Some(user.id), None, user.organization_id)
            .await
            .unwrap()
            .len(),
        1
    );
    let (kept, _) = cached.api_key_for_request("hot-2").await.unwrap().unwrap();
    assert_eq!(
        kept.revoked_at, None,
        "the other instance still has its copy"
    );
    assert!(
        cached
            .budgets_for_request(created.id, Some(user.id), None, user.organization_id)
            .await
            .unwrap()
            .is_empty()
    );

    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let (expired, _) = cached.api_key_for_request("hot-2").await.unwrap().unwrap();
    assert_eq!(
        expired.revoked_at,
        Some(now),
        "seen once the copy is older than the time to live"
    );
    assert_eq!(
        cached
            .budgets_for_request(created.id, Some(user.id), None, user.organization_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Polls `check` for up to a second; true as soon as it holds.
async fn within_a_second<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn instances_sharing_a_redis_see_changes_at_once(db: TestDb) {
    let redis_url = std::env::var("AIHUB_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    // A time to live far longer than the test: only the announcement can drop the copies.
    let instance = || {
        let (url, redis_url) = (db.url.clone(), redis_url.clone());
        async move {
            Store::connect_with(
                &url,
                &StoreOptions {
                    key_cache_ttl: Duration::from_secs(60),
                    redis_url: Some(redis_url),
                    ..StoreOptions::default()
                },
            )
            .await
            .unwrap()
        }
    };
    let (a, b) = (instance().await, instance().await);
    let user = db.user().await;
    let created = a.create_api_key(key(&user, "hot-3")).await.unwrap();
    let (read, _) = b.api_key_for_request("hot-3").await.unwrap().unwrap();
    assert_eq!(read.revoked_at, None);
    assert!(
        b.budgets_for_request(created.id, Some(user.id), None, user.organization_id)
            .await
            .unwrap()
            .is_empty()
    );

    let now = now_ms();
    assert!(a.revoke_api_key(user.id, created.id, now).await.unwrap());
    assert!(
        within_a_second(|| async {
            let (key, _) = b.api_key_for_request("hot-3").await.unwrap().unwrap();
            key.revoked_at == Some(now)
        })
        .await,
        "a key revoked on one instance is refused on the other at once"
    );

    a.put_budget(&budget(&user, 11)).await.unwrap();
    assert!(
        within_a_second(|| async {
            b.budgets_for_request(created.id, Some(user.id), None, user.organization_id)
                .await
                .unwrap()
                .len()
                == 1
        })
        .await,
        "a new budget applies on the other instance at once"
    );

    let other = db.store.create_api_key(key(&user, "hot-4")).await.unwrap();
    assert!(b.api_key_for_request("hot-4").await.unwrap().is_some());
    assert_ne!(other.id, created.id);
    a.disable_user(user.id, now).await.unwrap();
    assert!(
        within_a_second(|| async { b.api_key_for_request("hot-4").await.unwrap().is_none() }).await,
        "a disabled user's keys stop on the other instance at once"
    );

    // Redis drops the subscriptions (a restart, a network cut): they come back by themselves.
    let mut redis = redis::Client::open(redis_url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(killed >= 2, "both instances subscribe ({killed} killed)");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = db.user().await;
    let third = db.store.create_api_key(key(&later, "hot-5")).await.unwrap();
    assert!(b.api_key_for_request("hot-5").await.unwrap().is_some());
    a.revoke_api_key(later.id, third.id, now).await.unwrap();
    assert!(
        within_a_second(|| async {
            let (key, _) = b.api_key_for_request("hot-5").await.unwrap().unwrap();
            key.revoked_at == Some(now)
        })
        .await,
        "after a lost subscription, revocations show at once again"
    );
    a.close().await;
    b.close().await;
}
