//! A deployment's own requests and tokens per minute: how much of its `rpm` and `tpm` the
//! gateway has sent it, so that a deployment at its limit is skipped before its provider
//! answers 429.
//!
//! Both are counted over a sliding minute, estimated from two fixed one-minute windows (the
//! current one, and the previous one weighted by how much of it still lies within the last
//! 60 s), the estimate Redis computes too (`capacity.lua`) when `redis_url` is set, so that
//! every instance counts against one limit. An attempt takes one request and the prompt's
//! counted tokens when it starts; the answer's tokens beyond those are added when the request
//! is recorded.

use std::sync::Mutex;
use std::time::Duration;

/// Length of one window, ms.
pub const WINDOW_MS: i64 = 60_000;

/// The deployment's counts on this instance (used without Redis, or while Redis fails).
#[derive(Debug, Default)]
pub struct Window {
    counts: Mutex<Counts>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    /// The minute (unix ms / 60 000) `requests` and `tokens` belong to.
    minute: i64,
    requests: u64,
    tokens: u64,
    previous_requests: u64,
    previous_tokens: u64,
}

/// Why an attempt cannot be sent to a deployment now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// Its `rpm` is used up.
    Requests,
    /// Its `tpm` would be passed.
    Tokens,
}

/// A deployment's limits, as one attempt checks them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests per minute, if limited.
    pub rpm: Option<u32>,
    /// Tokens per minute, if limited.
    pub tpm: Option<u64>,
}

impl Limits {
    /// True when the deployment has neither limit.
    pub fn none(&self) -> bool {
        self.rpm.is_none() && self.tpm.is_none()
    }
}

/// The sliding-minute estimate from the current window's count and the previous one's, `into`
/// ms into the current window.
pub fn estimate(current: u64, previous: u64, into: i64) -> u64 {
    let rest = u128::try_from((WINDOW_MS - into).clamp(0, WINDOW_MS)).unwrap_or(0);
    let carried = u128::from(previous) * rest / u128::try_from(WINDOW_MS).unwrap_or(1);
    current.saturating_add(u64::try_from(carried).unwrap_or(u64::MAX))
}

/// Whether one more request of `tokens` fits `limits` given the estimates. A request larger
/// than the whole `tpm` fits only a minute in which nothing was sent (it could never fit
/// otherwise).
pub fn fits(limits: Limits, requests: u64, used_tokens: u64, tokens: u64) -> Result<(), Full> {
    if let Some(rpm) = limits.rpm
        && requests.saturating_add(1) > u64::from(rpm)
    {
        return Err(Full::Requests);
    }
    if let Some(tpm) = limits.tpm
        && used_tokens > 0
        && used_tokens.saturating_add(tokens) > tpm
    {
        return Err(Full::Tokens);
    }
    Ok(())
}

/// How long until the window moves on from `now_ms`: when a deployment that is full now may
/// be tried again (at least 1 s).
pub fn wait(now_ms: i64) -> Duration {
    let left = WINDOW_MS - now_ms.rem_euclid(WINDOW_MS);
    Duration::from_millis(u64::try_from(left).unwrap_or(0)).max(Duration::from_secs(1))
}

impl Counts {
    /// Moves the windows on to `minute`.
    fn roll(&mut self, minute: i64) {
        if minute == self.minute {
            return;
        }
        if minute == self.minute + 1 {
            self.previous_requests = self.requests;
            self.previous_tokens = self.tokens;
        } else {
            self.previous_requests = 0;
            self.previous_tokens = 0;
        }
        self.minute = minute;
        self.requests = 0;
        self.tokens = 0;
    }
}

impl Window {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes one request of `tokens` at `now_ms` if it fits `limits`.
    pub fn take(&self, limits: Limits, tokens: u64, now_ms: i64) -> Result<(), Full> {
        let mut c = self.lock();
        c.roll(now_ms.div_euclid(WINDOW_MS));
        let into = now_ms.rem_euclid(WINDOW_MS);
        let requests = estimate(c.requests, c.previous_requests, into);
        let used = estimate(c.tokens, c.previous_tokens, into);
        fits(limits, requests, used, tokens)?;
        c.requests = c.requests.saturating_add(1);
        c.tokens = c.tokens.saturating_add(tokens);
        Ok(())
    }

    /// Adds `tokens` the deployment was sent or produced beyond what was taken.
    pub fn add_tokens(&self, tokens: u64, now_ms: i64) {
        let mut c = self.lock();
        c.roll(now_ms.div_euclid(WINDOW_MS));
        c.tokens = c.tokens.saturating_add(tokens);
    }

    /// The estimates now: `(requests, tokens)` in the last minute.
    pub fn used(&self, now_ms: i64) -> (u64, u64) {
        let mut c = self.lock();
        c.roll(now_ms.div_euclid(WINDOW_MS));
        let into = now_ms.rem_euclid(WINDOW_MS);
        (
            estimate(c.requests, c.previous_requests, into),
            estimate(c.tokens, c.previous_tokens, into),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RPM2: Limits = Limits {
        rpm: Some(2),
        tpm: None,
    };

    #[test]
    fn a_minute_takes_its_rpm_and_no_more() {
        let w = Window::default();
        assert_eq!(w.take(RPM2, 10, 60_000), Ok(()));
        assert_eq!(w.take(RPM2, 10, 60_001), Ok(()));
        assert_eq!(w.take(RPM2, 10, 60_002), Err(Full::Requests));
    }

    #[test]
    fn the_previous_minute_weighs_by_how_much_of_it_is_still_within_60_s() {
        let w = Window::default();
        w.take(RPM2, 0, 60_000).unwrap();
        w.take(RPM2, 0, 60_000).unwrap();
        // 30 s into the next minute, half of the previous two still count: one fits.
        assert_eq!(w.take(RPM2, 0, 150_000), Ok(()));
        assert_eq!(w.take(RPM2, 0, 150_000), Err(Full::Requests));
        // Two minutes on, nothing of them is left.
        assert_eq!(w.take(RPM2, 0, 300_000), Ok(()));
        assert_eq!(w.used(300_000), (1, 0));
    }

    #[test]
    fn tokens_are_checked_with_the_prompt_and_grow_by_the_answer() {
        let limits = Limits {
            rpm: None,
            tpm: Some(1_000),
        };
        let w = Window::default();
        // A first request larger than the whole limit is let through alone.
        assert_eq!(w.take(limits, 1_500, 0), Ok(()));
        assert_eq!(w.take(limits, 1, 1), Err(Full::Tokens));
        let w = Window::default();
        assert_eq!(w.take(limits, 400, 0), Ok(()));
        w.add_tokens(500, 1);
        assert_eq!(w.take(limits, 101, 2), Err(Full::Tokens));
        assert_eq!(w.take(limits, 100, 3), Ok(()));
    }

    #[test]
    fn waits_run_to_the_end_of_the_window_and_at_least_a_second() {
        assert_eq!(wait(60_000), Duration::from_secs(60));
        assert_eq!(wait(119_500), Duration::from_secs(1));
        assert_eq!(wait(90_000), Duration::from_secs(30));
    }

    #[test]
    fn estimates_never_overflow() {
        assert_eq!(estimate(u64::MAX, u64::MAX, 0), u64::MAX);
        assert_eq!(estimate(1, 10, WINDOW_MS * 5), 1);
        assert_eq!(estimate(1, 10, -5), 11);
    }
}
