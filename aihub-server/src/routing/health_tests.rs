use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{BreakerState, Gate, Health, Outcome};
use crate::config::BreakerSettings;

fn health(cooldown_ms: u64) -> Arc<Health> {
    Arc::new(Health::new(BreakerSettings {
        window: Duration::from_secs(60),
        min_requests: 4,
        failure_percent: 50,
        cooldown: Duration::from_millis(cooldown_ms),
    }))
}

fn attempt(h: &Arc<Health>, outcome: Outcome) {
    let lease = h.begin(Instant::now()).unwrap();
    lease.finish(outcome, Duration::from_millis(10));
}

#[test]
fn failures_below_the_minimum_number_of_requests_do_not_open_the_breaker() {
    let h = health(60_000);
    for _ in 0..3 {
        attempt(&h, Outcome::Failure);
    }
    assert_eq!(h.state(Instant::now()), BreakerState::Closed);
    attempt(&h, Outcome::Failure);
    assert_eq!(h.state(Instant::now()), BreakerState::Open);
    assert!(matches!(h.peek(Instant::now()), Gate::Skip(_)));
    assert!(h.begin(Instant::now()).is_err());
}

#[test]
fn a_failure_rate_under_the_threshold_keeps_it_closed() {
    let h = health(60_000);
    for _ in 0..10 {
        attempt(&h, Outcome::Success);
        attempt(&h, Outcome::Success);
        attempt(&h, Outcome::Failure);
    }
    assert_eq!(h.state(Instant::now()), BreakerState::Closed);
}

#[test]
fn after_the_cooldown_exactly_one_probe_goes_through_and_its_success_closes_it() {
    let h = health(50);
    attempt(&h, Outcome::TakeOut);
    assert_eq!(h.state(Instant::now()), BreakerState::Open);
    std::thread::sleep(Duration::from_millis(60));
    let probe = h.begin(Instant::now()).unwrap();
    assert!(probe.is_probe());
    assert!(
        h.begin(Instant::now()).is_err(),
        "a second probe while one is out"
    );
    probe.finish(Outcome::Success, Duration::from_millis(5));
    assert_eq!(h.state(Instant::now()), BreakerState::Closed);
    assert!(!h.begin(Instant::now()).unwrap().is_probe());
}

#[test]
fn a_failed_probe_opens_it_again_for_another_cooldown() {
    let h = health(50);
    attempt(&h, Outcome::TakeOut);
    std::thread::sleep(Duration::from_millis(60));
    h.begin(Instant::now())
        .unwrap()
        .finish(Outcome::Failure, Duration::ZERO);
    assert_eq!(h.state(Instant::now()), BreakerState::Open);
    assert!(h.begin(Instant::now()).is_err());
}

#[test]
fn a_probe_dropped_without_an_outcome_lets_the_next_request_probe() {
    let h = health(50);
    attempt(&h, Outcome::TakeOut);
    std::thread::sleep(Duration::from_millis(60));
    let probe = h.begin(Instant::now()).unwrap();
    assert_eq!(h.in_flight(), 1);
    drop(probe);
    assert_eq!(h.in_flight(), 0);
    assert!(h.begin(Instant::now()).unwrap().is_probe());
}

#[test]
fn latency_is_an_average_that_follows_new_samples() {
    let h = health(50);
    assert_eq!(h.latency(), None);
    h.begin(Instant::now())
        .unwrap()
        .finish(Outcome::Success, Duration::from_millis(100));
    assert_eq!(h.latency(), Some(Duration::from_millis(100)));
    for _ in 0..20 {
        h.begin(Instant::now())
            .unwrap()
            .finish(Outcome::Success, Duration::from_millis(10));
    }
    let now = h.latency().unwrap();
    assert!(now < Duration::from_millis(12), "{now:?}");
}
