//! Which provider serves a model name: catalog ids and aliases, `provider/model` for
//! configured providers, restricted by each provider's `models` list.

use std::collections::BTreeMap;

use aihub_core::catalog::{Catalog, ModelInfo, ModelMode};
use aihub_core::{Error, ErrorDetail, Model};
use serde_json::{Value, json};

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
}

impl RoutedModel {
    /// The price the request is billed at, when the model has one.
    pub fn price(&self) -> Option<&aihub_core::pricing::Price> {
        self.info.as_ref()?.price.as_ref()
    }
}

/// Resolves model names against the catalog and the configured providers.
#[derive(Debug, Clone)]
pub struct ModelRouter {
    providers: BTreeMap<String, ProviderSettings>,
    catalog: Catalog,
}

impl ModelRouter {
    /// A router over the configured providers.
    pub fn new(providers: BTreeMap<String, ProviderSettings>, catalog: Catalog) -> Self {
        Self { providers, catalog }
    }

    /// The catalog in use.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Resolves `model` (a catalog id or alias, or `provider/model`), or a 404 in OpenAI's words.
    pub fn resolve(&self, model: &str) -> Result<RoutedModel, Error> {
        let not_found = || {
            Error::NotFound(ErrorDetail {
                message: format!(
                    "The model `{model}` does not exist or you do not have access to it."
                ),
                param: Some("model".into()),
                code: Some("model_not_found".into()),
                ..ErrorDetail::default()
            })
        };
        // A catalog id or alias first; then `provider/model` for any configured provider,
        // whether or not the catalog lists the model (it then has no price).
        let (provider, upstream, info) = match self.catalog.get(model) {
            Some(info) => (
                info.provider().to_owned(),
                info.upstream.clone(),
                Some(info.clone()),
            ),
            None => {
                let (provider, upstream) = model.split_once('/').ok_or_else(not_found)?;
                if upstream.is_empty() {
                    return Err(not_found());
                }
                (provider.to_owned(), upstream.to_owned(), None)
            }
        };
        let settings = self.providers.get(&provider).ok_or_else(not_found)?;
        let id = format!("{provider}/{upstream}");
        if let Some(allowed) = &settings.models
            && !allowed.iter().any(|m| *m == upstream || *m == id)
        {
            return Err(not_found());
        }
        Ok(RoutedModel {
            provider,
            upstream,
            info,
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
                    && !allowed.iter().any(|m| *m == info.upstream || *m == info.id)
                {
                    continue;
                }
                out.push(describe(&info.id, provider, Some(info)));
            }
            for extra in settings.models.iter().flatten() {
                let id = if extra.starts_with(&format!("{provider}/")) {
                    extra.clone()
                } else {
                    format!("{provider}/{extra}")
                };
                if !out.iter().any(|m| m.id == id) {
                    out.push(describe(&id, provider, self.catalog.get(&id)));
                }
            }
        }
        out
    }
}

fn describe(id: &str, provider: &str, info: Option<&ModelInfo>) -> Model {
    let mut extra = serde_json::Map::new();
    if let Some(info) = info {
        let mode = match info.mode {
            ModelMode::Chat => "chat",
            ModelMode::Embedding => "embedding",
        };
        extra.insert("mode".into(), mode.into());
        extra.insert("context_window".into(), info.context_window.into());
        extra.insert("max_output_tokens".into(), info.max_output.into());
        extra.insert("capabilities".into(), json!(info.capabilities));
        extra.insert("aliases".into(), json!(info.aliases));
        if let Some(p) = &info.price {
            extra.insert(
                "pricing".into(),
                json!({
                    "currency": p.currency,
                    "unit": "per_million_tokens",
                    "input": p.input.to_string(),
                    "cached_input": p.cached_input.unwrap_or(p.input).to_string(),
                    "output": p.output.to_string(),
                    "as_of": p.as_of,
                    "source": p.source,
                }),
            );
        } else {
            extra.insert("pricing".into(), Value::Null);
        }
    }
    Model {
        id: id.to_owned(),
        object: "model".into(),
        created: 0,
        owned_by: provider.to_owned(),
        extra,
    }
}
