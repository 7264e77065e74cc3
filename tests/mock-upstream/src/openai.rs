//! OpenAI Chat Completions, Embeddings and Models, and the Azure OpenAI deployment routes.

use std::sync::{Arc, LazyLock};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::errors::{ApiError, Call, Dialect, json_response, malformed_line, stream_error_event};
use crate::reply::{Finish, Reply, ReplyBody, ReplyInput, ToolChoice, ToolDecl};
use crate::scenario::query_param;
use crate::state::AppState;
use crate::stream::{self, Faults, Frame, Role};
use crate::tokens::{PromptCounter, count, embedding};

/// Key that the simulator rejects as invalid in every dialect.
pub const BAD_KEY: &str = "bad-key";
/// Embedding dimensions when the request names none.
pub const DEFAULT_DIMENSIONS: usize = 8;
const MAX_DIMENSIONS: u64 = 65_536;
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
pub async fn chat(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    chat_inner(&app, Dialect::OpenAi, &headers, &body, None).await
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
    chat_inner(&app, Dialect::Azure, &headers, &body, Some(&deployment)).await
}

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    embeddings_inner(&app, Dialect::OpenAi, &headers, &body, None).await
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
    embeddings_inner(&app, Dialect::Azure, &headers, &body, Some(&deployment)).await
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

async fn chat_inner(
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
    let messages = match validate_chat(&request, deployment.is_none()) {
        Ok(messages) => messages,
        Err(error) => return error.render(dialect),
    };
    let prompt_tokens = count_prompt(messages, request.get("tools"));
    let input = ReplyInput {
        last_user: &last_user_text(messages),
        tools: tools(&request),
        tool_choice: tool_choice(request.get("tool_choice")),
        max_tokens: request
            .get("max_completion_tokens")
            .or_else(|| request.get("max_tokens"))
            .and_then(Value::as_u64),
    };
    let reply = Reply::plan(&input, &call.scenario);
    let usage = usage_json(prompt_tokens, &reply, &call.scenario);
    let id = format!("chatcmpl-{}", app.next_id());
    let created = now_secs();
    let azure = dialect == Dialect::Azure;
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        let include_usage = request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true);
        let chunk = ChunkTemplate::new(&id, created, &call.model, include_usage);
        let frames = stream_frames(&chunk, &reply, include_usage.then_some(&usage), azure);
        let faults = Faults {
            error_event: stream_error_event(dialect),
            malformed: malformed_line(dialect),
        };
        return stream::response(frames, &call.scenario, &faults);
    }
    let message = match &reply.body {
        ReplyBody::Text(_) => {
            json!({"role": "assistant", "content": reply.text(), "refusal": null, "annotations": []})
        }
        ReplyBody::Tool(call) => json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{
                "id": format!("call_{}", call.id),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }],
            "refusal": null,
            "annotations": [],
        }),
    };
    let mut choice = json!({"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason(reply.finish)});
    let mut completion = json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": call.model,
        "choices": [],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    });
    if azure {
        choice["content_filter_results"] = content_filter_results();
        completion["prompt_filter_results"] =
            json!([{"prompt_index": 0, "content_filter_results": content_filter_results()}]);
    }
    completion["choices"] = Value::Array(vec![choice]);
    let mut response = Response::new(stream::json_body(
        completion.to_string().into_bytes(),
        &call.scenario,
    ));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Checks the fields OpenAI requires; returns the messages.
fn validate_chat(request: &Value, model_required: bool) -> Result<&Vec<Value>, ApiError> {
    if model_required
        && request
            .get("model")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(ApiError::invalid("you must provide a model parameter"));
    }
    let messages = match request.get("messages") {
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(Value::Array(messages)) => messages,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid type for 'messages': expected an array of objects, but got {} instead.",
                json_type(other)
            ))
            .param("messages")
            .code("invalid_type"));
        }
    };
    if messages.is_empty() {
        return Err(ApiError::invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
            .param("messages")
            .code("empty_array"));
    }
    for (i, message) in messages.iter().enumerate() {
        match message.get("role").and_then(Value::as_str) {
            None => return Err(missing(&format!("messages[{i}].role"))),
            Some(role) if !ROLES.contains(&role) => {
                return Err(ApiError::invalid(format!("Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."))
                    .param(format!("messages[{i}].role"))
                    .code("invalid_value"));
            }
            Some(_) => {}
        }
    }
    if let Some(tools) = request.get("tools").and_then(Value::as_array) {
        for (i, tool) in tools.iter().enumerate() {
            if tool
                .pointer("/function/name")
                .and_then(Value::as_str)
                .is_none()
            {
                return Err(missing(&format!("tools[{i}].function.name")));
            }
        }
    }
    Ok(messages)
}

