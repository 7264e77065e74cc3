//! Token counting with tiktoken-rs, for context checks and quota reservations made
//! before a request is sent. The provider's reported usage, not these counts, is what
//! gets billed.
//!
//! Counts are **exact only for OpenAI models** served by OpenAI, Azure OpenAI or
//! OpenRouter (`o200k_base` for GPT-4o, GPT-4.1, GPT-5 and the o-series; `cl100k_base`
//! for GPT-4, GPT-3.5 and the text-embedding models). Every other model family —
//! Claude, Gemini, Qwen, DeepSeek, GLM, Kimi, Llama, Mistral — uses its own tokenizer,
//! which tiktoken does not have; for those the count is made with `cl100k_base` and is
//! only an **estimate**, which can be well off, most of all for Chinese text and code.
//! [`encoding_for_model`] says which case applies.
//!
//! Chat messages follow OpenAI's published rule for current models ("How to count
//! tokens with tiktoken", OpenAI Cookbook): 3 tokens per message, plus the tokens of
//! the role and of the content, plus 1 and the name's tokens when a `name` is set,
//! plus 3 tokens that prime the reply. Further approximations, documented where they
//! are made: images ([`IMAGE_TOKENS_LOW`], [`IMAGE_TOKENS_DEFAULT`]), tool calls in
//! the history, tool definitions ([`count_tools`]) and JSON schemas.

mod tools;

#[cfg(test)]
mod tests;

use tiktoken_rs::CoreBPE;

pub use tools::count_tools;

use crate::types::{
    AssistantMessage, ChatCompletionRequest, ChatMessage, ContentPart, MessageContent,
    ResponseFormat,
};

/// A tiktoken encoding AI Hub counts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, GPT-5 and the o-series.
    O200kBase,
    /// GPT-4, GPT-3.5, text-embedding-3 and ada-002; the stand-in for other vendors.
    Cl100kBase,
}

impl Encoding {
    /// tiktoken's name for the encoding.
    pub fn name(self) -> &'static str {
        match self {
            Self::O200kBase => "o200k_base",
            Self::Cl100kBase => "cl100k_base",
        }
    }

    /// Tokens in `text`, encoded as ordinary text: special-token markers such as
    /// `<|endoftext|>` written in a message count as the plain text they are, as the
    /// API treats them.
    pub fn count(self, text: &str) -> usize {
        self.bpe().encode_ordinary(text).len()
    }

    fn bpe(self) -> &'static CoreBPE {
        match self {
            Self::O200kBase => tiktoken_rs::o200k_base_singleton(),
            Self::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
        }
    }
}

/// Whether a count is what the provider will report or an estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exactness {
    /// The model's own tokenizer (OpenAI models).
    Exact,
    /// A stand-in tokenizer: the model tokenizes differently.
    Approximate,
}

/// Tokens counted for an image part with `detail: "low"`: OpenAI's fixed figure for
/// GPT-4o-class models.
pub const IMAGE_TOKENS_LOW: usize = 85;

/// Tokens counted for an image part with `detail` `"high"`, `"auto"` or unset. Image
/// sizes are not decoded here, so OpenAI's figure for a 1024×1024 image on GPT-4o
/// (85 base + 170 per 512-px tile × 4 tiles) stands in for every image. Wide or very
/// large images cost up to 1445 tokens on GPT-4o and more on some other models; audio
/// and file parts are not counted at all.
pub const IMAGE_TOKENS_DEFAULT: usize = 765;

/// Framing tokens around every message (`<|start|>{role}<|message|>…<|end|>`).
const TOKENS_PER_MESSAGE: usize = 3;

/// Extra token when a message carries a `name`.
const TOKENS_PER_NAME: usize = 1;

/// Tokens priming the reply (`<|start|>assistant<|message|>`).
const REPLY_PRIMING: usize = 3;

