//! Google Gemini (Generative Language API, v1beta): generate, stream, count, embed, models.

use std::sync::{Arc, LazyLock};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::errors::{
    ApiError, Call, Dialect, json_response, malformed_line, read_body, stream_error_event,
};
use crate::openai::{BAD_KEY, DEFAULT_DIMENSIONS};
use crate::reply::{Finish, JsonReply, Reply, ReplyBody, ReplyInput, ToolChoice, ToolDecl};
use crate::scenario::{Scenario, percent_decode, query_param};
use crate::state::AppState;
use crate::stream::{self, Faults, Frame, Role};
use crate::tokens::{PromptCounter, embedding};

mod wire;

const D: Dialect = Dialect::Gemini;
const PREFIX: &str = "/v1beta/models/";

static MODELS: LazyLock<Value> = LazyLock::new(|| {
    let models: Vec<Value> = [
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.0-flash",
        "text-embedding-004",
    ]
    .iter()
    .map(|id| model_json(id))
    .collect();
    json!({"models": models})
});

fn model_json(id: &str) -> Value {
    let embedding = id.contains("embedding");
    let methods = if embedding {
        json!(["embedContent", "batchEmbedContents", "countTokens"])
    } else {
        json!(["generateContent", "streamGenerateContent", "countTokens"])
    };
    json!({
        "name": format!("models/{id}"),
        "version": "001",
        "displayName": id,
        "description": format!("mock-upstream model {id}"),
        "inputTokenLimit": if embedding { 2048 } else { 1_048_576 },
        "outputTokenLimit": if embedding { 1 } else { 65_536 },
        "supportedGenerationMethods": methods,
    })
}

/// Reads a field by its camelCase or snake_case name (the REST API accepts both).
fn field<'a>(value: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    value.get(camel).or_else(|| value.get(snake))
}

/// The key from `x-goog-api-key` or `?key=`; Gemini answers 403 without one and 400 for a bad one.
fn auth(app: &AppState, headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    let key = headers
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query_param(uri.query(), "key"))
        .filter(|k| !k.trim().is_empty());
    match key.as_deref() {
        None if app.config.require_key => Some(
            ApiError::new(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
                .render(D),
        ),
        Some(BAD_KEY) => Some(ApiError::invalid("API key not valid. Please pass a valid API key.").render(D)),
        _ => None,
    }
}

/// `GET /v1beta/models`.
pub async fn list(State(app): State<Arc<AppState>>, headers: HeaderMap, uri: Uri) -> Response {
    auth(&app, &headers, &uri).unwrap_or_else(|| json_response(StatusCode::OK, &MODELS))
}

/// Everything under `/v1beta/models/…`: `GET` a model, or `POST` `{model}:{action}`.
pub async fn dispatch(State(app): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let body = match read_body(body, D).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let rest = uri.path().strip_prefix(PREFIX).unwrap_or("");
    if method == Method::GET {
        return auth(&app, &headers, &uri)
            .unwrap_or_else(|| json_response(StatusCode::OK, &model_json(&percent_decode(rest))));
    }
    let Some((model, action)) = rest.rsplit_once(':') else {
        return not_found(&uri);
    };
    let model = percent_decode(model);
    let action = match action {
        "generateContent" => Action::Generate,
        "streamGenerateContent" if query_param(uri.query(), "alt").as_deref() == Some("sse") => {
            Action::StreamSse
        }
        "streamGenerateContent" => Action::StreamArray,
        "countTokens" => Action::CountTokens,
        "embedContent" => Action::Embed,
        "batchEmbedContents" => Action::BatchEmbed,
        _ => return not_found(&uri),
    };
    let auth = auth(&app, &headers, &uri);
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let call = match Call::begin(&app, D, &headers, &model, auth).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let Some(request) = parsed else {
        return ApiError::invalid("Invalid JSON payload received. Unexpected token.").render(D);
    };
    let result = match action {
        Action::Generate | Action::StreamSse | Action::StreamArray => {
            generate(&app, &call, &request, action)
        }
        Action::CountTokens => count_tokens(&request),
        Action::Embed => embed_one(&request)
            .map(|values| ok_json(&call, &json!({"embedding": {"values": values}}))),
        Action::BatchEmbed => batch_embed(&request)
            .map(|embeddings| ok_json(&call, &json!({"embeddings": embeddings}))),
    };
    result.unwrap_or_else(|error| error.render(D))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Generate,
    StreamSse,
    StreamArray,
    CountTokens,
    Embed,
    BatchEmbed,
}

