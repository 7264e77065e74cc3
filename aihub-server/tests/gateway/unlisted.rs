//! Which models a request may name and what it is billed at (docs/catalog.md, "Models the
//! catalog does not list"): dated snapshots only through the catalog, models the catalog does
//! not know only from a provider that opted in, priced at its `unlisted_price` or refused to
//! callers with a money limit. Each test runs on SQLite and on PostgreSQL.

use std::future::Future;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::limits::harness;
use crate::{Gateway, MASTER, chat};

/// Providers in front of the mock upstream's OpenAI wire: `openai` (the catalog's, so the
/// built-in OpenAI entries and prices apply), `ollama` (keyless, the catalog's local models),
/// `priced` (opted in, with an unlisted price), `unpriced` (opted in, no price) and `listed`
/// (an explicit list, no opt-in); and `claude` (Anthropic's wire, opted in at Claude Sonnet
/// 4.5's rates, so that the mock's scenario names are billed with cache-write prices).
const PROVIDERS: &str = r#"
[plans.free]
name = "Free (tests: unlimited)"

[providers.openai]
base_url = "{mock_openai}"
api_key = "sk-mock"

[providers.ollama]
base_url = "{mock_openai}"
api_key = "sk-mock" # the mock upstream wants one; a local Ollama needs none

[providers.priced]
kind = "openai"
base_url = "{mock_openai}"
api_key = "sk-mock"
allow_unlisted_models = true
unlisted_price = { currency = "USD", input = "1", output = "2", as_of = "2026-12-01", source = "test: our contract" }

[providers.unpriced]
kind = "openai"
base_url = "{mock_openai}"
api_key = "sk-mock"
allow_unlisted_models = true

[providers.claude]
kind = "anthropic"
base_url = "{mock_anthropic}"
api_key = "sk-ant-mock"
allow_unlisted_models = true
unlisted_price = { currency = "USD", input = "3", cached_input = "0.30", cache_write = "3.75", cache_write_1h = "6", output = "15", as_of = "2026-12-01", source = "test: Claude Sonnet 4.5's rates" }

[providers.listed]
kind = "openai"
base_url = "{mock_openai}"
api_key = "sk-mock"
models = ["my-model"]
"#;

/// Runs `test` on a gateway over SQLite, then on one over a fresh PostgreSQL database.
async fn on_both_stores<F, Fut>(test: F)
where
    F: Fn(Gateway) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    test(Gateway::start_setup(None, "", PROVIDERS).await).await;
    harness::in_fresh_postgres(move |db| async move {
        test(Gateway::start_setup(Some(db), "", PROVIDERS).await).await;
    })
    .await;
}