/// The encoding to count `model` with and whether the count is exact.
///
/// `model` may carry a provider prefix: `openai/` and `azure/` (and
/// `openrouter/openai/`) are OpenAI itself, so known OpenAI models there are
/// [`Exactness::Exact`], and unknown names (Azure deployment names, new models) are
/// counted with `o200k_base` as an approximation. A bare name is matched against
/// OpenAI's model families. OpenAI's open-weight models hosted elsewhere
/// (`groq/openai/gpt-oss-120b`) use `o200k_base` but are approximate; everything else
/// is `cl100k_base`, approximate.
pub fn encoding_for_model(model: &str) -> (Encoding, Exactness) {
    let (host, name) = split_host(model);
    match (host, openai_family(name)) {
        (Host::OpenAi | Host::Unstated, Some(family)) => family,
        (Host::OpenAi, None) => (Encoding::O200kBase, Exactness::Approximate),
        (Host::Other, Some((encoding, _))) => (encoding, Exactness::Approximate),
        (Host::Other | Host::Unstated, None) => (Encoding::Cl100kBase, Exactness::Approximate),
    }
}

/// Tokens in `text` for `model`.
pub fn count_text(model: &str, text: &str) -> usize {
    encoding_for_model(model).0.count(text)
}

/// The SDKs' `count_tokens(model, text_or_messages)`: tokens in a JSON string, or the prompt
/// tokens of a JSON array of chat messages; anything else is a `BadRequestError` naming
/// `param`, as is a message that does not parse.
pub fn count_input(model: &str, input: serde_json::Value, param: &str) -> crate::Result<usize> {
    match input {
        serde_json::Value::String(text) => Ok(count_text(model, &text)),
        messages @ serde_json::Value::Array(_) => {
            let messages: Vec<ChatMessage> = crate::types::from_json_value(messages)?;
            Ok(count_messages(model, &messages))
        }
        _ => Err(crate::Error::bad_request(
            "token counting takes a string or a list of chat messages",
            Some(param),
        )),
    }
}

/// Prompt tokens `messages` take for `model`, by OpenAI's rule for current models
/// (see the module documentation), reply priming included.
pub fn count_messages(model: &str, messages: &[ChatMessage]) -> usize {
    let encoding = encoding_for_model(model).0;
    count_messages_with(encoding, messages)
}

/// Output tokens of `texts` (everything a completion produced, as
/// [`ChatAccumulator::output_texts`](crate::stream::ChatAccumulator::output_texts) lists it),
/// for estimating usage when a provider reported none.
pub fn count_output<'a>(model: &str, texts: impl IntoIterator<Item = &'a str>) -> usize {
    let encoding = encoding_for_model(model).0;
    texts.into_iter().map(|t| encoding.count(t)).sum()
}

/// Every piece of output in a whole completion (all choices: text, refusals, reasoning,
/// tool calls' names and arguments), for [`count_output`].
pub fn completion_output_texts(completion: &crate::types::ChatCompletion) -> Vec<&str> {
    let mut out = Vec::new();
    for c in &completion.choices {
        let m = &c.message;
        out.extend(
            [&m.content, &m.refusal, &m.reasoning_content]
                .into_iter()
                .filter_map(|t| t.as_deref()),
        );
        for call in m.tool_calls.iter().flatten() {
            out.push(call.function.name.as_str());
            out.push(call.function.arguments.as_str());
        }
    }
    out
}

/// Prompt tokens a whole request takes, for quota and budget reservations: the
/// messages ([`count_messages`]), the tool definitions ([`count_tools`]) and, for
/// structured output, the JSON schema's text (an approximation: OpenAI does not
/// publish how schemas are rendered).
pub fn count_request(request: &ChatCompletionRequest) -> usize {
    let encoding = encoding_for_model(&request.model).0;
    let mut total = count_messages_with(encoding, &request.messages);
    if let Some(tools) = request.tools.as_deref() {
        total += tools::count_tools_with(encoding, tools);
    }
    if let Some(ResponseFormat::JsonSchema { json_schema }) = &request.response_format {
        total += encoding.count(&json_schema.name);
        if let Some(schema) = &json_schema.schema {
            total += encoding.count(&schema.to_string());
        }
    }
    total
}

fn count_messages_with(encoding: Encoding, messages: &[ChatMessage]) -> usize {
    let per_message: usize = messages.iter().map(|m| count_message(encoding, m)).sum();
    per_message + REPLY_PRIMING
}

