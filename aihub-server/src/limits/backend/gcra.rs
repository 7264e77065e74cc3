//! GCRA arithmetic shared by both backends: the in-process backend runs it directly, the Redis
//! backend computes increments here, lets its Lua script add and compare them, and turns the
//! script's raw answers back into [`RateState`]s here.
//!
//! A bucket is its theoretical arrival time (TAT): the instant at which it will be full again.
//! It is kept exactly, as whole microseconds plus a fraction in units of `1 / limit` µs, because
//! rounding each increment up to a whole microsecond would make a burst of `limit` requests
//! fail whenever `period` is not a multiple of `limit` (7 requests per minute: 7 × 8 571 429 µs
//! is 3 µs more than a minute).

use super::{Rate, RateRefund, RateState};

/// Largest limit a bucket may have: fractions (`< limit`) and their sums (`< 2 × limit`) must
/// stay exact as Lua doubles (2^53).
pub(crate) const MAX_LIMIT: u64 = 1 << 52;
/// Longest period, ms (about 34 years), so that `now + period` in µs stays below 2^53.
pub(crate) const MAX_PERIOD_MS: u64 = 1 << 40;

/// A theoretical arrival time: `us + frac / limit` microseconds, `0 <= frac < limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Tat {
    /// Whole microseconds, unix time.
    pub(crate) us: i64,
    /// Fraction of a microsecond, in units of `1 / limit` µs.
    pub(crate) frac: u64,
}

/// An increment of `cost` units: `whole + frac / limit` microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Increment {
    /// Whole microseconds.
    pub(crate) whole: i64,
    /// Fraction, in units of `1 / limit` µs (`< limit`).
    pub(crate) frac: u64,
}

/// A bucket's parameters, clamped into the ranges the arithmetic is exact for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gcra {
    /// Units per period, `1..=MAX_LIMIT`.
    pub(crate) limit: u64,
    /// Period, µs.
    pub(crate) period_us: i64,
}

/// Unix µs of unix ms, saturating.
pub(crate) fn micros(ms: i64) -> i64 {
    ms.saturating_mul(1000)
}

impl Gcra {
    /// The bucket of a rate.
    pub(crate) fn of_rate(rate: &Rate) -> Self {
        Self::new(rate.limit, rate.period_ms)
    }

    /// The bucket of a refund.
    pub(crate) fn of_refund(refund: &RateRefund) -> Self {
        Self::new(refund.limit, refund.period_ms)
    }

    /// A bucket of `limit` units per `period_ms`, clamped into the exact ranges.
    pub(crate) fn new(limit: u64, period_ms: u64) -> Self {
        let period_ms = period_ms.clamp(1, MAX_PERIOD_MS);
        Self {
            limit: limit.clamp(1, MAX_LIMIT),
            // At most 2^40 × 1000 < 2^50: fits i64.
            period_us: i64::try_from(period_ms * 1000).unwrap_or(i64::MAX),
        }
    }

    /// The time `units` take: `units × period / limit`, exactly. A cost above `limit` can never
    /// pass; it is counted as `limit + 1` so that the arithmetic stays in range.
    pub(crate) fn increment(&self, units: u64) -> Increment {
        let units = units.min(self.limit + 1);
        let total = u128::from(units) * self.period_us.unsigned_abs() as u128;
        let limit = u128::from(self.limit);
        Increment {
            // units ≤ limit + 1, so whole ≤ 2 × period: fits.
            whole: i64::try_from(total / limit).unwrap_or(i64::MAX),
            frac: u64::try_from(total % limit).unwrap_or(0),
        }
    }

    /// A stored TAT made valid for this limit (a fraction kept under an older, larger limit is
    /// cut to just under one µs) and never earlier than now (a bucket cannot be fuller than
    /// full).
    pub(crate) fn normalize(&self, tat: Tat, now_us: i64) -> Tat {
        if tat.us < now_us {
            return Tat {
                us: now_us,
                frac: 0,
            };
        }
        Tat {
            us: tat.us,
            frac: tat.frac.min(self.limit - 1),
        }
    }

    /// The TAT after taking `inc` from a bucket at `tat`, and whether that is allowed (the
    /// bucket then holds at most one period of debt).
    pub(crate) fn take(&self, tat: Tat, now_us: i64, inc: Increment) -> (Tat, bool) {
        let base = self.normalize(tat, now_us);
        let mut frac = base.frac + inc.frac;
        let mut us = base.us.saturating_add(inc.whole);
        if frac >= self.limit {
            frac -= self.limit;
            us = us.saturating_add(1);
        }
        let ahead = us.saturating_sub(now_us);
        let allowed = ahead < self.period_us || (ahead == self.period_us && frac == 0);
        (Tat { us, frac }, allowed)
    }

