//! Client and per-call settings as the JavaScript SDKs pass them (JSON, camelCase, times in
//! milliseconds), turned into a [`ClientBuilder`] and [`RequestOptions`] in one place so
//! that the Node and WASM packages cannot read them differently.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{Client, ClientBuilder, RequestOptions};
use crate::error::{Error, Result};
use crate::types::from_json_slice;

/// `new Client({...})` settings. A missing field keeps the builder's default; a `null`
/// time means no limit.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientSettings {
    /// Gateway key; `AIHUB_API_KEY` when absent and the environment is read.
    pub api_key: Option<String>,
    /// Gateway base URL.
    #[serde(rename = "baseURL")]
    pub base_url: Option<String>,
    /// Direct mode: provider id → key.
    #[serde(default)]
    pub provider_keys: BTreeMap<String, String>,
    /// Direct mode: provider id → base URL.
    #[serde(default, rename = "providerBaseURLs")]
    pub provider_base_urls: BTreeMap<String, String>,
    /// Whether keys are read from the environment (default: yes).
    pub keys_from_env: Option<bool>,
    /// Whole-request timeout in milliseconds.
    #[serde(default, deserialize_with = "millis::field")]
    pub timeout: Option<Option<Duration>>,
    /// Connect timeout in milliseconds.
    #[serde(default, deserialize_with = "millis::field")]
    pub connect_timeout: Option<Option<Duration>>,
    /// Read timeout in milliseconds.
    #[serde(default, deserialize_with = "millis::field")]
    pub read_timeout: Option<Option<Duration>>,
    /// Longest life of a stream in milliseconds, from its response head to its last chunk.
    #[serde(default, deserialize_with = "millis::field")]
    pub stream_timeout: Option<Option<Duration>>,
    /// Largest non-streamed response body in bytes.
    pub max_response_bytes: Option<usize>,
    /// Largest single SSE event of a stream in bytes.
    pub max_event_bytes: Option<usize>,
    /// Retries after the first attempt.
    pub max_retries: Option<u32>,
    /// Fallback models for every chat request.
    #[serde(default)]
    pub fallback_models: Vec<String>,
    /// Headers sent with every request.
    #[serde(default)]
    pub default_headers: BTreeMap<String, String>,
}

impl ClientSettings {
    /// Reads settings from JSON text; a bad field is a `ConfigurationError` naming it.
    pub fn from_json(text: &str) -> Result<Self> {
        from_json_slice(text.as_bytes()).map_err(|e| Error::config(e.message().to_owned()))
    }

    /// The builder these settings describe.
    pub fn into_builder(self) -> ClientBuilder {
        let mut b = Client::builder().fallback_models(self.fallback_models);
        if let Some(yes) = self.keys_from_env {
            b = b.keys_from_env(yes);
        }
        if let Some(key) = self.api_key {
            b = b.api_key(key);
        }
        if let Some(url) = self.base_url {
            b = b.base_url(url);
        }
        for (provider, key) in self.provider_keys {
            b = b.provider_key(provider, key);
        }
        for (provider, url) in self.provider_base_urls {
            b = b.provider_base_url(provider, url);
        }
        if let Some(t) = self.timeout {
            b = b.timeout(t);
        }
        if let Some(t) = self.connect_timeout {
            b = b.connect_timeout(t);
        }
        if let Some(t) = self.read_timeout {
            b = b.read_timeout(t);
        }
        if let Some(t) = self.stream_timeout {
            b = b.stream_timeout(t);
        }
        if let Some(n) = self.max_response_bytes {
            b = b.max_response_bytes(n);
        }
        if let Some(n) = self.max_event_bytes {
            b = b.max_event_bytes(n);
        }
        if let Some(n) = self.max_retries {
            b = b.max_retries(n);
        }
        for (name, value) in self.default_headers {
            b = b.default_header(name, value);
        }
        b
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client> {
        self.into_builder().build()
    }
}

/// Per-call settings (`create(params, { timeout, maxRetries, ... })`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallSettings {
    /// Timeout for this call in milliseconds.
    #[serde(default, deserialize_with = "millis::field")]
    pub timeout: Option<Option<Duration>>,
    /// Retries after the first attempt.
    pub max_retries: Option<u32>,
    /// Fallback models for this call.
    pub fallback_models: Option<Vec<String>>,
    /// Client request id (`x-client-request-id`).
    pub request_id: Option<String>,
}

