//! The unwind guard of request tasks, against a real SQLite store.

use super::*;
use crate::config::{Config, RawConfig};
use crate::store::{NewApiKey, UsageFilter};

async fn gateway(dir: &tempfile::TempDir) -> (AppState, crate::Background) {
    let text = format!(
        "database_url = \"sqlite://{}/aihub.db\"\nmaster_key = \"m\"\n\
         [providers.openai]\napi_key = \"sk-test\"\nbase_url = \"http://127.0.0.1:9\"\n",
        dir.path().display()
    );
    let config = Config::resolve(RawConfig::parse(&text).unwrap(), &|_| None).unwrap();
    AppState::start(config, None).await.unwrap()
}

async fn request(state: &AppState) -> Proxied {
    let user = state
        .store
        .create_user("panic@example.com", "not-a-hash")
        .await
        .unwrap();
    let key = state
        .store
        .create_api_key(NewApiKey {
            user_id: Some(user.id),
            organization_id: user.organization_id,
            team_id: None,
            name: "k".into(),
            prefix: "ai-hub-x".into(),
            key_hash: "hash".into(),
            expires_at: None,
        })
        .await
        .unwrap();
    let model = state.models.resolve("openai/gpt-4o-mini").unwrap();
    let caller = KeyAuth {
        key,
        plan: user.plan,
    };
    Proxied::new(
        "req_guard".into(),
        caller,
        std::sync::Arc::new(model),
        state.now_ms(),
        false,
        1000,
    )
}

async fn records(state: &AppState, proxied: &Proxied) -> Vec<UsageRecord> {
    let filter = UsageFilter {
        user_id: proxied.caller.key.user_id.unwrap_or_default(),
        from: None,
        to: None,
        model: None,
        api_key_id: None,
        limit: 10,
        cursor: None,
    };
    state.store.usage_history(&filter).await.unwrap()
}

#[tokio::test]
async fn a_request_task_that_panics_still_leaves_its_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _background) = gateway(&dir).await;
    let proxied = request(&state).await;
    let ticket = proxied.admit(&state, 100).await.unwrap();
    let work = async move {
        let _ticket = ticket;
        if always() {
            std::panic::resume_unwind(Box::new("a bug in the gateway"));
        }
    };
    let outcome = spawn_guarded(&state, proxied.clone(), work).await.unwrap();
    assert!(outcome.is_none(), "a panicked task has no outcome");

    let found = records(&state, &proxied).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let record = &found[0];
    assert_eq!(record.request_id, "req_guard");
    assert_eq!(record.status, 500);
    assert_eq!(record.error_type.as_deref(), Some("gateway_error"));
    assert!(record.usage_estimated);
    assert_eq!(record.prompt_tokens, 1000);
    assert_eq!(record.completion_tokens, 0);
    // gpt-4o-mini's 1000 counted prompt tokens at 0.15 USD per million: 0.00015 USD.
    assert_eq!(record.cost_nanos, Some(150_000));
    assert_eq!(record.currency.as_deref(), Some("USD"));
}

#[tokio::test]
async fn a_task_that_recorded_before_it_panicked_is_not_recorded_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _background) = gateway(&dir).await;
    let proxied = request(&state).await;
    let ticket = proxied.admit(&state, 100).await.unwrap();
    let (inner, task_state) = (proxied.clone(), state.clone());
    let work = async move {
        let usage = Usage::new(1000, 10);
        let ending = Ending {
            usage: &usage,
            estimated: false,
            ttft_ms: None,
            status: 200,
            error_type: None,
            attempts: 1,
            attempt: None,
            log: &[],
            model: &inner.model,
        };
        inner.finish(&task_state, Some(ticket), ending).await;
        if always() {
            std::panic::resume_unwind(Box::new("a bug after the record"));
        }
    };
    assert!(
        spawn_guarded(&state, proxied.clone(), work)
            .await
            .unwrap()
            .is_none()
    );

    let found = records(&state, &proxied).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].status, 200);
    assert_eq!(found[0].completion_tokens, 10);
}

#[tokio::test]
async fn a_task_that_ends_normally_gives_its_outcome_and_no_extra_record() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _background) = gateway(&dir).await;
    let proxied = request(&state).await;
    let outcome = spawn_guarded(&state, proxied.clone(), async { 42 })
        .await
        .unwrap();
    assert_eq!(outcome, Some(42));
    assert!(records(&state, &proxied).await.is_empty());
}

/// True; keeps the compiler from treating the code after a panic as unreachable.
fn always() -> bool {
    std::hint::black_box(true)
}
