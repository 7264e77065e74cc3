//! What a request asks of the response cache, and the key its answer is stored under.
//!
//! Controls come from two places, merged: the headers `x-aihub-cache` (a comma-separated list of
//! `use`, `bypass`, `no-cache` (alias `refresh`), `no-store`) and `x-aihub-cache-ttl: SECONDS`,
//! and LiteLLM's body object `cache: {"no-cache", "no-store", "ttl", "s-maxage", "namespace"}`
//! plus `"use": true|false`. The body object is always taken out of the request, so it never
//! reaches an upstream.

use aihub_core::ChatCompletionRequest;
use axum::http::HeaderMap;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The request header carrying cache directives (and, on the answer, the cache status).
pub const HEADER: &str = "x-aihub-cache";
/// The request header carrying the time to live of a stored answer, in seconds.
pub const TTL_HEADER: &str = "x-aihub-cache-ttl";
/// The answer header carrying the age of a cached answer, in seconds.
pub const AGE_HEADER: &str = "x-aihub-cache-age";

/// Body fields left out of the key: they do not change what the model produces.
const UNKEYED: [&str; 4] = ["stream", "stream_options", "user", "metadata"];

/// What a request asked of the cache. The default asks nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheControls {
    /// Cache this request even when its key is not cached by default.
    pub opt_in: bool,
    /// Do not use the cache for this request at all.
    pub bypass: bool,
    /// Do not answer from the cache (the fresh answer is stored).
    pub no_cache: bool,
    /// Do not store the answer.
    pub no_store: bool,
    /// Time to live of the stored answer, s.
    pub ttl_secs: Option<u64>,
    /// Accept only an entry at most this old, s.
    pub max_age_secs: Option<u64>,
    /// A partition of the caller's own, part of the key.
    pub namespace: Option<String>,
}

fn bad(message: String, param: &str) -> ApiError {
    ApiError::bad_request(message, param)
}

/// The controls read from the request's headers where they are (the whole header map is not
/// copied, as a `HeaderMap` extractor would).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CacheControls {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Self::from_headers(&parts.headers)
    }
}

impl CacheControls {
    /// The controls in `headers`; a request with neither header costs two lookups.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let mut controls = Self::default();
        let (directives, ttl) = (headers.get(HEADER), headers.get(TTL_HEADER));
        if directives.is_none() && ttl.is_none() {
            return Ok(controls);
        }
        if let Some(value) = directives {
            let text = value.to_str().unwrap_or_default();
            for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
                match word.to_ascii_lowercase().as_str() {
                    "use" => controls.opt_in = true,
                    "bypass" => controls.bypass = true,
                    "no-cache" | "refresh" => controls.no_cache = true,
                    "no-store" => controls.no_store = true,
                    _ => {
                        return Err(bad(
                            format!(
                                "'{HEADER}: {word}' is not a cache directive; use one or more of \
                                 use, bypass, no-cache (or refresh), no-store."
                            ),
                            HEADER,
                        ));
                    }
                }
            }
        }
        if let Some(value) = ttl {
            let text = value.to_str().unwrap_or_default().trim();
            let secs = text.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                bad(
                    format!("'{TTL_HEADER}: {text}' must be a number of seconds above 0."),
                    TTL_HEADER,
                )
            })?;
            controls.ttl_secs = Some(secs);
        }
        Ok(controls)
    }

    /// Takes LiteLLM's `cache` object out of the request body (whether or not caching is on,
    /// so that it never reaches an upstream) and merges it into these controls.
    pub fn take_from_body(&mut self, extra: &mut aihub_core::ExtraFields) -> Result<(), ApiError> {
        if extra.is_empty() {
            return Ok(());
        }
        let Some(value) = extra.shift_remove("cache") else {
            return Ok(());
        };
        let Value::Object(fields) = value else {
            return Err(bad(
                "'cache' must be an object such as {\"no-cache\": true, \"ttl\": 60}.".into(),
                "cache",
            ));
        };
        for (name, value) in fields {
            let param = format!("cache.{name}");
            let flag = || {
                value
                    .as_bool()
                    .ok_or_else(|| bad(format!("'{param}' must be true or false."), &param))
            };
            let secs = || {
                value
                    .as_u64()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| bad(format!("'{param}' must be seconds above 0."), &param))
            };
            match name.as_str() {
                "no-cache" => self.no_cache |= flag()?,
                "no-store" => self.no_store |= flag()?,
                "use" => {
                    if flag()? {
                        self.opt_in = true;
                    } else {
                        self.bypass = true;
                    }
                }
                "ttl" => self.ttl_secs = Some(secs()?),
                "s-maxage" => self.max_age_secs = Some(secs()?),
                "namespace" => {
                    let text = value.as_str().filter(|t| t.len() <= 256).ok_or_else(|| {
                        bad(
                            format!("'{param}' must be a string of at most 256 bytes."),
                            &param,
                        )
                    })?;
                    self.namespace = Some(text.to_owned());
                }
                _ => {
                    return Err(bad(
                        format!(
                            "'{param}' is not a cache control; use no-cache, no-store, ttl, \
                             s-maxage, namespace or use."
                        ),
                        &param,
                    ));
                }
            }
        }
        Ok(())
    }

    /// True when the request said nothing about the cache.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The SHA-256 of everything that decides a chat answer: who may share it (`scope`: the
/// caller's organisation, or `None` when shared), the caller's namespace, the request's own
/// fallbacks, and the request body as the caller sent it (its model name included) minus
/// `stream`, `stream_options`, `user` and `metadata`, serialised canonically (object keys
/// sorted).
pub fn chat_key(
    scope: Option<uuid::Uuid>,
    namespace: Option<&str>,
    fallbacks: &[String],
    request: &ChatCompletionRequest,
) -> [u8; 32] {
    let mut body = serde_json::to_value(request).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut body {
        for field in UNKEYED {
            fields.shift_remove(field);
        }
    }
    let scope = scope.map_or_else(|| "*".to_owned(), |s| s.to_string());
    let head = serde_json::json!({
        "v": 1,
        "api": "chat",
        "scope": scope,
        "namespace": namespace,
        "fallbacks": fallbacks,
    });
    let mut hash = Hasher(Sha256::new());
    canonical(&head, &mut hash);
    hash.0.update(b"\n");
    canonical(&body, &mut hash);
    hash.0.finalize().into()
}

/// Writes into a SHA-256.
struct Hasher(Sha256);

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `value` as JSON with every object's keys in byte order, into `out`.
fn canonical(value: &Value, out: &mut Hasher) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.0.update(b"{");
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.0.update(b",");
                }
                let _ = serde_json::to_writer(&mut *out, k);
                out.0.update(b":");
                canonical(v, out);
            }
            out.0.update(b"}");
        }
        Value::Array(items) => {
            out.0.update(b"[");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.0.update(b",");
                }
                canonical(v, out);
            }
            out.0.update(b"]");
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

#[cfg(test)]
#[path = "controls_tests.rs"]
mod tests;
