//! Embeddings: deterministic unit vectors from a hash of each input, float or base64.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use super::{DEFAULT_DIMENSIONS, azure_auth, invalid_json, missing, openai_auth, requested_model};
use crate::errors::{ApiError, Call, Dialect};
use crate::state::AppState;
use crate::stream;
use crate::tokens::{count, embedding};

const MAX_DIMENSIONS: u64 = 65_536;

/// Embeddings for OpenAI and Azure (`deployment` set).
pub(super) async fn embeddings_inner(
    app: &Arc<AppState>,
    dialect: Dialect,
    headers: &HeaderMap,
    body: &[u8],
    deployment: Option<&str>,
) -> Response {
    let auth = match dialect {
        Dialect::Azure => azure_auth(app, headers),
        _ => openai_auth(app, headers),
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let model = requested_model(parsed.as_ref(), deployment);
    let call = match Call::begin(app, dialect, headers, model, auth).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let Some(request) = parsed else {
        return invalid_json().render(dialect);
    };
    match embed(&request, &call.model, deployment.is_none()) {
        Ok(value) => {
            let mut response = Response::new(stream::json_body(
                value.to_string().into_bytes(),
                &call.scenario,
            ));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(error) => error.render(dialect),
    }
}

/// The embeddings list for a request.
fn embed(request: &Value, model: &str, model_required: bool) -> Result<Value, ApiError> {
    if model_required
        && request
            .get("model")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(ApiError::invalid("you must provide a model parameter"));
    }
    let inputs: Vec<(String, u32)> = match request.get("input") {
        None | Some(Value::Null) => return Err(missing("input")),
        Some(Value::String(text)) => vec![(text.clone(), count(text))],
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(ApiError::invalid("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.").param("input"));
        }
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => {
            vec![(Value::Array(items.clone()).to_string(), tokens_len(items.len()))]
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok((text.clone(), count(text))),
                Value::Array(ids) => Ok((item.to_string(), tokens_len(ids.len()))),
                _ => Err(ApiError::invalid("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.").param("input")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ApiError::invalid("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.").param("input"));
        }
    };
    let dims = match request.get("dimensions") {
        None | Some(Value::Null) => DEFAULT_DIMENSIONS,
        Some(d) => match d.as_u64() {
            Some(n @ 1..=MAX_DIMENSIONS) => usize::try_from(n).unwrap_or(DEFAULT_DIMENSIONS),
            _ => {
                return Err(ApiError::invalid(format!(
                    "Invalid value for 'dimensions' = {d}. Must be a positive integer."
                ))
                .param("dimensions"));
            }
        },
    };
    let base64 = match request.get("encoding_format").and_then(Value::as_str) {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid value: '{other}'. Supported values are: 'float' and 'base64'."
            ))
            .param("encoding_format")
            .code("invalid_value"));
        }
    };
    let mut total: u32 = 0;
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, (text, tokens))| {
            total = total.saturating_add(*tokens);
            let vector = embedding(text, dims);
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                Value::from(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    Ok(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": total, "total_tokens": total},
    }))
}

fn tokens_len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
