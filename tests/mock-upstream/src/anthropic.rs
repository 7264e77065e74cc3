//! Anthropic Messages API: `POST /v1/messages`, `POST /v1/messages/count_tokens`, `GET /v1/models`.

use std::sync::{Arc, LazyLock};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::errors::{
    ApiError, Call, Dialect, json_response, malformed_line, read_body, stream_error_event,
};
use crate::openai::BAD_KEY;
use crate::reply::{Finish, JsonReply, Reply, ReplyBody, ReplyInput, ToolChoice, ToolDecl};
use crate::scenario::Scenario;
use crate::state::AppState;
use crate::stream::{self, Faults, Frame, Role};
use crate::tokens::PromptCounter;

const D: Dialect = Dialect::Anthropic;

/// `POST /v1/messages`.
pub async fn messages(State(app): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let response = match read_body(body, D).await {
        Ok(body) => messages_inner(&app, &parts.headers, &body).await,
        Err(response) => response,
    };
    with_request_id(&app, response)
}

/// `POST /v1/messages/count_tokens`.
pub async fn count_tokens(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = auth(&app, &headers);
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let model = parsed
        .as_ref()
        .and_then(|v| v.get("model"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let response = match Call::begin(&app, D, &headers, model, auth).await {
        Err(response) => response,
        Ok(_) => match parsed.as_ref().map(|r| validate(r, false)) {
            None => invalid_json().render(D),
            Some(Err(error)) => error.render(D),
            Some(Ok(messages)) => {
                let request = parsed.as_ref().unwrap_or(&Value::Null);
                json_response(
                    StatusCode::OK,
                    &json!({"input_tokens": count_prompt(request, messages)}),
                )
            }
        },
    };
    with_request_id(&app, response)
}

static MODELS: LazyLock<Value> = LazyLock::new(|| {
    let data: Vec<Value> = [
        (
            "claude-opus-4-20250514",
            "Claude Opus 4",
            "2025-05-22T00:00:00Z",
        ),
        (
            "claude-sonnet-4-20250514",
            "Claude Sonnet 4",
            "2025-05-22T00:00:00Z",
        ),
        (
            "claude-3-7-sonnet-20250219",
            "Claude Sonnet 3.7",
            "2025-02-24T00:00:00Z",
        ),
        (
            "claude-3-5-haiku-20241022",
            "Claude Haiku 3.5",
            "2024-10-22T00:00:00Z",
        ),
    ]
    .iter()
    .map(|(id, name, created)| model_json(id, name, created))
    .collect();
    let first = data
        .first()
        .and_then(|m| m.get("id"))
        .cloned()
        .unwrap_or(Value::Null);
    let last = data
        .last()
        .and_then(|m| m.get("id"))
        .cloned()
        .unwrap_or(Value::Null);
    json!({"data": data, "has_more": false, "first_id": first, "last_id": last})
});

fn model_json(id: &str, display_name: &str, created_at: &str) -> Value {
    json!({"type": "model", "id": id, "display_name": display_name, "created_at": created_at})
}

/// `GET /v1/models` in Anthropic's list shape.
pub fn models(app: &Arc<AppState>, headers: &HeaderMap) -> Response {
    let response = auth(app, headers).unwrap_or_else(|| json_response(StatusCode::OK, &MODELS));
    with_request_id(app, response)
}

/// `GET /v1/models/{id}` in Anthropic's shape: every id exists.
pub fn model(app: &Arc<AppState>, headers: &HeaderMap, id: &str) -> Response {
    let response = auth(app, headers).unwrap_or_else(|| {
        json_response(StatusCode::OK, &model_json(id, id, "2025-01-01T00:00:00Z"))
    });
    with_request_id(app, response)
}

/// Whether a request carries Anthropic's headers (used to tell `GET /v1/models` callers apart).
pub fn is_anthropic(headers: &HeaderMap) -> bool {
    headers.contains_key("anthropic-version") || headers.contains_key("x-api-key")
}

/// Anthropic's answers for a missing or invalid `x-api-key` and a missing `anthropic-version`.
fn auth(app: &AppState, headers: &HeaderMap) -> Option<Response> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    match key {
        None if app.config.require_key => {
            return Some(ApiError::new(401, "x-api-key header is required").render(D));
        }
        Some(BAD_KEY) => return Some(ApiError::new(401, "invalid x-api-key").render(D)),
        _ => {}
    }
    if !headers.contains_key("anthropic-version") {
        return Some(ApiError::invalid("anthropic-version: header is required").render(D));
    }
    None
}

fn with_request_id(app: &AppState, mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("req_{}", app.next_id())) {
        response.headers_mut().insert("request-id", value.clone());
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn invalid_json() -> ApiError {
    ApiError::invalid(
        "There was an error parsing the body of your request. Please make sure it is valid JSON.",
    )
}

/// Checks the fields Anthropic requires; returns the messages.
fn validate(request: &Value, max_tokens_required: bool) -> Result<&Vec<Value>, ApiError> {
    if request.get("model").and_then(Value::as_str).is_none() {
        return Err(ApiError::invalid("model: Field required"));
    }
    if max_tokens_required {
        match request.get("max_tokens") {
            None | Some(Value::Null) => {
                return Err(ApiError::invalid("max_tokens: Field required"));
            }
            Some(v) if v.as_u64().is_none_or(|n| n == 0) => {
                return Err(ApiError::invalid(
                    "max_tokens: Input should be a valid integer greater than or equal to 1",
                ));
            }
            Some(_) => {}
        }
    }
    let messages = match request.get("messages") {
        None | Some(Value::Null) => return Err(ApiError::invalid("messages: Field required")),
        Some(Value::Array(messages)) => messages,
        Some(_) => return Err(ApiError::invalid("messages: Input should be a valid list")),
    };
    if messages.is_empty() {
        return Err(ApiError::invalid(
            "messages: at least one message is required",
        ));
    }
    for (i, message) in messages.iter().enumerate() {
        match message.get("role").and_then(Value::as_str) {
            Some("user" | "assistant") => {}
            None => {
                return Err(ApiError::invalid(format!(
                    "messages.{i}.role: Field required"
                )));
            }
            Some(_) => {
                return Err(ApiError::invalid(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant'"
                )));
            }
        }
        if message.get("content").is_none() {
            return Err(ApiError::invalid(format!(
                "messages.{i}.content: Field required"
            )));
        }
    }
    Ok(messages)
}

/// Counts a content value (string or blocks) into the counter.
fn count_content(counter: &mut PromptCounter, content: Option<&Value>) {
    match content {
        Some(Value::String(text)) => counter.text(text),
        Some(Value::Array(blocks)) => {
            for block in blocks {
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => counter.json(block.get("text").unwrap_or(&Value::Null)),
                    Some("tool_use") => {
                        counter.json(block.get("name").unwrap_or(&Value::Null));
                        counter.json(block.get("input").unwrap_or(&Value::Null));
                    }
                    Some("tool_result") => count_content(counter, block.get("content")),
                    _ => counter.image(),
                }
            }
        }
        _ => {}
    }
}