/// Prompt tokens: OpenAI's per-message formula over every message's text, plus the tools' JSON.
fn count_prompt(messages: &[Value], tools: Option<&Value>) -> u32 {
    let mut counter = PromptCounter::default();
    for message in messages {
        counter.message(message.get("role").and_then(Value::as_str).unwrap_or(""));
        match message.get("content") {
            Some(Value::String(text)) => counter.text(text),
            Some(Value::Array(parts)) => {
                for part in parts {
                    match part.get("text").and_then(Value::as_str) {
                        Some(text) => counter.text(text),
                        None => counter.image(),
                    }
                }
            }
            _ => {}
        }
        if let Some(name) = message.get("name").and_then(Value::as_str) {
            counter.name(name);
        }
        for call in message
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(function) = call.get("function") {
                counter.json(function.get("name").unwrap_or(&Value::Null));
                counter.json(function.get("arguments").unwrap_or(&Value::Null));
            }
        }
    }
    if let Some(tools) = tools {
        counter.json(tools);
    }
    counter.finish()
}

/// The text of the last user message.
fn last_user_text(messages: &[Value]) -> String {
    let Some(message) = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    else {
        return String::new();
    };
    match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn tools(request: &Value) -> Vec<ToolDecl<'_>> {
    request
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|tool| {
            let function = tool.get("function")?;
            Some(ToolDecl {
                name: function.get("name")?.as_str()?,
                schema: function.get("parameters"),
            })
        })
        .collect()
}

fn tool_choice(choice: Option<&Value>) -> ToolChoice {
    match choice {
        Some(Value::String(s)) if s == "none" => ToolChoice::Never,
        Some(Value::String(s)) if s == "required" => ToolChoice::Required,
        Some(Value::Object(_)) => choice
            .and_then(|c| c.pointer("/function/name"))
            .and_then(Value::as_str)
            .map_or(ToolChoice::Required, |name| {
                ToolChoice::Named(name.to_owned())
            }),
        _ => ToolChoice::Auto,
    }
}

fn finish_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop => "stop",
        Finish::Length => "length",
        Finish::ToolCall => "tool_calls",
    }
}

/// OpenAI's usage object; `completion_tokens` includes reasoning tokens, `prompt_tokens` includes cached ones.
fn usage_json(prompt_tokens: u32, reply: &Reply, scenario: &crate::scenario::Scenario) -> Value {
    let completion = reply
        .completion_tokens
        .saturating_add(reply.reasoning_tokens);
    let cached = scenario.cached_tokens.unwrap_or(0).min(prompt_tokens);
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens.saturating_add(completion),
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reply.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    })
}

