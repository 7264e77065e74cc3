//! Users, personal organizations and sessions.

use aihub_server::store::{NewApiKey, StoreError};
use sqlx::Row;
use uuid::Uuid;

use crate::harness::{TestDb, now_ms};

on_both_backends!(
    create_user_makes_a_personal_organization,
    duplicate_email_in_any_case_is_a_conflict,
    sessions_expire_and_can_be_deleted,
    disabled_users_lose_sessions_and_keys,
);

async fn create_user_makes_a_personal_organization(db: TestDb) {
    let before = now_ms();
    let user = db
        .store
        .create_user("  Alice@Example.COM ", "argon2-alice")
        .await
        .unwrap();
    assert_eq!(user.email, "alice@example.com");
    assert_eq!(user.plan, "free");
    assert_ne!(user.organization_id, user.id);
    assert!(user.created_at >= before && user.created_at <= now_ms());
    assert_eq!(user.disabled_at, None);

    let (found, hash) = db
        .store
        .user_by_email("ALICE@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, user);
    assert_eq!(hash, "argon2-alice");
    assert_eq!(
        db.store.user_by_id(user.id).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        db.store.user_by_email("bob@example.com").await.unwrap(),
        None
    );
    assert_eq!(db.store.user_by_id(Uuid::new_v4()).await.unwrap(), None);

    let raw = db.raw().await;
    let rows = sqlx::query(
        "SELECT o.id, o.name, o.personal, o.plan, m.role \
         FROM memberships m JOIN organizations o ON o.id = m.organization_id \
         WHERE m.user_id = $1",
    )
    .bind(user.id.to_string())
    .fetch_all(&raw)
    .await
    .unwrap();
    assert_eq!(
        rows.len(),
        1,
        "exactly one membership, in the personal organization"
    );
    let row = &rows[0];
    assert_eq!(row.get::<String, _>("id"), user.organization_id.to_string());
    assert_eq!(row.get::<String, _>("name"), "alice@example.com");
    assert_eq!(row.get::<i64, _>("personal"), 1);
    assert_eq!(row.get::<String, _>("role"), "owner");
    assert_eq!(
        row.get::<String, _>("plan"),
        user.plan,
        "the plan is the organization's"
    );

    // The owner can hold keys for the personal organization straight away.
    let key = db
        .store
        .create_api_key(NewApiKey {
            user_id: Some(user.id),
            organization_id: user.organization_id,
            team_id: None,
            name: "default".into(),
            prefix: "ai-hub-abc".into(),
            key_hash: "hash-alice-1".into(),
            expires_at: None,
        })
        .await
        .unwrap();
    assert_eq!(key.organization_id, user.organization_id);
}

async fn duplicate_email_in_any_case_is_a_conflict(db: TestDb) {
    db.store.create_user("bob@example.com", "h1").await.unwrap();
    for duplicate in ["bob@example.com", "  BOB@Example.com", "Bob@EXAMPLE.COM\n"] {
        let error = db.store.create_user(duplicate, "h2").await.unwrap_err();
        assert!(
            matches!(error, StoreError::Conflict),
            "{duplicate:?}: {error}"
        );
    }
    // The failed registrations left no half-made organization behind.
    let raw = db.raw().await;
    let organizations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(organizations, 1);
    let (_, hash) = db
        .store
        .user_by_email("bob@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash, "h1");
}

async fn sessions_expire_and_can_be_deleted(db: TestDb) {
    let user = db.user().await;
    let now = now_ms();
    db.store
        .create_session(user.id, "session-1", now + 60_000)
        .await
        .unwrap();
    db.store
        .create_session(user.id, "session-2", now + 1_000)
        .await
        .unwrap();

    assert_eq!(
        db.store.session_user("session-1", now).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        db.store.session_user("session-2", now + 999).await.unwrap(),
        Some(user.clone())
    );
    // expires_at is exclusive.
    assert_eq!(
        db.store
            .session_user("session-2", now + 1_000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.store.session_user("no-such-session", now).await.unwrap(),
        None
    );

    let error = db
        .store
        .create_session(user.id, "session-1", now + 5)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict), "{error}");
    let error = db
        .store
        .create_session(Uuid::new_v4(), "session-3", now + 5)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound), "{error}");

    assert_eq!(
        db.store.delete_expired_sessions(now + 1_000).await.unwrap(),
        1
    );
    assert!(db.store.delete_session("session-1").await.unwrap());
    assert!(!db.store.delete_session("session-1").await.unwrap());
    assert_eq!(db.store.session_user("session-1", now).await.unwrap(), None);
}

async fn disabled_users_lose_sessions_and_keys(db: TestDb) {
    let user = db.user().await;
    let other = db.user().await;
    let now = now_ms();
    for (who, token) in [(&user, "s-user"), (&other, "s-other")] {
        db.store
            .create_session(who.id, token, now + 60_000)
            .await
            .unwrap();
        db.store
            .create_api_key(NewApiKey {
                user_id: Some(who.id),
                organization_id: who.organization_id,
                team_id: None,
                name: "k".into(),
                prefix: "ai-hub-k".into(),
                key_hash: format!("hash-{token}"),
                expires_at: None,
            })
            .await
            .unwrap();
    }

    assert!(db.store.disable_user(user.id, now).await.unwrap());
    assert!(!db.store.disable_user(user.id, now + 1).await.unwrap());
    assert!(!db.store.disable_user(Uuid::new_v4(), now).await.unwrap());

    assert_eq!(db.store.session_user("s-user", now).await.unwrap(), None);
    assert_eq!(db.store.api_key_by_hash("hash-s-user").await.unwrap(), None);
    let disabled = db.store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(disabled.disabled_at, Some(now));
    // Login still finds the account, so it can say why it is refused.
    let (by_email, _) = db.store.user_by_email(&user.email).await.unwrap().unwrap();
    assert_eq!(by_email.disabled_at, Some(now));

    // Other users are untouched.
    assert_eq!(
        db.store.session_user("s-other", now).await.unwrap(),
        Some(other.clone())
    );
    assert!(
        db.store
            .api_key_by_hash("hash-s-other")
            .await
            .unwrap()
            .is_some()
    );
}
