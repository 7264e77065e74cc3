//! [`ClientBuilder`]: gateway mode or direct mode, keys, timeouts, retries, fallbacks.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::transport::ResponseLimits;
use super::{Client, Inner, Mode, RetryPolicy};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::providers::{Adapter, ProviderConfig, ProviderKind, Quirks};

/// Prefix of AI Hub gateway keys.
pub const GATEWAY_KEY_PREFIX: &str = "ai-hub-";

/// The gateway a key without a base URL goes to: a gateway on this machine.
pub const DEFAULT_GATEWAY_URL: &str = "http://127.0.0.1:8080/v1";

/// Environment variable holding the gateway key, read when no key is given.
pub const API_KEY_ENV: &str = "AIHUB_API_KEY";

/// Environment variable holding the gateway base URL, read when no base URL is given.
pub const BASE_URL_ENV: &str = "AIHUB_BASE_URL";

/// Builds a [`Client`].
#[derive(Debug, Default)]
pub struct ClientBuilder {
    gateway: Option<(String, String)>,
    api_key: Option<String>,
    base_url: Option<String>,
    keys: HashMap<String, String>,
    base_urls: HashMap<String, String>,
    providers: Vec<ProviderConfig>,
    from_env: bool,
    catalog: Option<Catalog>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    limits: ResponseLimits,
    retry: RetryPolicy,
    fallback_models: Vec<String>,
    headers: Vec<(String, String)>,
}

impl ClientBuilder {
    pub(super) fn new() -> Self {
        Self {
            from_env: true,
            timeout: Some(Duration::from_secs(600)),
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(120)),
            limits: ResponseLimits::default(),
            ..Self::default()
        }
    }

    /// Gateway mode: every request goes to an AI Hub gateway (or any OpenAI-compatible
    /// endpoint) at `base_url` (e.g. `http://127.0.0.1:8080/v1`) with one key.
    pub fn gateway(mut self, base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        self.gateway = Some((base_url.into(), api_key.into()));
        self
    }

    /// Gateway mode with this key. The base URL comes from [`ClientBuilder::base_url`], else
    /// `AIHUB_BASE_URL`, else [`DEFAULT_GATEWAY_URL`]. Without a key here, `AIHUB_API_KEY`
    /// chooses gateway mode when set (and the environment is read), direct mode otherwise.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The gateway base URL for [`ClientBuilder::api_key`]; an error at build time when no
    /// gateway key is given or found in the environment.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Direct mode: the key for one provider (`openai`, `deepseek`, …). Without it, the
    /// key comes from the provider's environment variable (`OPENAI_API_KEY`, …).
    pub fn provider_key(mut self, provider: impl Into<String>, api_key: impl Into<String>) -> Self {
        self.keys.insert(provider.into(), api_key.into());
        self
    }

    /// Direct mode: a different base URL for a catalog provider (a proxy, a local server).
    pub fn provider_base_url(
        mut self,
        provider: impl Into<String>,
        base_url: impl Into<String>,
    ) -> Self {
        self.base_urls.insert(provider.into(), base_url.into());
        self
    }

    /// Direct mode: a provider the catalog does not know, or a full replacement of one.
    pub fn provider(mut self, config: ProviderConfig) -> Self {
        self.providers.push(config);
        self
    }

    /// Whether direct mode reads provider keys from the environment (default: yes).
    pub fn keys_from_env(mut self, yes: bool) -> Self {
        self.from_env = yes;
        self
    }

    /// The catalog used to resolve model names (default: the built-in one).
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// Total time of one attempt of a non-streamed request, from sending it to the whole
    /// body; for a stream, the wait for its response head (the first byte). Default 600 s;
    /// `None` disables it.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest a TCP/TLS connection may take to establish (default 10 s; native only).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest the client waits for the next bytes of a response, between the chunks of a
    /// stream included (default 120 s; native only).
    pub fn read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Longest a stream may last, from its response head to its last chunk (default
    /// [`DEFAULT_STREAM_TIMEOUT`](super::DEFAULT_STREAM_TIMEOUT), 10 minutes). A stream
    /// still running then ends with a `Timeout` error (code `stream_timeout`). `None`
    /// disables it.
    pub fn stream_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.stream_timeout = timeout;
        self
    }

    /// Largest response body read for a non-streamed request (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](super::DEFAULT_MAX_RESPONSE_BYTES), 32 MiB); a larger
    /// one is an `InvalidResponse` error (code `response_too_large`).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_body_bytes = bytes;
        self
    }

    /// Largest single SSE event of a stream (default
    /// [`DEFAULT_MAX_EVENT_BYTES`](crate::stream::DEFAULT_MAX_EVENT_BYTES), 16 MiB); a larger
    /// one ends the stream with an `InvalidResponse` error (code `event_too_large`).
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_event_bytes = bytes;
        self
    }

    /// Retries after the first attempt (default 2).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry.max_retries = retries;
        self
    }

    /// The whole retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Models tried in order when a chat request fails in a way another model might not.
    pub fn fallback_models<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fallback_models = models.into_iter().map(Into::into).collect();
        self
    }

    /// A header sent with every request.
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The gateway chosen by [`ClientBuilder::api_key`], [`ClientBuilder::base_url`] and the
    /// `AIHUB_*` environment variables, or `None` for direct mode.
    fn gateway_from_settings(&self) -> Result<Option<(String, String)>> {
        let env = |name: &str| {
            self.from_env
                .then(|| std::env::var(name).ok())
                .flatten()
                .filter(|v| !v.trim().is_empty())
        };
        match self.api_key.clone().or_else(|| env(API_KEY_ENV)) {
            Some(key) => {
                let url = self
                    .base_url
                    .clone()
                    .or_else(|| env(BASE_URL_ENV))
                    .unwrap_or_else(|| DEFAULT_GATEWAY_URL.to_owned());
                Ok(Some((url, key)))
            }
            None if self.base_url.is_some() => Err(Error::config(format!(
                "a gateway base URL needs a gateway API key (api_key, or {API_KEY_ENV} in the environment)"
            ))),
            None => Ok(None),
        }
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client> {
        let gateway = match self.gateway.clone() {
            Some(gateway) => Some(gateway),
            None => self.gateway_from_settings()?,
        };
        let catalog = self.catalog.unwrap_or_else(|| Catalog::builtin().clone());
        let mode = match gateway {
            Some((base_url, key)) => {
                if key.trim().is_empty() {
                    return Err(Error::config("gateway mode needs an API key"));
                }
                let mut config =
                    ProviderConfig::new("aihub", ProviderKind::OpenAi, base_url).with_api_key(key);
                config.headers = self.headers.clone();
                Mode::Gateway(Adapter::new(config))
            }
            None => {
                let mut adapters = HashMap::new();
                for info in catalog.providers() {
                    let key = self.keys.get(&info.id).cloned().or_else(|| {
                        let var = info.api_key_env.as_deref().filter(|_| self.from_env)?;
                        std::env::var(var).ok().filter(|v| !v.is_empty())
                    });
                    if key.is_none() && info.quirks.requires_key {
                        continue;
                    }
                    let base = self
                        .base_urls
                        .get(&info.id)
                        .cloned()
                        .unwrap_or_else(|| info.base_url.clone());
                    let mut config = ProviderConfig::new(info.id.clone(), info.kind, base);
                    config.api_key = key.map(Into::into);
                    config.api_version.clone_from(&info.api_version);
                    config.quirks = info.quirks.clone();
                    config.headers = self.headers.clone();
                    adapters.insert(info.id.clone(), Adapter::new(config));
                }
                for id in self.keys.keys() {
                    if !adapters.contains_key(id)
                        && catalog.provider(id).is_none()
                        && !self.providers.iter().any(|p| &p.id == id)
                    {
                        return Err(Error::config(format!(
                            "unknown provider {id:?}: add it with ClientBuilder::provider"
                        )));
                    }
                }
                for mut config in self.providers {
                    if config.api_key.is_none()
                        && let Some(key) = self.keys.get(&config.id)
                    {
                        config.api_key = Some(key.clone().into());
                    }
                    if config.quirks == Quirks::default()
                        && let Some(info) = catalog.provider(&config.id)
                    {
                        config.quirks = info.quirks.clone();
                    }
                    adapters.insert(config.id.clone(), Adapter::new(config));
                }
                Mode::Direct(adapters)
            }
        };
        let http = http_client(self.connect_timeout, self.read_timeout)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                mode,
                catalog,
                retry: self.retry,
                timeout: self.timeout,
                limits: self.limits,
                fallback_models: self.fallback_models,
            }),
        })
    }
}

