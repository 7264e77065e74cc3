//! Canonical request → Anthropic Messages request body.

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::types::{
    ChatCompletionRequest, ChatMessage, ContentPart, ExtraFields, ImageUrl, MessageContent,
    ResponseFormat, Tool, ToolCall, ToolChoice, ToolChoiceMode,
};

/// The `max_tokens` sent when the caller set no output limit and the provider's
/// configuration names no other ([`ProviderConfig::default_max_tokens`](crate::providers::ProviderConfig::default_max_tokens)).
/// Anthropic requires the field; 4096 is the largest limit every current Claude model
/// accepts (the oldest Claude 3 models stop at 4096), long enough for nearly every chat
/// answer. An answer cut by it ends with `finish_reason: "length"`.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Extra (unnamed) request fields that are Anthropic's own and forwarded unchanged. Every
/// other extra field is dropped: Anthropic rejects unknown fields.
pub const FORWARDED_EXTRA_FIELDS: &[&str] = &["top_k", "thinking"];

/// Instruction appended to the system prompt for `response_format: json_object`.
const JSON_INSTRUCTION: &str = "Respond only with one valid JSON object: no prose, no explanations and no Markdown code fences.";

/// The JSON body for `POST /v1/messages`.
///
/// System and developer messages, wherever they appear, are lifted into the top-level
/// `system`; tool results become `tool_result` blocks of a user message; consecutive
/// messages of one role are merged because Anthropic requires alternation. Empty text is
/// left out (Anthropic rejects empty text blocks), and a message left without content is
/// dropped. A `cache_control` object on a message (an Anthropic extension kept in the
/// message's extra fields) is put on the last block that message yields.
pub fn chat_body(request: &ChatCompletionRequest, upstream_model: &str) -> Result<Value> {
    chat_body_with_default(request, upstream_model, DEFAULT_MAX_TOKENS)
}

/// [`chat_body`] sending `default_max_tokens` as `max_tokens` when the request sets no
/// output limit (`max_completion_tokens`, else `max_tokens`).
pub fn chat_body_with_default(
    request: &ChatCompletionRequest,
    upstream_model: &str,
    default_max_tokens: u32,
) -> Result<Value> {
    if request.n.is_some_and(|n| n > 1) {
        return Err(Error::bad_request(
            "Anthropic generates one choice per request; n must be 1",
            Some("n"),
        ));
    }

    let mut system: Vec<SystemBlock> = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    for (i, message) in request.messages.iter().enumerate() {
        let param = format!("messages[{i}]");
        match message {
            ChatMessage::System(m) | ChatMessage::Developer(m) => {
                let text = system_text(&m.content, &param)?;
                if !text.is_empty() {
                    system.push(SystemBlock {
                        text,
                        cache_control: m.extra.get("cache_control").cloned(),
                    });
                }
            }
            ChatMessage::User(m) => {
                let blocks = content_blocks(&m.content, &param)?;
                push_turn(&mut turns, Role::User, blocks, &m.extra);
            }
            ChatMessage::Assistant(m) => {
                let mut blocks = match &m.content {
                    Some(content) => content_blocks(content, &param)?,
                    None => Vec::new(),
                };
                for (j, call) in m.tool_calls.iter().flatten().enumerate() {
                    blocks.push(tool_use_block(call, &format!("{param}.tool_calls[{j}]"))?);
                }
                push_turn(&mut turns, Role::Assistant, blocks, &m.extra);
            }
            ChatMessage::Tool(m) => {
                let mut block = Map::new();
                block.insert("type".into(), "tool_result".into());
                block.insert("tool_use_id".into(), m.tool_call_id.clone().into());
                if let Some(content) = tool_result_content(&m.content, &param)? {
                    block.insert("content".into(), content);
                }
                push_turn(&mut turns, Role::User, vec![Value::Object(block)], &m.extra);
            }
        }
    }

    if let Some(instruction) = response_format_instruction(request.response_format.as_ref())? {
        system.push(SystemBlock {
            text: instruction,
            cache_control: None,
        });
    }

    let mut body = Map::new();
    body.insert("model".into(), upstream_model.into());
    body.insert(
        "max_tokens".into(),
        request.output_limit().unwrap_or(default_max_tokens).into(),
    );
    if let Some(system) = system_value(system) {
        body.insert("system".into(), system);
    }
    body.insert(
        "messages".into(),
        turns.into_iter().map(Turn::into_value).collect(),
    );
    if let Some(stop) = &request.stop {
        let sequences = stop.to_vec();
        if !sequences.is_empty() {
            body.insert("stop_sequences".into(), sequences.into());
        }
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), t.into());
    }
    if let Some(p) = request.top_p {
        body.insert("top_p".into(), p.into());
    }
    if let Some(user) = &request.user {
        body.insert("metadata".into(), json!({ "user_id": user }));
    }
    if request.is_stream() {
        body.insert("stream".into(), true.into());
    }
    if let Some(tools) = request.tools.as_ref().filter(|t| !t.is_empty()) {
        let tools = tools
            .iter()
            .enumerate()
            .map(|(i, t)| tool_definition(t, i))
            .collect::<Result<Vec<_>>>()?;
        body.insert("tools".into(), tools.into());
        if let Some(choice) = tool_choice(request.tool_choice.as_ref(), request.parallel_tool_calls)
        {
            body.insert("tool_choice".into(), choice);
        }
    }
    for name in FORWARDED_EXTRA_FIELDS {
        if let Some(value) = request.extra.get(*name) {
            body.insert((*name).to_owned(), value.clone());
        }
    }
    Ok(Value::Object(body))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    User,
    Assistant,
}

