//! The model catalog: every model AI Hub knows, with its provider, context window,
//! capabilities and prices, and every provider with its wire family and base URL.
//!
//! The built-in catalog is `data/catalog.toml`, compiled in; a deployment adds or
//! overrides entries at run time with [`Catalog::merge`].
//!
//! A model is named by its id (`openai/gpt-4o-mini`), an alias (`gpt-4o-mini`,
//! `gpt-4o-mini-2024-07-18`) or its provider and an alias (`openai/gpt-4o-mini-2024-07-18`).
//! No other name finds an entry: a dated snapshot is found only when the catalog lists it
//! (as an alias of the same model or as an entry with its own price), never by cutting its
//! date off. A model's price is `None` when it is unknown; a free model has a price of zero.

mod cost;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::pricing::Price;
use crate::providers::{ProviderKind, Quirks};

pub use cost::{cost_for_model, estimate_cost};

const BUILTIN: &str = include_str!("../../data/catalog.toml");

/// A provider AI Hub can reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderInfo {
    /// Provider id, the prefix of its model ids.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Wire family.
    pub kind: ProviderKind,
    /// Default base URL.
    pub base_url: String,
    /// Environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// API version (Azure's `api-version`, Anthropic's `anthropic-version`).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Differences from OpenAI, for OpenAI-compatible providers.
    #[serde(default)]
    pub quirks: Quirks,
}

/// What a model is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelMode {
    /// Chat completions.
    #[default]
    Chat,
    /// Embeddings.
    Embedding,
}

/// What a model can do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Capabilities {
    /// Function / tool calling.
    pub tools: bool,
    /// Image input.
    pub vision: bool,
    /// JSON mode or structured output.
    pub json: bool,
    /// Hidden reasoning before answering.
    pub reasoning: bool,
}

/// One model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelInfo {
    /// `provider/model`.
    pub id: String,
    /// The provider's own name for the model; defaults to the part of `id` after `/`.
    #[serde(default)]
    pub upstream: String,
    /// Other names of this same model (dated snapshots of it included), alone or after
    /// `provider/`; the request is sent upstream as `upstream`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Chat or embedding.
    #[serde(default)]
    pub mode: ModelMode,
    /// Context window in tokens.
    pub context_window: u64,
    /// Maximum output tokens.
    #[serde(default)]
    pub max_output: u64,
    /// Capabilities.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// Prices per million tokens; `None` when the price is unknown (a free model has a
    /// price of zero).
    #[serde(default)]
    pub price: Option<Price>,
}

impl ModelInfo {
    /// The provider id (the part of `id` before `/`).
    pub fn provider(&self) -> &str {
        self.id.split_once('/').map_or("", |(p, _)| p)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    providers: Vec<ProviderInfo>,
    #[serde(default)]
    models: Vec<ModelInfo>,
}

/// Models and providers, indexed by id and alias.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    providers: Vec<ProviderInfo>,
    models: Vec<ModelInfo>,
    index: HashMap<String, usize>,
}

impl Catalog {
    /// The built-in catalog, parsed once.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| Catalog::from_toml(BUILTIN).unwrap_or_default())
    }

    /// A catalog from TOML text with `[[providers]]` and `[[models]]` tables.
    pub fn from_toml(text: &str) -> Result<Self> {
        let file: CatalogFile =
            toml::from_str(text).map_err(|e| Error::config(format!("catalog: {e}")))?;
        let mut catalog = Catalog::default();
        catalog.add(file)?;
        Ok(catalog)
    }

    /// Adds or replaces the providers and models in `text` (TOML, same shape as the
    /// built-in file). Entries with an existing id replace the old ones.
    pub fn merge_toml(&mut self, text: &str) -> Result<()> {
        let file: CatalogFile =
            toml::from_str(text).map_err(|e| Error::config(format!("catalog: {e}")))?;
        self.add(file)
    }

    /// Adds or replaces the providers and models of `other`.
    pub fn merge(&mut self, other: Catalog) -> Result<()> {
        self.add(CatalogFile {
            providers: other.providers,
            models: other.models,
        })
    }

    fn add(&mut self, file: CatalogFile) -> Result<()> {
        for p in file.providers {
            match self.providers.iter_mut().find(|q| q.id == p.id) {
                Some(q) => *q = p,
                None => self.providers.push(p),
            }
        }
        for mut m in file.models {
            let Some((_, name)) = m.id.split_once('/') else {
                return Err(Error::config(format!(
                    "catalog: model id {:?} is not provider/model",
                    m.id
                )));
            };
            if m.upstream.is_empty() {
                m.upstream = name.to_owned();
            }
            match self.models.iter_mut().find(|q| q.id == m.id) {
                Some(q) => *q = m,
                None => self.models.push(m),
            }
        }
        self.reindex();
        Ok(())
    }

    fn reindex(&mut self) {
        self.index.clear();
        // Aliases first so that a full id always wins over an alias of another model.
        for (i, m) in self.models.iter().enumerate() {
            for a in &m.aliases {
                self.index.entry(a.clone()).or_insert(i);
            }
        }
        for (i, m) in self.models.iter().enumerate() {
            self.index.insert(m.id.clone(), i);
        }
    }

    /// The model with this id or alias, or named `provider/alias` by one of its aliases.
    pub fn get(&self, name: &str) -> Option<&ModelInfo> {
        if let Some(i) = self.index.get(name) {
            return self.models.get(*i);
        }
        let (provider, alias) = name.split_once('/')?;
        let info = self.models.get(*self.index.get(alias)?)?;
        (info.provider() == provider && info.aliases.iter().any(|a| a == alias)).then_some(info)
    }

    /// All models.
    pub fn models(&self) -> &[ModelInfo] {
        &self.models
    }

    /// All providers.
    pub fn providers(&self) -> &[ProviderInfo] {
        &self.providers
    }

    /// The provider with this id.
    pub fn provider(&self, id: &str) -> Option<&ProviderInfo> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// Resolves a model name to `(provider id, upstream model name, catalog entry)`, for a
    /// client calling providers directly.
    ///
    /// Accepts every name [`Catalog::get`] finds, and `provider/anything` for a known
    /// provider: a model the catalog does not list still routes, without an entry and so
    /// without a price (its cost is unknown, `None`). The gateway does not serve such names
    /// unless its operator allows them (`allow_unlisted_models`), because it bills requests;
    /// a direct client bills nothing.
    pub fn resolve<'a>(&'a self, model: &'a str) -> Option<ResolvedModel<'a>> {
        if let Some(info) = self.get(model) {
            return Some(ResolvedModel {
                provider: info.provider(),
                upstream: &info.upstream,
                info: Some(info),
            });
        }
        let (provider, name) = model.split_once('/')?;
        self.provider(provider)?;
        Some(ResolvedModel {
            provider,
            upstream: name,
            info: None,
        })
    }
}

/// A model name resolved against the catalog.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedModel<'a> {
    /// Provider id.
    pub provider: &'a str,
    /// The provider's name for the model.
    pub upstream: &'a str,
    /// The catalog entry, when the model is listed.
    pub info: Option<&'a ModelInfo>,
}

#[cfg(test)]
mod tests;
