//! Canonical requests → Gemini `GenerateContentRequest` and `BatchEmbedContentsRequest`.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::types::{
    AssistantMessage, ChatCompletionRequest, ChatMessage, ContentPart, EmbeddingInput,
    EmbeddingRequest, ImageUrl, MessageContent, ResponseFormat, Tool, ToolChoice, ToolChoiceMode,
};

/// Separates a tool call id from the Gemini thought signature it carries
/// (`call_…__thought__<signature>`); the same convention LiteLLM uses.
pub const THOUGHT_SIGNATURE_SEPARATOR: &str = "__thought__";

/// Keys of Gemini's `Schema` object (an OpenAPI 3.0 subset). Every other JSON Schema
/// key is dropped, `additionalProperties`, `$schema`, `$id`, `$defs`, `strict`,
/// `patternProperties`, `exclusiveMinimum`/`exclusiveMaximum` and `examples` among them.
const SCHEMA_KEYS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

/// How many `$ref`s are inlined along one path before a recursive schema is cut off.
const MAX_REF_DEPTH: usize = 8;

/// The JSON body for `models/{model}:generateContent` (and `:streamGenerateContent`).
pub fn chat_body(request: &ChatCompletionRequest) -> Result<Value> {
    let mut body = Map::new();
    let (system, contents) = convert_messages(&request.messages)?;
    body.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({ "parts": system }));
    }
    if let Some(tools) = request.tools.as_deref().filter(|t| !t.is_empty()) {
        body.insert(
            "tools".into(),
            json!([{ "functionDeclarations": function_declarations(tools)? }]),
        );
    }
    if let Some(choice) = &request.tool_choice {
        body.insert("toolConfig".into(), tool_config(choice));
    }
    let generation = generation_config(request)?;
    if !generation.is_empty() {
        body.insert("generationConfig".into(), Value::Object(generation));
    }
    for (field, names) in [
        ("safetySettings", ["safety_settings", "safetySettings"]),
        ("cachedContent", ["cached_content", "cachedContent"]),
    ] {
        if let Some(v) = names.iter().find_map(|n| request.extra.get(*n)) {
            body.insert(field.into(), v.clone());
        }
    }
    Ok(Value::Object(body))
}

/// Contents being built; consecutive parts of the same role share one content.
#[derive(Default)]
struct Contents(Vec<(&'static str, Vec<Value>)>);

impl Contents {
    fn push(&mut self, role: &'static str, parts: Vec<Value>) {
        if parts.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(parts),
            _ => self.0.push((role, parts)),
        }
    }

    fn into_values(self) -> Vec<Value> {
        self.0
            .into_iter()
            .map(|(role, parts)| json!({ "role": role, "parts": parts }))
            .collect()
    }
}

/// System instruction parts and contents for the messages.
fn convert_messages(messages: &[ChatMessage]) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut system = Vec::new();
    let mut contents = Contents::default();
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for (i, message) in messages.iter().enumerate() {
        match message {
            ChatMessage::System(m) | ChatMessage::Developer(m) => {
                let text = m.content.text();
                if !text.is_empty() {
                    system.push(json!({ "text": text }));
                }
            }
            ChatMessage::User(m) => contents.push("user", content_parts(&m.content, i)?),
            ChatMessage::Assistant(m) => {
                for call in m.tool_calls.iter().flatten() {
                    call_names.insert(call.id.as_str(), call.function.name.as_str());
                }
                contents.push("model", assistant_parts(m, i)?);
            }
            ChatMessage::Tool(m) => {
                let name = call_names.get(m.tool_call_id.as_str()).ok_or_else(|| {
                    Error::bad_request(
                        format!(
                            "messages[{i}]: tool_call_id {:?} answers no tool call of an earlier \
                             assistant message",
                            m.tool_call_id
                        ),
                        Some("messages"),
                    )
                })?;
                let text = m.content.text();
                let response = match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(obj)) => Value::Object(obj),
                    _ => json!({ "content": text }),
                };
                contents.push(
                    "user",
                    vec![json!({ "functionResponse": { "name": name, "response": response } })],
                );
            }
        }
    }
    let contents = contents.into_values();
    if contents.is_empty() {
        return Err(Error::bad_request(
            "Gemini needs at least one user or assistant message with content",
            Some("messages"),
        ));
    }
    Ok((system, contents))
}

