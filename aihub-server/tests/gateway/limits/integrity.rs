//! Spend that no request can escape: the admin's budget on a key binds its owner, and
//! requests let through while Redis is away are counted once it returns. (Lost Redis state
//! re-seeded rather than reset is tested on the limiter, against a Redis of the test's own:
//! `limits::tests` in the library.)

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{RedisRelay, cost_of_one, send, small};
use crate::{Gateway, MASTER, UNLIMITED_FREE};

/// A request whose worst case no small budget affords, so that it is always refused with
/// the counter's state in the message.
fn huge() -> Value {
    let mut body = small("the same prompt");
    body["max_tokens"] = json!(1_000_000);
    body
}

/// The `spent` amount (nano-units) a budget refusal reports: what the limit counter holds.
fn spent_in(refusal: &Value) -> i64 {
    let message = refusal["error"]["message"].as_str().unwrap_or_default();
    let amount = message
        .split_once("spent ")
        .and_then(|(_, rest)| rest.split_once(' '))
        .map(|(amount, _)| amount)
        .unwrap_or_else(|| panic!("no spend in {refusal}"));
    let d: Decimal = amount.parse().unwrap();
    rust_decimal::prelude::ToPrimitive::to_i64(&(d * Decimal::from(1_000_000_000))).unwrap()
}

/// Sends `huge()` and returns the spend its refusal reports.
async fn counter_spend(gw: &Gateway, key: &str) -> i64 {
    let (status, _, body) = send(&gw.http, &gw.url, key, &huge()).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
    spent_in(&body)
}

#[tokio::test]
async fn a_keys_owner_cannot_raise_or_remove_the_admins_budget_on_it() {
    let gw = Gateway::start_setup(None, "", UNLIMITED_FREE).await;
    let one = cost_of_one(&gw).await;
    let (token, key) = gw.user("owner-vs-admin@example.com").await;
    let key_id = gw.key_id(&token).await;
    let path = format!("/api/v1/admin/api-keys/{key_id}/budget");
    let limit = Decimal::new(3 * one, 9).to_string();
    let (status, body) = gw
        .put(
            &path,
            MASTER,
            &json!({"hard_limit": limit, "period": "lifetime"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["set_by"], "admin", "{body}");

    // The owner sets a budget of their own, far higher, and deletes it again, and tries to
    // delete the admin's: none of it touches the admin's.
    let own = format!("/api/v1/auth/api-keys/{key_id}/budget");
    let (status, body) = gw
        .put(
            &own,
            &token,
            &json!({"hard_limit": "1000", "period": "lifetime"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["set_by"], "owner", "{body}");
    let (_, list) = gw.get("/api/v1/budgets", Some(&token)).await;
    let mut setters: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["set_by"].as_str().unwrap_or("?"))
        .collect();
    setters.sort_unstable();
    assert_eq!(setters, ["admin", "owner"], "{list}");
    let deleted = gw
        .http
        .delete(format!("{}{own}?period=lifetime", gw.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    let again = gw
        .http
        .delete(format!("{}{own}?period=lifetime", gw.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status().as_u16(),
        404,
        "the admin's budget is not the owner's to delete"
    );
    let (_, list) = gw.get("/api/v1/budgets", Some(&token)).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["data"][0]["set_by"], "admin", "{list}");
    let (status, _) = gw
        .put(
            &own,
            &token,
            &json!({"hard_limit": "1000", "period": "lifetime"}),
        )
        .await;
    assert_eq!(status, 200);

    // Requests are refused at the admin's limit: three requests' worth, less the reservation
    // of the next one.
    let mut passed = 0;
    for _ in 0..10 {
        let (status, _, body) = send(&gw.http, &gw.url, &key, &small("the same prompt")).await;
        if status != 200 {
            assert_eq!(status, 429, "{body}");
            assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
            break;
        }
        passed += 1;
    }
    assert!(
        (1..=3).contains(&passed),
        "{passed} requests passed a budget for 3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_let_through_while_redis_is_away_are_counted_when_it_returns() {
    let relay = RedisRelay::start(0).await;
    let gw = Gateway::start_setup(
        None,
        &format!("redis_url = \"redis://127.0.0.1:{}\"", relay.port),
        &format!(
            "{UNLIMITED_FREE}[limits]\non_backend_error = \"open\"\nbackend_timeout_ms = 300\n"
        ),
    )
    .await;
    let one = cost_of_one(&gw).await;
    let (token, key) = gw.user("caught-up@example.com").await;
    let key_id = gw.key_id(&token).await;
    let (status, body) = gw
        .put(
            &format!("/api/v1/admin/api-keys/{key_id}/budget"),
            MASTER,
            &json!({"hard_limit": Decimal::new(100 * one, 9).to_string()}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = send(&gw.http, &gw.url, &key, &small("the same prompt")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(counter_spend(&gw, &key).await, one);

    relay.cut();
    for _ in 0..3 {
        let (status, _, body) = send(&gw.http, &gw.url, &key, &small("the same prompt")).await;
        assert_eq!(status, 200, "let through unchecked: {body}");
    }
    let _relay = RedisRelay::start(relay.port).await;
    // The three unchecked requests are added to the counter once Redis answers again.
    let mut seen = Vec::new();
    for _ in 0..100 {
        let (status, _, body) = send(&gw.http, &gw.url, &key, &huge()).await;
        if status == 429 && body["error"]["code"] == "insufficient_quota" {
            let spent = spent_in(&body);
            if spent == 4 * one {
                return;
            }
            seen.push(spent);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the counter never caught up to 4 requests of {one}: saw {seen:?}");
}