/// One Anthropic message being built.
struct Turn {
    role: Role,
    blocks: Vec<Value>,
}

impl Turn {
    fn into_value(self) -> Value {
        let role = match self.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        let mut blocks = self.blocks;
        if self.role == Role::User {
            // Anthropic wants tool results first in a user message, before any text.
            blocks.sort_by_key(|b| b.get("type").and_then(Value::as_str) != Some("tool_result"));
        }
        json!({ "role": role, "content": blocks })
    }
}

/// Appends `blocks` as a message of `role`, merged into the previous message when it
/// has the same role.
fn push_turn(turns: &mut Vec<Turn>, role: Role, mut blocks: Vec<Value>, extra: &ExtraFields) {
    if blocks.is_empty() {
        return;
    }
    if let (Some(cache), Some(Value::Object(last))) =
        (extra.get("cache_control"), blocks.last_mut())
    {
        last.insert("cache_control".into(), cache.clone());
    }
    match turns.last_mut() {
        Some(turn) if turn.role == role => turn.blocks.extend(blocks),
        _ => turns.push(Turn { role, blocks }),
    }
}

struct SystemBlock {
    text: String,
    cache_control: Option<Value>,
}

/// The top-level `system`: one string (paragraphs joined with a blank line), or text
/// blocks when a system message carries `cache_control`.
fn system_value(blocks: Vec<SystemBlock>) -> Option<Value> {
    if blocks.is_empty() {
        return None;
    }
    if blocks.iter().all(|b| b.cache_control.is_none()) {
        let texts: Vec<String> = blocks.into_iter().map(|b| b.text).collect();
        return Some(texts.join("\n\n").into());
    }
    let blocks = blocks
        .into_iter()
        .map(|b| {
            let mut block = json!({ "type": "text", "text": b.text });
            if let (Some(cache), Some(obj)) = (b.cache_control, block.as_object_mut()) {
                obj.insert("cache_control".into(), cache);
            }
            block
        })
        .collect();
    Some(Value::Array(blocks))
}

/// The text of a system or developer message; only text parts are allowed.
fn system_text(content: &MessageContent, param: &str) -> Result<String> {
    match content {
        MessageContent::Text(t) => Ok(t.clone()),
        MessageContent::Parts(parts) => {
            let mut texts = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                match part {
                    ContentPart::Text { text } => texts.push(text.as_str()),
                    _ => {
                        return Err(Error::bad_request(
                            "system and developer messages may contain only text",
                            Some(&format!("{param}.content[{j}]")),
                        ));
                    }
                }
            }
            Ok(texts.concat())
        }
    }
}

/// User or assistant content as Anthropic content blocks.
fn content_blocks(content: &MessageContent, param: &str) -> Result<Vec<Value>> {
    match content {
        MessageContent::Text(t) if t.is_empty() => Ok(Vec::new()),
        MessageContent::Text(t) => Ok(vec![text_block(t)]),
        MessageContent::Parts(parts) => {
            let mut blocks = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                let part_param = format!("{param}.content[{j}]");
                if let Some(block) = part_block(part, &part_param)? {
                    blocks.push(block);
                }
            }
            Ok(blocks)
        }
    }
}

fn text_block(text: &str) -> Value {
    json!({ "type": "text", "text": text })
}

/// One content part as a block; `None` for empty text.
fn part_block(part: &ContentPart, param: &str) -> Result<Option<Value>> {
    match part {
        ContentPart::Text { text } | ContentPart::Refusal { refusal: text } => {
            Ok((!text.is_empty()).then(|| text_block(text)))
        }
        ContentPart::ImageUrl { image_url } => image_block(image_url, param).map(Some),
        ContentPart::InputAudio { .. } => Err(Error::bad_request(
            "Anthropic does not accept audio input",
            Some(param),
        )),
        ContentPart::File { file } => document_block(file, param).map(Some),
    }
}

/// An image part: `data:` URLs become base64 sources, http(s) URLs URL sources.
fn image_block(image: &ImageUrl, param: &str) -> Result<Value> {
    if let Some((media_type, data)) = image.as_data_url() {
        return Ok(json!({
            "type": "image",
            "source": { "type": "base64", "media_type": media_type, "data": data },
        }));
    }
    let url = image.url.as_str();
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({ "type": "image", "source": { "type": "url", "url": url } }));
    }
    Err(Error::bad_request(
        "image_url must be an http(s) URL or a base64 data: URL",
        Some(param),
    ))
}

