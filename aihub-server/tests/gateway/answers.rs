//! The management API's answers, field by field and in order: what clients and the console
//! read. Values are checked where their form is the contract (decimal strings, nulls).

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Gateway, MASTER, chat};

/// The field names of an object, in the order the gateway wrote them.
fn fields(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

const USER: [&str; 6] = [
    "id",
    "email",
    "plan",
    "organization_id",
    "instance_role",
    "created_at",
];
const KEY: [&str; 13] = [
    "id",
    "object",
    "name",
    "user_id",
    "organization_id",
    "team_id",
    "prefix",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
    "status",
    "models",
];
const PLAN: [&str; 8] = [
    "id",
    "object",
    "name",
    "price_monthly",
    "monthly_tokens",
    "rpm",
    "tpm",
    "max_concurrent",
];
const BUDGET: [&str; 12] = [
    "id",
    "object",
    "scope",
    "scope_id",
    "period",
    "currency",
    "hard_limit",
    "soft_limit",
    "set_by",
    "period_start",
    "spent",
    "updated_at",
];

#[tokio::test]
async fn accounts_and_keys_answer_with_their_documented_fields() {
    let g = Gateway::start().await;
    let creds = json!({"email": "fields@example.com", "password": "a long password"});
    let (status, user) = g.post("/api/v1/auth/register", None, &creds).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(fields(&user), USER);
    let (_, login) = g.post("/api/v1/auth/login", None, &creds).await;
    assert_eq!(
        fields(&login),
        ["token", "token_type", "expires_at", "user"]
    );
    assert_eq!(login["token_type"], "bearer");
    assert_eq!(fields(&login["user"]), USER);
    let token = login["token"].as_str().unwrap();

    let (status, created) = g
        .post("/api/v1/auth/api-keys", Some(token), &json!({"name": "k"}))
        .await;
    assert_eq!(status, 201);
    let mut with_secret = KEY.to_vec();
    with_secret.push("key");
    assert_eq!(fields(&created), with_secret);
    assert_eq!(created["object"], "api_key");
    assert_eq!(created["expires_at"], Value::Null);
    let (_, list) = g.get("/api/v1/auth/api-keys", Some(token)).await;
    assert_eq!(fields(&list), ["object", "data"]);
    assert_eq!(list["object"], "list");
    assert_eq!(fields(&list["data"][0]), KEY);

    let (status, admin_user) = g
        .post(
            "/api/v1/admin/users",
            Some(MASTER),
            &json!({"email": "fields-admin@example.com", "password": "a long password"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(fields(&admin_user), USER);
    let (status, admin_key) = g
        .post(
            "/api/v1/admin/api-keys",
            Some(MASTER),
            &json!({"email": "fields-admin@example.com", "name": "ci"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(fields(&admin_key), with_secret);
    let path = format!(
        "/api/v1/admin/users/{}/plan",
        admin_user["id"].as_str().unwrap()
    );
    let (status, moved) = g
        .call(
            Method::PUT,
            &path,
            Some(MASTER),
            Some(&json!({"plan": "pro"})),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(fields(&moved), USER);

    let id = created["id"].as_str().unwrap();
    let (status, revoked) = g
        .call(
            Method::DELETE,
            &format!("/api/v1/auth/api-keys/{id}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        revoked,
        json!({"id": id, "object": "api_key", "revoked": true})
    );
    assert_eq!(fields(&revoked), ["id", "object", "revoked"]);
}

#[tokio::test]
async fn plans_budgets_and_limits_answer_with_their_documented_fields() {
    let g = Gateway::start_setup(None, "", "").await;
    let (_, plans) = g.get("/api/v1/plans", None).await;
    assert_eq!(fields(&plans), ["object", "data"]);
    assert_eq!(fields(&plans["data"][0]), PLAN);
    assert_eq!(
        fields(&plans["data"][0]["price_monthly"]),
        ["currency", "amount"]
    );

    let (token, _) = g.user("budget-fields@example.com").await;
    let (_, keys) = g.get("/api/v1/auth/api-keys", Some(&token)).await;
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let own = format!("/api/v1/auth/api-keys/{key_id}/budget");
    let (status, budget) = g
        .call(
            Method::PUT,
            &own,
            Some(&token),
            Some(&json!({"hard_limit": "2.50"})),
        )
        .await;
    assert_eq!(status, 200, "{budget}");
    assert_eq!(fields(&budget), BUDGET);
    assert_eq!(budget["object"], "budget");
    assert_eq!(budget["scope"], "api_key");
    assert_eq!(budget["hard_limit"], "2.5");
    assert_eq!(budget["soft_limit"], Value::Null);
    assert_eq!(budget["spent"], "0");
    assert!(budget["period_start"].is_string());
    let (status, lifetime) = g
        .call(
            Method::PUT,
            &own,
            Some(&token),
            Some(&json!({"soft_limit": 1, "period": "lifetime"})),
        )
        .await;
    assert_eq!(status, 200, "{lifetime}");
    assert_eq!(lifetime["period_start"], Value::Null);
    assert_eq!(lifetime["soft_limit"], "1");

    let (_, me) = g.get("/api/v1/usage/current", Some(&token)).await;
    let user_id = {
        let (_, login) = g
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"email": "budget-fields@example.com", "password": "a long password"}),
            )
            .await;
        login["user"]["id"].as_str().unwrap().to_owned()
    };
    assert_eq!(fields(&me["plan"]), PLAN);
    let (status, user_budget) = g
        .call(
            Method::PUT,
            &format!("/api/v1/admin/users/{user_id}/budget"),
            Some(MASTER),
            Some(&json!({"hard_limit": "10", "currency": "CNY"})),
        )
        .await;
    assert_eq!(status, 200, "{user_budget}");
    assert_eq!(fields(&user_budget), BUDGET);
    assert_eq!(user_budget["scope"], "user");
    assert_eq!(user_budget["set_by"], "admin");
    assert_eq!(user_budget["currency"], "CNY");

    let (_, list) = g.get("/api/v1/budgets", Some(&token)).await;
    assert_eq!(fields(&list), ["object", "data"]);
    assert_eq!(list["data"].as_array().unwrap().len(), 3, "{list}");
    for b in list["data"].as_array().unwrap() {
        assert_eq!(fields(b), BUDGET);
    }

    let (status, deleted) = g
        .call(
            Method::DELETE,
            &format!("{own}?period=lifetime"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(
        deleted,
        json!({"object": "budget", "scope": "api_key", "scope_id": key_id,
               "period": "lifetime", "set_by": "owner", "deleted": true})
    );
    assert_eq!(
        fields(&deleted),
        ["object", "scope", "scope_id", "period", "set_by", "deleted"]
    );

    let (status, limits) = g
        .call(
            Method::PUT,
            &format!("/api/v1/auth/api-keys/{key_id}/limits"),
            Some(&token),
            Some(&json!({"rpm_limit": 5, "tpm_limit": null, "max_concurrent": 2})),
        )
        .await;
    assert_eq!(status, 200, "{limits}");
    assert_eq!(
        limits,
        json!({"id": key_id, "object": "api_key.limits", "rpm_limit": 5,
               "tpm_limit": null, "max_concurrent": 2, "cache": null})
    );
    assert_eq!(
        fields(&limits),
        [
            "id",
            "object",
            "rpm_limit",
            "tpm_limit",
            "max_concurrent",
            "cache"
        ]
    );
}

#[tokio::test]
async fn usage_answers_with_its_documented_fields() {
    let g = Gateway::start_setup(None, "", "").await;
    let (token, key) = g.user("usage-fields@example.com").await;
    let (status, _) = g
        .post(
            "/v1/chat/completions",
            Some(&key),
            &chat("mock/gpt-4o-mini", "hello"),
        )
        .await;
    assert_eq!(status, 200);
    g.wait_for_records(&token, 1).await;

    let (_, current) = g.get("/api/v1/usage/current", Some(&key)).await;
    assert_eq!(
        fields(&current),
        [
            "object",
            "period",
            "plan",
            "quota",
            "requests",
            "prompt_tokens",
            "completion_tokens",
            "cached_tokens",
            "reasoning_tokens",
            "total_tokens",
            "cost"
        ]
    );
    assert_eq!(current["object"], "usage.current");
    assert_eq!(fields(&current["period"]), ["start", "end", "timezone"]);
    assert_eq!(fields(&current["plan"]), PLAN);
    assert_eq!(
        fields(&current["quota"]),
        ["limit", "used", "remaining", "resets_at"]
    );
    assert_eq!(current["requests"], 1);
    assert_eq!(
        current["cost"],
        json!([{"currency": "USD", "amount": "0.000006"}])
    );

    let (_, history) = g.get("/api/v1/usage/history", Some(&token)).await;
    assert_eq!(
        fields(&history),
        ["object", "data", "has_more", "next_cursor"]
    );
    assert_eq!(history["next_cursor"], Value::Null);
    assert_eq!(
        fields(&history["data"][0]),
        [
            "id",
            "request_id",
            "created_at",
            "api_key_id",
            "model",
            "provider",
            "upstream_model",
            "upstream_request_id",
            "attempts",
            "usage_estimated",
            "prompt_tokens",
            "completion_tokens",
            "cached_tokens",
            "reasoning_tokens",
            "total_tokens",
            "cost",
            "currency",
            "latency_ms",
            "ttft_ms",
            "status",
            "error_type",
            "stream",
            "cache_hit",
            "attempt_log"
        ]
    );
    assert_eq!(
        fields(&history["data"][0]["attempt_log"][0]),
        ["deployment", "model", "status", "latency_ms", "error"]
    );
    assert_eq!(history["data"][0]["cost"], "0.000006");

    let (_, cost) = g.get("/api/v1/usage/cost", Some(&token)).await;
    assert_eq!(
        fields(&cost),
        ["object", "period", "total", "by_model", "by_day"]
    );
    assert_eq!(cost["object"], "usage.cost");
    assert_eq!(fields(&cost["period"]), ["start", "end"]);
    assert_eq!(
        cost["total"],
        json!([{"currency": "USD", "amount": "0.000006"}])
    );
    assert_eq!(
        fields(&cost["by_model"][0]),
        [
            "model",
            "currency",
            "requests",
            "prompt_tokens",
            "completion_tokens",
            "cost"
        ]
    );
    assert_eq!(
        fields(&cost["by_day"][0]),
        ["day", "currency", "requests", "total_tokens", "cost"]
    );
}
