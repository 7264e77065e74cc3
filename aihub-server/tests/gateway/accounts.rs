//! Accounts, sessions, keys and the admin API.

use serde_json::json;

use crate::{Gateway, MASTER};

#[tokio::test]
async fn register_login_and_manage_keys() {
    let g = Gateway::start().await;
    let creds = json!({"email": "Carol@Example.com", "password": "correct horse battery"});
    let (status, user) = g.post("/api/v1/auth/register", None, &creds).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["email"], "carol@example.com");
    assert!(
        user["organization_id"].is_string(),
        "every user gets a personal organisation"
    );
    let (status, dup) = g
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "carol@example.com", "password": "another password"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(dup["error"]["param"], "email");
    let (status, _) = g
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "nope", "password": "long enough"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, weak) = g
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "d@example.com", "password": "short"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(weak["error"]["param"], "password");

    let (status, _) = g
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "carol@example.com", "password": "wrong password"}),
        )
        .await;
    assert_eq!(status, 401);
    let (status, login) = g.post("/api/v1/auth/login", None, &creds).await;
    assert_eq!(status, 200);
    let token = login["token"].as_str().unwrap();

    let (status, created) = g
        .post(
            "/api/v1/auth/api-keys",
            Some(token),
            &json!({"name": "laptop"}),
        )
        .await;
    assert_eq!(status, 201);
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("ai-hub-"));
    let (_, list) = g.get("/api/v1/auth/api-keys", Some(token)).await;
    let listed = &list["data"][0];
    assert_eq!(listed["name"], "laptop");
    assert_eq!(listed["status"], "active");
    assert!(key.starts_with(listed["prefix"].as_str().unwrap()));
    assert!(
        listed.get("key").is_none() && !list.to_string().contains(key),
        "the key is shown only once"
    );
    // The key works, and its last use is recorded.
    let (status, _) = g
        .post(
            "/v1/chat/completions",
            Some(key),
            &crate::chat("mock/gpt-4o-mini", "hi"),
        )
        .await;
    assert_eq!(status, 200);
    // Keys' last use is written at most once a second, after the usage record.
    let mut list = serde_json::Value::Null;
    for _ in 0..40 {
        list = g.get("/api/v1/auth/api-keys", Some(token)).await.1;
        if list["data"][0]["last_used_at"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(list["data"][0]["last_used_at"].is_string(), "{list}");
    // Keys cannot mint keys; other users cannot revoke it.
    let (status, _) = g
        .post("/api/v1/auth/api-keys", Some(key), &json!({"name": "x"}))
        .await;
    assert_eq!(status, 403);
    let (other_token, _) = g.user("mallory@example.com").await;
    let id = listed["id"].as_str().unwrap();
    let r = g
        .http
        .delete(format!("{}/api/v1/auth/api-keys/{id}", g.url))
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (status, _) = g
        .post(
            "/v1/chat/completions",
            Some(key),
            &crate::chat("mock/gpt-4o-mini", "hi"),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn admin_api_needs_the_master_key() {
    let g = Gateway::start().await;
    let user = json!({"email": "ops@example.com", "password": "a long password"});
    let (status, _) = g.post("/api/v1/admin/users", Some("wrong"), &user).await;
    assert_eq!(status, 401);
    let (status, _) = g.post("/api/v1/admin/users", Some(MASTER), &user).await;
    assert_eq!(status, 201);
    let (status, created) = g
        .post(
            "/api/v1/admin/api-keys",
            Some(MASTER),
            &json!({"email": "ops@example.com", "name": "ci"}),
        )
        .await;
    assert_eq!(status, 201);
    let key = created["key"].as_str().unwrap();
    let (status, _) = g
        .post(
            "/v1/chat/completions",
            Some(key),
            &crate::chat("mock/gpt-4o-mini", "hi"),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = g
        .post(
            "/api/v1/admin/api-keys",
            Some(MASTER),
            &json!({"email": "nobody@example.com", "name": "ci"}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn usage_history_pages_and_filters() {
    let g = Gateway::start().await;
    let (token, key) = g.user("pager@example.com").await;
    for i in 0..5 {
        let model = if i % 2 == 0 {
            "mock/gpt-4o-mini"
        } else {
            "mock-gemini/gemini-2.5-flash"
        };
        let (status, _) = g
            .post(
                "/v1/chat/completions",
                Some(&key),
                &crate::chat(model, "hi"),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (_, page1) = g.get("/api/v1/usage/history?limit=2", Some(&token)).await;
    assert_eq!(page1["data"].as_array().unwrap().len(), 2);
    assert_eq!(page1["has_more"], true);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = g
        .get(
            &format!("/api/v1/usage/history?limit=2&cursor={cursor}"),
            Some(&token),
        )
        .await;
    let (_, page3) = g
        .get(
            &format!(
                "/api/v1/usage/history?limit=2&cursor={}",
                page2["next_cursor"].as_str().unwrap()
            ),
            Some(&token),
        )
        .await;
    assert_eq!(page3["data"].as_array().unwrap().len(), 1);
    assert_eq!(page3["has_more"], false);
    let mut ids: Vec<String> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| {
            p["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "pages neither overlap nor skip");
    let (_, gemini) = g
        .get(
            "/api/v1/usage/history?model=mock-gemini/gemini-2.5-flash",
            Some(&token),
        )
        .await;
    assert_eq!(gemini["data"].as_array().unwrap().len(), 2);
    let (status, bad) = g
        .get("/api/v1/usage/history?from=someday", Some(&token))
        .await;
    assert_eq!(status, 400);
    assert_eq!(bad["error"]["param"], "from");
    // Another user sees nothing of this.
    let (other, _) = g.user("other@example.com").await;
    let (_, none) = g.get("/api/v1/usage/history", Some(&other)).await;
    assert!(none["data"].as_array().unwrap().is_empty());
}