fn not_found(uri: &Uri) -> Response {
    ApiError::new(
        404,
        format!("Requested entity was not found: {}", uri.path()),
    )
    .render(D)
}

fn ok_json(call: &Call, value: &Value) -> Response {
    ok_bytes(call, value.to_string().into_bytes())
}

fn ok_bytes(call: &Call, body: Vec<u8>) -> Response {
    let mut response = Response::new(stream::json_body(body, &call.scenario));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

/// Checks `contents`; returns them.
fn validate(request: &Value) -> Result<&Vec<Value>, ApiError> {
    let contents = match request.get("contents") {
        Some(Value::Array(contents)) if !contents.is_empty() => contents,
        _ => {
            return Err(ApiError::invalid(
                "* GenerateContentRequest.contents: contents is not specified\n",
            ));
        }
    };
    for (i, content) in contents.iter().enumerate() {
        if content
            .get("parts")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
        {
            return Err(ApiError::invalid(format!(
                "* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.\n"
            )));
        }
    }
    Ok(contents)
}

fn count_parts(counter: &mut PromptCounter, content: &Value) {
    for part in content
        .get("parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(text) = part.get("text").and_then(Value::as_str) {
            counter.text(text);
        } else if let Some(call) = field(part, "functionCall", "function_call") {
            counter.json(call.get("name").unwrap_or(&Value::Null));
            counter.json(call.get("args").unwrap_or(&Value::Null));
        } else if let Some(response) = field(part, "functionResponse", "function_response") {
            counter.json(response.get("name").unwrap_or(&Value::Null));
            counter.json(response.get("response").unwrap_or(&Value::Null));
        } else {
            counter.image();
        }
    }
}

/// Prompt tokens, with OpenAI's per-message formula (documented approximation).
fn count_prompt(request: &Value, contents: &[Value]) -> u32 {
    let mut counter = PromptCounter::default();
    if let Some(system) = field(request, "systemInstruction", "system_instruction") {
        counter.message("system");
        count_parts(&mut counter, system);
    }
    for content in contents {
        counter.message(
            content
                .get("role")
                .and_then(Value::as_str)
                .unwrap_or("user"),
        );
        count_parts(&mut counter, content);
    }
    if let Some(tools) = request.get("tools") {
        counter.json(tools);
    }
    counter.finish()
}

fn count_tokens(request: &Value) -> Result<Response, ApiError> {
    let inner = field(
        request,
        "generateContentRequest",
        "generate_content_request",
    )
    .unwrap_or(request);
    let contents = validate(inner)?;
    let total = count_prompt(inner, contents);
    Ok(json_response(
        StatusCode::OK,
        &json!({"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}),
    ))
}

fn last_user_text(contents: &[Value]) -> String {
    // After a tool result the model answers in text: no user text asks for a tool then.
    let ends_with_result = contents
        .last()
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array)
        .is_some_and(|parts| {
            parts.iter().any(|p| {
                p.get("functionResponse").is_some() || p.get("function_response").is_some()
            })
        });
    if ends_with_result {
        return String::new();
    }
    contents
        .iter()
        .rev()
        .find(|c| {
            c.get("role")
                .and_then(Value::as_str)
                .is_none_or(|r| r == "user")
        })
        .and_then(|c| c.get("parts").and_then(Value::as_array))
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn tools(request: &Value) -> Vec<ToolDecl<'_>> {
    request
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|tool| field(tool, "functionDeclarations", "function_declarations")?.as_array())
        .flatten()
        .filter_map(|decl| {
            Some(ToolDecl {
                name: decl.get("name")?.as_str()?,
                schema: decl
                    .get("parameters")
                    .or_else(|| field(decl, "parametersJsonSchema", "parameters_json_schema")),
            })
        })
        .collect()
}

fn tool_choice(request: &Value) -> ToolChoice {
    let Some(config) = field(request, "toolConfig", "tool_config")
        .and_then(|c| field(c, "functionCallingConfig", "function_calling_config"))
    else {
        return ToolChoice::Auto;
    };
    let allowed = field(config, "allowedFunctionNames", "allowed_function_names")
        .and_then(Value::as_array)
        .and_then(|names| names.first())
        .and_then(Value::as_str);
    match config.get("mode").and_then(Value::as_str) {
        Some("NONE") => ToolChoice::Never,
        Some("ANY") => allowed.map_or(ToolChoice::Required, |n| ToolChoice::Named(n.to_owned())),
        _ => ToolChoice::Auto,
    }
}

