//! OpenAI Chat Completions, Embeddings and Models, and the Azure OpenAI deployment routes.

mod chat;
mod embeddings;
mod wire;

use std::sync::{Arc, LazyLock};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::errors::{ApiError, Dialect, json_response, read_body};
use crate::scenario::query_param;
use crate::state::AppState;

/// Key that the simulator rejects as invalid in every dialect.
pub const BAD_KEY: &str = "bad-key";
/// Embedding dimensions when the request names none.
pub const DEFAULT_DIMENSIONS: usize = 8;
const FINGERPRINT: &str = "fp_mock0001";
const ROLES: &[&str] = &[
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

/// `POST /v1/chat/completions`.
pub async fn chat(State(app): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    match read_body(body, Dialect::OpenAi).await {
        Ok(body) => chat::chat_inner(&app, Dialect::OpenAi, &parts.headers, &body, None).await,
        Err(response) => response,
    }
}

/// `POST /openai/deployments/{deployment}/chat/completions?api-version=…`.
pub async fn azure_chat(
    State(app): State<Arc<AppState>>,
    Path(deployment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = azure_not_found(&uri) {
        return response;
    }
    chat::chat_inner(&app, Dialect::Azure, &headers, &body, Some(&deployment)).await
}

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    embeddings::embeddings_inner(&app, Dialect::OpenAi, &headers, &body, None).await
}

/// `POST /openai/deployments/{deployment}/embeddings?api-version=…`.
pub async fn azure_embeddings(
    State(app): State<Arc<AppState>>,
    Path(deployment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = azure_not_found(&uri) {
        return response;
    }
    embeddings::embeddings_inner(&app, Dialect::Azure, &headers, &body, Some(&deployment)).await
}

static MODELS: LazyLock<Value> = LazyLock::new(|| {
    let data: Vec<Value> = [
        ("gpt-4o", 1_715_367_049),
        ("gpt-4o-mini", 1_721_172_741),
        ("gpt-4.1", 1_744_316_542),
        ("gpt-4.1-mini", 1_744_318_173),
        ("o3-mini", 1_737_146_383),
        ("text-embedding-3-small", 1_705_948_997),
        ("text-embedding-3-large", 1_705_953_180),
    ]
    .iter()
    .map(|(id, created)| json!({"id": id, "object": "model", "created": created, "owned_by": "system"}))
    .collect();
    json!({"object": "list", "data": data})
});

/// `GET /v1/models` in OpenAI's list shape.
pub fn models(app: &AppState, headers: &HeaderMap) -> Response {
    if let Some(response) = openai_auth(app, headers) {
        return response;
    }
    json_response(StatusCode::OK, &MODELS)
}

/// `GET /v1/models/{id}`: every id exists.
pub fn model(app: &AppState, headers: &HeaderMap, id: &str) -> Response {
    if let Some(response) = openai_auth(app, headers) {
        return response;
    }
    json_response(
        StatusCode::OK,
        &json!({"id": id, "object": "model", "created": 1_686_935_002, "owned_by": "system"}),
    )
}

/// The 401 OpenAI sends for a missing or invalid `Authorization: Bearer` key.
pub fn openai_auth(app: &AppState, headers: &HeaderMap) -> Option<Response> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    match key {
        None if app.config.require_key => Some(
            ApiError::new(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.")
                .render(Dialect::OpenAi),
        ),
        Some(BAD_KEY) => Some(
            ApiError::new(401, "Incorrect API key provided: bad-key. You can find your API key at https://platform.openai.com/account/api-keys.")
                .code("invalid_api_key")
                .render(Dialect::OpenAi),
        ),
        _ => None,
    }
}

/// Azure's 401: `api-key` header (or an Entra ID bearer token) missing or invalid.
fn azure_auth(app: &AppState, headers: &HeaderMap) -> Option<Response> {
    let key = headers
        .get("api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let denied = match key {
        None => app.config.require_key,
        Some(key) => key == BAD_KEY,
    };
    denied.then(|| {
        json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}),
        )
    })
}

/// Azure answers 404 "Resource not found" when `api-version` is missing.
fn azure_not_found(uri: &Uri) -> Option<Response> {
    query_param(uri.query(), "api-version").is_none().then(|| {
        json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": {"code": "404", "message": "Resource not found"}}),
        )
    })
}

fn invalid_json() -> ApiError {
    ApiError::invalid(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
    )
}

fn missing(param: &str) -> ApiError {
    ApiError::invalid(format!("Missing required parameter: '{param}'."))
        .param(param)
        .code("missing_required_parameter")
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The model a request names: the body's, or for Azure the deployment (a body model with a scenario suffix wins).
fn requested_model<'a>(parsed: Option<&'a Value>, deployment: Option<&'a str>) -> &'a str {
    let body_model = parsed.and_then(|v| v.get("model")).and_then(Value::as_str);
    match deployment {
        Some(dep) => body_model.filter(|m| m.contains('@')).unwrap_or(dep),
        None => body_model.unwrap_or(""),
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
