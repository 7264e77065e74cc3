//! Replays the conformance vectors of `tests/conformance/`: a client whose provider base URL
//! is `{mock}/conformance/{group}/{name}` must send exactly the vector's `upstream_request`,
//! and gets the vector's `upstream_response` back. Any difference in method, path, listed
//! headers or JSON body is answered with a 400 whose message says what differed, so the
//! runner of every language fails with that message.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::Path as UrlPath;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

/// Where the vectors live: `tests/conformance/` of this repository.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance")
}

/// `ANY /conformance/{group}/{name}/{*rest}`.
pub async fn replay(
    UrlPath((group, name, rest)): UrlPath<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match answer(&group, &name, &rest, &method, &uri, &headers, &body) {
        Ok(response) => response,
        Err(message) => mismatch(&message),
    }
}

fn answer(
    group: &str,
    name: &str,
    rest: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, String> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !valid(group) || !valid(name) {
        return Err(format!("no vector {group}/{name}"));
    }
    let file = vectors_dir().join(group).join(format!("{name}.json"));
    let text =
        std::fs::read_to_string(&file).map_err(|e| format!("no vector {group}/{name}: {e}"))?;
    let vector: Value = serde_json::from_str(&text).map_err(|e| format!("{group}/{name}: {e}"))?;
    check_request(
        &vector["upstream_request"],
        rest,
        method,
        uri,
        headers,
        body,
    )?;
    respond(&vector["upstream_response"])
}

/// Compares what the client sent with the vector's `upstream_request`.
fn check_request(
    expected: &Value,
    rest: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let want_method = expected["method"].as_str().unwrap_or("POST");
    if method.as_str() != want_method {
        return Err(format!("method: sent {method}, expected {want_method}"));
    }
    let sent_path = match uri.query() {
        Some(query) => format!("/{rest}?{query}"),
        None => format!("/{rest}"),
    };
    if let Some(want_path) = expected["path"].as_str()
        && sent_path != want_path
    {
        return Err(format!("path: sent {sent_path}, expected {want_path}"));
    }
    if let Some(want_headers) = expected["headers"].as_object() {
        for (name, want) in want_headers {
            let sent = headers.get(name.as_str()).and_then(|v| v.to_str().ok());
            match (sent, want) {
                (None, Value::Null) => {}
                (Some(sent), Value::String(want)) if sent == want => {}
                (sent, want) => {
                    return Err(format!("header {name}: sent {sent:?}, expected {want}"));
                }
            }
        }
    }
    match expected.get("body") {
        // No `body` key: not checked (a vector being written, see tests/conformance/README.md).
        None => Ok(()),
        Some(Value::Null) if body.is_empty() => Ok(()),
        Some(Value::Null) => Err(format!("body: sent {} bytes, expected none", body.len())),
        Some(want) => {
            let sent: Value =
                serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
            match first_difference(want, &sent, "") {
                None => Ok(()),
                Some(at) => Err(format!("body differs at {at}: sent {sent}")),
            }
        }
    }
}

/// The first path where `sent` differs from `want`, described.
fn first_difference(want: &Value, sent: &Value, at: &str) -> Option<String> {
    match (want, sent) {
        (Value::Object(w), Value::Object(s)) => {
            for (key, wv) in w {
                let here = format!("{at}.{key}");
                match s.get(key) {
                    Some(sv) => {
                        if let Some(d) = first_difference(wv, sv, &here) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{here} (missing, expected {wv})")),
                }
            }
            s.keys()
                .find(|k| !w.contains_key(*k))
                .map(|k| format!("{at}.{k} (not expected, sent {})", s[k]))
        }
        (Value::Array(w), Value::Array(s)) if w.len() == s.len() => w
            .iter()
            .zip(s)
            .enumerate()
            .find_map(|(i, (wv, sv))| first_difference(wv, sv, &format!("{at}[{i}]"))),
        _ if want == sent => None,
        _ => Some(format!(
            "{} (expected {want}, sent {sent})",
            if at.is_empty() { "." } else { at }
        )),
    }
}

/// The vector's `upstream_response`: `status`, `headers`, and `body` (JSON), `sse` (the
/// event stream's text) or `text` (a raw body).
fn respond(response: &Value) -> Result<Response, String> {
    let status = response["status"].as_u64().unwrap_or(200);
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| format!("bad status {status}"))?;
    let (content_type, body) = if let Some(sse) = response.get("sse") {
        let text = match sse {
            Value::String(text) => text.clone(),
            Value::Array(lines) => lines
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
            _ => return Err("sse must be a string or an array of lines".to_owned()),
        };
        ("text/event-stream", text)
    } else if let Some(text) = response["text"].as_str() {
        ("text/plain", text.to_owned())
    } else {
        ("application/json", response["body"].to_string())
    };
    let mut out = (status, Body::from(body)).into_response();
    let headers = out.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(extra) = response["headers"].as_object() {
        for (name, value) in extra {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("header {name}: {e}"))?;
            let value = value.as_str().and_then(|v| HeaderValue::from_str(v).ok());
            let value = value.ok_or_else(|| format!("header {name} must be a string"))?;
            headers.insert(name, value);
        }
    }
    Ok(out)
}

/// A 400 in OpenAI's shape saying what the client got wrong.
fn mismatch(message: &str) -> Response {
    let body = json!({"error": {
        "message": format!("conformance: {message}"),
        "type": "invalid_request_error",
        "param": null,
        "code": "conformance_mismatch",
    }});
    crate::errors::json_response(StatusCode::BAD_REQUEST, &body)
}
