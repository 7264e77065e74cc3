//! What every request reads (its key, the owner's plan, the budgets over it), kept in memory
//! for a few seconds so that a request costs no database read in the common case.
//!
//! Any change made through the store drops everything kept ([`HotCache::invalidate`]). A read
//! that raced with a change never stores its result: each read notes the generation before
//! going to the database and stores only if no change happened meanwhile, checking again after
//! storing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;
use uuid::Uuid;

use super::{ApiKey, Budget};

/// Most keys (and key–user budget sets) kept at once.
const CAPACITY: u64 = 100_000;

fn kept_for<K, V>(ttl: Duration) -> Option<Cache<K, V>>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    (!ttl.is_zero()).then(|| {
        Cache::builder()
            .max_capacity(CAPACITY)
            .time_to_live(ttl)
            .build()
    })
}

/// The store's in-memory copies; empty when the time to live is zero.
pub(crate) struct HotCache {
    keys: Option<Cache<String, (ApiKey, String)>>,
    budgets: Option<Cache<(Uuid, Uuid), Vec<Budget>>>,
    generation: AtomicU64,
}

impl std::fmt::Debug for HotCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotCache")
            .field("enabled", &self.keys.is_some())
            .finish_non_exhaustive()
    }
}

impl HotCache {
    /// Copies kept for `ttl` after they are read; none for a zero `ttl`.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            keys: kept_for(ttl),
            budgets: kept_for(ttl),
            generation: AtomicU64::new(0),
        }
    }

    /// The current generation, to pass back to a `put_*` after reading the database.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The key with this hash and its owner's plan, if kept.
    pub(crate) fn key(&self, hash: &str) -> Option<(ApiKey, String)> {
        self.keys.as_ref()?.get(hash)
    }

    /// Keeps a key read at `generation`.
    pub(crate) fn put_key(&self, generation: u64, hash: &str, value: (ApiKey, String)) {
        if let Some(keys) = &self.keys {
            self.put(keys, generation, hash.to_owned(), value);
        }
    }

    /// The budgets over this key and user, if kept.
    pub(crate) fn budgets(&self, key_id: Uuid, user_id: Uuid) -> Option<Vec<Budget>> {
        self.budgets.as_ref()?.get(&(key_id, user_id))
    }

    /// Keeps budgets read at `generation`.
    pub(crate) fn put_budgets(
        &self,
        generation: u64,
        key_id: Uuid,
        user_id: Uuid,
        value: Vec<Budget>,
    ) {
        if let Some(budgets) = &self.budgets {
            self.put(budgets, generation, (key_id, user_id), value);
        }
    }

    fn put<K, V>(&self, cache: &Cache<K, V>, generation: u64, key: K, value: V)
    where
        K: std::hash::Hash + Eq + Send + Sync + Clone + 'static,
        V: Clone + Send + Sync + 'static,
    {
        if self.generation() != generation {
            return;
        }
        cache.insert(key.clone(), value);
        // A change between the check above and the insert: its invalidation may have run
        // before the insert, so take the entry out again.
        if self.generation() != generation {
            cache.invalidate(&key);
        }
    }

    /// Drops every copy: called after any change to keys, users or budgets.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(keys) = &self.keys {
            keys.invalidate_all();
        }
        if let Some(budgets) = &self.budgets {
            budgets.invalidate_all();
        }
    }
}