/// `usageMetadata`: candidates exclude thoughts; total includes them; prompt includes cached tokens.
fn usage(prompt: u32, candidates: u32, reply: &Reply, scenario: &Scenario) -> wire::UsageMetadata {
    wire::UsageMetadata {
        prompt_token_count: prompt,
        candidates_token_count: candidates,
        total_token_count: prompt
            .saturating_add(candidates)
            .saturating_add(reply.reasoning_tokens),
        cached_content_token_count: scenario.cached_tokens.unwrap_or(0).min(prompt),
        prompt_tokens_details: [wire::ModalityCount {
            modality: "TEXT",
            token_count: prompt,
        }],
        thoughts_token_count: reply.reasoning_tokens,
    }
}

/// `generationConfig.responseMimeType: application/json`, with `responseSchema` or `responseJsonSchema`.
fn json_reply(request: &Value) -> Option<JsonReply<'_>> {
    let config = field(request, "generationConfig", "generation_config")?;
    let mime = field(config, "responseMimeType", "response_mime_type").and_then(Value::as_str);
    if mime != Some("application/json") {
        return None;
    }
    let schema = field(config, "responseSchema", "response_schema")
        .or_else(|| field(config, "responseJsonSchema", "response_json_schema"));
    Some(schema.map_or(JsonReply::AnyObject, JsonReply::Schema))
}

fn finish_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Length => "MAX_TOKENS",
        Finish::Stop | Finish::ToolCall => "STOP",
    }
}

/// A function-call part for a planned tool call.
fn call_part(tool: &crate::reply::ToolCall) -> wire::Part<'_> {
    wire::Part::Call {
        function_call: wire::FunctionCall {
            name: &tool.name,
            args: &tool.input,
        },
    }
}

/// One response body as JSON text.
fn response_json(
    part: wire::Part<'_>,
    finish: Option<&'static str>,
    usage: &wire::UsageMetadata,
    model: &str,
    id: &str,
) -> String {
    let response = wire::Response {
        candidates: [wire::Candidate {
            content: wire::Content {
                parts: [part],
                role: "model",
            },
            finish_reason: finish,
            index: 0,
        }],
        usage_metadata: usage,
        model_version: model,
        response_id: id,
    };
    serde_json::to_string(&response).unwrap_or_default()
}

