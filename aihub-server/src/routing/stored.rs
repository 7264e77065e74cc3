//! Deployments stored in the database (created through the admin API), merged into the
//! router's groups: a stored deployment joins the configured group of its name (taking that
//! group's strategy and fallbacks), or makes a group of its own (`priority` strategy, no
//! fallbacks). Loading them builds a new groups map and swaps it in whole; a deployment whose
//! provider, model and credential did not change keeps its health (breaker, latency, requests
//! in flight), so a reload never resets a breaker.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aihub_core::providers::Adapter;
use secrecy::ExposeSecret;

use super::groups::{Deployment, Group, Groups, Router};
use super::health::Health;
use crate::config::Strategy;
use crate::secrets::SecretsKey;
use crate::store::{Store, StoreError, StoredDeployment};

/// What the last load kept: each stored deployment's health, and why some could not be built.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    health: HashMap<String, (Fingerprint, Arc<Health>)>,
    problems: BTreeMap<String, String>,
}

/// What a deployment's health is about: the same provider, model and credential.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    provider: String,
    model: String,
    credential: Option<String>,
}

impl Fingerprint {
    fn of(row: &StoredDeployment) -> Self {
        Self {
            provider: row.provider.clone(),
            model: row.model.clone(),
            credential: row.credential.as_ref().map(|c| c.ciphertext.clone()),
        }
    }
}

/// Why a stored deployment cannot serve, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unservable {
    /// The provider is not configured.
    Provider(String),
    /// The provider may not serve the model (or the catalog cannot price it).
    Model(String),
    /// Its credential cannot be decrypted.
    Credential(String),
}

impl Unservable {
    /// The request field at fault.
    pub fn param(&self) -> &'static str {
        match self {
            Self::Provider(_) => "provider",
            Self::Model(_) => "model",
            Self::Credential(_) => "credential",
        }
    }

    /// What is wrong, in the operator's words.
    pub fn message(&self) -> &str {
        match self {
            Self::Provider(m) | Self::Model(m) | Self::Credential(m) => m,
        }
    }
}

/// A stored deployment built for serving, its model resolved as `provider/model` through
/// the catalog, exactly as a configured deployment's is.
fn build(
    router: &Router,
    row: &StoredDeployment,
    key: Option<&SecretsKey>,
    health: Arc<Health>,
) -> Result<Deployment, Unservable> {
    let models = router.models();
    let provider = models.provider(&row.provider).ok_or_else(|| {
        Unservable::Provider(format!(
            "provider {:?} is not configured under [providers] in aihub.toml",
            row.provider
        ))
    })?;
    let name = format!("{}/{}", row.provider, row.model);
    let model = models
        .resolve(&name)
        .map_err(|e| Unservable::Model(format!("{name} cannot be served ({e})")))?;
    let mut address = provider.adapter.clone();
    if let Some(sealed) = &row.credential {
        let key = key.ok_or_else(|| {
            Unservable::Credential(
                "its credential is encrypted, and no secrets key is configured \
                 (AIHUB_SECRETS_KEY or secrets_key_file)"
                    .into(),
            )
        })?;
        let secret = key.open(&row.id, sealed).map_err(|e| {
            Unservable::Credential(format!("its credential cannot be decrypted: {e}"))
        })?;
        address = address.with_api_key(secret.expose_secret());
    }
    let adapter = Adapter::new(address);
    Ok(Deployment {
        shared_key: super::shared::shared_key(&adapter, &model.upstream),
        id: row.id.clone(),
        model: Arc::new(model),
        adapter,
        weight: row.weight,
        priority: row.priority,
        rpm: row.rpm,
        tpm: row.tpm,
        enabled: row.enabled,
        health,
    })
}

impl Router {
    /// Checks that `row` could serve (its provider, model and credential), without serving it.
    pub fn check_stored(
        &self,
        row: &StoredDeployment,
        key: Option<&SecretsKey>,
    ) -> Result<(), Unservable> {
        build(self, row, key, Arc::new(Health::new(self.breaker()))).map(|_| ())
    }

