//! Server state: configuration, counters, the request recorder and the `fail_times` counters.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::tokens::SplitMix;

/// How many requests the recorder keeps.
pub const RECORD_LIMIT: usize = 1000;
/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024 * 1024;
/// Headers whose values are never recorded.
pub const SECRET_HEADERS: &[&str] = &["authorization", "x-api-key", "api-key", "x-goog-api-key"];

/// Simulator settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockConfig {
    /// Keep the last [`RECORD_LIMIT`] requests for inspection (costs a body copy per request).
    pub record: bool,
    /// Answer 401 (in the provider's shape) when a request carries no API key.
    pub require_key: bool,
    /// Knobs applied to every request before its own (`chunks=50,tps=100`); empty for none.
    pub scenario: String,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            record: true,
            require_key: true,
            scenario: String::new(),
        }
    }
}

/// One request as the simulator received it, with secrets redacted.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query (`key=` query values redacted).
    pub path: String,
    /// Headers in arrival order; secret values are `***`.
    pub headers: Vec<(String, String)>,
    /// The JSON body, a string for a non-JSON body, or `Null` when empty.
    pub body: Value,
}

impl RecordedRequest {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Shared state behind the router.
#[derive(Debug)]
pub struct AppState {
    /// Settings.
    pub config: MockConfig,
    served: AtomicU64,
    ids: AtomicU64,
    recorded: Mutex<VecDeque<RecordedRequest>>,
    failures: Mutex<HashMap<String, u64>>,
}

impl AppState {
    /// Fresh state.
    pub fn new(config: MockConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            served: AtomicU64::new(0),
            ids: AtomicU64::new(0),
            recorded: Mutex::new(VecDeque::new()),
            failures: Mutex::new(HashMap::new()),
        })
    }

    /// Requests served since start or the last reset.
    pub fn request_count(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// The recorded requests, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.recorded).iter().cloned().collect()
    }

    /// Forgets counters, recorded requests and `fail_times` progress.
    pub fn reset(&self) {
        self.served.store(0, Ordering::Relaxed);
        lock(&self.recorded).clear();
        lock(&self.failures).clear();
    }

    /// A fresh id, unique within this server: 24 hex digits.
    pub fn next_id(&self) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let mixed = SplitMix::new(n).next_u64();
        format!("{mixed:016x}{:08x}", n & 0xffff_ffff)
    }

    /// Counts one request of group `key`; true while fewer than `times` have been seen before it.
    pub fn should_fail(&self, key: &str, times: u64) -> bool {
        let mut map = lock(&self.failures);
        let seen = match map.get_mut(key) {
            Some(seen) => seen,
            None => map.entry(key.to_owned()).or_insert(0),
        };
        let fail = *seen < times;
        *seen += 1;
        fail
    }

    /// True for every `every`-th request of the group `key`, the first included.
    pub fn should_fail_every(&self, key: &str, every: u64) -> bool {
        let mut map = lock(&self.failures);
        let seen = match map.get_mut(key) {
            Some(seen) => seen,
            None => map.entry(key.to_owned()).or_insert(0),
        };
        let fail = (*seen).is_multiple_of(every.max(1));
        *seen += 1;
        fail
    }

    fn record(&self, request: RecordedRequest) {
        let mut recorded = lock(&self.recorded);
        if recorded.len() == RECORD_LIMIT {
            recorded.pop_front();
        }
        recorded.push_back(request);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Middleware: counts every request, records it when enabled, and adds `x-request-id` to every response.
pub async fn track(State(app): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    app.served.fetch_add(1, Ordering::Relaxed);
    // A conformance replay answers with exactly the vector's headers.
    let replay = request.uri().path().starts_with("/conformance/");
    let mut response = if app.config.record {
        let (parts, body) = request.into_parts();
        match to_bytes(body, BODY_LIMIT).await {
            Ok(bytes) => {
                app.record(recorded(&parts, &bytes));
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            }
            Err(_) => (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
        }
    } else {
        next.run(request).await
    };
    if !replay
        && !response.headers().contains_key("x-request-id")
        && let Ok(value) = HeaderValue::from_str(&format!("req_{}", app.next_id()))
    {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// A request as recorded: secrets redacted, body parsed as JSON when it is JSON.
fn recorded(parts: &Parts, bytes: &[u8]) -> RecordedRequest {
    RecordedRequest {
        method: parts.method.to_string(),
        path: redact_query(&parts.uri),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = if SECRET_HEADERS.contains(&name.as_str()) {
                    "***".to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body: if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
        },
    }
}

fn redact_query(uri: &axum::http::Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("key", _)) => "key=***".to_owned(),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", redacted.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_counter_per_key() {
        let app = AppState::new(MockConfig::default());
        assert!(app.should_fail("a", 2));
        assert!(app.should_fail("a", 2));
        assert!(!app.should_fail("a", 2));
        assert!(app.should_fail("b", 1));
        app.reset();
        assert!(app.should_fail("a", 1));
    }

    #[test]
    fn query_key_is_redacted() {
        let uri: axum::http::Uri = "/v1beta/models/x:streamGenerateContent?alt=sse&key=secret"
            .parse()
            .unwrap();
        assert_eq!(
            redact_query(&uri),
            "/v1beta/models/x:streamGenerateContent?alt=sse&key=***"
        );
    }

    #[test]
    fn ids_are_unique() {
        let app = AppState::new(MockConfig::default());
        assert_ne!(app.next_id(), app.next_id());
        assert_eq!(app.next_id().len(), 24);
    }
}
