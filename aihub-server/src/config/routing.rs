//! `[routing]`: model groups served by several deployments, how one is chosen, what is
//! retried where, and when a deployment is taken out (its circuit breaker).

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{ConfigError, ProviderSettings};

/// `[routing]` as written.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouting {
    /// Most upstream attempts one request makes, over every deployment and fallback
    /// (default 5, or `upstream_max_retries` + 1 when that is more).
    pub max_attempts: Option<u32>,
    /// Longest `Retry-After` honoured, seconds (default 60); a longer one moves on to another
    /// deployment at once, or ends the request when there is none.
    pub max_retry_wait_secs: Option<u64>,
    /// Longest one request may spend on its attempts, retries, backoff and fallbacks included,
    /// seconds (default twice `upstream_timeout_secs`).
    pub request_timeout_secs: Option<u64>,
    /// When every deployment of a group is taken out by its breaker: `fail` (503 with
    /// `Retry-After`, the default) or `try` (call them anyway).
    pub when_all_open: Option<String>,
    /// Longest a stream may take to send its first content (text, tool-call arguments or
    /// reasoning) before the attempt counts as failed and the request falls over, ms
    /// (default: `upstream_timeout_secs`).
    pub first_token_timeout_ms: Option<u64>,
    /// Send non-stream requests to the upstream as streams and assemble the completion, so
    /// that `first_token_timeout_ms` bounds them too (default false).
    pub non_stream_as_stream: Option<bool>,
    /// How often each instance checks the database for deployments changed through the
    /// admin API, seconds (default 5; 0: never, rely on Redis). With Redis, changes are
    /// announced at once and this is the safety net for a lost message.
    pub deployments_poll_secs: Option<u64>,
    /// `[routing.breaker]`.
    #[serde(default)]
    pub breaker: RawBreaker,
    /// `[routing.groups.NAME]`: model groups by the name callers send as `model`.
    #[serde(default)]
    pub groups: BTreeMap<String, RawGroup>,
}

/// `[routing.breaker]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    /// Window over which a deployment's failure rate is measured, seconds (default 60).
    pub window_secs: Option<u64>,
    /// Fewest requests in the window before the rate counts (default 5).
    pub min_requests: Option<u32>,
    /// Failure rate, in percent, that takes a deployment out (default 50).
    pub failure_percent: Option<u8>,
    /// How long a deployment stays out before one probe request is let through, seconds
    /// (default 30).
    pub cooldown_secs: Option<u64>,
}

/// `[routing.groups.NAME]` as written.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// `priority` (default), `weighted`, `least_busy`, `lowest_latency` or `lowest_cost`.
    pub strategy: Option<String>,
    /// The deployments that serve the group.
    #[serde(default)]
    pub deployments: Vec<RawDeployment>,
    /// Groups (or model names) tried, in order, when the group's deployments all failed.
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// Tried instead of `fallbacks` when the prompt was too long for the model.
    #[serde(default)]
    pub context_window_fallbacks: Vec<String>,
    /// Tried instead of `fallbacks` when the provider refused the content.
    #[serde(default)]
    pub content_policy_fallbacks: Vec<String>,
}

/// `[[routing.groups.NAME.deployments]]` as written.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeployment {
    /// A name unique in the gateway (default `GROUP#N`, N counting from 1).
    pub id: Option<String>,
    /// A configured provider (`[providers.ID]`): its wire format, base URL and key.
    pub provider: String,
    /// The provider's name for the model, priced through the catalog as `provider/model`.
    pub model: String,
    /// Environment variable holding a key of this deployment's own (a key pool: several
    /// deployments of one provider with different keys). Default: the provider's key.
    pub api_key_env: Option<String>,
    /// File holding a key of this deployment's own (its first line).
    pub api_key_file: Option<String>,
    /// Share of traffic under `weighted` (default 1; 0 serves nothing).
    pub weight: Option<u32>,
    /// Order under `priority`: lower first (default 0); equal priorities share by weight.
    pub priority: Option<u32>,
    /// Requests per minute this deployment may take; it is skipped when it has no room.
    pub rpm: Option<u32>,
    /// Tokens per minute this deployment may take (prompt reservation plus output).
    pub tpm: Option<u64>,
    /// False takes the deployment out of every plan (default true).
    pub enabled: Option<bool>,
}

