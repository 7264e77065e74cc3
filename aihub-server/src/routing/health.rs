//! What this instance knows of a deployment's health: requests in flight, a latency average,
//! and its circuit breaker (closed, open until a time, or half open with one probe out).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::config::BreakerSettings;

/// The breaker's state, as the admin API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Serving.
    Closed,
    /// Taken out until the cooldown ends.
    Open,
    /// The cooldown ended: one probe request is let through.
    HalfOpen,
}

impl BreakerState {
    /// The name used in answers (`closed`, `open`, `half_open`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
struct Breaker {
    state: State,
    /// Outcomes in the window: (when, failed).
    window: VecDeque<(Instant, bool)>,
}

/// How an attempt ended, for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The deployment answered.
    Success,
    /// A failure of the deployment (5xx, timeout, connection, rate limit): counts toward the
    /// failure rate.
    Failure,
    /// The deployment cannot serve at all (the provider refused its credential, or its
    /// quota is exhausted): taken out at once.
    TakeOut,
    /// Nothing to say about the deployment (the request itself was bad).
    Neutral,
}

/// A change of a breaker's state, for the other instances to hear of (with Redis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Taken out for this long.
    Opened(Duration),
    /// Serving again.
    Closed,
}

/// Whether a deployment may be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Closed: try it.
    Pass,
    /// Half open: this request is the one probe.
    Probe,
    /// Open (or its probe is out): skip it; it may be tried again in this long.
    Skip(Duration),
}

/// A deployment's health on this instance. Cheap to share.
#[derive(Debug)]
pub struct Health {
    settings: BreakerSettings,
    in_flight: AtomicU32,
    /// Latency average in microseconds; 0 until measured.
    latency_us: AtomicU64,
    breaker: Mutex<Breaker>,
    /// Requests and tokens sent in the last minute, on this instance.
    pub window: super::capacity::Window,
}

/// One attempt under way on a deployment: counted in flight until dropped. A probe that is
/// dropped without an outcome (its request was cancelled) lets the next request probe.
#[derive(Debug)]
pub struct Lease {
    health: Arc<Health>,
    probe: bool,
    done: bool,
}

