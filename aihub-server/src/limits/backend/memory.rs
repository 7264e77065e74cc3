//! Limit state in this process: one mutex over everything, so an admission is one critical
//! section and takes all or nothing.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use super::gcra::{Gcra, Tat, micros};
use super::{Admission, Admit, RateState, Renewal, Settlement, SpendState};

/// How often (in the callers' clock) the whole state is swept for expired entries, ms.
const SWEEP_EVERY_MS: i64 = 5_000;
/// How long a settled id is remembered after its lease would have ended, ms: a settlement
/// retried within that window counts once.
pub(crate) const SETTLED_MARGIN_MS: i64 = 60_000;
/// The state reported for a counter that does not exist.
const NO_SPEND: SpendState = SpendState {
    used: 0,
    reserved: 0,
};

/// Limit state for one gateway instance. Clones share the state.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Rate buckets by key; a missing bucket is full.
    rates: HashMap<String, Tat>,
    /// Spend counters by key.
    spends: HashMap<String, Counter>,
    /// Concurrency slots by key: reservation id → lease deadline (unix ms).
    slots: HashMap<String, HashMap<String, i64>>,
    /// Settled reservation ids → when they may be forgotten (unix ms).
    settled: HashMap<String, i64>,
    /// When the next sweep is due (unix ms).
    next_sweep_ms: i64,
}

#[derive(Debug)]
struct Counter {
    used: i64,
    reserved: i64,
    /// Reservation id → (amount, lease deadline).
    reservations: HashMap<String, (i64, i64)>,
    /// (lease deadline, reservation id), to find ended leases without a scan.
    leases: BTreeSet<(i64, String)>,
    expires_at_ms: i64,
    /// When it was seeded from the usage records (the caller's clock).
    seeded_ms: i64,
}

impl Counter {
    fn new(used: i64, expires_at_ms: i64, seeded_ms: i64) -> Self {
        Self {
            used,
            reserved: 0,
            reservations: HashMap::new(),
            leases: BTreeSet::new(),
            expires_at_ms,
            seeded_ms,
        }
    }

    fn state(&self) -> SpendState {
        SpendState {
            used: self.used,
            reserved: self.reserved,
        }
    }

    /// Releases every reservation whose lease ended at or before `now_ms`.
    fn release_ended(&mut self, now_ms: i64) {
        while let Some((deadline, _)) = self.leases.first() {
            if *deadline > now_ms {
                break;
            }
            let Some((_, id)) = self.leases.pop_first() else {
                break;
            };
            if let Some((amount, _)) = self.reservations.remove(&id) {
                self.reserved = self.reserved.saturating_sub(amount);
            }
        }
    }

    /// Adds `amount` to the reservation `id`, whose lease now ends at `deadline`.
    fn reserve(&mut self, id: &str, amount: i64, deadline: i64) {
        self.reserved = self.reserved.saturating_add(amount);
        let entry = self
            .reservations
            .entry(id.to_owned())
            .or_insert((0, deadline));
        self.leases.remove(&(entry.1, id.to_owned()));
        entry.0 = entry.0.saturating_add(amount);
        entry.1 = deadline;
        self.leases.insert((deadline, id.to_owned()));
    }

    /// Moves the lease of the live reservation `id` to `deadline` (never earlier); false
    /// when it holds nothing here.
    fn renew(&mut self, id: &str, deadline: i64) -> bool {
        let Some(entry) = self.reservations.get_mut(id) else {
            return false;
        };
        if entry.1 < deadline {
            self.leases.remove(&(entry.1, id.to_owned()));
            entry.1 = deadline;
            self.leases.insert((deadline, id.to_owned()));
        }
        true
    }

    /// Removes the reservation `id`; returns its lease deadline if it was there.
    fn release(&mut self, id: &str) -> Option<i64> {
        let (amount, deadline) = self.reservations.remove(id)?;
        self.leases.remove(&(deadline, id.to_owned()));
        self.reserved = self.reserved.saturating_sub(amount);
        Some(deadline)
    }
}

impl MemoryBackend {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written in a way that
        // matters more than refusing every later request would: keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes everything `admission` asks for, or nothing.
    pub fn admit(&self, admission: &Admission) -> Admit {
        let mut state = self.lock();
        state.sweep_if_due(admission.now_ms);
        state.admit(admission)
    }

