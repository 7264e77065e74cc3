//! Configuration: TOML from `--config FILE` (or `AIHUB_CONFIG`), overridden by `AIHUB_*`
//! environment variables. Two phases: [`RawConfig`] is the file as written (unknown keys are
//! errors); [`Config::load`] validates it and resolves secrets from the environment.

mod cache;
mod limits;
mod raw;
mod redact;
mod routing;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use aihub_core::catalog::Catalog;
use aihub_core::providers::{ProviderConfig, ProviderKind, Quirks};
use secrecy::SecretString;

pub use cache::{CacheSettings, RawCache};
pub use limits::{
    Alerts, Billing, LimitSettings, OnBackendError, Plan, builtin_plans, parse_currency,
};
pub use raw::{RawAlerts, RawBilling, RawConfig, RawLimits, RawPlan, RawProvider};
pub use routing::{
    BreakerSettings, DeploymentSettings, GroupSettings, RawBreaker, RawDeployment, RawGroup,
    RawRouting, RoutingSettings, Strategy, WhenAllOpen,
};

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://aihub.db";
/// Default request body limit (bytes).
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// A configuration error, naming the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// The validated configuration the gateway runs with (its `Debug` shows no secret).
#[derive(Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The address users reach the gateway at, without a trailing slash.
    pub public_url: String,
    /// How long an invitation can be accepted.
    pub invitation_ttl: Duration,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// `redis://…`, for state shared by several instances.
    pub redis_url: Option<String>,
    /// Admin master key (`AIHUB_MASTER_KEY`).
    pub master_key: Option<SecretString>,
    /// The key deployment credentials are stored under (`AIHUB_SECRETS_KEY` or
    /// `secrets_key_file`); without it, deployments created through the admin API cannot have
    /// a credential of their own.
    pub secrets_key: Option<crate::secrets::SecretsKey>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Longest a whole upstream request may take (non-stream) or take to start (stream).
    pub upstream_timeout: Duration,
    /// Longest the gateway waits for the next bytes from an upstream.
    pub upstream_read_timeout: Duration,
    /// Upstream connection timeout.
    pub upstream_connect_timeout: Duration,
    /// Longest a stream may run after its first byte.
    pub upstream_stream_timeout: Duration,
    /// Retries of retryable upstream failures.
    pub upstream_max_retries: u32,
    /// Lifetime of a management session token.
    pub session_ttl: Duration,
    /// How long a key, its owner's plan and its budgets are kept in memory after a read.
    pub key_cache_ttl: Duration,
    /// How long open requests get to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Providers by id.
    pub providers: BTreeMap<String, ProviderSettings>,
    /// The catalog: built-in plus the configuration's additions.
    pub catalog: Catalog,
    /// Plans by id.
    pub plans: BTreeMap<String, Plan>,
    /// How limits are enforced.
    pub limits: LimitSettings,
    /// Accounting currency and exchange rates.
    pub billing: Billing,
    /// Where alerts go.
    pub alerts: Alerts,
    /// Which browser origins may call the gateway.
    pub cors: CorsOrigins,
    /// Model groups, deployments, retries, fallbacks and breakers.
    pub routing: RoutingSettings,
    /// The exact-match response cache.
    pub cache: CacheSettings,
}

/// Browser origins allowed to call the gateway cross-origin (CORS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No CORS headers: browsers refuse cross-origin calls (the default).
    #[default]
    None,
    /// Any origin (`"*"`).
    Any,
    /// These origins exactly (`scheme://host[:port]`).
    List(Vec<String>),
}

/// Checks `cors_allowed_origins`: `"*"` alone, or origins like `https://app.example.com`.
fn resolve_cors(origins: &[String]) -> Result<CorsOrigins, ConfigError> {
    if origins.is_empty() {
        return Ok(CorsOrigins::None);
    }
    if origins.iter().any(|o| o == "*") {
        if origins.len() > 1 {
            return Err(ConfigError(
                "cors_allowed_origins: \"*\" allows every origin and cannot be combined with others"
                    .into(),
            ));
        }
        return Ok(CorsOrigins::Any);
    }
    for origin in origins {
        let (scheme, rest) = origin.split_once("://").unwrap_or(("", ""));
        let valid = matches!(scheme, "http" | "https")
            && !rest.is_empty()
            && !rest.contains(['/', '?', '#', ' '])
            && origin.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(ConfigError(format!(
                "cors_allowed_origins: {origin:?} is not an origin like https://app.example.com (scheme, host and port only)"
            )));
        }
    }
    Ok(CorsOrigins::List(origins.to_vec()))
}