    /// The TAT after giving `inc` back; never earlier than now.
    pub(crate) fn give_back(&self, tat: Tat, now_us: i64, inc: Increment) -> Tat {
        let base = self.normalize(tat, now_us);
        let mut us = base.us.saturating_sub(inc.whole);
        let frac = if base.frac >= inc.frac {
            base.frac - inc.frac
        } else {
            us = us.saturating_sub(1);
            base.frac + self.limit - inc.frac
        };
        self.normalize(Tat { us, frac }, now_us)
    }

    /// How far `tat` is ahead of now, in units of `1 / limit` µs (0 for a full bucket).
    fn debt(&self, tat: Tat, now_us: i64) -> u128 {
        let tat = self.normalize(tat, now_us);
        let whole = u128::from(tat.us.saturating_sub(now_us).unsigned_abs());
        whole * u128::from(self.limit) + u128::from(tat.frac)
    }

    /// The headers' view of a bucket at `tat`.
    pub(crate) fn state(&self, tat: Tat, now_us: i64) -> RateState {
        let debt = self.debt(tat, now_us);
        let limit = u128::from(self.limit);
        let period = self.period_us.unsigned_abs() as u128;
        // remaining = floor((period - ahead) × limit / period), all in 1/limit µs.
        let room = (period * limit).saturating_sub(debt);
        RateState {
            limit: self.limit,
            remaining: u64::try_from(room / period).unwrap_or(u64::MAX),
            reset_ms: u64::try_from(debt.div_ceil(limit * 1000)).unwrap_or(u64::MAX),
        }
    }

    /// How long until a refused TAT `tat` would be allowed, ms (at least 1).
    pub(crate) fn retry_after_ms(&self, tat: Tat, now_us: i64) -> u64 {
        let limit = u128::from(self.limit);
        let period = self.period_us.unsigned_abs() as u128;
        let excess = self.debt(tat, now_us).saturating_sub(period * limit);
        u64::try_from(excess.div_ceil(limit * 1000))
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// A TAT as the Lua scripts report it: µs ahead of now and the fraction.
    pub(crate) fn from_ahead(ahead_us: i64, frac: i64, now_us: i64) -> Tat {
        Tat {
            us: now_us.saturating_add(ahead_us.max(0)),
            frac: frac.max(0).unsigned_abs(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000_000;

    #[test]
    fn a_burst_of_limit_passes_when_the_period_is_not_a_multiple() {
        let g = Gcra::new(7, 60_000);
        let inc = g.increment(1);
        assert_eq!(
            inc,
            Increment {
                whole: 8_571_428,
                frac: 4
            }
        );
        let mut tat = Tat::default();
        for taken in 1..=7 {
            let (next, ok) = g.take(tat, NOW, inc);
            assert!(ok, "request {taken} of 7");
            tat = next;
            assert_eq!(g.state(tat, NOW).remaining, 7 - taken);
        }
        assert_eq!(
            tat,
            Tat {
                us: NOW + 60_000_000,
                frac: 0
            }
        );
        assert_eq!(g.state(tat, NOW).reset_ms, 60_000);
        let (refused, ok) = g.take(tat, NOW, inc);
        assert!(!ok);
        assert_eq!(g.retry_after_ms(refused, NOW), 8_572);
    }

    #[test]
    fn giving_back_more_than_was_taken_leaves_a_full_bucket() {
        let g = Gcra::new(1000, 60_000);
        let (tat, ok) = g.take(Tat::default(), NOW, g.increment(400));
        assert!(ok);
        let back = g.give_back(tat, NOW, g.increment(1000));
        assert_eq!(back, Tat { us: NOW, frac: 0 });
        assert_eq!(
            g.state(back, NOW),
            RateState {
                limit: 1000,
                remaining: 1000,
                reset_ms: 0
            }
        );
    }

    #[test]
    fn fractions_borrow_on_give_back() {
        let g = Gcra::new(7, 60_000);
        let one = g.increment(1);
        let (tat, _) = g.take(Tat::default(), NOW, one);
        let (tat, _) = g.take(tat, NOW, one);
        let back = g.give_back(tat, NOW, one);
        assert_eq!(
            back,
            Tat {
                us: NOW + 8_571_428,
                frac: 4
            }
        );
        assert_eq!(g.give_back(back, NOW, one), Tat { us: NOW, frac: 0 });
    }

    #[test]
    fn degenerate_parameters_do_not_panic() {
        let g = Gcra::new(0, 0);
        assert_eq!(g.limit, 1);
        assert_eq!(g.period_us, 1000);
        let (tat, ok) = g.take(Tat::default(), NOW, g.increment(u64::MAX));
        assert!(!ok);
        assert_eq!(g.retry_after_ms(tat, NOW), 1);
        let big = Gcra::new(u64::MAX, u64::MAX);
        let (_, ok) = big.take(Tat::default(), NOW, big.increment(u64::MAX));
        assert!(!ok);
    }
}