impl CallSettings {
    /// Reads settings from JSON text (empty text means none); unknown fields are ignored,
    /// as they belong to the JavaScript layer (`signal`).
    pub fn from_json(text: &str) -> Result<Self> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        from_json_slice(text.as_bytes()).map_err(|e| Error::config(e.message().to_owned()))
    }

    /// The core's per-call options.
    pub fn into_options(self) -> RequestOptions {
        RequestOptions {
            fallback_models: self.fallback_models,
            max_retries: self.max_retries,
            timeout: self.timeout.flatten(),
            request_id: self.request_id,
        }
    }
}

/// Milliseconds as a [`Duration`]: a positive number a `Duration` can hold (1e300 is an
/// error, not a panic), or `null` for no limit.
mod millis {
    use std::time::Duration;

    use serde::de::{Deserialize, Deserializer, Error};

    /// `Some(None)` for `null`, `Some(Some(d))` for a number (the field's absence is `None`).
    pub(super) fn field<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<Duration>>, D::Error> {
        match Option::<f64>::deserialize(d)? {
            None => Ok(Some(None)),
            Some(ms) => match crate::error::duration_from_secs(ms / 1000.0) {
                Some(t) if ms > 0.0 => Ok(Some(Some(t))),
                _ => Err(D::Error::custom(format!(
                    "a time in milliseconds must be a positive number that a duration can hold, or null, not {ms}"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_camel_case_and_milliseconds() {
        let s = ClientSettings::from_json(
            r#"{"apiKey":"ai-hub-x","baseURL":"http://h/v1","timeout":1500,"readTimeout":null,"maxRetries":0}"#,
        )
        .unwrap();
        assert_eq!(s.api_key.as_deref(), Some("ai-hub-x"));
        assert_eq!(s.base_url.as_deref(), Some("http://h/v1"));
        assert_eq!(s.timeout, Some(Some(Duration::from_millis(1500))));
        assert_eq!(s.read_timeout, Some(None));
        assert_eq!(s.connect_timeout, None);
        assert!(s.build().unwrap().is_gateway());
        let s = ClientSettings::from_json(
            r#"{"streamTimeout":90000,"maxResponseBytes":1024,"maxEventBytes":512}"#,
        )
        .unwrap();
        assert_eq!(s.stream_timeout, Some(Some(Duration::from_secs(90))));
        assert_eq!(
            (s.max_response_bytes, s.max_event_bytes),
            (Some(1024), Some(512))
        );
    }

    #[test]
    fn bad_settings_name_the_field() {
        let e = ClientSettings::from_json(r#"{"timeout":-5}"#).unwrap_err();
        assert_eq!(e.kind(), "config");
        assert!(e.message().contains("timeout"), "{}", e.message());
        // `Duration::from_secs_f64` panicked on a time this large.
        for huge in ["1e300", "1.7976931348623157e308"] {
            let e = ClientSettings::from_json(&format!(r#"{{"timeout":{huge}}}"#)).unwrap_err();
            assert_eq!(e.kind(), "config");
            assert!(e.message().contains("timeout"), "{}", e.message());
            let e = CallSettings::from_json(&format!(r#"{{"timeout":{huge}}}"#)).unwrap_err();
            assert_eq!(e.kind(), "config");
        }
        let e = ClientSettings::from_json(r#"{"apikey":"x"}"#).unwrap_err();
        assert!(e.message().contains("apikey"), "{}", e.message());
    }

    #[test]
    fn call_settings_ignore_fields_of_the_js_layer() {
        let o = CallSettings::from_json(r#"{"timeout":250,"maxRetries":1,"signal":{}}"#)
            .unwrap()
            .into_options();
        assert_eq!(o.timeout, Some(Duration::from_millis(250)));
        assert_eq!(o.max_retries, Some(1));
        assert_eq!(
            CallSettings::from_json("").unwrap().into_options(),
            RequestOptions::default()
        );
    }
}