/// One configured provider.
#[derive(Clone)]
pub struct ProviderSettings {
    /// What the adapter needs.
    pub adapter: ProviderConfig,
    /// When set, only these models are served (upstream names, full ids or aliases); a
    /// listed name the catalog does not know is served as an unlisted model.
    pub models: Option<Vec<String>>,
    /// Models the catalog does not know are served (without, they are `model_not_found`).
    pub allow_unlisted_models: bool,
    /// What models the catalog does not know are billed at; `None`: their price is unknown.
    pub unlisted_price: Option<aihub_core::pricing::Price>,
}

impl Config {
    /// Loads `path` (if any), applies `AIHUB_*` overrides from `env`, validates.
    pub fn load(
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut raw = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError(format!("cannot read {}: {e}", p.display())))?;
                RawConfig::parse(&text)?
            }
            None => RawConfig::default(),
        };
        raw.apply_env(env)?;
        Self::resolve(raw, env)
    }

    /// Validates a raw configuration and resolves provider secrets from `env`.
    pub fn resolve(
        raw: RawConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let listen_text = raw
            .listen
            .clone()
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_text.parse().map_err(|_| {
            ConfigError(format!(
                "listen: {listen_text:?} is not an address like 127.0.0.1:8080"
            ))
        })?;
        let database_url = raw
            .database_url
            .clone()
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError(
                "database_url: expected sqlite://PATH or postgres://…".into(),
            ));
        }
        let mut catalog = Catalog::builtin().clone();
        if let Some(extra) = &raw.catalog {
            catalog
                .merge_toml(extra)
                .map_err(|e| ConfigError(format!("catalog: {e}")))?;
        }
        let mut providers = BTreeMap::new();
        for (id, p) in &raw.providers {
            providers.insert(id.clone(), resolve_provider(id, p, &catalog, env)?);
        }
        let plans = limits::resolve_plans(&raw.plans)?;
        let limit_settings = limits::resolve_limits(&raw.limits, &plans)?;
        let billing = limits::resolve_billing(&raw.billing)?;
        let alerts = limits::resolve_alerts(&raw.alerts)?;
        let cors = resolve_cors(&raw.cors_allowed_origins)?;
        if let Some(url) = &raw.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(ConfigError(
                "redis_url: expected redis://host:port or rediss://…".into(),
            ));
        }
        let upstream_max_retries = raw.upstream_max_retries.unwrap_or(2);
        let routing =
            routing::resolve_routing(&raw.routing, &providers, upstream_max_retries, env)?;
        let cache = cache::resolve_cache(&raw.cache)?;
        let secs = |v: Option<u64>, default: u64| Duration::from_secs(v.unwrap_or(default));
        let secrets_key = resolve_secrets_key(raw.secrets_key_file.as_deref(), env)?;
        let public_url = match &raw.public_url {
            None => format!("http://{listen}"),
            Some(url) => {
                let url = url.trim().trim_end_matches('/');
                if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(' ')
                {
                    return Err(ConfigError(
                        "public_url: expected http://host[:port][/path] or https://…".into(),
                    ));
                }
                url.to_owned()
            }
        };
        Ok(Self {
            secrets_key,
            listen,
            public_url,
            invitation_ttl: Duration::from_secs(raw.invitation_ttl_hours.unwrap_or(24 * 7) * 3600),
            database_url,
            redis_url: raw.redis_url.clone(),
            master_key: raw.master_key.clone().map(SecretString::from),
            max_body_bytes: raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            upstream_timeout: secs(raw.upstream_timeout_secs, 600),
            upstream_read_timeout: secs(raw.upstream_read_timeout_secs, 120),
            upstream_connect_timeout: secs(raw.upstream_connect_timeout_secs, 10),
            upstream_stream_timeout: secs(raw.upstream_stream_timeout_secs, 3600),
            upstream_max_retries,
            session_ttl: Duration::from_secs(raw.session_ttl_hours.unwrap_or(24 * 7) * 3600),
            key_cache_ttl: secs(raw.key_cache_secs, 5),
            shutdown_grace: secs(raw.shutdown_grace_secs, 25),
            providers,
            catalog,
            plans,
            limits: limit_settings,
            billing,
            alerts,
            cors,
            routing,
            cache,
        })
    }
}

