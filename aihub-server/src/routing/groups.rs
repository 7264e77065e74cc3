//! Model groups and their deployments: the names callers send as `model`, each served by
//! one or more deployments (a provider, its model, a credential), with fallbacks to other
//! groups. A name that is not a configured group is the catalog model it resolves to,
//! served by its provider alone — so the built-in catalog works with no routing config.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use aihub_core::Error;
use aihub_core::providers::Adapter;
use arc_swap::ArcSwap;
use rand::Rng;
use rand::seq::SliceRandom;
use secrecy::ExposeSecret;

use super::health::{Gate, Health};
use super::{ModelRouter, RoutedModel};
use crate::config::{BreakerSettings, Config, DeploymentSettings, Strategy};

/// Most implicit (catalog-model) groups remembered; beyond it they are built per request.
const IMPLICIT_CACHE: usize = 4096;

/// One deployment: who serves, with which credential, and how it is doing.
#[derive(Debug)]
pub struct Deployment {
    /// Unique id (a configured one, or the model id for a catalog model served alone).
    pub id: String,
    /// The model it serves, with its price.
    pub model: Arc<RoutedModel>,
    /// The adapter carrying its provider's address and its credential.
    pub adapter: Adapter,
    /// Share of traffic under `weighted` and within a priority.
    pub weight: u32,
    /// Priority (lower first).
    pub priority: u32,
    /// Requests per minute it may take.
    pub rpm: Option<u32>,
    /// Tokens per minute it may take.
    pub tpm: Option<u64>,
    /// Takes traffic.
    pub enabled: bool,
    /// Health on this instance.
    pub health: Arc<Health>,
    /// What the provider sees (its address, model and credential), hashed: the name of the
    /// deployment's rpm/tpm and breaker in Redis, shared by every instance (and by every
    /// deployment that is the same to the provider).
    pub shared_key: String,
}

/// A model group: its deployments, how they are ordered, where to go when they fail.
#[derive(Debug)]
pub struct Group {
    /// The name callers use.
    pub name: String,
    /// Ordering.
    pub strategy: Strategy,
    /// Deployments in configuration order.
    pub deployments: Vec<Arc<Deployment>>,
    /// General fallbacks (group or model names).
    pub fallbacks: Vec<String>,
    /// Fallbacks for a prompt too long for the model.
    pub context_window_fallbacks: Vec<String>,
    /// Fallbacks for content the provider refused.
    pub content_policy_fallbacks: Vec<String>,
    /// True for a catalog model served alone by its provider (no group is configured by its
    /// name): it answers to every name of the model (id, alias, `provider/alias`).
    pub catalog_model: bool,
}

/// Groups by name, as one request sees them.
pub type Groups = HashMap<String, Arc<Group>>;

/// Resolves the names callers send to groups.
#[derive(Debug)]
pub struct Router {
    models: ModelRouter,
    /// The groups of `aihub.toml`, as built at start.
    pub(super) configured: Groups,
    /// The groups requests see: the configured ones with the stored deployments added,
    /// swapped whole when those change (a request reads it without a lock).
    pub(super) groups: ArcSwap<Groups>,
    /// What the last load of stored deployments kept (health to carry over, problems).
    pub(super) stored: Mutex<super::stored::Loaded>,
    /// Held while stored deployments are loaded; the database generation loaded last.
    pub(super) loading: tokio::sync::Mutex<Option<i64>>,
    implicit: RwLock<HashMap<String, Arc<Group>>>,
    /// Health of catalog models served alone, by model id (shared by every name of one).
    implicit_health: RwLock<HashMap<String, Arc<Health>>>,
    breaker: BreakerSettings,
}