/// Parts of an assistant message: its text, then one `functionCall` per tool call.
/// Reasoning text is output only and is not sent back.
fn assistant_parts(m: &AssistantMessage, i: usize) -> Result<Vec<Value>> {
    let mut parts = Vec::new();
    if let Some(content) = &m.content {
        let text = content.text();
        if !text.is_empty() {
            parts.push(json!({ "text": text }));
        }
    }
    for (j, call) in m.tool_calls.iter().flatten().enumerate() {
        let param = format!("messages[{i}].tool_calls[{j}].function.arguments");
        let raw = call.function.arguments.trim();
        let args = if raw.is_empty() {
            json!({})
        } else {
            match serde_json::from_str::<Value>(raw) {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => {
                    return Err(Error::bad_request(
                        "tool call arguments must be a JSON object",
                        Some(&param),
                    ));
                }
                Err(e) => {
                    return Err(Error::bad_request(
                        format!("tool call arguments are not valid JSON: {e}"),
                        Some(&param),
                    ));
                }
            }
        };
        let mut part = json!({ "functionCall": { "name": call.function.name, "args": args } });
        if let Some(signature) = thought_signature(&call.id) {
            part["thoughtSignature"] = signature.into();
        }
        parts.push(part);
    }
    Ok(parts)
}

/// The thought signature carried in a tool call id, if any.
pub fn thought_signature(call_id: &str) -> Option<&str> {
    call_id
        .split_once(THOUGHT_SIGNATURE_SEPARATOR)
        .map(|(_, sig)| sig)
        .filter(|sig| !sig.is_empty())
}

/// Parts of user content: text, images, audio and files.
fn content_parts(content: &MessageContent, i: usize) -> Result<Vec<Value>> {
    let parts = match content {
        MessageContent::Text(text) => return Ok(text_part(text).into_iter().collect()),
        MessageContent::Parts(parts) => parts,
    };
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            ContentPart::Text { text } => out.extend(text_part(text)),
            ContentPart::Refusal { refusal } => out.extend(text_part(refusal)),
            ContentPart::ImageUrl { image_url } => out.push(image_part(image_url, i)?),
            ContentPart::InputAudio { input_audio } => {
                let mime = match input_audio.format.as_str() {
                    "wav" => "audio/wav".to_owned(),
                    "mp3" => "audio/mp3".to_owned(),
                    other => format!("audio/{other}"),
                };
                out.push(json!({ "inlineData": { "mimeType": mime, "data": input_audio.data } }));
            }
            ContentPart::File { file } => out.push(file_part(file, i)?),
        }
    }
    Ok(out)
}

fn text_part(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({ "text": text }))
}

/// `data:` URLs become `inlineData`; http(s) URLs become `fileData` with a media type
/// guessed from the extension.
fn image_part(image: &ImageUrl, i: usize) -> Result<Value> {
    if image.url.starts_with("data:") {
        let (mime, data) = image.as_data_url().ok_or_else(|| {
            Error::bad_request(
                format!("messages[{i}]: image data URLs must be base64 (data:<type>;base64,…)"),
                Some("messages"),
            )
        })?;
        return Ok(json!({ "inlineData": { "mimeType": mime, "data": data } }));
    }
    let lower = image.url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Ok(json!({
            "fileData": { "mimeType": image_mime_from_url(&image.url), "fileUri": image.url }
        }));
    }
    Err(Error::bad_request(
        format!("messages[{i}]: image URLs must be http(s) or base64 data URLs"),
        Some("messages"),
    ))
}

/// The image media type from a URL's file extension; `image/jpeg` when unknown.
pub fn image_mime_from_url(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => "image/jpeg",
    }
}

/// OpenAI file parts with base64 `file_data` become `inlineData`; file ids cannot be
/// resolved at Gemini.
fn file_part(file: &Value, i: usize) -> Result<Value> {
    let data_url = file.get("file_data").and_then(Value::as_str).and_then(|u| {
        let (meta, data) = u.strip_prefix("data:")?.split_once(',')?;
        Some((meta.strip_suffix(";base64")?, data))
    });
    match data_url {
        Some((mime, data)) => Ok(json!({ "inlineData": { "mimeType": mime, "data": data } })),
        None => Err(Error::bad_request(
            format!("messages[{i}]: Gemini accepts files only as base64 data URLs in file_data"),
            Some("messages"),
        )),
    }
}

fn function_declarations(tools: &[Tool]) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        if tool.kind != "function" {
            return Err(Error::bad_request(
                format!(
                    "tools[{i}]: Gemini supports only function tools, not {:?}",
                    tool.kind
                ),
                Some("tools"),
            ));
        }
        let f = &tool.function;
        let mut decl = Map::new();
        decl.insert("name".into(), f.name.clone().into());
        if let Some(d) = &f.description {
            decl.insert("description".into(), d.clone().into());
        }
        if let Some(params) = &f.parameters {
            let schema = gemini_schema(params);
            // Gemini rejects an OBJECT schema with no properties; a function without
            // arguments is declared without `parameters`.
            let empty_object = schema
                .get("properties")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty)
                && schema.get("type").and_then(Value::as_str) == Some("object");
            if !empty_object {
                decl.insert("parameters".into(), schema);
            }
        }
        out.push(Value::Object(decl));
    }
    Ok(out)
}