/// A file part with inline `file_data` (a base64 `data:` URL) as a document block.
/// Anthropic cannot read OpenAI `file_id`s.
fn document_block(file: &Value, param: &str) -> Result<Value> {
    let data_url = file.get("file_data").and_then(Value::as_str);
    let Some((media_type, data)) = data_url.and_then(split_data_url) else {
        return Err(Error::bad_request(
            "Anthropic accepts files only as inline base64 file_data (a data: URL)",
            Some(param),
        ));
    };
    let mut block = json!({
        "type": "document",
        "source": { "type": "base64", "media_type": media_type, "data": data },
    });
    if let (Some(name), Some(obj)) = (
        file.get("filename").and_then(Value::as_str),
        block.as_object_mut(),
    ) {
        obj.insert("title".into(), name.into());
    }
    Ok(block)
}

fn split_data_url(url: &str) -> Option<(&str, &str)> {
    let (meta, data) = url.strip_prefix("data:")?.split_once(',')?;
    Some((meta.strip_suffix(";base64")?, data))
}

/// An assistant tool call as a `tool_use` block; its arguments must be a JSON object.
fn tool_use_block(call: &ToolCall, param: &str) -> Result<Value> {
    let arguments = call.function.arguments.trim();
    let input: Value = if arguments.is_empty() {
        json!({})
    } else {
        serde_json::from_str(arguments).map_err(|e| {
            Error::bad_request(
                format!(
                    "arguments of tool call {:?} are not valid JSON: {e}",
                    call.id
                ),
                Some(&format!("{param}.function.arguments")),
            )
        })?
    };
    if !input.is_object() {
        return Err(Error::bad_request(
            format!("arguments of tool call {:?} must be a JSON object", call.id),
            Some(&format!("{param}.function.arguments")),
        ));
    }
    Ok(json!({
        "type": "tool_use",
        "id": call.id,
        "name": call.function.name,
        "input": input,
    }))
}

/// A tool message's content: a string when it is all text, blocks otherwise, `None`
/// when empty (the field is optional).
fn tool_result_content(content: &MessageContent, param: &str) -> Result<Option<Value>> {
    let all_text = match content {
        MessageContent::Text(_) => true,
        MessageContent::Parts(parts) => parts.iter().all(|p| matches!(p, ContentPart::Text { .. })),
    };
    if all_text {
        let text = content.text();
        return Ok((!text.is_empty()).then(|| text.into()));
    }
    let blocks = content_blocks(content, param)?;
    Ok((!blocks.is_empty()).then(|| blocks.into()))
}

fn tool_definition(tool: &Tool, i: usize) -> Result<Value> {
    if tool.kind != "function" {
        return Err(Error::bad_request(
            format!(
                "tool type {:?} is not supported; use \"function\"",
                tool.kind
            ),
            Some(&format!("tools[{i}].type")),
        ));
    }
    let f = &tool.function;
    let mut def = Map::new();
    def.insert("name".into(), f.name.clone().into());
    if let Some(description) = &f.description {
        def.insert("description".into(), description.clone().into());
    }
    let schema = f
        .parameters
        .clone()
        .unwrap_or_else(|| json!({ "type": "object", "properties": {} }));
    def.insert("input_schema".into(), schema);
    Ok(Value::Object(def))
}

/// `tool_choice`, with `disable_parallel_tool_use` when parallel calls are turned off
/// (not allowed with `none`, where no tool is called anyway).
fn tool_choice(choice: Option<&ToolChoice>, parallel: Option<bool>) -> Option<Value> {
    let mut value = match choice {
        Some(ToolChoice::Mode(ToolChoiceMode::None)) => return Some(json!({ "type": "none" })),
        Some(ToolChoice::Mode(ToolChoiceMode::Auto)) => json!({ "type": "auto" }),
        Some(ToolChoice::Mode(ToolChoiceMode::Required)) => json!({ "type": "any" }),
        Some(ToolChoice::Named(named)) => json!({ "type": "tool", "name": named.function.name }),
        None if parallel == Some(false) => json!({ "type": "auto" }),
        None => return None,
    };
    if parallel == Some(false)
        && let Some(obj) = value.as_object_mut()
    {
        obj.insert("disable_parallel_tool_use".into(), true.into());
    }
    Some(value)
}

/// The system instruction standing in for `response_format`.
fn response_format_instruction(format: Option<&ResponseFormat>) -> Result<Option<String>> {
    match format {
        None | Some(ResponseFormat::Text) => Ok(None),
        Some(ResponseFormat::JsonObject) => Ok(Some(JSON_INSTRUCTION.to_owned())),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let described = match &json_schema.description {
                Some(description) => format!("\"{}\" ({description})", json_schema.name),
                None => format!("\"{}\"", json_schema.name),
            };
            let mut text = JSON_INSTRUCTION.to_owned();
            match &json_schema.schema {
                Some(schema) => {
                    let schema = serde_json::to_string(schema).map_err(|e| {
                        Error::bad_request(e.to_string(), Some("response_format.json_schema"))
                    })?;
                    text.push_str(&format!(
                        " It must conform to the JSON Schema {described}: {schema}"
                    ));
                }
                None => text.push_str(&format!(" The object is {described}.")),
            }
            Ok(Some(text))
        }
    }
}
