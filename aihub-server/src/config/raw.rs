//! The configuration file as written.

use std::collections::BTreeMap;

use aihub_core::pricing::Price;
use aihub_core::providers::Quirks;
use serde::Deserialize;

use super::ConfigError;

/// `aihub.toml`, every key optional (its `Debug` shows no secret).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Address to listen on (default `127.0.0.1:8080`).
    pub listen: Option<String>,
    /// The address users reach the gateway at (`https://ai.example.com`), for invitation links;
    /// default `http://` and the listen address.
    pub public_url: Option<String>,
    /// Hours an invitation can be accepted (default 168).
    pub invitation_ttl_hours: Option<u64>,
    /// `sqlite://PATH` (default `sqlite://aihub.db`) or `postgres://…`.
    pub database_url: Option<String>,
    /// `redis://…` for state shared across gateway instances.
    pub redis_url: Option<String>,
    /// Admin master key; prefer the `AIHUB_MASTER_KEY` environment variable.
    pub master_key: Option<String>,
    /// File holding the key that deployment credentials stored in the database are encrypted
    /// under (32 bytes as base64 or 64 hex digits, its first line); the `AIHUB_SECRETS_KEY`
    /// environment variable takes precedence. Never the key itself.
    pub secrets_key_file: Option<String>,
    /// Largest accepted request body in bytes (default 4 MiB).
    pub max_body_bytes: Option<usize>,
    /// Upstream timeout for a whole request or the start of a stream (default 600).
    pub upstream_timeout_secs: Option<u64>,
    /// Upstream timeout between received bytes (default 120).
    pub upstream_read_timeout_secs: Option<u64>,
    /// Longest a stream may run after its first byte, in seconds (default 3600).
    pub upstream_stream_timeout_secs: Option<u64>,
    /// Upstream connect timeout (default 10).
    pub upstream_connect_timeout_secs: Option<u64>,
    /// Retries of retryable upstream failures (default 2).
    pub upstream_max_retries: Option<u32>,
    /// Management session lifetime in hours (default 168).
    pub session_ttl_hours: Option<u64>,
    /// Seconds an API key, its owner's plan and its budgets are kept in memory (default 5; 0: never).
    pub key_cache_secs: Option<u64>,
    /// Seconds open requests get to finish after SIGTERM before streams are ended with an
    /// error event and recorded (default 25, below an orchestrator's usual 30 s grace).
    pub shutdown_grace_secs: Option<u64>,
    /// Browser origins allowed to call the gateway (CORS); `["*"]` for any. Empty: no
    /// CORS headers, so browsers refuse cross-origin calls (the default).
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    /// Extra catalog entries (TOML text of `[[providers]]` / `[[models]]`, as in the built-in catalog).
    pub catalog: Option<String>,
    /// Providers by id.
    #[serde(default)]
    pub providers: BTreeMap<String, RawProvider>,
    /// Plans by id; each table replaces the built-in plan of the same id.
    #[serde(default)]
    pub plans: BTreeMap<String, RawPlan>,
    /// `[limits]`: how quotas, rate limits and budgets are enforced.
    #[serde(default)]
    pub limits: RawLimits,
    /// `[billing]`: the accounting currency and exchange rates.
    #[serde(default)]
    pub billing: RawBilling,
    /// `[alerts]`: where budget alerts go.
    #[serde(default)]
    pub alerts: RawAlerts,
    /// `[routing]`: model groups, deployments, retries, fallbacks and breakers.
    #[serde(default)]
    pub routing: super::routing::RawRouting,
    /// `[cache]`: the exact-match response cache.
    #[serde(default)]
    pub cache: super::cache::RawCache,
}

/// `[plans.ID]`. An omitted limit is unlimited.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlan {
    /// Display name.
    pub name: Option<String>,
    /// Monthly price as a decimal string in the billing currency (`"29"`, `"99.00"`).
    pub price_monthly: Option<String>,
    /// Tokens (prompt plus completion) per calendar month.
    pub monthly_tokens: Option<u64>,
    /// Requests per minute, per user (and per key unless the key has its own).
    pub rpm: Option<u32>,
    /// Tokens per minute, per user.
    pub tpm: Option<u64>,
    /// Requests in flight at once per key.
    pub max_concurrent: Option<u32>,
}