/// Prompt tokens, with the same per-message formula as OpenAI (documented approximation).
fn count_prompt(request: &Value, messages: &[Value]) -> u32 {
    let mut counter = PromptCounter::default();
    if let Some(system) = request.get("system") {
        counter.message("system");
        count_content(&mut counter, Some(system));
    }
    for message in messages {
        counter.message(message.get("role").and_then(Value::as_str).unwrap_or(""));
        count_content(&mut counter, message.get("content"));
    }
    if let Some(tools) = request.get("tools") {
        counter.json(tools);
    }
    counter.finish()
}

fn last_user_text(messages: &[Value]) -> String {
    // After a tool result the model answers in text: no user text asks for a tool then.
    let ends_with_result = messages
        .last()
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array)
        .is_some_and(|blocks| {
            blocks
                .iter()
                .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        });
    if ends_with_result {
        return String::new();
    }
    let Some(message) = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    else {
        return String::new();
    };
    match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
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
            Some(ToolDecl {
                name: tool.get("name")?.as_str()?,
                schema: tool.get("input_schema"),
            })
        })
        .collect()
}

fn tool_choice(choice: Option<&Value>) -> ToolChoice {
    let Some(choice) = choice else {
        return ToolChoice::Auto;
    };
    match choice.get("type").and_then(Value::as_str) {
        Some("none") => ToolChoice::Never,
        Some("any") => ToolChoice::Required,
        Some("tool") => choice
            .get("name")
            .and_then(Value::as_str)
            .map_or(ToolChoice::Required, |n| ToolChoice::Named(n.to_owned())),
        _ => ToolChoice::Auto,
    }
}

fn stop_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ToolCall => "tool_use",
    }
}

/// Anthropic usage: `input_tokens` excludes cache reads and writes; `output_tokens` includes thinking.
fn usage(prompt_tokens: u32, reply: &Reply, scenario: &Scenario) -> Value {
    let read = scenario.cached_tokens.unwrap_or(0).min(prompt_tokens);
    let written = scenario
        .cache_creation_tokens
        .unwrap_or(0)
        .min(prompt_tokens - read);
    let mut usage = json!({
        "input_tokens": prompt_tokens - read - written,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
        "output_tokens": reply.completion_tokens.saturating_add(reply.reasoning_tokens),
    });
    if let Some(hour) = scenario.cache_creation_1h_tokens {
        let hour = hour.min(written);
        usage["cache_creation"] = json!({
            "ephemeral_5m_input_tokens": written - hour,
            "ephemeral_1h_input_tokens": hour,
        });
    }
    usage
}

