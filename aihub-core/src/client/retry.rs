//! Retry policy, backoff and the two timer primitives the client needs on native and wasm32.

use std::future::Future;
use std::time::Duration;

/// How the client retries retryable failures (429, 5xx, timeouts, connection errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: u32,
    /// Delay before the first retry; doubles with each further retry.
    pub base_delay: Duration,
    /// Upper bound of a computed backoff delay.
    pub max_delay: Duration,
    /// Longest `Retry-After` the client honours; a longer one fails at once rather than
    /// stalling the caller.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based), or `None` when the server asked
    /// for a longer wait than [`max_retry_after`](Self::max_retry_after).
    ///
    /// A server's `Retry-After` is honoured as given. Otherwise the delay is exponential
    /// with jitter: `base * 2^attempt`, capped at `max_delay`, scaled by a random factor
    /// in [0.75, 1.0] so that clients that failed together do not retry together.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if let Some(wait) = retry_after {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(self.max_delay);
        Some(exp.mul_f64(1.0 - 0.25 * fastrand::f64()))
    }
}

/// Waits for `duration` (any length: tokio waits forever for one past its horizon; on
/// wasm32 the wait is split into timers of at most `u32::MAX` ms, which gloo-timers would
/// otherwise panic on).
pub async fn sleep(duration: Duration) {
    #[cfg(not(target_family = "wasm"))]
    tokio::time::sleep(duration).await;
    #[cfg(target_family = "wasm")]
    {
        let most = Duration::from_millis(u64::from(u32::MAX));
        let mut left = duration;
        while !left.is_zero() {
            let step = left.min(most);
            gloo_timers::future::sleep(step).await;
            left = left.saturating_sub(step);
        }
    }
}

/// Runs `future` for at most `duration`; `None` when time ran out.
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Option<F::Output> {
    use futures_util::future::{Either, select};
    let future = std::pin::pin!(future);
    let timer = std::pin::pin!(sleep(duration));
    match select(future, timer).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_jitters_and_caps() {
        let p = RetryPolicy::default();
        for attempt in 0..8 {
            let d = p.delay(attempt, None).unwrap();
            let full = (p.base_delay * 2u32.pow(attempt)).min(p.max_delay);
            assert!(d <= full, "attempt {attempt}: {d:?} > {full:?}");
            assert!(
                d >= full.mul_f64(0.75),
                "attempt {attempt}: {d:?} < 0.75 × {full:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_limit() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            p.delay(5, Some(Duration::from_millis(10))),
            Some(Duration::from_millis(10))
        );
        assert_eq!(p.delay(0, Some(Duration::from_secs(61))), None);
    }

    #[test]
    fn absurd_retry_hints_fail_at_once_instead_of_sleeping() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(0, Some(crate::error::MAX_RETRY_HINT)), None);
        assert_eq!(p.delay(0, Some(Duration::MAX)), None);
        assert!(p.delay(u32::MAX, None).unwrap() <= p.max_delay);
    }

    #[tokio::test]
    async fn a_timeout_past_the_timer_horizon_does_not_panic() {
        let huge = crate::error::duration_from_secs(1e18).unwrap();
        assert_eq!(timeout(huge, async { 7 }).await, Some(7));
        assert_eq!(timeout(Duration::MAX, async { 8 }).await, Some(8));
    }

    #[tokio::test]
    async fn timeout_fires_and_passes() {
        assert_eq!(
            timeout(Duration::from_millis(200), async { 7 }).await,
            Some(7)
        );
        let slow = sleep(Duration::from_secs(5));
        assert_eq!(timeout(Duration::from_millis(20), slow).await, None);
    }
}
