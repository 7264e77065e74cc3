//! Who may see and change what in the management API (the rights matrix of
//! `aihub_server::auth::Principal`): each refusal's status and error, and that a refused
//! request changed nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Gateway, MASTER, WITHOUT_MASTER_KEY};

/// Asserts an answer is the refusal `(status, type, code)` in OpenAI's error shape.
fn refused(answer: &(u16, Value), status: u16, kind: &str, code: Option<&str>) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    let e = &body["error"];
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(e["type"], kind, "{body}");
    assert!(e.get("param").is_some(), "{body}");
    assert_eq!(e["code"], code.map_or(Value::Null, Value::from), "{body}");
}

/// A user's id, key id and session token, with their API key: `(user_id, key_id, token, key)`.
async fn account(g: &Gateway, email: &str) -> (String, String, String, String) {
    let (token, key) = g.user(email).await;
    let (_, keys) = g.get("/api/v1/auth/api-keys", Some(&token)).await;
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let (_, login) = g
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": email, "password": "a long password"}),
        )
        .await;
    let user_id = login["user"]["id"].as_str().unwrap().to_owned();
    (user_id, key_id, token, key)
}

/// Every route of the operator, with a body it would accept.
fn admin_routes(user_id: &str, key_id: &str) -> Vec<(Method, String, Option<Value>)> {
    let budget = json!({"hard_limit": "1"});
    vec![
        (
            Method::POST,
            "/api/v1/admin/users".into(),
            Some(json!({"email": "new@example.com", "password": "a long password"})),
        ),
        (
            Method::POST,
            "/api/v1/admin/api-keys".into(),
            Some(json!({"email": "new@example.com", "name": "x"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/admin/users/{user_id}/plan"),
            Some(json!({"plan": "pro"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/admin/users/{user_id}/budget"),
            Some(budget.clone()),
        ),
        (
            Method::DELETE,
            format!("/api/v1/admin/users/{user_id}/budget"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/admin/api-keys/{key_id}/budget"),
            Some(budget),
        ),
        (
            Method::DELETE,
            format!("/api/v1/admin/api-keys/{key_id}/budget"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/admin/api-keys/{key_id}/models"),
            Some(json!({"models": null})),
        ),
        (
            Method::PUT,
            format!("/api/v1/admin/api-keys/{key_id}/limits"),
            Some(json!({"rpm_limit": 1})),
        ),
    ]
}

#[tokio::test]
async fn only_the_master_key_reaches_the_admin_routes() {
    let g = Gateway::start().await;
    let (user_id, key_id, token, key) = account(&g, "not-an-admin@example.com").await;
    for (method, path, body) in admin_routes(&user_id, &key_id) {
        for bearer in [key.as_str(), token.as_str(), "not-the-master-key"] {
            let answer = g
                .call(method.clone(), &path, Some(bearer), body.as_ref())
                .await;
            refused(
                &answer,
                401,
                "authentication_error",
                Some("invalid_master_key"),
            );
        }
        let answer = g.call(method.clone(), &path, None, body.as_ref()).await;
        refused(
            &answer,
            401,
            "authentication_error",
            Some("missing_api_key"),
        );
    }
    // Nothing changed: the plan, and no budget or limit was set.
    let (_, me) = g.get("/api/v1/usage/current", Some(&token)).await;
    assert_eq!(me["plan"]["id"], "free");
    let (_, budgets) = g.get("/api/v1/budgets", Some(&token)).await;
    assert_eq!(budgets["data"], json!([]));
    // A method the route does not have is still 405, whoever asks.
    let (status, _) = g
        .call(Method::PATCH, "/api/v1/admin/users", None, None)
        .await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn without_a_master_key_the_admin_routes_are_disabled() {
    let g = Gateway::start_with(WITHOUT_MASTER_KEY).await;
    let (user_id, key_id, token, _) = account(&g, "no-admin@example.com").await;
    for (method, path, body) in admin_routes(&user_id, &key_id) {
        for bearer in [Some(MASTER), Some(token.as_str()), None] {
            let answer = g.call(method.clone(), &path, bearer, body.as_ref()).await;
            refused(&answer, 403, "permission_error", None);
        }
    }
    // The member's own routes work as ever.
    let path = format!("/api/v1/auth/api-keys/{key_id}/limits");
    let (status, body) = g
        .call(
            Method::PUT,
            &path,
            Some(&token),
            Some(&json!({"rpm_limit": 5})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_member_cannot_see_or_change_another_users_keys() {
    let g = Gateway::start().await;
    let (_, alices_key, alice, _) = account(&g, "alice@example.com").await;
    let (_, _, bob, _) = account(&g, "bob@example.com").await;
    let budget = format!("/api/v1/auth/api-keys/{alices_key}/budget");
    let limits = format!("/api/v1/auth/api-keys/{alices_key}/limits");
    let not_found = Some("api_key_not_found");
    let tries = [
        (
            Method::PUT,
            budget.clone(),
            Some(json!({"hard_limit": "100"})),
        ),
        (Method::DELETE, budget.clone(), None),
        (Method::PUT, limits.clone(), Some(json!({"rpm_limit": 1}))),
        (
            Method::DELETE,
            format!("/api/v1/auth/api-keys/{alices_key}"),
            None,
        ),
    ];
    for (method, path, body) in tries {
        let answer = g.call(method, &path, Some(&bob), body.as_ref()).await;
        refused(&answer, 404, "invalid_request_error", not_found);
    }
    // Another user's key answers exactly as a key that does not exist.
    let missing = format!("/api/v1/auth/api-keys/{}/budget", uuid_like());
    let (status, body) = g
        .call(
            Method::PUT,
            &missing,
            Some(&bob),
            Some(&json!({"hard_limit": "100"})),
        )
        .await;
    refused(&(status, body), 404, "invalid_request_error", not_found);
    // Bob sees none of Alice's keys; Alice's key is untouched.
    let (_, bobs) = g.get("/api/v1/budgets", Some(&bob)).await;
    assert_eq!(bobs["data"], json!([]));
    let (_, keys) = g.get("/api/v1/auth/api-keys", Some(&bob)).await;
    assert!(!keys.to_string().contains(&alices_key), "{keys}");
    let (_, alices) = g.get("/api/v1/budgets", Some(&alice)).await;
    assert_eq!(alices["data"], json!([]));
    let (_, keys) = g.get("/api/v1/auth/api-keys", Some(&alice)).await;
    assert_eq!(keys["data"][0]["status"], "active");
}

/// An id no key has.
fn uuid_like() -> &'static str {
    "00000000-0000-4000-8000-000000000000"
}

#[tokio::test]
async fn an_owner_cannot_change_or_remove_the_admins_budget_on_their_key() {
    let g = Gateway::start().await;
    let (_, key_id, token, _) = account(&g, "owner@example.com").await;
    let admin_path = format!("/api/v1/admin/api-keys/{key_id}/budget");
    let own_path = format!("/api/v1/auth/api-keys/{key_id}/budget");
    let (status, admins) = g
        .call(
            Method::PUT,
            &admin_path,
            Some(MASTER),
            Some(&json!({"hard_limit": "3"})),
        )
        .await;
    assert_eq!((status, admins["set_by"].clone()), (200, json!("admin")));

    // The owner's DELETE finds no budget of their own; the admin's path refuses them.
    let answer = g.call(Method::DELETE, &own_path, Some(&token), None).await;
    refused(
        &answer,
        404,
        "invalid_request_error",
        Some("budget_not_found"),
    );
    for method in [Method::PUT, Method::DELETE] {
        let answer = g
            .call(
                method,
                &admin_path,
                Some(&token),
                Some(&json!({"hard_limit": "1000"})),
            )
            .await;
        refused(
            &answer,
            401,
            "authentication_error",
            Some("invalid_master_key"),
        );
    }
    // Their PUT sets a budget of their own beside the admin's.
    let (status, own) = g
        .call(
            Method::PUT,
            &own_path,
            Some(&token),
            Some(&json!({"hard_limit": "1000"})),
        )
        .await;
    assert_eq!((status, own["set_by"].clone()), (200, json!("owner")));
    let (_, list) = g.get("/api/v1/budgets", Some(&token)).await;
    let admin = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["set_by"] == "admin")
        .unwrap_or_else(|| panic!("the owner sees the admin's budget: {list}"));
    assert_eq!(admin["hard_limit"], "3");
    assert_eq!(admin["id"], admins["id"]);
}

#[tokio::test]
async fn api_keys_read_their_owners_account_but_manage_nothing() {
    let g = Gateway::start().await;
    let (_, key_id, token, key) = account(&g, "key-holder@example.com").await;
    let forbidden = [
        (
            Method::POST,
            "/api/v1/auth/api-keys".to_owned(),
            Some(json!({"name": "minted by a key"})),
        ),
        (Method::GET, "/api/v1/auth/api-keys".to_owned(), None),
        (
            Method::DELETE,
            format!("/api/v1/auth/api-keys/{key_id}"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/auth/api-keys/{key_id}/budget"),
            Some(json!({"hard_limit": "1"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/auth/api-keys/{key_id}/budget"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/auth/api-keys/{key_id}/limits"),
            Some(json!({"rpm_limit": 1})),
        ),
    ];
    for (method, path, body) in forbidden {
        let answer = g.call(method, &path, Some(&key), body.as_ref()).await;
        refused(&answer, 403, "permission_error", None);
    }
    // Its own key is still live and limitless, and it minted no other.
    let (_, keys) = g.get("/api/v1/auth/api-keys", Some(&token)).await;
    assert_eq!(keys["data"].as_array().unwrap().len(), 1);
    assert_eq!(keys["data"][0]["status"], "active");
    // It reads the owner's usage and budgets.
    for path in ["/api/v1/usage/current", "/api/v1/budgets"] {
        let (status, body) = g.get(path, Some(&key)).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, body) = g.get("/api/v1/usage/history", Some(&key)).await;
    assert_eq!((status, body["object"].clone()), (200, json!("list")));
}

#[tokio::test]
async fn the_operator_acts_as_the_admin_on_the_owners_key_routes() {
    let g = Gateway::start().await;
    let (_, key_id, token, _) = account(&g, "operated@example.com").await;
    let own_path = format!("/api/v1/auth/api-keys/{key_id}/budget");
    let (status, body) = g
        .call(
            Method::PUT,
            &own_path,
            Some(MASTER),
            Some(&json!({"hard_limit": "5"})),
        )
        .await;
    assert_eq!(
        (status, body["set_by"].clone()),
        (200, json!("admin")),
        "{body}"
    );
    // The owner cannot remove it through the same path; the operator can.
    let answer = g.call(Method::DELETE, &own_path, Some(&token), None).await;
    refused(
        &answer,
        404,
        "invalid_request_error",
        Some("budget_not_found"),
    );
    let (status, body) = g.call(Method::DELETE, &own_path, Some(MASTER), None).await;
    assert_eq!(
        (status, body["set_by"].clone()),
        (200, json!("admin")),
        "{body}"
    );

    // The master key belongs to no user: it has no keys, usage or budgets of its own.
    for (method, path) in [
        (Method::GET, "/api/v1/auth/api-keys"),
        (Method::POST, "/api/v1/auth/api-keys"),
        (Method::GET, "/api/v1/usage/current"),
        (Method::GET, "/api/v1/usage/history"),
        (Method::GET, "/api/v1/usage/cost"),
        (Method::GET, "/api/v1/budgets"),
    ] {
        let body = (method == Method::POST).then(|| json!({"name": "operator's"}));
        let answer = g.call(method, path, Some(MASTER), body.as_ref()).await;
        refused(&answer, 403, "permission_error", None);
    }
}

#[tokio::test]
async fn callers_the_gateway_cannot_identify_are_refused_with_401() {
    let g = Gateway::start().await;
    let (_, key_id, token, key) = account(&g, "revoked@example.com").await;
    let (status, _) = g
        .call(
            Method::DELETE,
            &format!("/api/v1/auth/api-keys/{key_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/auth/api-keys",
        "/api/v1/usage/current",
        "/api/v1/budgets",
    ] {
        let missing = g.get(path, None).await;
        refused(
            &missing,
            401,
            "authentication_error",
            Some("missing_credentials"),
        );
        let stale = g.get(path, Some("sess-not-a-session")).await;
        refused(&stale, 401, "authentication_error", Some("invalid_session"));
        let revoked = g.get(path, Some(&key)).await;
        refused(
            &revoked,
            401,
            "authentication_error",
            Some("api_key_revoked"),
        );
        let unknown = g.get(path, Some("ai-hub-not-a-real-key")).await;
        refused(
            &unknown,
            401,
            "authentication_error",
            Some("invalid_api_key"),
        );
    }
    // Anyone may read the plans.
    assert_eq!(g.get("/api/v1/plans", None).await.0, 200);
}