impl Router {
    /// The configured groups, each deployment's model resolved (and priced) through the
    /// catalog, and every fallback checked to name a group or a servable model.
    pub fn new(config: &Config, models: ModelRouter) -> Result<Self, String> {
        let breaker = config.routing.breaker;
        let mut groups = HashMap::new();
        for (name, g) in &config.routing.groups {
            let mut deployments = Vec::with_capacity(g.deployments.len());
            for d in &g.deployments {
                deployments.push(Arc::new(deployment(config, &models, d, breaker)?));
            }
            groups.insert(
                name.clone(),
                Arc::new(Group {
                    name: name.clone(),
                    strategy: g.strategy,
                    deployments,
                    fallbacks: g.fallbacks.clone(),
                    context_window_fallbacks: g.context_window_fallbacks.clone(),
                    content_policy_fallbacks: g.content_policy_fallbacks.clone(),
                    catalog_model: false,
                }),
            );
        }
        let router = Self {
            models,
            groups: ArcSwap::from_pointee(groups.clone()),
            configured: groups,
            stored: Mutex::default(),
            loading: tokio::sync::Mutex::new(None),
            implicit: RwLock::default(),
            implicit_health: RwLock::default(),
            breaker,
        };
        for (name, g) in &config.routing.groups {
            let lists = [
                &g.fallbacks,
                &g.context_window_fallbacks,
                &g.content_policy_fallbacks,
            ];
            for target in lists.into_iter().flatten() {
                if target == name {
                    return Err(format!(
                        "configuration: routing.groups.{name}: a group cannot fall back to itself"
                    ));
                }
                router.group(target).map_err(|e| {
                    format!(
                        "configuration: routing.groups.{name}: fallback {target:?} is neither a \
                         group nor a model this gateway serves ({e})"
                    )
                })?;
            }
        }
        Ok(router)
    }

    /// The model resolver underneath (catalog names, provider lists).
    pub fn models(&self) -> &ModelRouter {
        &self.models
    }

    /// The groups of `aihub.toml`, by name.
    pub fn configured(&self) -> impl Iterator<Item = &Arc<Group>> {
        self.configured.values()
    }

    /// Every group now: the configured ones and those of stored deployments.
    pub fn current(&self) -> Arc<Groups> {
        self.groups.load_full()
    }

    /// Breaker settings every deployment's health starts with.
    pub(super) fn breaker(&self) -> BreakerSettings {
        self.breaker
    }

    /// The group `name` names: a configured group, or the catalog model it resolves to,
    /// served by its provider alone. 404 `model_not_found` otherwise.
    pub fn group(&self, name: &str) -> Result<Arc<Group>, Error> {
        if let Some(g) = self.groups.load().get(name) {
            return Ok(g.clone());
        }
        if let Some(g) = read(&self.implicit).get(name) {
            return Ok(g.clone());
        }
        let model = self.models.resolve(name)?;
        let health = self.implicit_health(&model.id);
        let adapter = match self.models.provider(&model.provider) {
            Some(p) => Adapter::new(p.adapter.clone()),
            None => {
                return Err(Error::config(format!(
                    "provider {:?} is not configured",
                    model.provider
                )));
            }
        };
        let group = Arc::new(Group {
            name: name.to_owned(),
            strategy: Strategy::Priority,
            deployments: vec![Arc::new(Deployment {
                shared_key: super::shared::shared_key(&adapter, &model.upstream),
                id: model.id.clone(),
                model: Arc::new(model),
                adapter,
                weight: 1,
                priority: 0,
                rpm: None,
                tpm: None,
                enabled: true,
                health,
            })],
            fallbacks: Vec::new(),
            context_window_fallbacks: Vec::new(),
            content_policy_fallbacks: Vec::new(),
            catalog_model: true,
        });
        let mut cache = write(&self.implicit);
        if cache.len() < IMPLICIT_CACHE {
            cache.insert(name.to_owned(), group.clone());
        }
        Ok(group)
    }

    /// The health of every deployment on this instance whose shared key is `key`.
    pub fn health_shared_as(&self, key: &str) -> Vec<Arc<Health>> {
        let groups = self.groups.load();
        let implicit = read(&self.implicit);
        let mut out: Vec<Arc<Health>> = Vec::new();
        let all = groups.values().chain(implicit.values());
        for d in all.flat_map(|g| g.deployments.iter()) {
            if d.shared_key == key && !out.iter().any(|h| Arc::ptr_eq(h, &d.health)) {
                out.push(d.health.clone());
            }
        }
        out
    }