fn count_message(encoding: Encoding, message: &ChatMessage) -> usize {
    let mut total = TOKENS_PER_MESSAGE + encoding.count(message.role());
    if let Some(content) = message.content() {
        total += count_content(encoding, content);
    }
    let name = match message {
        ChatMessage::System(m) | ChatMessage::Developer(m) => m.name.as_deref(),
        ChatMessage::User(m) => m.name.as_deref(),
        ChatMessage::Assistant(m) => m.name.as_deref(),
        ChatMessage::Tool(_) => None,
    };
    if let Some(name) = name {
        total += TOKENS_PER_NAME + encoding.count(name);
    }
    if let ChatMessage::Assistant(m) = message {
        total += count_assistant_extras(encoding, m);
    }
    total
}

/// Refusal text and tool calls in an assistant message of the history. A tool call is
/// counted as its function name and argument text plus 3 framing tokens, an
/// approximation (OpenAI does not publish how calls are rendered). Reasoning text is
/// not counted: providers drop it from the history they are sent.
fn count_assistant_extras(encoding: Encoding, message: &AssistantMessage) -> usize {
    let refusal = message.refusal.as_deref().map_or(0, |r| encoding.count(r));
    let calls: usize = message
        .tool_calls
        .iter()
        .flatten()
        .map(|call| {
            TOKENS_PER_MESSAGE
                + encoding.count(&call.function.name)
                + encoding.count(&call.function.arguments)
        })
        .sum();
    refusal + calls
}

fn count_content(encoding: Encoding, content: &MessageContent) -> usize {
    match content {
        MessageContent::Text(text) => encoding.count(text),
        MessageContent::Parts(parts) => parts.iter().map(|p| count_part(encoding, p)).sum(),
    }
}

fn count_part(encoding: Encoding, part: &ContentPart) -> usize {
    match part {
        ContentPart::Text { text } => encoding.count(text),
        ContentPart::Refusal { refusal } => encoding.count(refusal),
        ContentPart::ImageUrl { image_url } => match image_url.detail.as_deref() {
            Some("low") => IMAGE_TOKENS_LOW,
            _ => IMAGE_TOKENS_DEFAULT,
        },
        ContentPart::InputAudio { .. } | ContentPart::File { .. } => 0,
    }
}

/// Who serves a model, as far as tokenization is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    /// OpenAI, Azure OpenAI, or OpenRouter's pass-through to OpenAI.
    OpenAi,
    /// A bare model name: its family decides.
    Unstated,
    /// Any other provider.
    Other,
}

/// Splits `provider/…/model` into who serves it and the model's own name (the last
/// path segment).
fn split_host(model: &str) -> (Host, &str) {
    let name = model.rsplit('/').next().unwrap_or(model);
    let mut segments = model.split('/');
    let host = match (segments.next(), segments.next(), segments.next()) {
        (Some(_), None, _) => Host::Unstated,
        (Some("openai" | "azure"), Some(_), None) => Host::OpenAi,
        (Some("openrouter"), Some("openai"), Some(_)) => Host::OpenAi,
        _ => Host::Other,
    };
    (host, name)
}

/// The encoding of an OpenAI model name, and whether OpenAI's count for it follows
/// that encoding exactly; `None` for names outside OpenAI's families.
fn openai_family(name: &str) -> Option<(Encoding, Exactness)> {
    let name = name.strip_prefix("ft:").unwrap_or(name);
    let exact = |encoding| Some((encoding, Exactness::Exact));
    if name.starts_with("gpt-oss") {
        // o200k_harmony: same ranks as o200k_base, different chat framing.
        return Some((Encoding::O200kBase, Exactness::Approximate));
    }
    if ["gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "codex-"]
        .iter()
        .any(|p| name.starts_with(p))
        || is_o_series(name)
        || gpt_major_version(name).is_some_and(|v| v >= 5)
    {
        return exact(Encoding::O200kBase);
    }
    if [
        "gpt-4",
        "gpt-3.5",
        "text-embedding-3-",
        "text-embedding-ada-002",
    ]
    .iter()
    .any(|p| name.starts_with(p))
    {
        return exact(Encoding::Cl100kBase);
    }
    None
}

/// `o1`, `o3-mini`, `o4-mini-2025-04-16`…: "o", digits, then the end or "-".
fn is_o_series(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('o') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && matches!(rest.as_bytes().get(digits), None | Some(b'-'))
}

/// The major version of a `gpt-N…` name (`gpt-5.4` → 5, `gpt-10` → 10).
fn gpt_major_version(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("gpt-")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