    /// Settles an admitted request; idempotent per `settlement.id`.
    pub fn settle(&self, settlement: &Settlement) -> Vec<SpendState> {
        let mut state = self.lock();
        state.sweep_if_due(settlement.now_ms);
        state.settle(settlement)
    }

    /// Extends the leases of a request's live reservations and slots; returns how many
    /// it still held.
    pub fn renew(&self, renewal: &Renewal) -> usize {
        let mut state = self.lock();
        state.renew(renewal)
    }

    /// Sets a spend counter's `used`, unless the counter already exists; `seeded_ms` is when
    /// the records were read.
    pub fn seed(&self, key: &str, used: i64, expires_at_ms: i64, seeded_ms: i64) {
        let mut state = self.lock();
        state
            .spends
            .entry(key.to_owned())
            .or_insert_with(|| Counter::new(used, expires_at_ms, seeded_ms));
    }
}

impl State {
    /// The live counter at `key`: ended leases released, an expired counter forgotten.
    fn live_counter(&mut self, key: &str, now_ms: i64) -> Option<&mut Counter> {
        if self
            .spends
            .get(key)
            .is_some_and(|c| c.expires_at_ms <= now_ms)
        {
            self.spends.remove(key);
        }
        let counter = self.spends.get_mut(key)?;
        counter.release_ended(now_ms);
        Some(counter)
    }

    fn admit(&mut self, a: &Admission) -> Admit {
        let now_ms = a.now_ms;
        let now_us = micros(now_ms);

        let unseeded: Vec<usize> = (0..a.spends.len())
            .filter(|&i| self.live_counter(&a.spends[i].key, now_ms).is_none())
            .collect();
        if !unseeded.is_empty() {
            return Admit::Unseeded { indices: unseeded };
        }

        // Rates: the new TAT of each, in order; a key named twice sees its earlier take.
        let mut taken: Vec<Tat> = Vec::with_capacity(a.rates.len());
        for (index, rate) in a.rates.iter().enumerate() {
            let gcra = Gcra::of_rate(rate);
            let current = a.rates[..index]
                .iter()
                .rposition(|r| r.key == rate.key)
                .map(|j| taken[j])
                .or_else(|| self.rates.get(&rate.key).copied())
                .unwrap_or_default();
            let (next, allowed) = gcra.take(current, now_us, gcra.increment(rate.cost));
            if !allowed {
                return Admit::RateLimited {
                    index,
                    retry_after_ms: gcra.retry_after_ms(next, now_us),
                    rates: self.rate_states(a, now_us),
                };
            }
            taken.push(next);
        }

        for (index, spend) in a.spends.iter().enumerate() {
            let earlier: i128 = a.spends[..index]
                .iter()
                .filter(|s| s.key == spend.key)
                .map(|s| i128::from(s.amount))
                .sum();
            let Some(counter) = self.spends.get(&spend.key) else {
                return Admit::Unseeded {
                    indices: vec![index],
                };
            };
            let total = i128::from(counter.used)
                + i128::from(counter.reserved)
                + earlier
                + i128::from(spend.amount);
            if total > i128::from(spend.limit) {
                return Admit::OverLimit {
                    index,
                    state: counter.state(),
                };
            }
        }

        for (index, cap) in a.concurrency.iter().enumerate() {
            if a.concurrency[..index].iter().any(|c| c.key == cap.key) {
                continue;
            }
            let (held, count) = match self.slots.get_mut(&cap.key) {
                Some(slots) => {
                    slots.retain(|_, deadline| *deadline > now_ms);
                    (slots.contains_key(&a.id), slots.len())
                }
                None => (false, 0),
            };
            if !held && count >= cap.max as usize {
                return Admit::TooConcurrent { index };
            }
        }

        // Everything passed: take it all.
        let deadline = now_ms.saturating_add(a.lease_ms.max(0));
        for (rate, tat) in a.rates.iter().zip(&taken) {
            self.rates.insert(rate.key.clone(), *tat);
        }
        for spend in &a.spends {
            if let Some(counter) = self.spends.get_mut(&spend.key) {
                counter.reserve(&a.id, spend.amount, deadline);
            }
        }
        for cap in &a.concurrency {
            self.slots
                .entry(cap.key.clone())
                .or_default()
                .insert(a.id.clone(), deadline);
        }
        Admit::Granted {
            rates: a
                .rates
                .iter()
                .zip(&taken)
                .map(|(rate, tat)| Gcra::of_rate(rate).state(*tat, now_us))
                .collect(),
            spends: a
                .spends
                .iter()
                .map(|s| self.spends.get(&s.key).map_or(NO_SPEND, Counter::state))
                .collect(),
        }
    }