fn tool_config(choice: &ToolChoice) -> Value {
    let config = match choice {
        ToolChoice::Mode(ToolChoiceMode::Auto) => json!({ "mode": "AUTO" }),
        ToolChoice::Mode(ToolChoiceMode::None) => json!({ "mode": "NONE" }),
        ToolChoice::Mode(ToolChoiceMode::Required) => json!({ "mode": "ANY" }),
        ToolChoice::Named(named) => {
            json!({ "mode": "ANY", "allowedFunctionNames": [named.function.name] })
        }
    };
    json!({ "functionCallingConfig": config })
}

fn generation_config(request: &ChatCompletionRequest) -> Result<Map<String, Value>> {
    let mut g = Map::new();
    let mut set = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            g.insert(key.to_owned(), v);
        }
    };
    set("temperature", request.temperature.map(Value::from));
    set("topP", request.top_p.map(Value::from));
    set(
        "topK",
        ["top_k", "topK"]
            .iter()
            .find_map(|k| request.extra.get(*k))
            .cloned(),
    );
    set("maxOutputTokens", request.output_limit().map(Value::from));
    set(
        "stopSequences",
        request
            .stop
            .as_ref()
            .map(|s| s.to_vec())
            .filter(|v| !v.is_empty())
            .map(Value::from),
    );
    set("candidateCount", request.n.map(Value::from));
    set("seed", request.seed.map(Value::from));
    set("presencePenalty", request.presence_penalty.map(Value::from));
    set(
        "frequencyPenalty",
        request.frequency_penalty.map(Value::from),
    );
    if request.logprobs == Some(true) {
        set("responseLogprobs", Some(true.into()));
        set("logprobs", request.top_logprobs.map(Value::from));
    }
    match &request.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            set("responseMimeType", Some("application/json".into()));
        }
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            set("responseMimeType", Some("application/json".into()));
            set(
                "responseSchema",
                json_schema.schema.as_ref().map(gemini_schema),
            );
        }
    }
    if let Some(effort) = &request.reasoning_effort {
        set("thinkingConfig", Some(thinking_config(effort)?));
    }
    Ok(g)
}

/// `reasoning_effort` as a thinking budget, following Google's own OpenAI-compatible
/// endpoint: `none` → 0 (thinking off), `low` → 1024, `medium` → 8192, `high` → 24576;
/// `minimal` → 512, the smallest budget every Gemini 2.5 model accepts. Thought
/// summaries are asked for whenever thinking is on, so they come back as reasoning text.
fn thinking_config(effort: &str) -> Result<Value> {
    let budget = match effort {
        "none" => return Ok(json!({ "thinkingBudget": 0 })),
        "minimal" => 512,
        "low" => 1024,
        "medium" => 8192,
        "high" => 24576,
        other => {
            return Err(Error::bad_request(
                format!(
                    "unknown reasoning_effort {other:?}: use none, minimal, low, medium or high"
                ),
                Some("reasoning_effort"),
            ));
        }
    };
    Ok(json!({ "thinkingBudget": budget, "includeThoughts": true }))
}

/// A JSON Schema rewritten into the subset Gemini's `Schema` accepts.
///
/// Local `$ref`s (`#/$defs/…`, `#/definitions/…`) and one-element `allOf`s are inlined;
/// `type: [T, "null"]` and `anyOf` members of type `null` become `nullable: true`;
/// `oneOf` becomes `anyOf`; `const` becomes a one-value `enum`; keys Gemini's `Schema`
/// lacks are dropped (`additionalProperties`, `$schema`, `strict`, …). Recursive schemas are cut off after a few levels of
/// `$ref` as `{"type": "object"}`.
pub fn gemini_schema(schema: &Value) -> Value {
    sanitize(schema, schema, 0)
}

