//! Limit state in Redis, shared by every gateway instance: each operation is one Lua script,
//! which Redis runs atomically.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Script, ScriptInvocation};

use super::gcra::{Gcra, micros};
use super::memory::SETTLED_MARGIN_MS;
use super::{Admission, Admit, BackendError, RateState, Renewal, Settlement, SpendState};

/// Every key this backend writes starts with this.
const PREFIX: &str = "aihub:";

static ADMIT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("admit.lua")));
static SETTLE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("settle.lua")));
static RENEW: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("renew.lua")));
static SEED: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("seed.lua")));

/// Limit state in Redis. Clones share one connection, which reconnects by itself.
///
/// One admission's keys may hash to different cluster slots: use a single Redis (with a
/// replica or Sentinel for failover), not Redis Cluster.
#[derive(Clone)]
pub struct RedisBackend {
    connection: ConnectionManager,
    timeout: Duration,
    /// The URL's password, to scrub from error messages.
    secret: Option<Arc<str>>,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Connects to Redis at `url`; every later call gives up after `timeout`.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self, BackendError> {
        let secret = password(url);
        let scrub = |context: &str, e: &dyn std::fmt::Display| {
            BackendError(redact(&format!("{context}: {e}"), secret.as_deref()))
        };
        let client = Client::open(url).map_err(|e| scrub("invalid Redis URL", &e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2);
        let connection =
            tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
                .await
                .map_err(|_| {
                    BackendError(format!("connecting to Redis timed out after {timeout:?}"))
                })?
                .map_err(|e| scrub("connecting to Redis", &e))?;
        Ok(Self {
            connection,
            timeout,
            secret,
        })
    }

    /// Runs a script invocation with the timeout; errors never carry the password.
    async fn run(&self, what: &str, call: &ScriptInvocation<'_>) -> Result<Vec<i64>, BackendError> {
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.timeout, call.invoke_async(&mut connection)).await {
            Err(_) => Err(BackendError(format!(
                "Redis {what} timed out after {:?}",
                self.timeout
            ))),
            Ok(Err(e)) => Err(BackendError(redact(
                &format!("Redis {what}: {e}"),
                self.secret.as_deref(),
            ))),
            Ok(Ok(reply)) => Ok(reply),
        }
    }

    /// Takes everything `admission` asks for, or nothing.
    pub async fn admit(&self, a: &Admission) -> Result<Admit, BackendError> {
        let mut call = ADMIT.prepare_invoke();
        call.arg(a.now_ms)
            .arg(a.lease_ms.max(0))
            .arg(&a.id)
            .arg(a.rates.len())
            .arg(a.spends.len())
            .arg(a.concurrency.len());
        for rate in &a.rates {
            let gcra = Gcra::of_rate(rate);
            let inc = gcra.increment(rate.cost);
            call.key(key(&rate.key))
                .arg(inc.whole)
                .arg(inc.frac)
                .arg(gcra.limit)
                .arg(gcra.period_us);
        }
        for spend in &a.spends {
            spend_keys(&mut call, &spend.key);
            call.arg(spend.limit).arg(spend.amount);
        }
        for cap in &a.concurrency {
            call.key(key(&cap.key)).arg(cap.max);
        }
        let reply = self.run("admit", &call).await?;
        parse_admit(a, &reply).ok_or_else(|| nonsense("admit", &reply))
    }

    /// Settles an admitted request; idempotent per `settlement.id`.
    pub async fn settle(&self, s: &Settlement) -> Result<Vec<SpendState>, BackendError> {
        let mut call = SETTLE.prepare_invoke();
        call.key(format!("{PREFIX}settled:{}", s.id))
            .arg(s.now_ms)
            .arg(&s.id)
            .arg(s.rate_refunds.len())
            .arg(s.spends.len())
            .arg(s.concurrency.len())
            .arg(SETTLED_MARGIN_MS)
            .arg(s.ended_ms);
        for refund in &s.rate_refunds {
            let gcra = Gcra::of_refund(refund);
            let inc = gcra.increment(refund.units.min(gcra.limit));
            call.key(key(&refund.key))
                .arg(inc.whole)
                .arg(inc.frac)
                .arg(gcra.limit)
                .arg(gcra.period_us);
        }
        for spend in &s.spends {
            spend_keys(&mut call, &spend.key);
            call.arg(spend.actual);
        }
        for conc in &s.concurrency {
            call.key(key(conc));
        }
        let reply = self.run("settle", &call).await?;
        spend_states(&reply)
            .filter(|states| states.len() == s.spends.len())
            .ok_or_else(|| nonsense("settle", &reply))
    }