async fn messages_inner(app: &Arc<AppState>, headers: &HeaderMap, body: &[u8]) -> Response {
    let auth = auth(app, headers);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let model = parsed
        .as_ref()
        .and_then(|v| v.get("model"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let call = match Call::begin(app, D, headers, model, auth).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let Some(request) = parsed else {
        return invalid_json().render(D);
    };
    let messages = match validate(&request, true) {
        Ok(messages) => messages,
        Err(error) => return error.render(D),
    };
    let prompt_tokens = count_prompt(&request, messages);
    let input = ReplyInput {
        last_user: &last_user_text(messages),
        tools: tools(&request),
        tool_choice: tool_choice(request.get("tool_choice")),
        max_tokens: request.get("max_tokens").and_then(Value::as_u64),
        json: request
            .pointer("/output_format/schema")
            .map(JsonReply::Schema),
    };
    let reply = Reply::plan(&input, &call.scenario);
    let usage = usage(prompt_tokens, &reply, &call.scenario);
    let id = format!("msg_{}", app.next_id());
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        let frames = stream_frames(&id, &call.model, &reply, &usage);
        let faults = Faults {
            error_event: stream_error_event(D),
            malformed: malformed_line(D),
        };
        return stream::response(frames, &call.scenario, &faults);
    }
    let content = match &reply.body {
        ReplyBody::Text(_) => {
            let text = reply.text();
            if text.is_empty() {
                json!([])
            } else {
                json!([{"type": "text", "text": text}])
            }
        }
        ReplyBody::Tool(tool) => json!([{
            "type": "tool_use",
            "id": format!("toolu_{}", tool.id),
            "name": tool.name,
            "input": tool.input,
        }]),
    };
    let message = json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": content,
        "stop_reason": stop_reason(reply.finish),
        "stop_sequence": null,
        "usage": usage,
    });
    let mut response = Response::new(stream::json_body(
        message.to_string().into_bytes(),
        &call.scenario,
    ));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The events of a Messages stream, in Anthropic's order.
fn stream_frames(id: &str, model: &str, reply: &Reply, usage: &Value) -> Vec<Frame> {
    let mut start_usage = usage.clone();
    start_usage["output_tokens"] = json!(1);
    let mut frames = vec![Frame::new(
        Role::Preamble,
        event(
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": null, "stop_sequence": null, "usage": start_usage,
            }}),
        ),
    )];
    let block = match &reply.body {
        ReplyBody::Text(_) => json!({"type": "text", "text": ""}),
        ReplyBody::Tool(tool) => {
            json!({"type": "tool_use", "id": format!("toolu_{}", tool.id), "name": tool.name, "input": {}})
        }
    };
    frames.push(Frame::new(
        Role::Preamble,
        event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0, "content_block": block}),
        ),
    ));
    frames.push(static_frame(Role::Preamble, PING));
    // Deltas are the bulk of a stream: written from a template, not built as `Value`s.
    let (kind, field) = match reply.body {
        ReplyBody::Text(_) => ("text_delta", "text"),
        ReplyBody::Tool(_) => ("input_json_delta", "partial_json"),
    };
    for (piece, tokens) in reply.pieces().iter().zip(&reply.chunk_tokens) {
        let text = format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"{kind}\",\"{field}\":{}}}}}\n\n",
            serde_json::to_string(piece).unwrap_or_default()
        );
        frames.push(Frame::new(Role::Content(*tokens), text));
    }
    frames.push(static_frame(Role::Terminal, BLOCK_STOP));
    frames.push(Frame::new(
        Role::Terminal,
        event(
            "message_delta",
            &json!({"type": "message_delta",
                "delta": {"stop_reason": stop_reason(reply.finish), "stop_sequence": null},
                "usage": {"output_tokens": usage["output_tokens"]}}),
        ),
    ));
    frames.push(static_frame(Role::Terminal, MESSAGE_STOP));
    frames
}

const PING: &[u8] = b"event: ping\ndata: {\"type\":\"ping\"}\n\n";
const BLOCK_STOP: &[u8] =
    b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
const MESSAGE_STOP: &[u8] = b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

fn static_frame(role: Role, bytes: &'static [u8]) -> Frame {
    Frame {
        bytes: Bytes::from_static(bytes),
        role,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages() {
        let e = validate(
            &json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
            true,
        )
        .unwrap_err();
        assert_eq!(e.message, "max_tokens: Field required");
        let e = validate(&json!({"max_tokens": 5, "messages": []}), true).unwrap_err();
        assert_eq!(e.message, "model: Field required");
        let e = validate(&json!({"model": "m", "max_tokens": 5}), true).unwrap_err();
        assert_eq!(e.message, "messages: Field required");
        assert!(
            validate(
                &json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn cache_tokens_are_split_out_of_input() {
        let reply = Reply::plan(
            &ReplyInput {
                last_user: "x",
                tools: vec![],
                tool_choice: ToolChoice::Auto,
                max_tokens: None,
                json: None,
            },
            &Scenario::default(),
        );
        let s = Scenario {
            cached_tokens: Some(10),
            cache_creation_tokens: Some(5),
            ..Scenario::default()
        };
        assert_eq!(
            usage(40, &reply, &s),
            json!({"input_tokens": 25, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 10, "output_tokens": 8})
        );
        let s = Scenario {
            cache_creation_1h_tokens: Some(2),
            ..s
        };
        assert_eq!(
            usage(40, &reply, &s)["cache_creation"],
            json!({"ephemeral_5m_input_tokens": 3, "ephemeral_1h_input_tokens": 2})
        );
    }
}