/// How a group orders its deployments for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Lowest `priority` first; equal priorities in weighted random order.
    Priority,
    /// Weighted random order over all deployments.
    Weighted,
    /// Fewest requests in flight on this instance first.
    LeastBusy,
    /// Lowest measured latency first (time to first token for streams, total time
    /// otherwise; an exponentially weighted average); unmeasured deployments first.
    LowestLatency,
    /// Cheapest worst case for the request first.
    LowestCost,
}

/// What to do when every deployment of a group is taken out by its breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenAllOpen {
    /// Answer 503 with `Retry-After` at once.
    Fail,
    /// Call them anyway, in the strategy's order.
    Try,
}

/// When a deployment is taken out and let back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Window of the failure rate.
    pub window: Duration,
    /// Fewest requests in the window before the rate counts.
    pub min_requests: u32,
    /// Failure rate in percent that opens the breaker.
    pub failure_percent: u8,
    /// Time out before one probe is let through.
    pub cooldown: Duration,
}

/// One deployment: a provider, its model, a credential.
#[derive(Clone)]
pub struct DeploymentSettings {
    /// Unique id.
    pub id: String,
    /// Provider id.
    pub provider: String,
    /// Upstream model name.
    pub model: String,
    /// A key of its own, when it has one.
    pub api_key: Option<SecretString>,
    /// Weight under `weighted` and within a priority.
    pub weight: u32,
    /// Priority (lower first).
    pub priority: u32,
    /// Requests per minute, when limited.
    pub rpm: Option<u32>,
    /// Tokens per minute, when limited.
    pub tpm: Option<u64>,
    /// Serves traffic.
    pub enabled: bool,
}

impl std::fmt::Debug for DeploymentSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeploymentSettings")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("own_key", &self.api_key.is_some())
            .field("weight", &self.weight)
            .field("priority", &self.priority)
            .finish_non_exhaustive()
    }
}

/// One model group.
#[derive(Debug, Clone)]
pub struct GroupSettings {
    /// Ordering of its deployments.
    pub strategy: Strategy,
    /// Its deployments.
    pub deployments: Vec<DeploymentSettings>,
    /// General fallbacks.
    pub fallbacks: Vec<String>,
    /// Fallbacks for a prompt too long for the model.
    pub context_window_fallbacks: Vec<String>,
    /// Fallbacks for content the provider refused.
    pub content_policy_fallbacks: Vec<String>,
}

/// `[routing]`, validated.
#[derive(Debug, Clone)]
pub struct RoutingSettings {
    /// Most attempts per request.
    pub max_attempts: u32,
    /// Longest `Retry-After` honoured.
    pub max_retry_wait: Duration,
    /// The total deadline of one request's attempts, when set (else twice the upstream
    /// timeout).
    pub request_timeout: Option<Duration>,
    /// What an all-open group does.
    pub when_all_open: WhenAllOpen,
    /// Longest wait for a stream's first content, when set.
    pub first_token_timeout: Option<Duration>,
    /// Non-stream requests are streamed from the upstream and assembled.
    pub non_stream_as_stream: bool,
    /// Breaker thresholds.
    pub breaker: BreakerSettings,
    /// How often the database is checked for changed deployments (`None`: never).
    pub deployments_poll: Option<Duration>,
    /// Model groups by name.
    pub groups: BTreeMap<String, GroupSettings>,
}

fn parse_strategy(name: &str, text: Option<&str>) -> Result<Strategy, ConfigError> {
    Ok(match text.unwrap_or("priority") {
        "priority" => Strategy::Priority,
        "weighted" => Strategy::Weighted,
        "least_busy" => Strategy::LeastBusy,
        "lowest_latency" => Strategy::LowestLatency,
        "lowest_cost" => Strategy::LowestCost,
        other => {
            return Err(ConfigError(format!(
                "routing.groups.{name}.strategy: {other:?} is not one of priority, weighted, \
                 least_busy, lowest_latency, lowest_cost"
            )));
        }
    })
}

/// A deployment's own key, from the environment or a file; never written inline.
fn deployment_key(
    at: &str,
    d: &RawDeployment,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<SecretString>, ConfigError> {
    match (&d.api_key_env, &d.api_key_file) {
        (Some(_), Some(_)) => Err(ConfigError(format!(
            "{at}: set api_key_env or api_key_file, not both"
        ))),
        (Some(var), None) => env(var)
            .filter(|v| !v.is_empty())
            .map(|v| Some(SecretString::from(v)))
            .ok_or_else(|| ConfigError(format!("{at}.api_key_env: {var} is not set"))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("{at}.api_key_file: cannot read {path}: {e}")))?;
            let key = text.lines().next().unwrap_or("").trim().to_owned();
            if key.is_empty() {
                return Err(ConfigError(format!("{at}.api_key_file: {path} is empty")));
            }
            Ok(Some(SecretString::from(key)))
        }
        (None, None) => Ok(None),
    }
}