    /// Extends the leases of a request's live reservations and slots; returns how many it
    /// still held.
    pub async fn renew(&self, r: &Renewal) -> Result<usize, BackendError> {
        let mut call = RENEW.prepare_invoke();
        call.arg(r.now_ms)
            .arg(r.lease_ms.max(0))
            .arg(&r.id)
            .arg(r.spends.len())
            .arg(r.concurrency.len());
        for spend in &r.spends {
            call.key(format!("{PREFIX}{spend}:leases"))
                .key(format!("{PREFIX}{spend}:res"));
        }
        for conc in &r.concurrency {
            call.key(key(conc));
        }
        let reply = self.run("renew", &call).await?;
        match reply.as_slice() {
            [held] => usize::try_from(*held).map_err(|_| nonsense("renew", &reply)),
            _ => Err(nonsense("renew", &reply)),
        }
    }

    /// Sets a spend counter's `used`, unless the counter already exists.
    pub async fn seed(
        &self,
        counter: &str,
        used: i64,
        expires_at_ms: i64,
        seeded_ms: i64,
    ) -> Result<(), BackendError> {
        let mut call = SEED.prepare_invoke();
        spend_keys(&mut call, counter);
        call.arg(used)
            .arg(expires_at_ms)
            .arg(pexpireat(expires_at_ms))
            .arg(seeded_ms);
        self.run("seed", &call).await.map(|_| ())
    }
}

