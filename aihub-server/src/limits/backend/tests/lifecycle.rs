//! Conformance cases about a reservation's life: settled, released by its lease, renewed, and
//! settled on a counter the backend lost or seeded late.

use super::*;

pub(super) async fn settle_releases_reserved_and_adds_actual_once(f: &Fixture) {
    f.seed("budget", 30).await;
    assert_eq!(
        f.admit("a", 0, &[], &[f.spend("budget", 100, 70)], &[])
            .await,
        granted(&[], &[ss(30, 70)])
    );
    assert_eq!(
        f.settle("a", 10, &[], &[("budget", 70, 25)], &[]).await,
        vec![ss(55, 0)]
    );
    // A retried settlement counts once.
    assert_eq!(
        f.settle("a", 20, &[], &[("budget", 70, 25)], &[]).await,
        vec![ss(55, 0)]
    );
    assert_eq!(
        f.admit("b", 30, &[], &[f.spend("budget", 100, 45)], &[])
            .await,
        granted(&[], &[ss(55, 45)])
    );
    assert_eq!(
        f.admit("c", 30, &[], &[f.spend("budget", 100, 1)], &[])
            .await,
        Admit::OverLimit {
            index: 0,
            state: ss(55, 45),
        }
    );
}

pub(super) async fn an_unsettled_reservation_ends_with_its_lease(f: &Fixture) {
    f.seed("budget", 30).await;
    let mut first = f.admission("a", 0, &[], &[f.spend("budget", 100, 70)], &[]);
    first.lease_ms = 1_000;
    assert_eq!(f.admit_exactly(&first).await, granted(&[], &[ss(30, 70)]));
    assert_eq!(
        f.admit("b", 999, &[], &[f.spend("budget", 100, 31)], &[])
            .await,
        Admit::OverLimit {
            index: 0,
            state: ss(30, 70),
        }
    );
    assert_eq!(
        f.admit("b", 1_000, &[], &[f.spend("budget", 100, 31)], &[])
            .await,
        granted(&[], &[ss(30, 31)])
    );
    // The late settlement still adds what was used, and releases nothing twice.
    assert_eq!(
        f.settle("a", 1_500, &[], &[("budget", 70, 25)], &[]).await,
        vec![ss(55, 31)]
    );
}

pub(super) async fn settling_an_unknown_or_expired_counter_leaves_it_for_seeding(f: &Fixture) {
    // A counter the backend lost (FLUSHALL, a restart without persistence) or never had: the
    // settlement must not recreate it from this one request, or a lifetime budget would
    // forget everything spent before. It stays unknown, and the next admission seeds it from
    // the usage records (which include this request's).
    assert_eq!(
        f.settle("a", 0, &[], &[("budget", 60, 40)], &[]).await,
        vec![ss(0, 0)]
    );
    assert_eq!(
        f.admit("b", 0, &[], &[f.spend("budget", 100, 60)], &[])
            .await,
        Admit::Unseeded { indices: vec![0] }
    );
    f.seed("budget", 90).await;
    assert_eq!(
        f.admit("b", 0, &[], &[f.spend("budget", 100, 60)], &[])
            .await,
        Admit::OverLimit {
            index: 0,
            state: ss(90, 0),
        }
    );
    f.seed_until("short", 10, f.t0 + 10_000).await;
    assert_eq!(
        f.admit("c", 9_999, &[], &[f.spend("short", 100, 1)], &[])
            .await,
        granted(&[], &[ss(10, 1)])
    );
    // The period ended while `c` was in flight: its spend belongs to the records, not to a
    // counter of the old period.
    assert_eq!(
        f.settle("c", 10_000, &[], &[("short", 1, 5)], &[]).await,
        vec![ss(0, 0)]
    );
    assert_eq!(
        f.admit("d", 10_000, &[], &[f.spend("short", 100, 1)], &[])
            .await,
        Admit::Unseeded { indices: vec![0] }
    );
}

pub(super) async fn a_counter_seeded_after_a_request_ended_does_not_count_it_twice(f: &Fixture) {
    let hour = f.t0 + 3_600_000;
    // Seeded before `a` ended: `a`'s late settlement (nothing reserved: it was let through
    // while the backend was away) adds its use.
    f.seed_exactly("early", 100, hour, 0).await;
    assert_eq!(
        f.settle_ended("a", 500, 50, &[], &[("early", 0, 10)], &[])
            .await,
        vec![ss(110, 0)]
    );
    // Seeded after `b` ended: the records read then hold `b`'s use already.
    f.seed_exactly("late", 100, hour, 100).await;
    assert_eq!(
        f.settle_ended("b", 500, 50, &[], &[("late", 0, 10)], &[])
            .await,
        vec![ss(100, 0)]
    );
}

pub(super) async fn a_renewed_lease_outlives_the_original(f: &Fixture) {
    f.seed("budget", 0).await;
    let cap = [f.cap("conc", 1)];
    let mut long = f.admission("long", 0, &[], &[f.spend("budget", 100, 60)], &cap);
    long.lease_ms = 1_000;
    assert_eq!(f.admit_exactly(&long).await, granted(&[], &[ss(0, 60)]));
    let renewal = |at: i64, id: &str| Renewal {
        id: f.key(id),
        now_ms: f.t0 + at,
        lease_ms: 1_000,
        spends: vec![f.key("budget")],
        concurrency: vec![f.key("conc")],
    };
    // Renewed at 800: the lease now ends at 1 800, not 1 000.
    assert_eq!(f.backend.renew(&renewal(800, "long")).await.unwrap(), 2);
    assert_eq!(
        f.admit("next", 1_500, &[], &[f.spend("budget", 100, 41)], &[])
            .await,
        Admit::OverLimit {
            index: 0,
            state: ss(0, 60),
        }
    );
    assert_eq!(
        f.admit("next", 1_500, &[], &[], &cap).await,
        Admit::TooConcurrent { index: 0 }
    );
    // Renewing never shortens a lease, and an id that holds nothing renews nothing.
    assert_eq!(f.backend.renew(&renewal(0, "long")).await.unwrap(), 2);
    assert_eq!(f.backend.renew(&renewal(1_500, "other")).await.unwrap(), 0);
    // Without another renewal it ends at 1 800 (1 500 + 1 000 after the second renewal at
    // 1 500 would be 2 500: that one renewed `other`, which holds nothing).
    assert_eq!(
        f.admit("next", 1_800, &[], &[f.spend("budget", 100, 41)], &cap)
            .await,
        granted(&[], &[ss(0, 41)])
    );
    // A lease that ended is not taken again by a late renewal.
    assert_eq!(f.backend.renew(&renewal(1_900, "long")).await.unwrap(), 0);
    assert_eq!(
        f.settle("next", 1_900, &[], &[("budget", 41, 41)], &["conc"])
            .await,
        vec![ss(41, 0)]
    );
}