/// `[limits]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// IANA time zone in which months start (default `UTC`).
    pub timezone: Option<String>,
    /// `closed` (refuse, the default) or `open` (let requests through) when Redis or the
    /// database cannot be asked.
    pub on_backend_error: Option<String>,
    /// Longest wait for the limit backend, ms (default 250).
    pub backend_timeout_ms: Option<u64>,
    /// How long a request's reservation holds if its gateway never settles it, s (default 900).
    pub lease_secs: Option<u64>,
    /// Output tokens reserved for a request that sets no `max_tokens` (default 4096, or the
    /// model's maximum output if smaller).
    pub default_max_output: Option<u64>,
    /// Plan of users whose plan id is not configured (default `free`).
    pub default_plan: Option<String>,
}

/// `[billing]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBilling {
    /// The currency plans and budgets are in by default: `USD` (default) or `CNY`.
    pub currency: Option<String>,
    /// Value of one unit of another currency in the billing currency, as a decimal string.
    #[serde(default)]
    pub exchange_rates: BTreeMap<String, String>,
}

/// `[alerts]`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    /// URL that receives a JSON POST when a budget's soft limit is reached.
    pub webhook_url: Option<String>,
}

/// `[providers.ID]`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// `openai` | `azure` | `anthropic` | `gemini`; optional for catalog providers.
    pub kind: Option<String>,
    /// Base URL; defaults to the catalog's.
    pub base_url: Option<String>,
    /// The key itself (prefer `api_key_env`).
    pub api_key: Option<String>,
    /// Environment variable holding the key; defaults to the catalog's.
    pub api_key_env: Option<String>,
    /// Azure `api-version` or Anthropic `anthropic-version`.
    pub api_version: Option<String>,
    /// When set, only these models are served (upstream names or full ids); a name the
    /// catalog does not know is served too, as if the provider allowed unlisted models.
    pub models: Option<Vec<String>>,
    /// Serve models the catalog does not know (default false: they are 404 `model_not_found`).
    pub allow_unlisted_models: Option<bool>,
    /// The price of the models the catalog does not know, as a catalog `[models.price]`
    /// table; without it they are unpriced.
    pub unlisted_price: Option<Price>,
    /// Extra headers sent upstream.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// OpenAI-compatible differences; defaults to the catalog's.
    pub quirks: Option<Quirks>,
}