impl Gateway {
    /// A fresh user's key and session token, with an admin's hard budget on the key when
    /// `budget` is set (a decimal string in USD).
    async fn key_with_budget(&self, email: &str, budget: Option<&str>) -> (String, String) {
        let (token, key) = self.user(email).await;
        if let Some(limit) = budget {
            let (_, keys) = self.get("/api/v1/auth/api-keys", Some(&token)).await;
            let id = keys["data"][0]["id"].as_str().unwrap().to_owned();
            let r = self
                .http
                .put(format!("{}/api/v1/admin/api-keys/{id}/budget", self.url))
                .bearer_auth(MASTER)
                .json(&json!({"hard_limit": limit, "currency": "USD"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        }
        (token, key)
    }
}

/// Sends a chat request for `model` saying "hello" (8 prompt and 8 completion tokens at the
/// mock); returns status and body.
async fn hello(g: &Gateway, key: &str, model: &str) -> (u16, Value) {
    g.post("/v1/chat/completions", Some(key), &chat(model, "hello"))
        .await
}

/// Checks that `body` and the only usage record of `token` carry `cost` (None: no cost).
async fn assert_billed(g: &Gateway, token: &str, body: &Value, cost: Option<&str>) {
    assert_eq!(body["usage"]["prompt_tokens"], 8, "{body}");
    assert_eq!(body["usage"]["completion_tokens"], 8, "{body}");
    let rows = g.wait_for_records(token, 1).await;
    match cost {
        Some(cost) => {
            assert_eq!(body["usage"]["cost"], cost, "{body}");
            assert_eq!(body["usage"]["cost_currency"], "USD", "{body}");
            assert_eq!(rows[0]["cost"], cost, "{}", rows[0]);
        }
        None => {
            assert!(body["usage"].get("cost").is_none(), "{body}");
            assert!(rows[0]["cost"].is_null(), "{}", rows[0]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dated_snapshot_is_billed_at_its_catalog_price_never_for_free() {
    on_both_stores(|g| async move {
        // A budget far below what any request could cost: a priced request is refused.
        let (_, tiny) = g
            .key_with_budget("tiny@example.com", Some("0.000001"))
            .await;
        for model in ["openai/gpt-4o-mini", "openai/gpt-4o-mini-2024-07-18"] {
            let (status, body) = hello(&g, &tiny, model).await;
            assert_eq!(status, 429, "{model}: {body}");
            assert_eq!(
                body["error"]["code"], "insufficient_quota",
                "{model}: {body}"
            );
        }
        assert!(
            g.mock.requests().is_empty(),
            "a refused request went upstream"
        );

        // gpt-4o-mini-2024-07-18 is the snapshot gpt-4o-mini names, at its price:
        //   8 × 0.15 + 8 × 0.60 = 1.2 + 4.8 = 6 per million → 0.000006 USD.
        let (token, key) = g.key_with_budget("mini@example.com", None).await;
        let (status, body) = hello(&g, &key, "openai/gpt-4o-mini-2024-07-18").await;
        assert_eq!(status, 200, "{body}");
        assert_billed(&g, &token, &body, Some("0.000006")).await;
        // An alias is the same model: it is asked for under the catalog entry's name.
        assert_eq!(g.mock.requests()[0].body["model"], "gpt-4o-mini");

        // gpt-4o-2024-05-13 has a price of its own, not gpt-4o's 2.50 / 10:
        //   8 × 5 + 8 × 15 = 40 + 120 = 160 per million → 0.00016 USD.
        let (token, key) = g.key_with_budget("may@example.com", None).await;
        let (status, body) = hello(&g, &key, "openai/gpt-4o-2024-05-13").await;
        assert_eq!(status, 200, "{body}");
        assert_billed(&g, &token, &body, Some("0.00016")).await;
        assert_eq!(g.mock.requests()[1].body["model"], "gpt-4o-2024-05-13");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_the_catalog_does_not_know_is_not_found_unless_its_provider_opted_in() {
    on_both_stores(|g| async move {
        let (_, key) = g.key_with_budget("unknown@example.com", None).await;
        for model in [
            "openai/gpt-4o-mini-made-up",
            "openai/gpt-4o-2099-01-01",
            "ollama/some-model-i-pulled",
            "listed/another-model",
        ] {
            let (status, body) = hello(&g, &key, model).await;
            assert_eq!(status, 404, "{model}: {body}");
            let e = &body["error"];
            assert_eq!(e["code"], "model_not_found", "{model}: {body}");
            assert_eq!(e["type"], "invalid_request_error", "{model}: {body}");
            assert_eq!(e["param"], "model", "{model}: {body}");
            let message = e["message"].as_str().unwrap();
            assert!(message.contains(model), "{message}");
            if !model.starts_with("listed/") {
                assert!(message.contains("allow_unlisted_models"), "{message}");
            }
        }
        assert!(
            g.mock.requests().is_empty(),
            "an unknown model went upstream"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opted_in_provider_bills_a_model_the_catalog_does_not_know_at_its_unlisted_price() {
    on_both_stores(|g| async move {
        // 8 × 1 + 8 × 2 = 24 per million → 0.000024 USD.
        let (token, key) = g.key_with_budget("priced@example.com", None).await;
        let (status, body) = hello(&g, &key, "priced/whatever-they-serve").await;
        assert_eq!(status, 200, "{body}");
        assert_billed(&g, &token, &body, Some("0.000024")).await;
        assert_eq!(g.mock.requests()[0].body["model"], "whatever-they-serve");

        // Priced, so a budget counts it like any catalog model.
        let (_, tiny) = g
            .key_with_budget("priced-tiny@example.com", Some("0.000001"))
            .await;
        let (status, body) = hello(&g, &tiny, "priced/whatever-they-serve").await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpriced_model_is_refused_to_a_caller_with_a_budget_and_served_to_others() {
    on_both_stores(|g| async move {
        // Opted in without a price, and a listed name the catalog does not know: refused
        // before the upstream to a caller with a budget, naming the missing price.
        let (_, budgeted) = g.key_with_budget("budgeted@example.com", Some("100")).await;
        for (model, missing) in [
            ("unpriced/a-model", "providers.unpriced.unlisted_price"),
            ("listed/my-model", "providers.listed.unlisted_price"),
        ] {
            let (status, body) = hello(&g, &budgeted, model).await;
            assert_eq!(status, 403, "{model}: {body}");
            let e = &body["error"];
            assert_eq!(e["code"], "model_not_priced", "{model}: {body}");
            assert_eq!(e["type"], "permission_error", "{model}: {body}");
            assert_eq!(e["param"], "model", "{model}: {body}");
            assert_eq!(e["limit"], "budget.api_key", "{model}: {body}");
            let message = e["message"].as_str().unwrap();
            assert!(message.contains(missing), "{model}: {message}");
        }
        assert!(
            g.mock.requests().is_empty(),
            "an unpriced request went upstream"
        );

        // A caller without a money limit is served; the request has no cost.
        for model in ["unpriced/a-model", "listed/my-model"] {
            let (token, key) = g
                .key_with_budget(
                    &format!("free-{}@example.com", model.replace('/', "-")),
                    None,
                )
                .await;
            let (status, body) = hello(&g, &key, model).await;
            assert_eq!(status, 200, "{model}: {body}");
            assert_billed(&g, &token, &body, None).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_model_the_catalog_prices_at_zero_is_free_even_under_a_budget() {
    on_both_stores(|g| async move {
        let (token, key) = g
            .key_with_budget("local@example.com", Some("0.000001"))
            .await;
        let (status, body) = hello(&g, &key, "ollama/llama3.2").await;
        assert_eq!(status, 200, "{body}");
        assert_billed(&g, &token, &body, Some("0")).await;
        let cost: Decimal = body["usage"]["cost"].as_str().unwrap().parse().unwrap();
        assert!(cost.is_zero());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hour_cache_writes_are_billed_at_their_own_price() {
    on_both_stores(|g| async move {
        let (token, key) = g.key_with_budget("cache@example.com", Some("1")).await;
        let model =
            "claude/sonnet@cached_tokens=10,cache_creation_tokens=6,cache_creation_1h_tokens=2";
        let (status, body) = g
            .post(
                "/v1/chat/completions",
                Some(&key),
                &chat(model, &"hello ".repeat(40)),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let usage = &body["usage"];
        let details = &usage["prompt_tokens_details"];
        assert_eq!(details["cached_tokens"], 10, "{body}");
        assert_eq!(details["cache_write_tokens"], 6, "{body}");
        assert_eq!(details["cache_write_1h_tokens"], 2, "{body}");
        // p prompt tokens = (p - 16) uncached + 10 read + 4 written for 5 minutes + 2 for an
        // hour; c output tokens. Per million:
        //   (p - 16) × 3 + 10 × 0.30 + 4 × 3.75 + 2 × 6 + c × 15
        //   = (p - 16) × 3 + 3 + 15 + 12 + c × 15
        let p = usage["prompt_tokens"].as_i64().unwrap();
        let c = usage["completion_tokens"].as_i64().unwrap();
        assert!(p > 16 && c > 0, "{body}");
        let micro = Decimal::from((p - 16) * 3 + 3 + 15 + 12 + c * 15);
        let expected = (micro / Decimal::from(1_000_000)).normalize().to_string();
        assert_eq!(usage["cost"], expected.as_str(), "{body}");
        let rows = g.wait_for_records(&token, 1).await;
        assert_eq!(rows[0]["cost"], expected.as_str());
    })
    .await;
}