/// The secrets key from `AIHUB_SECRETS_KEY`, else from the first line of `secrets_key_file`.
fn resolve_secrets_key(
    file: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<crate::secrets::SecretsKey>, ConfigError> {
    use crate::secrets::{SECRETS_KEY_ENV, SecretsKey};
    if let Some(text) = env(SECRETS_KEY_ENV).filter(|v| !v.trim().is_empty()) {
        return SecretsKey::parse(&text)
            .map(Some)
            .map_err(|e| ConfigError(format!("{SECRETS_KEY_ENV}: {e}")));
    }
    let Some(path) = file else { return Ok(None) };
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("secrets_key_file: cannot read {path}: {e}")))?;
    let first = text.lines().next().unwrap_or("");
    SecretsKey::parse(first)
        .map(Some)
        .map_err(|e| ConfigError(format!("secrets_key_file: {path}: {e}")))
}

fn resolve_provider(
    id: &str,
    p: &RawProvider,
    catalog: &Catalog,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProviderSettings, ConfigError> {
    if id.is_empty() || id.contains('/') {
        return Err(ConfigError(format!(
            "providers.{id}: a provider id must be non-empty and contain no '/'"
        )));
    }
    let known = catalog.provider(id);
    let kind = match (&p.kind, known) {
        (Some(k), _) => parse_kind(k).ok_or_else(|| {
            ConfigError(format!(
                "providers.{id}.kind: {k:?} is not one of openai, azure, anthropic, gemini"
            ))
        })?,
        (None, Some(info)) => info.kind,
        (None, None) => {
            return Err(ConfigError(format!(
                "providers.{id}.kind is required for a provider the catalog does not know"
            )));
        }
    };
    let base_url = p
        .base_url
        .clone()
        .or_else(|| known.map(|i| i.base_url.clone()))
        .ok_or_else(|| ConfigError(format!("providers.{id}.base_url is required")))?;
    let key_env = p
        .api_key_env
        .clone()
        .or_else(|| known.and_then(|i| i.api_key_env.clone()));
    let api_key = match (&p.api_key, &key_env) {
        (Some(k), _) => Some(k.clone()),
        (None, Some(var)) => env(var).filter(|v| !v.is_empty()),
        (None, None) => None,
    };
    let quirks = match (&p.quirks, known) {
        (Some(q), _) => q.clone(),
        (None, Some(info)) => info.quirks.clone(),
        (None, None) => Quirks::default(),
    };
    if api_key.is_none() && quirks.requires_key {
        let hint = key_env.map(|v| format!(" (set {v})")).unwrap_or_default();
        return Err(ConfigError(format!(
            "providers.{id}: no API key{hint}; set api_key, api_key_env, or quirks.requires_key = false"
        )));
    }
    let mut adapter = ProviderConfig::new(id, kind, base_url);
    adapter.api_key = api_key.map(SecretString::from);
    adapter.api_version = p
        .api_version
        .clone()
        .or_else(|| known.and_then(|i| i.api_version.clone()));
    adapter.headers = p
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    adapter.quirks = quirks;
    let allow_unlisted_models = p.allow_unlisted_models.unwrap_or(false);
    if p.unlisted_price.is_some() && !allow_unlisted_models && p.models.is_none() {
        return Err(ConfigError(format!(
            "providers.{id}.unlisted_price: no model can be billed at it; set \
             allow_unlisted_models = true, or list the models in providers.{id}.models"
        )));
    }
    Ok(ProviderSettings {
        adapter,
        models: p.models.clone(),
        allow_unlisted_models,
        unlisted_price: p.unlisted_price.clone(),
    })
}

fn parse_kind(k: &str) -> Option<ProviderKind> {
    match k {
        "openai" => Some(ProviderKind::OpenAi),
        "azure" => Some(ProviderKind::Azure),
        "anthropic" => Some(ProviderKind::Anthropic),
        "gemini" => Some(ProviderKind::Gemini),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
