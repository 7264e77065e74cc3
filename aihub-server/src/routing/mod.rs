//! Which provider serves a model name, and at what price: catalog ids and aliases (alone or as
//! `provider/alias`), and `provider/model` for a model the catalog does not know only when its
//! provider lists it or allows unlisted models; restricted by each provider's `models` list.

pub mod capacity;
mod describe;
mod groups;
mod health;
pub mod shared;
mod stored;
pub mod sync;

pub use groups::{Deployment, Group, Groups, Router};
pub use health::{BreakerState, Gate, Health, Lease, Outcome, Transition};
pub use stored::Unservable;

use std::collections::BTreeMap;

use aihub_core::catalog::{Catalog, ModelInfo};
use aihub_core::pricing::Price;
use aihub_core::{Error, ErrorDetail, Model};

use crate::config::ProviderSettings;

/// A model name resolved to a configured provider.
#[derive(Debug, Clone)]
pub struct RoutedModel {
    /// Canonical id, `provider/upstream`.
    pub id: String,
    /// Provider id.
    pub provider: String,
    /// The provider's name for the model.
    pub upstream: String,
    /// The catalog entry, when the model is listed (prices, limits).
    pub info: Option<ModelInfo>,
    /// For a model the catalog does not know, the provider's `unlisted_price`.
    pub unlisted_price: Option<Price>,
}

impl RoutedModel {
    /// What the request is billed at: the catalog entry's price, or for a model the catalog
    /// does not know, the provider's `unlisted_price`. `None`: the price is unknown.
    pub fn price(&self) -> Option<&Price> {
        match &self.info {
            Some(info) => info.price.as_ref(),
            None => self.unlisted_price.as_ref(),
        }
    }

    /// When the model has no price, which price is missing, in the operator's terms (for
    /// the `model_not_priced` refusal).
    pub fn missing_price(&self) -> Option<String> {
        if self.price().is_some() {
            return None;
        }
        Some(match self.info {
            Some(_) => format!(
                "the gateway's catalog lists `{}` without a price (the operator can set one \
                 with the `catalog` key)",
                self.id
            ),
            None => format!(
                "`{}` is not in the gateway's catalog and `providers.{}.unlisted_price` is \
                 not set",
                self.id, self.provider
            ),
        })
    }
}

/// Resolves model names against the catalog and the configured providers.
#[derive(Debug, Clone)]
pub struct ModelRouter {
    providers: BTreeMap<String, ProviderSettings>,
    catalog: Catalog,
}

/// True when `listed` (an entry of a provider's `models`) names the catalog model `info` of
/// `provider`: by its id, its upstream name, or an alias (alone or after `provider/`).
fn names_model(listed: &str, provider: &str, info: &ModelInfo) -> bool {
    let bare = listed
        .strip_prefix(provider)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(listed);
    listed == info.id || bare == info.upstream || info.aliases.iter().any(|a| a == bare)
}

impl ModelRouter {
    /// A router over the configured providers.
    pub fn new(providers: BTreeMap<String, ProviderSettings>, catalog: Catalog) -> Self {
        Self { providers, catalog }
    }

    /// A configured provider, by id.
    pub fn provider(&self, id: &str) -> Option<&ProviderSettings> {
        self.providers.get(id)
    }

    /// The catalog in use.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Resolves `model` (a catalog id or alias, `provider/alias`, or `provider/model` for a
    /// model the catalog does not know), or a 404 `model_not_found` in OpenAI's words.
    ///
    /// A model the catalog does not know is served only by a provider that lists it in
    /// `models` or sets `allow_unlisted_models`, at the provider's `unlisted_price` (unpriced
    /// without one); otherwise the 404 tells the operator how to allow it. A dated name the
    /// catalog does not list is such a model: it is never matched by cutting its date off.
    pub fn resolve(&self, model: &str) -> Result<RoutedModel, Error> {
        let not_found = |message: String| {
            Error::NotFound(ErrorDetail {
                message,
                param: Some("model".into()),
                code: Some("model_not_found".into()),
                ..ErrorDetail::default()
            })
        };
        let no_access = || {
            not_found(format!(
                "The model `{model}` does not exist or you do not have access to it."
            ))
        };
        if let Some(info) = self.catalog.get(model) {
            let provider = info.provider();
            let settings = self.providers.get(provider).ok_or_else(no_access)?;
            if let Some(allowed) = &settings.models
                && !allowed.iter().any(|m| names_model(m, provider, info))
            {
                return Err(no_access());
            }
            return Ok(RoutedModel {
                id: format!("{provider}/{}", info.upstream),
                provider: provider.to_owned(),
                upstream: info.upstream.clone(),
                unlisted_price: None,
                info: Some(info.clone()),
            });
        }
        let (provider, upstream) = model.split_once('/').ok_or_else(no_access)?;
        if upstream.is_empty() {
            return Err(no_access());
        }
        let settings = self.providers.get(provider).ok_or_else(no_access)?;
        let id = format!("{provider}/{upstream}");
        let allowed = match &settings.models {
            Some(listed) => listed.iter().any(|m| *m == upstream || *m == id),
            None => settings.allow_unlisted_models,
        };
        if !allowed {
            if settings.models.is_some() {
                return Err(no_access());
            }
            return Err(not_found(format!(
                "The model `{model}` is not in the gateway's catalog, so it has no price and is \
                 not served. The operator can add it to the catalog (the `catalog` key), list it \
                 in `providers.{provider}.models`, or serve every model of this provider with \
                 `providers.{provider}.allow_unlisted_models = true` (billed at \
                 `providers.{provider}.unlisted_price`)."
            )));
        }
        Ok(RoutedModel {
            provider: provider.to_owned(),
            upstream: upstream.to_owned(),
            info: None,
            unlisted_price: settings.unlisted_price.clone(),
            id,
        })
    }

    /// Every model a caller may use, with owner, limits and prices (OpenAI's list shape).
    pub fn list(&self) -> Vec<Model> {
        let mut out: Vec<Model> = Vec::new();
        for (provider, settings) in &self.providers {
            let listed = self
                .catalog
                .models()
                .iter()
                .filter(|m| m.provider() == provider);
            for info in listed {
                if let Some(allowed) = &settings.models
                    && !allowed.iter().any(|m| names_model(m, provider, info))
                {
                    continue;
                }
                out.push(describe::model(
                    &info.id,
                    provider,
                    Some(info),
                    info.price.as_ref(),
                ));
            }
            for extra in settings.models.iter().flatten() {
                let id = if extra.starts_with(&format!("{provider}/")) {
                    extra.clone()
                } else {
                    format!("{provider}/{extra}")
                };
                if out.iter().any(|m| m.id == id) {
                    continue;
                }
                let info = self.catalog.get(&id);
                let price = match info {
                    Some(info) => info.price.as_ref(),
                    None => settings.unlisted_price.as_ref(),
                };
                out.push(describe::model(&id, provider, info, price));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
