//! API keys: listing, revocation, expiry, ownership and last use.

use std::time::Duration;

use aihub_server::store::{ApiKey, NewApiKey, StoreError, User};
use sqlx::Executor;
use uuid::Uuid;

use crate::harness::{TestDb, now_ms};

on_both_backends!(
    keys_are_listed_newest_first_without_hashes,
    only_the_owner_can_revoke_and_lookups_see_it_at_once,
    expired_keys_report_their_expiry,
    keys_must_belong_to_a_membership_and_team,
    last_use_only_moves_forward,
);

fn new_key(user: &User, hash: &str, expires_at: Option<i64>) -> NewApiKey {
    NewApiKey {
        user_id: Some(user.id),
        organization_id: user.organization_id,
        team_id: None,
        name: format!("key {}", &hash[..4]),
        prefix: format!("ai-hub-{}", &hash[..4]),
        key_hash: hash.to_owned(),
        expires_at,
    }
}

async fn keys_are_listed_newest_first_without_hashes(db: TestDb) {
    let user = db.user().await;
    let other = db.user().await;
    let mut created = Vec::new();
    for hash in ["4f1c0e-first", "9a77d2-second", "b03e15-third"] {
        created.push(
            db.store
                .create_api_key(new_key(&user, hash, None))
                .await
                .unwrap(),
        );
        // Distinct creation times, so "newest first" is about time and not the id tiebreak.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    db.store
        .create_api_key(new_key(&other, "c0ffee-other", None))
        .await
        .unwrap();

    let listed = db.store.list_api_keys(user.id).await.unwrap();
    let expected: Vec<ApiKey> = created.iter().rev().cloned().collect();
    assert_eq!(listed, expected);
    assert_eq!(listed[0].name, "key b03e");
    assert_eq!(listed[0].prefix, "ai-hub-b03e");
    let shown = format!("{listed:?}");
    for hash in ["4f1c0e-first", "9a77d2-second", "b03e15-third"] {
        assert!(!shown.contains(hash), "a listing shows the hash {hash}");
    }
    assert_eq!(
        db.store.list_api_keys(Uuid::new_v4()).await.unwrap(),
        vec![]
    );
    // The hashes are stored, just never handed out with a key.
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT key_hash FROM api_keys WHERE user_id = $1 ORDER BY key_hash")
            .bind(user.id.to_string())
            .fetch_all(&db.raw().await)
            .await
            .unwrap();
    assert_eq!(stored, ["4f1c0e-first", "9a77d2-second", "b03e15-third"]);
}

async fn only_the_owner_can_revoke_and_lookups_see_it_at_once(db: TestDb) {
    let owner = db.user().await;
    let stranger = db.user().await;
    let key = db
        .store
        .create_api_key(new_key(&owner, "aaaa-owner", None))
        .await
        .unwrap();
    let now = now_ms();

    let before = db
        .store
        .api_key_by_hash("aaaa-owner")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, key);
    assert!(before.is_active(now));

    assert!(
        !db.store
            .revoke_api_key(stranger.id, key.id, now)
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .revoke_api_key(owner.id, Uuid::new_v4(), now)
            .await
            .unwrap()
    );
    let still = db
        .store
        .api_key_by_hash("aaaa-owner")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.revoked_at, None);

    assert!(
        db.store
            .revoke_api_key(owner.id, key.id, now)
            .await
            .unwrap()
    );
    let revoked = db
        .store
        .api_key_by_hash("aaaa-owner")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(now));
    assert!(!revoked.is_active(now));
    // A second revocation changes nothing, and keeps the first time.
    assert!(
        !db.store
            .revoke_api_key(owner.id, key.id, now + 10)
            .await
            .unwrap()
    );
    let listed = db.store.list_api_keys(owner.id).await.unwrap();
    assert_eq!(listed[0].revoked_at, Some(now));
    assert_eq!(
        db.store.api_key_by_hash("no-such-hash").await.unwrap(),
        None
    );
}