impl RawConfig {
    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| super::redact::parse_error(text, &e))
    }

    /// Applies the `AIHUB_*` environment variables: one for every key of the file that is not
    /// a table, named `AIHUB_` and the key's path in capitals with `_` between the parts
    /// (`AIHUB_LISTEN`, `AIHUB_LIMITS_LEASE_SECS`, `AIHUB_ALERTS_WEBHOOK_URL`).
    /// `AIHUB_CORS_ALLOWED_ORIGINS` is comma-separated. Tables have none: `[providers.*]`
    /// (whose keys come from `api_key_env`), `[plans.*]`, `[billing.exchange_rates]` and
    /// `[routing.groups.*]` (whose deployments' keys come from `api_key_env` or `api_key_file`).
    /// An empty variable counts as unset.
    pub fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let get = |name: &str| env(name).filter(|v| !v.is_empty());
        /// Sets `slot` from the variable `name`, if it is set.
        fn set<T: std::str::FromStr>(
            value: Option<String>,
            name: &str,
            slot: &mut Option<T>,
        ) -> Result<(), ConfigError> {
            if let Some(v) = value {
                let parsed = v
                    .trim()
                    .parse()
                    .map_err(|_| ConfigError(format!("{name}: {v:?} is not a valid value")))?;
                *slot = Some(parsed);
            }
            Ok(())
        }
        macro_rules! env_keys {
            ($($name:literal => $slot:expr),* $(,)?) => {
                $( set(get($name), $name, &mut $slot)?; )*
            };
        }
        env_keys! {
            "AIHUB_LISTEN" => self.listen,
            "AIHUB_DATABASE_URL" => self.database_url,
            "AIHUB_PUBLIC_URL" => self.public_url,
            "AIHUB_INVITATION_TTL_HOURS" => self.invitation_ttl_hours,
            "AIHUB_REDIS_URL" => self.redis_url,
            "AIHUB_MASTER_KEY" => self.master_key,
            "AIHUB_MAX_BODY_BYTES" => self.max_body_bytes,
            "AIHUB_UPSTREAM_TIMEOUT_SECS" => self.upstream_timeout_secs,
            "AIHUB_UPSTREAM_READ_TIMEOUT_SECS" => self.upstream_read_timeout_secs,
            "AIHUB_UPSTREAM_CONNECT_TIMEOUT_SECS" => self.upstream_connect_timeout_secs,
            "AIHUB_UPSTREAM_STREAM_TIMEOUT_SECS" => self.upstream_stream_timeout_secs,
            "AIHUB_UPSTREAM_MAX_RETRIES" => self.upstream_max_retries,
            "AIHUB_SESSION_TTL_HOURS" => self.session_ttl_hours,
            "AIHUB_KEY_CACHE_SECS" => self.key_cache_secs,
            "AIHUB_SHUTDOWN_GRACE_SECS" => self.shutdown_grace_secs,
            "AIHUB_CATALOG" => self.catalog,
            "AIHUB_LIMITS_TIMEZONE" => self.limits.timezone,
            "AIHUB_LIMITS_ON_BACKEND_ERROR" => self.limits.on_backend_error,
            "AIHUB_LIMITS_BACKEND_TIMEOUT_MS" => self.limits.backend_timeout_ms,
            "AIHUB_LIMITS_LEASE_SECS" => self.limits.lease_secs,
            "AIHUB_LIMITS_DEFAULT_MAX_OUTPUT" => self.limits.default_max_output,
            "AIHUB_LIMITS_DEFAULT_PLAN" => self.limits.default_plan,
            "AIHUB_BILLING_CURRENCY" => self.billing.currency,
            "AIHUB_ALERTS_WEBHOOK_URL" => self.alerts.webhook_url,
            "AIHUB_ROUTING_MAX_ATTEMPTS" => self.routing.max_attempts,
            "AIHUB_ROUTING_MAX_RETRY_WAIT_SECS" => self.routing.max_retry_wait_secs,
            "AIHUB_ROUTING_REQUEST_TIMEOUT_SECS" => self.routing.request_timeout_secs,
            "AIHUB_ROUTING_WHEN_ALL_OPEN" => self.routing.when_all_open,
            "AIHUB_ROUTING_FIRST_TOKEN_TIMEOUT_MS" => self.routing.first_token_timeout_ms,
            "AIHUB_ROUTING_NON_STREAM_AS_STREAM" => self.routing.non_stream_as_stream,
            "AIHUB_ROUTING_BREAKER_WINDOW_SECS" => self.routing.breaker.window_secs,
            "AIHUB_ROUTING_BREAKER_MIN_REQUESTS" => self.routing.breaker.min_requests,
            "AIHUB_ROUTING_BREAKER_FAILURE_PERCENT" => self.routing.breaker.failure_percent,
            "AIHUB_ROUTING_BREAKER_COOLDOWN_SECS" => self.routing.breaker.cooldown_secs,
            "AIHUB_ROUTING_DEPLOYMENTS_POLL_SECS" => self.routing.deployments_poll_secs,
            "AIHUB_SECRETS_KEY_FILE" => self.secrets_key_file,
            "AIHUB_CACHE_ENABLED" => self.cache.enabled,
            "AIHUB_CACHE_TTL_SECS" => self.cache.ttl_secs,
            "AIHUB_CACHE_MAX_TTL_SECS" => self.cache.max_ttl_secs,
            "AIHUB_CACHE_MAX_ENTRY_BYTES" => self.cache.max_entry_bytes,
            "AIHUB_CACHE_MAX_MEMORY_BYTES" => self.cache.max_memory_bytes,
            "AIHUB_CACHE_REDIS_TIMEOUT_MS" => self.cache.redis_timeout_ms,
            "AIHUB_CACHE_SHARED_ACROSS_ORGANIZATIONS" => self.cache.shared_across_organizations,
            "AIHUB_CACHE_CHARGE_FRACTION" => self.cache.charge_fraction,
        }
        if let Some(v) = get("AIHUB_CORS_ALLOWED_ORIGINS") {
            self.cors_allowed_origins = v
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect();
        }
        Ok(())
    }
}
