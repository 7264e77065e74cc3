//! The functions that need no client: version, token counts, cost estimates and the catalog.

use aihub_core::catalog::Catalog;
use aihub_core::pricing::TokenCounts;
use aihub_core::tokens::{Exactness, count_input, encoding_for_model};
use aihub_core::types::from_json_slice;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::json;

use crate::errors::{serialize, to_js};

/// The package version.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The default gateway base URL.
#[napi]
pub fn default_gateway_url() -> String {
    aihub_core::DEFAULT_GATEWAY_URL.to_owned()
}

/// Tokens in a text (`input` is a JSON string) or the prompt tokens of a message list
/// (`input` is a JSON array) for `model`.
#[napi]
pub fn count_tokens(model: String, input: String) -> Result<i64> {
    let count = from_json_slice(input.as_bytes())
        .and_then(|input| count_input(&model, input, "input"))
        .map_err(|e| to_js(&e))?;
    Ok(i64::try_from(count).unwrap_or(i64::MAX))
}

/// The tiktoken encoding `model` is counted with and whether counts are exact, as JSON text
/// `{"encoding": "o200k_base", "exact": true}`.
#[napi]
pub fn token_encoding(model: String) -> String {
    let (encoding, exactness) = encoding_for_model(&model);
    json!({ "encoding": encoding.name(), "exact": exactness == Exactness::Exact }).to_string()
}

/// The exact cost of token counts (JSON of `NativeTokenCounts`) on a catalog model, as JSON
/// text `{"amount": "0.000123", "currency": "USD"}`, or `"null"` for a model without a
/// price; throws NotFoundError for a model the catalog does not know.
#[napi]
pub fn estimate_cost(model: String, counts: String) -> Result<String> {
    let counts: TokenCounts = from_json_slice(counts.as_bytes()).map_err(|e| to_js(&e))?;
    let cost = aihub_core::catalog::estimate_cost(Catalog::builtin(), &model, &counts.to_usage())
        .map_err(|e| to_js(&e))?;
    serde_json::to_string(&cost).map_err(|e| serialize(&e))
}

/// Every catalog model as a JSON array (prices as decimal strings).
#[napi]
pub fn catalog() -> Result<String> {
    serde_json::to_string(Catalog::builtin().models()).map_err(|e| serialize(&e))
}

/// One catalog model (id or alias) as JSON, or `"null"`.
#[napi]
pub fn catalog_model(model: String) -> Result<String> {
    serde_json::to_string(&Catalog::builtin().get(&model)).map_err(|e| serialize(&e))
}