    /// Every rate of `a` as it stands (nothing taken).
    fn rate_states(&self, a: &Admission, now_us: i64) -> Vec<RateState> {
        a.rates
            .iter()
            .map(|rate| {
                let tat = self.rates.get(&rate.key).copied().unwrap_or_default();
                Gcra::of_rate(rate).state(tat, now_us)
            })
            .collect()
    }

    fn settle(&mut self, s: &Settlement) -> Vec<SpendState> {
        let now_ms = s.now_ms;
        let now_us = micros(now_ms);
        if self.settled.get(&s.id).is_some_and(|&until| until > now_ms) {
            return s
                .spends
                .iter()
                .map(|sp| {
                    self.live_counter(&sp.key, now_ms)
                        .map(|c| c.state())
                        .unwrap_or(NO_SPEND)
                })
                .collect();
        }

        let mut lease_end = now_ms;
        let mut states = Vec::with_capacity(s.spends.len());
        for spend in &s.spends {
            let state = match self.live_counter(&spend.key, now_ms) {
                Some(counter) => {
                    if let Some(deadline) = counter.release(&s.id) {
                        lease_end = lease_end.max(deadline);
                    }
                    // Seeded after the request ended: its usage record counts already.
                    if counter.seeded_ms <= s.ended_ms {
                        counter.used = counter.used.saturating_add(spend.actual);
                    }
                    counter.state()
                }
                // Unknown or expired: recreating it from this one request would forget what
                // was spent before. The next admission seeds it from the usage records, which
                // then include this request's.
                None => NO_SPEND,
            };
            states.push(state);
        }
        for refund in &s.rate_refunds {
            let Some(tat) = self.rates.get(&refund.key).copied() else {
                continue; // already full
            };
            let gcra = Gcra::of_refund(refund);
            let back = gcra.give_back(tat, now_us, gcra.increment(refund.units.min(gcra.limit)));
            if back.us <= now_us {
                self.rates.remove(&refund.key);
            } else {
                self.rates.insert(refund.key.clone(), back);
            }
        }
        for key in &s.concurrency {
            if let Some(slots) = self.slots.get_mut(key) {
                if let Some(deadline) = slots.remove(&s.id) {
                    lease_end = lease_end.max(deadline);
                }
                if slots.is_empty() {
                    self.slots.remove(key);
                }
            }
        }
        self.settled
            .insert(s.id.clone(), lease_end.saturating_add(SETTLED_MARGIN_MS));
        states
    }

    fn renew(&mut self, r: &Renewal) -> usize {
        let deadline = r.now_ms.saturating_add(r.lease_ms.max(0));
        let mut held = 0;
        for key in &r.spends {
            if let Some(counter) = self.live_counter(key, r.now_ms)
                && counter.renew(&r.id, deadline)
            {
                held += 1;
            }
        }
        for key in &r.concurrency {
            if let Some(until) = self.slots.get_mut(key).and_then(|s| s.get_mut(&r.id))
                && *until > r.now_ms
            {
                *until = (*until).max(deadline);
                held += 1;
            }
        }
        held
    }

    /// Forgets expired counters, full buckets, ended slots and old settled ids, at most once
    /// every [`SWEEP_EVERY_MS`], so that memory stays bounded by what is live.
    fn sweep_if_due(&mut self, now_ms: i64) {
        if now_ms < self.next_sweep_ms {
            return;
        }
        self.next_sweep_ms = now_ms.saturating_add(SWEEP_EVERY_MS);
        let now_us = micros(now_ms);
        self.rates.retain(|_, tat| tat.us > now_us);
        self.spends.retain(|_, c| {
            c.release_ended(now_ms);
            c.expires_at_ms > now_ms
        });
        self.slots.retain(|_, slots| {
            slots.retain(|_, deadline| *deadline > now_ms);
            !slots.is_empty()
        });
        self.settled.retain(|_, until| *until > now_ms);
    }

    #[cfg(test)]
    fn entries(&self) -> usize {
        self.rates.len() + self.spends.len() + self.slots.len() + self.settled.len()
    }
}

#[cfg(test)]
impl MemoryBackend {
    /// Entries held (buckets, counters, slot sets, settled ids), to check that sweeping works.
    pub(crate) fn entries(&self) -> usize {
        self.lock().entries()
    }
}