async fn expired_keys_report_their_expiry(db: TestDb) {
    let user = db.user().await;
    let now = now_ms();
    db.store
        .create_api_key(new_key(&user, "eeee-expired", Some(now - 1)))
        .await
        .unwrap();
    db.store
        .create_api_key(new_key(&user, "ffff-future", Some(now + 3_600_000)))
        .await
        .unwrap();

    let expired = db
        .store
        .api_key_by_hash("eeee-expired")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(expired.expires_at, Some(now - 1));
    assert_eq!(expired.revoked_at, None);
    assert!(!expired.is_active(now));
    let future = db
        .store
        .api_key_by_hash("ffff-future")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(future.expires_at, Some(now + 3_600_000));
    assert!(future.is_active(now));
    assert!(!future.is_active(now + 3_600_000));
}

async fn keys_must_belong_to_a_membership_and_team(db: TestDb) {
    let user = db.user().await;
    let other = db.user().await;

    // Not a member of someone else's organization.
    let mut foreign = new_key(&user, "1111-foreign", None);
    foreign.organization_id = other.organization_id;
    let error = db.store.create_api_key(foreign).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound), "{error}");

    // A team that does not exist.
    let mut no_team = new_key(&user, "2222-noteam", None);
    no_team.team_id = Some(Uuid::new_v4());
    let error = db.store.create_api_key(no_team).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound), "{error}");

    // A team of another organization.
    let raw = db.raw().await;
    let team_id = Uuid::new_v4();
    raw.execute(
        sqlx::query(
            "INSERT INTO teams (id, organization_id, name, created_at) VALUES ($1, $2, 'red', 0)",
        )
        .bind(team_id.to_string())
        .bind(other.organization_id.to_string()),
    )
    .await
    .unwrap();
    let mut wrong_team = new_key(&user, "3333-wrongteam", None);
    wrong_team.team_id = Some(team_id);
    let error = db.store.create_api_key(wrong_team).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound), "{error}");

    // The other user's key for a team of their own organization needs them in the team.
    let team = db
        .store
        .team_in(other.organization_id, team_id)
        .await
        .unwrap()
        .unwrap();
    let mut outside = new_key(&other, "4444-outside", None);
    outside.team_id = Some(team_id);
    let error = db.store.create_api_key(outside).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound), "{error}");
    db.store
        .set_team_member(&team, other.id, aihub_server::store::TeamRole::Member)
        .await
        .unwrap();
    let mut team_key = new_key(&other, "4444-team", None);
    team_key.team_id = Some(team_id);
    let stored = db.store.create_api_key(team_key).await.unwrap();
    let found = db
        .store
        .api_key_by_hash("4444-team")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, stored);
    assert_eq!(found.team_id, Some(team_id));

    // Hashes are unique.
    let error = db
        .store
        .create_api_key(new_key(&user, "4444-team", None))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict), "{error}");
    assert_eq!(db.store.list_api_keys(user.id).await.unwrap(), vec![]);
}

async fn last_use_only_moves_forward(db: TestDb) {
    let user = db.user().await;
    let a = db
        .store
        .create_api_key(new_key(&user, "aaaa-a", None))
        .await
        .unwrap();
    let b = db
        .store
        .create_api_key(new_key(&user, "bbbb-b", None))
        .await
        .unwrap();
    let last_used =
        |keys: Vec<ApiKey>, id: Uuid| keys.into_iter().find(|k| k.id == id).unwrap().last_used_at;

    db.store.touch_api_keys(&[]).await.unwrap();
    db.store.touch_api_keys(&[(a.id, 1_000)]).await.unwrap();
    let keys = db.store.list_api_keys(user.id).await.unwrap();
    assert_eq!(last_used(keys.clone(), a.id), Some(1_000));
    assert_eq!(last_used(keys, b.id), None);

    // An older time (a batch that arrived late) does not move it back; unknown ids are ignored;
    // the same key twice in one batch keeps the later time.
    db.store
        .touch_api_keys(&[
            (a.id, 500),
            (Uuid::new_v4(), 9_999),
            (b.id, 2_000),
            (b.id, 1_500),
        ])
        .await
        .unwrap();
    let keys = db.store.list_api_keys(user.id).await.unwrap();
    assert_eq!(last_used(keys.clone(), a.id), Some(1_000));
    assert_eq!(last_used(keys, b.id), Some(2_000));

    db.store.touch_api_keys(&[(a.id, 3_000)]).await.unwrap();
    let found = db.store.api_key_by_hash("aaaa-a").await.unwrap().unwrap();
    assert_eq!(found.last_used_at, Some(3_000));
}
