//! A model as `GET /v1/models` lists it: OpenAI's fields plus AI Hub's limits, capabilities
//! and prices.

use aihub_core::Model;
use aihub_core::catalog::{ModelInfo, ModelMode};
use aihub_core::pricing::{Price, Rates};
use serde_json::{Map, Value, json};

/// The `/v1/models` entry of `id`, with the catalog's facts when it lists the model and the
/// price the gateway bills it at (`pricing: null` when that is unknown).
pub(super) fn model(
    id: &str,
    provider: &str,
    info: Option<&ModelInfo>,
    price: Option<&Price>,
) -> Model {
    let mut extra = Map::new();
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
    }
    if info.is_some() || price.is_some() {
        extra.insert("pricing".into(), price.map_or(Value::Null, pricing));
    }
    Model {
        id: id.to_owned(),
        object: "model".into(),
        created: 0,
        owned_by: provider.to_owned(),
        extra,
    }
}

/// Every rate as it is charged, as decimal strings: absent cache prices already replaced by
/// what they fall back to, `per_request` `"0"` when there is no fee.
fn pricing(p: &Price) -> Value {
    let mut out = json!({
        "currency": p.currency,
        "unit": "per_million_tokens",
    });
    rates(&mut out, &p.base_rates());
    out["per_request"] = p.per_request.unwrap_or_default().to_string().into();
    out["tiers"] = p
        .tiers
        .iter()
        .map(|t| {
            let mut tier = json!({"above_prompt_tokens": t.above_prompt_tokens});
            rates(&mut tier, &t.rates());
            tier
        })
        .collect();
    out["as_of"] = p.as_of.clone().into();
    out["source"] = p.source.clone().into();
    out
}

fn rates(out: &mut Value, r: &Rates) {
    for (name, rate) in [
        ("input", r.input),
        ("cached_input", r.cached_input),
        ("cache_write", r.cache_write),
        ("cache_write_1h", r.cache_write_1h),
        ("output", r.output),
    ] {
        out[name] = rate.to_string().into();
    }
}