fn content_filter_results() -> Value {
    let safe = json!({"filtered": false, "severity": "safe"});
    json!({"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe})
}

/// The fixed parts of every chunk of one stream, so each chunk is two string copies and its delta.
struct ChunkTemplate {
    prefix: String,
    suffix: &'static str,
}

impl ChunkTemplate {
    fn new(id: &str, created: u64, model: &str, include_usage: bool) -> Self {
        let prefix = format!(
            "data: {{\"id\":{},\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":{},\"system_fingerprint\":\"{FINGERPRINT}\",\"choices\":[",
            esc(id),
            esc(model)
        );
        let suffix = if include_usage {
            "],\"usage\":null}\n\n"
        } else {
            "]}\n\n"
        };
        Self { prefix, suffix }
    }

    fn chunk(&self, choice: &str) -> String {
        let mut s = String::with_capacity(self.prefix.len() + choice.len() + self.suffix.len());
        s.push_str(&self.prefix);
        s.push_str(choice);
        s.push_str(self.suffix);
        s
    }

    fn delta(&self, delta: &str, finish: Option<&str>) -> String {
        let finish = finish.map_or_else(|| "null".to_owned(), esc);
        self.chunk(&format!(
            "{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}"
        ))
    }
}

fn esc(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The chunks of a chat stream, in OpenAI's order.
fn stream_frames(
    chunk: &ChunkTemplate,
    reply: &Reply,
    usage: Option<&Value>,
    azure: bool,
) -> Vec<Frame> {
    let mut frames = Vec::with_capacity(reply.pieces().len() + 5);
    if azure {
        let filters = json!({"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": content_filter_results()}]});
        frames.push(Frame::new(Role::Preamble, format!("data: {filters}\n\n")));
    }
    match &reply.body {
        ReplyBody::Text(pieces) => {
            frames.push(Frame::new(
                Role::Preamble,
                chunk.delta(r#"{"role":"assistant","content":"","refusal":null}"#, None),
            ));
            for (piece, tokens) in pieces.iter().zip(&reply.chunk_tokens) {
                let delta = format!("{{\"content\":{}}}", esc(piece));
                frames.push(Frame::new(
                    Role::Content(*tokens),
                    chunk.delta(&delta, None),
                ));
            }
        }
        ReplyBody::Tool(call) => {
            let head = format!(
                "{{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{{\"index\":0,\"id\":{},\"type\":\"function\",\"function\":{{\"name\":{},\"arguments\":\"\"}}}}],\"refusal\":null}}",
                esc(&format!("call_{}", call.id)),
                esc(&call.name)
            );
            frames.push(Frame::new(Role::Preamble, chunk.delta(&head, None)));
            for (piece, tokens) in call.pieces.iter().zip(&reply.chunk_tokens) {
                let delta = format!(
                    "{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":{}}}}}]}}",
                    esc(piece)
                );
                frames.push(Frame::new(
                    Role::Content(*tokens),
                    chunk.delta(&delta, None),
                ));
            }
        }
    }
    frames.push(Frame::new(
        Role::Terminal,
        chunk.delta("{}", Some(finish_reason(reply.finish))),
    ));
    if let Some(usage) = usage {
        let mut last = String::with_capacity(chunk.prefix.len() + 400);
        last.push_str(&chunk.prefix);
        last.push_str("],\"usage\":");
        last.push_str(&usage.to_string());
        last.push_str("}\n\n");
        frames.push(Frame::new(Role::Terminal, last));
    }
    frames.push(Frame {
        bytes: Bytes::from_static(b"data: [DONE]\n\n"),
        role: Role::Terminal,
    });
    frames
}

async fn embeddings_inner(
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

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_count_matches_the_cookbook_formula() {
        let messages = vec![
            json!({"role": "system", "content": "You are helpful."}),
            json!({"role": "user", "content": [{"type": "text", "text": "Hello"}], "name": "bob"}),
        ];
        let expected = 3
            + count("system")
            + count("You are helpful.")
            + 3
            + count("user")
            + count("Hello")
            + 1
            + count("bob")
            + 3;
        assert_eq!(count_prompt(&messages, None), expected);
        assert_eq!(last_user_text(&messages), "Hello");
    }

    #[test]
    fn chunk_template_builds_valid_json() {
        let t = ChunkTemplate::new("chatcmpl-1", 7, "m\"x", true);
        let text = t.delta(r#"{"content":"hi"}"#, Some("stop"));
        let data = text.strip_prefix("data: ").unwrap().trim_end();
        let v: Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["model"], "m\"x");
        assert_eq!(v["usage"], Value::Null);
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn validation_errors() {
        let e = validate_chat(&json!({"messages": []}), true).unwrap_err();
        assert_eq!(e.message, "you must provide a model parameter");
        let e = validate_chat(&json!({"model": "m"}), true).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("messages"));
        let e = validate_chat(&json!({"model": "m", "messages": []}), true).unwrap_err();
        assert_eq!(e.code, Some("empty_array"));
        let e = validate_chat(&json!({"model": "m", "messages": [{"content": "x"}]}), true)
            .unwrap_err();
        assert_eq!(e.param.as_deref(), Some("messages[0].role"));
        assert!(
            validate_chat(
                &json!({"messages": [{"role": "user", "content": "x"}]}),
                false
            )
            .is_ok()
        );
    }
}