fn sanitize(value: &Value, root: &Value, ref_depth: usize) -> Value {
    let Some(obj) = value.as_object() else {
        return value.clone();
    };
    let Some((flat, ref_depth)) = flatten(obj, root, ref_depth) else {
        return json!({ "type": "object" });
    };
    let mut out = Map::new();
    let mut nullable = false;
    let mut any_of: Option<Vec<Value>> = None;
    for (key, v) in &flat {
        match key.as_str() {
            "type" => match v {
                Value::Array(types) => {
                    let named: Vec<&Value> = types
                        .iter()
                        .filter(|t| t.as_str() != Some("null"))
                        .collect();
                    nullable |= named.len() < types.len();
                    match named.as_slice() {
                        [one] => {
                            out.insert("type".into(), (*one).clone());
                        }
                        [] => {}
                        many => {
                            any_of = Some(many.iter().map(|t| json!({ "type": t })).collect());
                        }
                    }
                }
                Value::String(t) if t == "null" => nullable = true,
                other => {
                    out.insert("type".into(), other.clone());
                }
            },
            "nullable" => nullable |= v.as_bool() == Some(true),
            "properties" => {
                if let Some(props) = v.as_object() {
                    let props: Map<String, Value> = props
                        .iter()
                        .map(|(name, s)| (name.clone(), sanitize(s, root, ref_depth)))
                        .collect();
                    out.insert("properties".into(), Value::Object(props));
                }
            }
            "items" if v.is_object() => {
                out.insert("items".into(), sanitize(v, root, ref_depth));
            }
            "anyOf" | "oneOf" => {
                for member in v.as_array().into_iter().flatten() {
                    let member = sanitize(member, root, ref_depth);
                    if is_null_schema(&member) {
                        nullable = true;
                    } else {
                        any_of.get_or_insert_with(Vec::new).push(member);
                    }
                }
            }
            "const" if !flat.contains_key("enum") => {
                out.insert("enum".into(), Value::Array(vec![v.clone()]));
            }
            k if SCHEMA_KEYS.contains(&k) => {
                out.insert(key.clone(), v.clone());
            }
            _ => {}
        }
    }
    if let Some(mut members) = any_of {
        if members.len() == 1 {
            if let Some(Value::Object(only)) = members.pop() {
                for (k, v) in only {
                    if k == "nullable" {
                        nullable |= v.as_bool() == Some(true);
                    } else {
                        out.entry(k).or_insert(v);
                    }
                }
            }
        } else if !members.is_empty() {
            out.insert("anyOf".into(), Value::Array(members));
        }
    }
    if nullable {
        out.insert("nullable".into(), true.into());
    }
    Value::Object(out)
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
        || schema.as_object().is_some_and(|o| {
            o.len() == 1 && o.get("nullable").and_then(Value::as_bool) == Some(true)
        })
}

/// The object with `$ref` and single-member `allOf` merged in (its own keys win), and
/// the `$ref` depth reached; `None` when the depth limit is hit.
fn flatten(
    obj: &Map<String, Value>,
    root: &Value,
    ref_depth: usize,
) -> Option<(Map<String, Value>, usize)> {
    let mut flat = obj.clone();
    let mut depth = ref_depth;
    loop {
        let mut merged = false;
        if let Some(Value::String(reference)) = flat.remove("$ref") {
            depth += 1;
            if depth > MAX_REF_DEPTH {
                return None;
            }
            if let Some(Value::Object(target)) = reference
                .strip_prefix('#')
                .and_then(|pointer| root.pointer(pointer))
            {
                merge_missing(&mut flat, target);
                merged = true;
            }
        }
        if let Some(Value::Array(all)) = flat.get("allOf").cloned()
            && let [Value::Object(only)] = all.as_slice()
        {
            flat.remove("allOf");
            merge_missing(&mut flat, only);
            merged = true;
        }
        if !merged {
            return Some((flat, depth));
        }
    }
}

fn merge_missing(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        into.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

/// The body for `models/{model}:batchEmbedContents`.
///
/// `task_type`/`taskType` and `title` given as extra fields are passed on to each request.
pub fn embeddings_body(request: &EmbeddingRequest, model_path: &str) -> Result<Value> {
    if matches!(
        request.input,
        EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_)
    ) {
        return Err(Error::bad_request(
            "Gemini embeds text only; token-array inputs are not supported",
            Some("input"),
        ));
    }
    let texts = request.input.texts();
    if texts.is_empty() {
        return Err(Error::bad_request("input is empty", Some("input")));
    }
    let task_type = ["task_type", "taskType"]
        .iter()
        .find_map(|k| request.extra.get(*k));
    let title = request.extra.get("title");
    let requests: Vec<Value> = texts
        .into_iter()
        .map(|text| {
            let mut r = json!({
                "model": model_path,
                "content": { "parts": [{ "text": text }] },
            });
            if let Some(d) = request.dimensions {
                r["outputDimensionality"] = d.into();
            }
            if let Some(t) = task_type {
                r["taskType"] = t.clone();
            }
            if let Some(t) = title {
                r["title"] = t.clone();
            }
            r
        })
        .collect();
    Ok(json!({ "requests": requests }))
}
