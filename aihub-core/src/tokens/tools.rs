//! Tokens taken by tool (function) definitions.

use serde_json::{Map, Value};

use super::{Encoding, encoding_for_model};
use crate::types::Tool;

/// Tokens opening each function definition, per encoding.
fn func_init(encoding: Encoding) -> i64 {
    match encoding {
        Encoding::O200kBase => 7,
        Encoding::Cl100kBase => 10,
    }
}

/// Tokens opening a function's property list.
const PROP_INIT: i64 = 3;
/// Tokens per property.
const PROP_KEY: i64 = 3;
/// Adjustment when a property has an `enum` list.
const ENUM_INIT: i64 = -3;
/// Tokens per `enum` item, besides the item's own.
const ENUM_ITEM: i64 = 3;
/// Tokens closing the tool list.
const FUNC_END: i64 = 12;

/// Parameter-schema keys the rule below accounts for; any other key is counted as
/// the tokens of its JSON text.
const COUNTED_SCHEMA_KEYS: [&str; 4] = ["type", "properties", "required", "additionalProperties"];
/// Property keys the rule below accounts for.
const COUNTED_PROPERTY_KEYS: [&str; 3] = ["type", "description", "enum"];

/// Prompt tokens that `tools` add to a request for `model`.
///
/// Follows the OpenAI Cookbook's published rule ("How to count tokens with tiktoken",
/// section 7), which reproduces the API's counts for GPT-4o and GPT-4/3.5 on flat
/// schemas: per function 7 tokens (10 with `cl100k_base`) plus the tokens of
/// `name:description`; per property list 3; per property 3 plus the tokens of
/// `name:type:description` (trailing periods dropped); per `enum` −3 plus 3 and the
/// item's tokens per item; 12 closing the list. Nested schemas (objects, arrays,
/// `$defs`, constraints) are beyond that rule: their JSON text is counted instead, an
/// approximation. No tools, no tokens.
pub fn count_tools(model: &str, tools: &[Tool]) -> usize {
    count_tools_with(encoding_for_model(model).0, tools)
}

pub(super) fn count_tools_with(encoding: Encoding, tools: &[Tool]) -> usize {
    if tools.is_empty() {
        return 0;
    }
    let count = |text: &str| i64::try_from(encoding.count(text)).unwrap_or(i64::MAX);
    let mut total: i64 = 0;
    for tool in tools {
        let function = &tool.function;
        total += func_init(encoding);
        let description = function.description.as_deref().unwrap_or("");
        total += count(&format!("{}:{}", function.name, trim_period(description)));
        let Some(Value::Object(schema)) = &function.parameters else {
            continue;
        };
        total += count_extra_keys(schema, &COUNTED_SCHEMA_KEYS, &count);
        let Some(Value::Object(properties)) = schema.get("properties") else {
            continue;
        };
        if properties.is_empty() {
            continue;
        }
        total += PROP_INIT;
        for (name, property) in properties {
            total += PROP_KEY;
            let Value::Object(property) = property else {
                total += count(&format!("{name}:{property}"));
                continue;
            };
            if let Some(Value::Array(items)) = property.get("enum") {
                total += ENUM_INIT;
                for item in items {
                    total += ENUM_ITEM + count(&text_of(item));
                }
            }
            let kind = property.get("type").map(text_of).unwrap_or_default();
            let description = property.get("description").map(text_of).unwrap_or_default();
            total += count(&format!("{name}:{kind}:{}", trim_period(&description)));
            total += count_extra_keys(property, &COUNTED_PROPERTY_KEYS, &count);
        }
    }
    total += FUNC_END;
    usize::try_from(total.max(0)).unwrap_or(usize::MAX)
}

/// Tokens of the JSON text of the keys of `object` not in `counted`; zero when there
/// are none.
fn count_extra_keys(
    object: &Map<String, Value>,
    counted: &[&str],
    count: &impl Fn(&str) -> i64,
) -> i64 {
    let extra: Map<String, Value> = object
        .iter()
        .filter(|(k, _)| !counted.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if extra.is_empty() {
        0
    } else {
        count(&Value::Object(extra).to_string())
    }
}

/// A string as itself, anything else as its JSON text.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn trim_period(text: &str) -> &str {
    text.strip_suffix('.').unwrap_or(text)
}
