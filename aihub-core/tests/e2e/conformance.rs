//! The conformance vectors of `tests/conformance/`, run through the Rust client. The Python,
//! Node and WASM suites run the same files, so the four front ends cannot drift apart.
//!
//! With `CONFORMANCE_RECORD=1` the runner writes what the client produced into each vector's
//! `expect` (and a missing `upstream_request.body`) instead of comparing: only for writing
//! a new vector, whose recorded result must then be checked by hand against the provider's
//! documentation (tests/conformance/README.md).

use std::path::Path;

use aihub_core::catalog::{Catalog, estimate_cost};
use aihub_core::pricing::TokenCounts;
use aihub_core::*;
use futures::StreamExt;
use serde_json::{Map, Value, json};

use crate::mock;

/// Every `group/name.json` vector, sorted.
fn vectors(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    for group in std::fs::read_dir(dir).unwrap().flatten() {
        if !group.path().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(group.path()).unwrap().flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "json") {
                let id = format!(
                    "{}/{}",
                    group.file_name().to_string_lossy(),
                    path.file_stem().unwrap().to_string_lossy()
                );
                out.push((id, path));
            }
        }
    }
    out.sort();
    out
}

/// The client a vector runs with: direct mode, its provider pointed at the replay route.
fn client(base: &str, id: &str, vector: &Value) -> Client {
    let provider = vector["provider"].as_str().unwrap();
    Client::builder()
        .keys_from_env(false)
        .max_retries(0)
        .provider_key(provider, vector["api_key"].as_str().unwrap_or("test-key"))
        .provider_base_url(provider, format!("{base}/conformance/{id}"))
        .build()
        .unwrap()
}

/// What the SDKs compare of an error: `to_sdk_json` without nulls and `kind`.
fn error_json(e: &Error) -> Value {
    let mut v = e.to_sdk_json();
    let map = v.as_object_mut().unwrap();
    map.retain(|k, v| !v.is_null() && k != "kind");
    v
}

/// Runs the vector's call: `{"result"}`, `{"chunks", "error"?}` or `{"error"}`.
async fn outcome(c: &Client, vector: &Value) -> Value {
    let request = vector["request"].clone();
    match vector["call"].as_str().unwrap() {
        "chat" => {
            let req: ChatCompletionRequest = types::from_json_value(request).unwrap();
            match c.chat().create(req).await {
                Ok(r) => json!({"result": r}),
                Err(e) => json!({"error": error_json(&e)}),
            }
        }
        "chat_stream" => {
            let req: ChatCompletionRequest = types::from_json_value(request).unwrap();
            match c.chat().stream(req).await {
                Err(e) => json!({"error": error_json(&e)}),
                Ok(mut stream) => {
                    let mut chunks = Vec::new();
                    let mut out = Map::new();
                    while let Some(item) = stream.next().await {
                        match item {
                            Ok(chunk) => chunks.push(serde_json::to_value(chunk).unwrap()),
                            Err(e) => {
                                out.insert("error".into(), error_json(&e));
                                break;
                            }
                        }
                    }
                    out.insert("chunks".into(), Value::Array(chunks));
                    Value::Object(out)
                }
            }
        }
        "embeddings" => {
            let req: EmbeddingRequest = types::from_json_value(request).unwrap();
            match c.embeddings().create(req).await {
                Ok(r) => json!({"result": r}),
                Err(e) => json!({"error": error_json(&e)}),
            }
        }
        "models" => match c.models().list().await {
            Ok(r) => json!({"result": r}),
            Err(e) => json!({"error": error_json(&e)}),
        },
        other => panic!("unknown call {other}"),
    }
}

/// Removes the field at a dotted `path` (`*` matches every array element or key).
fn remove_path(value: &mut Value, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match value {
        Value::Object(map) if rest.is_empty() => {
            map.remove(*first);
        }
        Value::Object(map) if *first == "*" => map.values_mut().for_each(|v| remove_path(v, rest)),
        Value::Object(map) => {
            if let Some(v) = map.get_mut(*first) {
                remove_path(v, rest);
            }
        }
        Value::Array(items) if *first == "*" => items.iter_mut().for_each(|v| remove_path(v, rest)),
        _ => {}
    }
}

/// Drops the vector's `ignore` paths (values that differ per run: generated ids, clocks)
/// from a result and from each chunk.
fn normalize(mut outcome: Value, ignore: &[String]) -> Value {
    let strip = |v: &mut Value| {
        for path in ignore {
            remove_path(v, &path.split('.').collect::<Vec<_>>());
        }
    };
    if let Some(result) = outcome.get_mut("result") {
        strip(result);
    }
    if let Some(chunks) = outcome.get_mut("chunks").and_then(Value::as_array_mut) {
        chunks.iter_mut().for_each(strip);
    }
    outcome
}

#[tokio::test]
async fn every_vector_gives_the_same_result_in_rust() {
    let m = mock().await;
    let base = m.base_url();
    let dir = mock_upstream::vectors_dir();
    let record = std::env::var_os("CONFORMANCE_RECORD").is_some();
    let mut failures = Vec::new();
    let all = vectors(&dir);
    assert!(
        all.len() >= 20,
        "only {} vectors in {}",
        all.len(),
        dir.display()
    );
    for (id, path) in &all {
        let mut vector: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let ignore: Vec<String> = vector["ignore"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        m.reset();
        let got = normalize(outcome(&client(&base, id, &vector), &vector).await, &ignore);
        if record {
            if let Some(sent) = m.requests().last() {
                let prefix = format!("/conformance/{id}");
                let upstream = &mut vector["upstream_request"];
                if upstream.get("body").is_none() {
                    upstream["body"] = sent.body.clone();
                }
                if upstream.get("path").is_none() {
                    let path = sent.path.strip_prefix(&prefix).unwrap_or(&sent.path);
                    upstream["path"] = Value::String(path.to_owned());
                }
            }
            vector["expect"] = got;
            let text = serde_json::to_string_pretty(&vector).unwrap() + "\n";
            std::fs::write(path, text).unwrap();
        } else if got != vector["expect"] {
            failures.push(format!(
                "{id}:\n  expected {}\n  got      {}",
                vector["expect"], got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn token_vectors_count_the_same_in_rust() {
    let text = std::fs::read_to_string(mock_upstream::vectors_dir().join("tokens.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let model = case["model"].as_str().unwrap();
        let got = match case.get("messages") {
            Some(messages) => {
                let messages: Vec<ChatMessage> = types::from_json_value(messages.clone()).unwrap();
                tokens::count_messages(model, &messages)
            }
            None => tokens::count_text(model, case["text"].as_str().unwrap()),
        };
        assert_eq!(Some(got as u64), case["tokens"].as_u64(), "{case}");
    }
}

#[test]
fn cost_vectors_price_the_same_in_rust() {
    let text = std::fs::read_to_string(mock_upstream::vectors_dir().join("costs.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let model = case["model"].as_str().unwrap();
        let counts: TokenCounts = serde_json::from_value(case["usage"].clone()).unwrap();
        let got = match estimate_cost(Catalog::builtin(), model, &counts.to_usage()) {
            Ok(Some(cost)) => {
                json!({"amount": cost.amount.to_string(), "currency": cost.currency.code()})
            }
            Ok(None) => Value::Null,
            Err(e) => json!({"error": e.sdk_class()}),
        };
        assert_eq!(got, case["cost"], "{case}");
    }
}
