//! Functions that need no client: version, default URL, cost estimates, the catalog and
//! (in the `tokens` build) token counts.

use aihub_core::catalog::Catalog;
use aihub_core::pricing::TokenCounts;
use aihub_core::types::from_json_slice;
use wasm_bindgen::prelude::*;

use crate::errors::{to_js, to_json};

/// The package version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The default gateway base URL (`http://127.0.0.1:8080/v1`).
#[wasm_bindgen(js_name = defaultGatewayUrl)]
pub fn default_gateway_url() -> String {
    aihub_core::DEFAULT_GATEWAY_URL.to_owned()
}

/// The exact cost of token counts (JSON) on a catalog model: `{"amount","currency"}` JSON,
/// or `"null"` for a model without a price; an unknown model throws `NotFoundError`.
#[wasm_bindgen(js_name = estimateCost)]
pub fn estimate_cost(model: &str, counts: &str) -> Result<String, JsValue> {
    let counts: TokenCounts = from_json_slice(counts.as_bytes()).map_err(|e| to_js(&e))?;
    let cost = aihub_core::catalog::estimate_cost(Catalog::builtin(), model, &counts.to_usage())
        .map_err(|e| to_js(&e))?;
    to_json(&cost)
}

/// Every catalog model as a JSON array (prices as decimal strings).
#[wasm_bindgen]
pub fn catalog() -> Result<String, JsValue> {
    to_json(Catalog::builtin().models())
}

/// One catalog model (id or alias) as JSON, or `"null"`.
#[wasm_bindgen(js_name = catalogModel)]
pub fn catalog_model(model: &str) -> Result<String, JsValue> {
    to_json(&Catalog::builtin().get(model))
}

/// Tokens in a text (`input` is a JSON string) or the prompt tokens of a message list
/// (`input` is a JSON array).
#[cfg(feature = "tokens")]
#[wasm_bindgen(js_name = countTokens)]
pub fn count_tokens(model: &str, input: &str) -> Result<usize, JsValue> {
    from_json_slice(input.as_bytes())
        .and_then(|input| aihub_core::tokens::count_input(model, input, "input"))
        .map_err(|e| to_js(&e))
}

/// `{"encoding": "o200k_base", "exact": true}` as JSON text.
#[cfg(feature = "tokens")]
#[wasm_bindgen(js_name = tokenEncoding)]
pub fn token_encoding(model: &str) -> Result<String, JsValue> {
    let (encoding, exactness) = aihub_core::tokens::encoding_for_model(model);
    to_json(&serde_json::json!({
        "encoding": encoding.name(),
        "exact": exactness == aihub_core::tokens::Exactness::Exact,
    }))
}
