//! Chat Completions: validation, prompt counting, the completion object and the chunk stream.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::{
    FINGERPRINT, ROLES, azure_auth, invalid_json, json_type, missing, now_secs, openai_auth,
    requested_model, wire,
};
use crate::errors::{ApiError, Call, Dialect, malformed_line, stream_error_event};
use crate::reply::{Finish, JsonReply, Reply, ReplyBody, ReplyInput, ToolChoice, ToolDecl};
use crate::scenario::Scenario;
use crate::state::AppState;
use crate::stream::{self, Faults, Frame, Role};
use crate::tokens::PromptCounter;

/// Chat completions for OpenAI and Azure (`deployment` set): validation, reply, JSON or stream.
pub(super) async fn chat_inner(
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
        json: json_reply(request.get("response_format")),
    };
    let reply = Reply::plan(&input, &call.scenario);
    let usage = usage(prompt_tokens, &reply, &call.scenario);
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
    let text = reply.text();
    let tool_calls = match &reply.body {
        ReplyBody::Text(_) => None,
        ReplyBody::Tool(call) => Some([wire::ToolCall {
            id: format!("call_{}", call.id),
            kind: "function",
            function: wire::Function {
                name: &call.name,
                arguments: &call.arguments,
            },
        }]),
    };
    let completion = wire::Completion {
        id: &id,
        object: "chat.completion",
        created,
        model: &call.model,
        choices: [wire::Choice {
            index: 0,
            message: wire::Message {
                role: "assistant",
                content: tool_calls.is_none().then_some(text.as_str()),
                tool_calls,
                refusal: (),
                annotations: [],
            },
            logprobs: (),
            finish_reason: finish_reason(reply.finish),
            content_filter_results: azure.then(content_filter_results),
        }],
        usage: &usage,
        service_tier: "default",
        system_fingerprint: FINGERPRINT,
        prompt_filter_results: azure.then(
            || json!([{"prompt_index": 0, "content_filter_results": content_filter_results()}]),
        ),
    };
    let body = serde_json::to_vec(&completion).unwrap_or_default();
    let mut response = Response::new(stream::json_body(body, &call.scenario));
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
    let streaming = request.get("stream").and_then(Value::as_bool) == Some(true);
    if !streaming && request.get("stream_options").is_some_and(|o| !o.is_null()) {
        return Err(ApiError::invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        )
        .param("stream_options"));
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
    // After a tool result the model answers in text: no user text asks for a tool then.
    if messages
        .last()
        .and_then(|m| m.get("role"))
        .and_then(Value::as_str)
        == Some("tool")
    {
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
    let Some(choice) = choice else {
        return ToolChoice::Auto;
    };
    if let Some(name) = choice.pointer("/function/name").and_then(Value::as_str) {
        return ToolChoice::Named(name.to_owned());
    }
    let mode = choice.as_str().or_else(|| {
        choice
            .pointer("/allowed_tools/mode")
            .and_then(Value::as_str)
    });
    match mode {
        Some("none") => ToolChoice::Never,
        Some("required") => ToolChoice::Required,
        _ => ToolChoice::Auto,
    }
}

/// `response_format`: `json_schema` (its `schema`) or `json_object`.
fn json_reply(format: Option<&Value>) -> Option<JsonReply<'_>> {
    let format = format?;
    match format.get("type").and_then(Value::as_str) {
        Some("json_schema") => format.pointer("/json_schema/schema").map(JsonReply::Schema),
        Some("json_object") => Some(JsonReply::AnyObject),
        _ => None,
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
fn usage(prompt_tokens: u32, reply: &Reply, scenario: &Scenario) -> wire::Usage {
    let completion = reply
        .completion_tokens
        .saturating_add(reply.reasoning_tokens);
    wire::Usage {
        prompt_tokens,
        completion_tokens: completion,
        total_tokens: prompt_tokens.saturating_add(completion),
        prompt_tokens_details: wire::PromptDetails {
            cached_tokens: scenario.cached_tokens.unwrap_or(0).min(prompt_tokens),
            audio_tokens: 0,
        },
        completion_tokens_details: wire::CompletionDetails {
            reasoning_tokens: reply.reasoning_tokens,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
        },
    }
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
    usage: Option<&wire::Usage>,
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
        last.push_str(&serde_json::to_string(usage).unwrap_or_default());
        last.push_str("}\n\n");
        frames.push(Frame::new(Role::Terminal, last));
    }
    frames.push(Frame {
        bytes: Bytes::from_static(b"data: [DONE]\n\n"),
        role: Role::Terminal,
    });
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::count;

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
        let e = validate_chat(
            &json!({"model": "m", "stream_options": {"include_usage": true},
                "messages": [{"role": "user", "content": "x"}]}),
            true,
        )
        .unwrap_err();
        assert_eq!(e.param.as_deref(), Some("stream_options"));
    }
}