#[cfg(test)]
impl RedisBackend {
    /// Deletes every key of a test's `prefix` (its counters, buckets, slots and settled ids),
    /// with SCAN, never FLUSHALL.
    pub(crate) async fn forget_prefix(&self, prefix: &str) -> ::redis::RedisResult<()> {
        let mut connection = self.connection.clone();
        for pattern in [
            key(&format!("{prefix}*")),
            key(&format!("settled:{prefix}*")),
        ] {
            let mut cursor = 0u64;
            loop {
                let (next, keys): (u64, Vec<String>) = ::redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut connection)
                    .await?;
                if !keys.is_empty() {
                    ::redis::cmd("DEL")
                        .arg(&keys)
                        .query_async::<()>(&mut connection)
                        .await?;
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(())
    }
}

/// The Redis key of a caller's key.
fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// A spend counter's three keys: the counter, its leases and its reservations.
fn spend_keys(call: &mut ScriptInvocation<'_>, name: &str) {
    call.key(key(name))
        .key(format!("{PREFIX}{name}:leases"))
        .key(format!("{PREFIX}{name}:res"));
}

/// When Redis should drop a counter (unix ms), or 0 for never (lifetime counters).
fn pexpireat(expires_at_ms: i64) -> i64 {
    if expires_at_ms == i64::MAX {
        0
    } else {
        expires_at_ms
    }
}

fn nonsense(what: &str, reply: &[i64]) -> BackendError {
    BackendError(format!("Redis {what} answered {reply:?}"))
}

/// Turns the admit script's integers into an [`Admit`]; `None` if they do not fit `a`.
fn parse_admit(a: &Admission, reply: &[i64]) -> Option<Admit> {
    let now_us = micros(a.now_ms);
    let (&tag, rest) = reply.split_first()?;
    let rate_states = |pairs: &[i64]| -> Option<Vec<RateState>> {
        if pairs.len() != 2 * a.rates.len() {
            return None;
        }
        Some(
            a.rates
                .iter()
                .zip(pairs.chunks_exact(2))
                .map(|(rate, p)| {
                    let gcra = Gcra::of_rate(rate);
                    gcra.state(Gcra::from_ahead(p[0], p[1], now_us), now_us)
                })
                .collect(),
        )
    };
    let index = |i: i64| usize::try_from(i).ok();
    match tag {
        0 => {
            let (rates, spends) = rest.split_at_checked(2 * a.rates.len())?;
            let spends = spend_states(spends).filter(|s| s.len() == a.spends.len())?;
            Some(Admit::Granted {
                rates: rate_states(rates)?,
                spends,
            })
        }
        1 => {
            let [i, ahead, frac, states @ ..] = rest else {
                return None;
            };
            let index = index(*i)?;
            let gcra = Gcra::of_rate(a.rates.get(index)?);
            Some(Admit::RateLimited {
                index,
                retry_after_ms: gcra
                    .retry_after_ms(Gcra::from_ahead(*ahead, *frac, now_us), now_us),
                rates: rate_states(states)?,
            })
        }
        2 => {
            let [i, used, reserved] = rest else {
                return None;
            };
            Some(Admit::OverLimit {
                index: index(*i).filter(|&i| i < a.spends.len())?,
                state: SpendState {
                    used: *used,
                    reserved: *reserved,
                },
            })
        }
        3 => {
            let [i] = rest else {
                return None;
            };
            Some(Admit::TooConcurrent {
                index: index(*i).filter(|&i| i < a.concurrency.len())?,
            })
        }
        4 => {
            let indices = rest
                .iter()
                .map(|&i| index(i).filter(|&i| i < a.spends.len()))
                .collect::<Option<Vec<_>>>()?;
            (!indices.is_empty()).then_some(Admit::Unseeded { indices })
        }
        _ => None,
    }
}

/// Pairs of (used, reserved).
fn spend_states(pairs: &[i64]) -> Option<Vec<SpendState>> {
    if !pairs.len().is_multiple_of(2) {
        return None;
    }
    Some(
        pairs
            .chunks_exact(2)
            .map(|p| SpendState {
                used: p[0],
                reserved: p[1],
            })
            .collect(),
    )
}

/// The password in a `redis://user:password@host` URL, raw and percent-decoded forms alike.
fn password(url: &str) -> Option<Arc<str>> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let password = userinfo.split_once(':').map_or(userinfo, |(_, p)| p);
    (!password.is_empty()).then(|| Arc::from(password))
}

/// `text` with the password (as written, and percent-decoded) replaced by `***`.
fn redact(text: &str, secret: Option<&str>) -> String {
    let Some(secret) = secret else {
        return text.to_owned();
    };
    let mut out = text.replace(secret, "***");
    let decoded = percent_decode(secret);
    if !decoded.is_empty() && decoded != secret {
        out = out.replace(&decoded, "***");
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_found_and_scrubbed() {
        assert_eq!(
            password("redis://u:s%40cret@host:6379/0").as_deref(),
            Some("s%40cret")
        );
        assert_eq!(password("redis://:pw@host").as_deref(), Some("pw"));
        assert_eq!(password("redis://host:6379"), None);
        assert_eq!(password("redis://user@host"), Some(Arc::from("user")));
        assert_eq!(
            redact("failed for s@cret and s%40cret", Some("s%40cret")),
            "failed for *** and ***"
        );
    }

    #[tokio::test]
    async fn a_connection_error_never_shows_the_password() {
        let Err(e) = RedisBackend::connect(
            "redis://admin:hunter2@127.0.0.1:1/0",
            Duration::from_millis(500),
        )
        .await
        else {
            panic!("connected to port 1");
        };
        assert!(!e.0.contains("hunter2"), "{e}");
        let Err(e) =
            RedisBackend::connect("redis+bogus://admin:hunter2@x", Duration::from_secs(1)).await
        else {
            panic!("accepted a bogus scheme");
        };
        assert!(!e.0.contains("hunter2"), "{e}");
    }
}