    fn implicit_health(&self, model_id: &str) -> Arc<Health> {
        if let Some(h) = read(&self.implicit_health).get(model_id) {
            return h.clone();
        }
        let mut map = write(&self.implicit_health);
        if map.len() >= IMPLICIT_CACHE {
            return Arc::new(Health::new(self.breaker));
        }
        map.entry(model_id.to_owned())
            .or_insert_with(|| Arc::new(Health::new(self.breaker)))
            .clone()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A configured deployment, its model resolved as `provider/model` through the catalog
/// (so a deployment can only serve what its provider may serve, at the catalog's price).
fn deployment(
    config: &Config,
    models: &ModelRouter,
    d: &DeploymentSettings,
    breaker: BreakerSettings,
) -> Result<Deployment, String> {
    let name = format!("{}/{}", d.provider, d.model);
    let model = models.resolve(&name).map_err(|e| {
        format!(
            "configuration: routing deployment {:?}: {name} cannot be served ({e})",
            d.id
        )
    })?;
    let provider = config
        .providers
        .get(&d.provider)
        .ok_or_else(|| format!("configuration: provider {:?} is not configured", d.provider))?;
    let mut address = provider.adapter.clone();
    if let Some(key) = &d.api_key {
        address = address.with_api_key(key.expose_secret());
    }
    let adapter = Adapter::new(address);
    Ok(Deployment {
        shared_key: super::shared::shared_key(&adapter, &model.upstream),
        id: d.id.clone(),
        model: Arc::new(model),
        adapter,
        weight: d.weight,
        priority: d.priority,
        rpm: d.rpm,
        tpm: d.tpm,
        enabled: d.enabled,
        health: Arc::new(Health::new(breaker)),
    })
}

impl Group {
    /// The deployments to try, in the strategy's order: enabled ones, and under `weighted`
    /// and `priority` only those with a weight above 0. `cost_of` gives a deployment's
    /// worst case for this request (for `lowest_cost`).
    pub fn order(
        &self,
        cost_of: &dyn Fn(&Deployment) -> Option<rust_decimal::Decimal>,
    ) -> Vec<Arc<Deployment>> {
        if let [only] = self.deployments.as_slice() {
            // A group of one (every catalog model served alone): nothing to order.
            let weighted = matches!(self.strategy, Strategy::Priority | Strategy::Weighted);
            let serves = only.enabled && (only.weight > 0 || !weighted);
            return if serves {
                vec![only.clone()]
            } else {
                Vec::new()
            };
        }
        let mut rng = rand::rng();
        let mut live: Vec<Arc<Deployment>> = self
            .deployments
            .iter()
            .filter(|d| d.enabled)
            .cloned()
            .collect();
        match self.strategy {
            Strategy::Priority | Strategy::Weighted => {
                live.retain(|d| d.weight > 0);
                let mut keyed: Vec<(u32, f64, Arc<Deployment>)> = live
                    .into_iter()
                    .map(|d| {
                        // Weighted order without replacement: sort by u^(1/w) descending
                        // (Efraimidis–Spirakis), here as -ln(u)/w ascending.
                        let u: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
                        let key = -u.ln() / f64::from(d.weight);
                        let priority = if self.strategy == Strategy::Priority {
                            d.priority
                        } else {
                            0
                        };
                        (priority, key, d)
                    })
                    .collect();
                keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
                keyed.into_iter().map(|(_, _, d)| d).collect()
            }
            Strategy::LeastBusy => {
                live.shuffle(&mut rng);
                live.sort_by_key(|d| d.health.in_flight());
                live
            }
            Strategy::LowestLatency => {
                live.shuffle(&mut rng);
                // Unmeasured first, so that every deployment gets measured.
                live.sort_by_key(|d| d.health.latency().unwrap_or_default());
                live
            }
            Strategy::LowestCost => {
                live.shuffle(&mut rng);
                // Unpriced last.
                live.sort_by(|a, b| match (cost_of(a), cost_of(b)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                });
                live
            }
        }
    }

    /// True when every enabled deployment is taken out by its breaker now; the shortest
    /// wait until one may be tried again.
    pub fn all_open(&self, now: Instant) -> Option<std::time::Duration> {
        let mut shortest: Option<std::time::Duration> = None;
        for d in self.deployments.iter().filter(|d| d.enabled) {
            match d.health.peek(now) {
                Gate::Skip(wait) => {
                    shortest = Some(shortest.map_or(wait, |s| s.min(wait)));
                }
                Gate::Pass | Gate::Probe => return None,
            }
        }
        shortest
    }
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
