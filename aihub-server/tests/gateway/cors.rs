//! CORS: browsers on a configured origin can call the gateway; others get no CORS headers.

use serde_json::json;

use super::Gateway;

const ORIGIN: &str = "http://127.0.0.1:5173";

#[tokio::test]
async fn preflight_is_answered_before_auth_and_answers_carry_cors_headers() {
    let gw = Gateway::start_with(&format!("cors_allowed_origins = [\"{ORIGIN}\"]")).await;
    let (_, key) = gw.user("cors@example.com").await;

    // The preflight carries no key: it must not reach the auth layer.
    let pre = gw
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/chat/completions", gw.url),
        )
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-client-request-id,x-stainless-os",
        )
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    let h = pre.headers();
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    let methods = h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for name in [
        "authorization",
        "content-type",
        "x-client-request-id",
        "x-stainless-os",
    ] {
        assert!(allowed.contains(name), "{name} not in {allowed}");
    }

    // The actual request: answered normally, readable by the page.
    let r = gw
        .http
        .post(format!("{}/v1/chat/completions", gw.url))
        .header("origin", ORIGIN)
        .bearer_auth(&key)
        .json(
            &json!({"model": "mock/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for name in [
        "x-request-id",
        "retry-after",
        "x-ratelimit-remaining-requests",
        "x-aihub-cache",
        "x-aihub-cache-age",
    ] {
        assert!(exposed.contains(name), "{name} not in {exposed}");
    }

    // Errors (here: no key) carry the headers too, so the page can read them.
    let r = gw
        .http
        .post(format!("{}/v1/chat/completions", gw.url))
        .header("origin", ORIGIN)
        .json(&json!({"model": "mock/gpt-4o-mini", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);

    // Another origin is not allowed.
    let r = gw
        .http
        .get(format!("{}/v1/models", gw.url))
        .header("origin", "http://evil.example")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    gw.stop().await;
}

#[tokio::test]
async fn without_the_setting_there_are_no_cors_headers() {
    let gw = Gateway::start().await;
    let pre = gw
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/chat/completions", gw.url),
        )
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(pre.headers().get("access-control-allow-origin").is_none());
    gw.stop().await;
}

#[tokio::test]
async fn any_origin_with_a_star() {
    let gw = Gateway::start_with("cors_allowed_origins = [\"*\"]").await;
    let r = gw
        .http
        .get(format!("{}/health", gw.url))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    gw.stop().await;
}