impl Health {
    /// A closed breaker with no history.
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings,
            in_flight: AtomicU32::new(0),
            latency_us: AtomicU64::new(0),
            breaker: Mutex::new(Breaker {
                state: State::Closed,
                window: VecDeque::new(),
            }),
            window: super::capacity::Window::default(),
        }
    }

    /// The breaker settings this health was made with.
    pub fn settings(&self) -> BreakerSettings {
        self.settings
    }

    /// Another instance took the deployment out until `until`: so does this one.
    pub fn open_until(&self, until: Instant) {
        let mut b = self.lock();
        let later = match b.state {
            State::Open { until: mine } => mine.max(until),
            _ => until,
        };
        b.state = State::Open { until: later };
        b.window.clear();
    }

    /// Another instance's probe succeeded: the deployment serves again here too.
    pub fn close(&self) {
        let mut b = self.lock();
        if !matches!(b.state, State::Closed) {
            b.state = State::Closed;
            b.window.clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Requests in flight on this instance.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The latency average, when measured.
    pub fn latency(&self) -> Option<Duration> {
        match self.latency_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    /// The breaker's state now.
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.lock().state {
            State::Closed => BreakerState::Closed,
            State::Open { until } if now < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Outcomes in the breaker's window now: `(attempts, failures)` (emptied when the breaker
    /// opens or closes again).
    pub fn recent(&self, now: Instant) -> (usize, usize) {
        let b = self.lock();
        let live = b
            .window
            .iter()
            .filter(|(at, _)| now.duration_since(*at) <= self.settings.window);
        let (mut total, mut failed) = (0, 0);
        for (_, f) in live {
            total += 1;
            failed += usize::from(*f);
        }
        (total, failed)
    }

    /// Whether the deployment may be tried now, without taking the probe.
    pub fn peek(&self, now: Instant) -> Gate {
        match self.lock().state {
            State::Closed => Gate::Pass,
            State::Open { until } if now < until => Gate::Skip(until - now),
            State::Open { .. } | State::HalfOpen { probing: false } => Gate::Probe,
            State::HalfOpen { probing: true } => Gate::Skip(self.settings.cooldown),
        }
    }

    /// Starts an attempt if the breaker lets it through (taking the probe when half open).
    pub fn begin(self: &Arc<Self>, now: Instant) -> Result<Lease, Duration> {
        let probe = {
            let mut b = self.lock();
            match b.state {
                State::Closed => false,
                State::Open { until } if now < until => return Err(until - now),
                State::Open { .. } | State::HalfOpen { probing: false } => {
                    b.state = State::HalfOpen { probing: true };
                    true
                }
                State::HalfOpen { probing: true } => return Err(self.settings.cooldown),
            }
        };
        Ok(self.lease(probe))
    }

    /// Starts an attempt whatever the breaker says (`routing.when_all_open = "try"`).
    pub fn force(self: &Arc<Self>) -> Lease {
        self.lease(false)
    }

    fn lease(self: &Arc<Self>, probe: bool) -> Lease {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Lease {
            health: self.clone(),
            probe,
            done: false,
        }
    }

    fn observe_latency(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        // An exponentially weighted average with weight 1/5 for the newest sample.
        let _ = self
            .latency_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 {
                    us
                } else {
                    (old.saturating_mul(4).saturating_add(us)) / 5
                })
            });
    }

    fn record(&self, outcome: Outcome, probe: bool, now: Instant) -> Option<Transition> {
        let s = self.settings;
        let mut b = self.lock();
        while b
            .window
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > s.window)
        {
            b.window.pop_front();
        }
        let opened = Some(Transition::Opened(s.cooldown));
        match outcome {
            Outcome::Neutral => {
                if probe {
                    // The probe said nothing about the deployment: let another request probe.
                    b.state = State::HalfOpen { probing: false };
                }
                None
            }
            Outcome::Success => {
                // A probe, or an attempt made with every deployment open, that succeeded.
                let reopened = !matches!(b.state, State::Closed);
                if reopened {
                    b.state = State::Closed;
                    b.window.clear();
                }
                b.window.push_back((now, false));
                reopened.then_some(Transition::Closed)
            }
            Outcome::TakeOut => {
                b.state = State::Open {
                    until: now + s.cooldown,
                };
                b.window.clear();
                opened
            }
            Outcome::Failure => {
                if probe {
                    b.state = State::Open {
                        until: now + s.cooldown,
                    };
                    b.window.clear();
                    return opened;
                }
                if !matches!(b.state, State::Closed) {
                    return None;
                }
                b.window.push_back((now, true));
                let total = b.window.len();
                let failed = b.window.iter().filter(|(_, f)| *f).count();
                if total >= s.min_requests as usize
                    && failed * 100 >= usize::from(s.failure_percent) * total
                {
                    tracing::warn!(failed, total, "deployment taken out by its breaker");
                    b.state = State::Open {
                        until: now + s.cooldown,
                    };
                    b.window.clear();
                    return opened;
                }
                None
            }
        }
    }
}

impl Lease {
    /// True when this attempt is the breaker's one probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// Ends the attempt with `outcome`; `latency` feeds the average on success. Returns the
    /// breaker's change of state, if it changed.
    pub fn finish(mut self, outcome: Outcome, latency: Duration) -> Option<Transition> {
        if outcome == Outcome::Success {
            self.health.observe_latency(latency);
        }
        self.done = true;
        self.health.record(outcome, self.probe, Instant::now())
    }

    /// Gives up this lease's probe because another instance is probing: the deployment stays
    /// out here for another cooldown, or until that probe's outcome is heard.
    pub fn defer_probe(mut self) {
        let mut b = self.health.lock();
        b.state = State::Open {
            until: Instant::now() + self.health.settings.cooldown,
        };
        drop(b);
        self.done = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.health.in_flight.fetch_sub(1, Ordering::Relaxed);
        if !self.done && self.probe {
            self.health.record(Outcome::Neutral, true, Instant::now());
        }
    }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