/// Redirects followed within one origin before the client gives up.
#[cfg(not(target_family = "wasm"))]
const MAX_REDIRECTS: usize = 5;

/// The redirect policy: follow a redirect only to the same scheme, host and port.
///
/// reqwest's own policy drops `authorization` and cookies on a redirect to another host,
/// but keeps every other header: `x-api-key`, `api-key`, `x-goog-api-key` and a
/// provider's extra headers would follow the redirect to the other host. A redirect to
/// another origin is therefore not followed at all; the 3xx answer becomes an
/// `InvalidResponse` error (code `redirect_not_followed`).
#[cfg(not(target_family = "wasm"))]
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt.previous().last().is_some_and(|from| {
            let to = attempt.url();
            from.scheme() == to.scheme()
                && from.host_str() == to.host_str()
                && from.port_or_known_default() == to.port_or_known_default()
        });
        if !same_origin {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

#[cfg(not(target_family = "wasm"))]
fn http_client(connect: Option<Duration>, read: Option<Duration>) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .redirect(redirect_policy())
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("aihub/", env!("CARGO_PKG_VERSION")));
    if let Some(t) = connect {
        b = b.connect_timeout(t);
    }
    if let Some(t) = read {
        b = b.read_timeout(t);
    }
    b.build()
        .map_err(|e| Error::config(format!("HTTP client: {e}")))
}

#[cfg(target_family = "wasm")]
fn http_client(_connect: Option<Duration>, _read: Option<Duration>) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .build()
        .map_err(|e| Error::config(format!("HTTP client: {e}")))
}
