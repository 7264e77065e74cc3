//! `[cache]`: the exact-match response cache, as written and as validated.

use std::time::Duration;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::ConfigError;

/// `[cache]`, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    /// Cache the answers of keys that have no setting of their own (default false).
    pub enabled: Option<bool>,
    /// Seconds an answer is kept when the request names no ttl (default 3600).
    pub ttl_secs: Option<u64>,
    /// Longest ttl a request may ask for, s (default 86400).
    pub max_ttl_secs: Option<u64>,
    /// Largest answer stored, in bytes of JSON (default 1 MiB).
    pub max_entry_bytes: Option<usize>,
    /// Memory the in-process cache may hold, in bytes (default 64 MiB).
    pub max_memory_bytes: Option<u64>,
    /// Longest wait for Redis, ms, before a lookup counts as a miss (default 250).
    pub redis_timeout_ms: Option<u64>,
    /// Share answers between organisations (default false: every organisation has its own).
    pub shared_across_organizations: Option<bool>,
    /// Fraction of the original cost a hit is charged, as a decimal string from "0" to "1"
    /// (default "0").
    pub charge_fraction: Option<String>,
}

/// `[cache]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// Whether keys without a setting of their own are cached.
    pub enabled: bool,
    /// Time to live of an entry when the request names none.
    pub ttl: Duration,
    /// Longest time to live a request may ask for.
    pub max_ttl: Duration,
    /// Largest entry stored, bytes.
    pub max_entry_bytes: usize,
    /// Bound of the in-process cache, bytes.
    pub max_memory_bytes: u64,
    /// Longest wait for Redis.
    pub redis_timeout: Duration,
    /// Entries are shared between organisations.
    pub shared_across_organizations: bool,
    /// Fraction of the original cost a hit is charged (0 to 1, exact).
    pub charge_fraction: Decimal,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            ttl: Duration::from_secs(3600),
            max_ttl: Duration::from_secs(86_400),
            max_entry_bytes: 1024 * 1024,
            max_memory_bytes: 64 * 1024 * 1024,
            redis_timeout: Duration::from_millis(250),
            shared_across_organizations: false,
            charge_fraction: Decimal::ZERO,
        }
    }
}

/// Validates `[cache]`.
pub(super) fn resolve_cache(raw: &RawCache) -> Result<CacheSettings, ConfigError> {
    let d = CacheSettings::default();
    let charge_fraction = match &raw.charge_fraction {
        None => d.charge_fraction,
        Some(text) => text
            .trim()
            .parse::<Decimal>()
            .ok()
            .filter(|f| !f.is_sign_negative() && *f <= Decimal::ONE)
            .ok_or_else(|| {
                ConfigError(format!(
                    "cache.charge_fraction: {text:?} is not a decimal number from \"0\" to \"1\""
                ))
            })?,
    };
    let ttl = raw.ttl_secs.map_or(d.ttl, Duration::from_secs);
    let max_ttl = raw.max_ttl_secs.map_or(d.max_ttl, Duration::from_secs);
    if ttl.is_zero() || max_ttl.is_zero() {
        return Err(ConfigError(
            "cache.ttl_secs and cache.max_ttl_secs must be at least 1".into(),
        ));
    }
    if ttl > max_ttl {
        return Err(ConfigError(format!(
            "cache.ttl_secs ({}) is above cache.max_ttl_secs ({})",
            ttl.as_secs(),
            max_ttl.as_secs()
        )));
    }
    let redis_timeout = raw
        .redis_timeout_ms
        .map_or(d.redis_timeout, Duration::from_millis);
    if redis_timeout.is_zero() {
        return Err(ConfigError(
            "cache.redis_timeout_ms must be at least 1".into(),
        ));
    }
    Ok(CacheSettings {
        enabled: raw.enabled.unwrap_or(d.enabled),
        ttl,
        max_ttl,
        max_entry_bytes: raw.max_entry_bytes.unwrap_or(d.max_entry_bytes),
        max_memory_bytes: raw.max_memory_bytes.unwrap_or(d.max_memory_bytes),
        redis_timeout,
        shared_across_organizations: raw
            .shared_across_organizations
            .unwrap_or(d.shared_across_organizations),
        charge_fraction,
    })
}