    /// True when `id` names a deployment of `aihub.toml` (read-only through the API).
    pub fn is_configured(&self, id: &str) -> bool {
        self.configured()
            .any(|g| g.deployments.iter().any(|d| d.id == id))
    }

    /// A deployment serving now, by id, with the name of its group.
    pub fn deployment(&self, id: &str) -> Option<(String, Arc<Deployment>)> {
        self.current().values().find_map(|g| {
            g.deployments
                .iter()
                .find(|d| d.id == id)
                .map(|d| (g.name.clone(), d.clone()))
        })
    }

    /// Why the stored deployment `id` is not serving, when the last load could not build it.
    pub fn stored_problem(&self, id: &str) -> Option<String> {
        self.lock_loaded().problems.get(id).cloned()
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.stored
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Rebuilds the groups from the configured ones and `rows`, and swaps them in. A row that
    /// cannot be built is left out and remembered as a problem (logged, and shown by the
    /// admin API) rather than stopping the others.
    pub fn apply_stored(&self, rows: &[StoredDeployment], key: Option<&SecretsKey>) {
        let mut loaded = self.lock_loaded();
        let mut next: Groups = HashMap::new();
        let mut added: BTreeMap<&str, Vec<Arc<Deployment>>> = BTreeMap::new();
        let mut health = HashMap::new();
        let mut problems = BTreeMap::new();
        for row in rows {
            let fingerprint = Fingerprint::of(row);
            let kept = loaded
                .health
                .get(&row.id)
                .filter(|(f, _)| *f == fingerprint)
                .map(|(_, h)| h.clone())
                .unwrap_or_else(|| Arc::new(Health::new(self.breaker())));
            match build(self, row, key, kept.clone()) {
                Ok(d) => {
                    health.insert(row.id.clone(), (fingerprint, kept));
                    added.entry(&row.group).or_default().push(Arc::new(d));
                }
                Err(e) => {
                    tracing::error!(deployment = %row.id, group = %row.group, problem = %e.message(), "stored deployment left out");
                    problems.insert(row.id.clone(), e.message().to_owned());
                }
            }
        }
        for (name, g) in &self.configured {
            next.insert(name.clone(), g.clone());
        }
        for (name, extra) in added {
            let group = match self.configured.get(name) {
                Some(g) => Group {
                    name: g.name.clone(),
                    strategy: g.strategy,
                    deployments: g.deployments.iter().cloned().chain(extra).collect(),
                    fallbacks: g.fallbacks.clone(),
                    context_window_fallbacks: g.context_window_fallbacks.clone(),
                    content_policy_fallbacks: g.content_policy_fallbacks.clone(),
                    catalog_model: false,
                },
                None => Group {
                    name: name.to_owned(),
                    strategy: Strategy::Priority,
                    deployments: extra,
                    fallbacks: Vec::new(),
                    context_window_fallbacks: Vec::new(),
                    content_policy_fallbacks: Vec::new(),
                    catalog_model: false,
                },
            };
            next.insert(name.to_owned(), Arc::new(group));
        }
        self.groups.store(Arc::new(next));
        *loaded = Loaded { health, problems };
    }

    /// Loads the stored deployments when the database's generation moved since the last
    /// load (always, with `force`); true when it loaded. Loads never run two at a time, so an
    /// older snapshot never replaces a newer one.
    pub async fn reload(
        &self,
        store: &Store,
        key: Option<&SecretsKey>,
        force: bool,
    ) -> Result<bool, StoreError> {
        let mut last = self.loading.lock().await;
        // Read before the rows: a change between the two is loaded now and again next time.
        let generation = store.deployments_generation().await?;
        if !force && *last == Some(generation) {
            return Ok(false);
        }
        let rows = store.list_deployments().await?;
        self.apply_stored(&rows, key);
        *last = Some(generation);
        tracing::debug!(
            generation,
            deployments = rows.len(),
            "stored deployments loaded"
        );
        Ok(true)
    }
}
