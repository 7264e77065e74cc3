//! OpenAI's `x-ratelimit-*` response headers.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::RateKind;
use super::backend::RateState;

/// The tightest request and token buckets of a request, as headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// `(limit, remaining, reset)` of the tightest requests-per-minute bucket.
    pub requests: Option<RateState>,
    /// The same for tokens per minute.
    pub tokens: Option<RateState>,
}

fn tighter(a: Option<RateState>, b: RateState) -> Option<RateState> {
    match a {
        Some(a) if a.remaining <= b.remaining => Some(a),
        _ => Some(b),
    }
}

impl RateHeaders {
    /// The tightest bucket of each kind among `states`.
    pub fn from_states(kinds: &[RateKind], states: &[RateState]) -> Self {
        let mut h = Self::default();
        for (kind, state) in kinds.iter().zip(states) {
            if kind.is_tokens() {
                h.tokens = tighter(h.tokens, *state);
            } else {
                h.requests = tighter(h.requests, *state);
            }
        }
        h
    }

    /// Adds `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (names, state) in [(&REQUESTS, self.requests), (&TOKENS, self.tokens)] {
            let Some(s) = state else { continue };
            headers.insert(names[0].clone(), HeaderValue::from(s.limit));
            headers.insert(names[1].clone(), HeaderValue::from(s.remaining));
            if let Ok(reset) =
                HeaderValue::from_str(&go_duration(Duration::from_millis(s.reset_ms)))
            {
                headers.insert(names[2].clone(), reset);
            }
        }
    }
}

/// `x-ratelimit-{limit,remaining,reset}-requests`.
const REQUESTS: [HeaderName; 3] = [
    HeaderName::from_static("x-ratelimit-limit-requests"),
    HeaderName::from_static("x-ratelimit-remaining-requests"),
    HeaderName::from_static("x-ratelimit-reset-requests"),
];

/// `x-ratelimit-{limit,remaining,reset}-tokens`.
const TOKENS: [HeaderName; 3] = [
    HeaderName::from_static("x-ratelimit-limit-tokens"),
    HeaderName::from_static("x-ratelimit-remaining-tokens"),
    HeaderName::from_static("x-ratelimit-reset-tokens"),
];

/// A duration the way OpenAI's headers (and Go's `time.Duration`) write it, to the
/// millisecond: `0s`, `12ms`, `1.5s`, `6m0s`, `1h2m3s`.
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let hours = ms / 3_600_000;
    let minutes = ms / 60_000 % 60;
    let secs = ms / 1000 % 60;
    let frac = ms % 1000;
    let mut seconds = secs.to_string();
    if frac > 0 {
        let digits = format!("{frac:03}");
        seconds.push('.');
        seconds.push_str(digits.trim_end_matches('0'));
    }
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_openais() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration(ms(0)), "0s");
        assert_eq!(go_duration(ms(12)), "12ms");
        assert_eq!(go_duration(ms(1000)), "1s");
        assert_eq!(go_duration(ms(1500)), "1.5s");
        assert_eq!(go_duration(ms(6_000)), "6s");
        assert_eq!(go_duration(ms(360_000)), "6m0s");
        assert_eq!(go_duration(ms(3_723_250)), "1h2m3.25s");
    }

    #[test]
    fn the_tightest_bucket_of_each_kind_is_shown() {
        let s = |limit, remaining, reset_ms| RateState {
            limit,
            remaining,
            reset_ms,
        };
        let h = RateHeaders::from_states(
            &[
                RateKind::UserRequests,
                RateKind::KeyRequests,
                RateKind::UserTokens,
            ],
            &[s(100, 50, 10), s(10, 3, 20), s(1000, 900, 30)],
        );
        assert_eq!(h.requests, Some(s(10, 3, 20)));
        assert_eq!(h.tokens, Some(s(1000, 900, 30)));
        let mut map = HeaderMap::new();
        h.apply(&mut map);
        assert_eq!(map["x-ratelimit-remaining-requests"], "3");
        assert_eq!(map["x-ratelimit-reset-requests"], "20ms");
        assert_eq!(map["x-ratelimit-limit-tokens"], "1000");
    }
}