fn generate(
    app: &AppState,
    call: &Call,
    request: &Value,
    action: Action,
) -> Result<Response, ApiError> {
    let contents = validate(request)?;
    let prompt = count_prompt(request, contents);
    let input = ReplyInput {
        last_user: &last_user_text(contents),
        tools: tools(request),
        tool_choice: tool_choice(request),
        max_tokens: field(request, "generationConfig", "generation_config")
            .and_then(|c| field(c, "maxOutputTokens", "max_output_tokens"))
            .and_then(Value::as_u64),
        json: json_reply(request),
    };
    let reply = Reply::plan(&input, &call.scenario);
    let id = app.next_id();
    let finish = finish_reason(reply.finish);
    if action == Action::Generate {
        let text = reply.text();
        let part = match &reply.body {
            ReplyBody::Text(_) => wire::Part::Text { text: &text },
            ReplyBody::Tool(tool) => call_part(tool),
        };
        let usage = usage(prompt, reply.completion_tokens, &reply, &call.scenario);
        let body = response_json(part, Some(finish), &usage, &call.model, &id);
        return Ok(ok_bytes(call, body.into_bytes()));
    }
    // Each streamed response carries the usage so far; the last one also carries finishReason.
    let mut bodies: Vec<(Role, String)> = Vec::new();
    match &reply.body {
        ReplyBody::Text(pieces) if !pieces.is_empty() => {
            let mut so_far: u32 = 0;
            for (i, (piece, tokens)) in pieces.iter().zip(&reply.chunk_tokens).enumerate() {
                let last = i + 1 == pieces.len();
                so_far = if last {
                    reply.completion_tokens
                } else {
                    so_far.saturating_add(*tokens)
                };
                let usage = usage(prompt, so_far, &reply, &call.scenario);
                let part = wire::Part::Text { text: piece };
                let body = response_json(part, last.then_some(finish), &usage, &call.model, &id);
                bodies.push((Role::Content(*tokens), body));
            }
        }
        ReplyBody::Text(_) => {
            let usage = usage(prompt, 0, &reply, &call.scenario);
            let part = wire::Part::Text { text: "" };
            let body = response_json(part, Some(finish), &usage, &call.model, &id);
            bodies.push((Role::Terminal, body));
        }
        ReplyBody::Tool(tool) => {
            let usage = usage(prompt, reply.completion_tokens, &reply, &call.scenario);
            let body = response_json(call_part(tool), Some(finish), &usage, &call.model, &id);
            bodies.push((Role::Content(reply.completion_tokens), body));
        }
    }
    if action == Action::StreamSse {
        let frames = bodies
            .into_iter()
            .map(|(role, body)| Frame::new(role, format!("data: {body}\r\n\r\n")))
            .collect();
        let faults = Faults {
            error_event: stream_error_event(D),
            malformed: malformed_line(D),
        };
        return Ok(stream::response(frames, &call.scenario, &faults));
    }
    // Without alt=sse the stream is one JSON array, sent element by element.
    let mut frames: Vec<Frame> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, (role, body))| {
            Frame::new(
                role,
                format!("{}{body}", if i == 0 { "[" } else { "\n,\r\n" }),
            )
        })
        .collect();
    frames.push(Frame::new(Role::Terminal, "\n]".to_owned()));
    let error = ApiError::scripted(D, 500, &call.model).body(D);
    let faults = Faults {
        error_event: Bytes::from(format!("\n,\r\n{error}\n]")),
        malformed: Bytes::from_static(b"\n,\r\n{\"candidates\": [{\"content\": "),
    };
    let mut response = stream::response(frames, &call.scenario, &faults);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    Ok(response)
}

fn dims(request: &Value) -> Result<usize, ApiError> {
    match field(request, "outputDimensionality", "output_dimensionality") {
        None | Some(Value::Null) => Ok(DEFAULT_DIMENSIONS),
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=65_536).contains(n))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "* EmbedContentRequest.output_dimensionality: invalid value {v}\n"
                ))
            }),
    }
}

fn content_text(request: &Value) -> Result<String, ApiError> {
    let parts = request
        .get("content")
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("* EmbedContentRequest.content: content is not specified\n")
        })?;
    Ok(parts
        .iter()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" "))
}

fn embed_one(request: &Value) -> Result<Vec<f32>, ApiError> {
    Ok(embedding(&content_text(request)?, dims(request)?))
}

fn batch_embed(request: &Value) -> Result<Vec<Value>, ApiError> {
    let requests = request
        .get("requests")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("* BatchEmbedContentsRequest.requests: requests is not specified\n")
        })?;
    requests
        .iter()
        .map(|r| embed_one(r).map(|values| json!({"values": values})))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_and_tool_config() {
        assert!(validate(&json!({})).is_err());
        assert!(validate(&json!({"contents": [{"role": "user", "parts": []}]})).is_err());
        let request = json!({"toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}});
        assert_eq!(tool_choice(&request), ToolChoice::Named("f".into()));
        let request = json!({"tool_config": {"function_calling_config": {"mode": "NONE"}}});
        assert_eq!(tool_choice(&request), ToolChoice::Never);
    }

    #[test]
    fn usage_fields() {
        let reply = Reply::plan(
            &ReplyInput {
                last_user: "x",
                tools: vec![],
                tool_choice: ToolChoice::Auto,
                max_tokens: None,
                json: None,
            },
            &Scenario {
                reasoning_tokens: Some(5),
                ..Scenario::default()
            },
        );
        let u = usage(
            10,
            8,
            &reply,
            &Scenario {
                cached_tokens: Some(4),
                ..Scenario::default()
            },
        );
        let u = serde_json::to_value(&u).unwrap();
        assert_eq!(u["totalTokenCount"], 23);
        assert_eq!(u["cachedContentTokenCount"], 4);
        assert_eq!(u["thoughtsTokenCount"], 5);
        let plain = usage(10, 8, &reply, &Scenario::default());
        assert!(
            serde_json::to_value(&plain)
                .unwrap()
                .get("cachedContentTokenCount")
                .is_none()
        );
    }
}