/// Validates `[routing]` against the configured providers. Whether each deployment's model
/// and each fallback resolves is checked when the router is built (it needs the catalog).
pub fn resolve_routing(
    raw: &RawRouting,
    providers: &BTreeMap<String, ProviderSettings>,
    max_retries: u32,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RoutingSettings, ConfigError> {
    let mut groups = BTreeMap::new();
    let mut ids = std::collections::BTreeSet::new();
    for (name, g) in &raw.groups {
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(ConfigError(format!(
                "routing.groups: {name:?} is not a usable model name"
            )));
        }
        if g.deployments.is_empty() {
            return Err(ConfigError(format!(
                "routing.groups.{name}.deployments: a group needs at least one deployment"
            )));
        }
        let mut deployments = Vec::with_capacity(g.deployments.len());
        for (i, d) in g.deployments.iter().enumerate() {
            let at = format!("routing.groups.{name}.deployments[{i}]");
            if !providers.contains_key(&d.provider) {
                return Err(ConfigError(format!(
                    "{at}.provider: {:?} is not configured under [providers]",
                    d.provider
                )));
            }
            if d.model.is_empty() {
                return Err(ConfigError(format!("{at}.model is empty")));
            }
            let id = d.id.clone().unwrap_or_else(|| format!("{name}#{}", i + 1));
            if !ids.insert(id.clone()) {
                return Err(ConfigError(format!(
                    "{at}.id: {id:?} names another deployment too"
                )));
            }
            deployments.push(DeploymentSettings {
                id,
                provider: d.provider.clone(),
                model: d.model.clone(),
                api_key: deployment_key(&at, d, env)?,
                weight: d.weight.unwrap_or(1),
                priority: d.priority.unwrap_or(0),
                rpm: d.rpm,
                tpm: d.tpm,
                enabled: d.enabled.unwrap_or(true),
            });
        }
        groups.insert(
            name.clone(),
            GroupSettings {
                strategy: parse_strategy(name, g.strategy.as_deref())?,
                deployments,
                fallbacks: g.fallbacks.clone(),
                context_window_fallbacks: g.context_window_fallbacks.clone(),
                content_policy_fallbacks: g.content_policy_fallbacks.clone(),
            },
        );
    }
    let when_all_open = match raw.when_all_open.as_deref().unwrap_or("fail") {
        "fail" => WhenAllOpen::Fail,
        "try" => WhenAllOpen::Try,
        other => {
            return Err(ConfigError(format!(
                "routing.when_all_open: {other:?} is not one of fail, try"
            )));
        }
    };
    let b = &raw.breaker;
    let failure_percent = b.failure_percent.unwrap_or(50);
    if failure_percent == 0 || failure_percent > 100 {
        return Err(ConfigError(
            "routing.breaker.failure_percent: expected 1 to 100".into(),
        ));
    }
    let max_attempts = raw
        .max_attempts
        .unwrap_or_else(|| max_retries.saturating_add(1).max(5));
    if max_attempts == 0 {
        return Err(ConfigError(
            "routing.max_attempts: at least 1 (the first attempt)".into(),
        ));
    }
    Ok(RoutingSettings {
        max_attempts,
        max_retry_wait: Duration::from_secs(raw.max_retry_wait_secs.unwrap_or(60)),
        request_timeout: match raw.request_timeout_secs {
            Some(0) => {
                return Err(ConfigError(
                    "routing.request_timeout_secs: at least 1".into(),
                ));
            }
            secs => secs.map(Duration::from_secs),
        },
        when_all_open,
        first_token_timeout: raw.first_token_timeout_ms.map(Duration::from_millis),
        non_stream_as_stream: raw.non_stream_as_stream.unwrap_or(false),
        deployments_poll: match raw.deployments_poll_secs.unwrap_or(5) {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        },
        breaker: BreakerSettings {
            window: Duration::from_secs(b.window_secs.unwrap_or(60).max(1)),
            min_requests: b.min_requests.unwrap_or(5).max(1),
            failure_percent,
            cooldown: Duration::from_secs(b.cooldown_secs.unwrap_or(30)),
        },
        groups,
    })
}
