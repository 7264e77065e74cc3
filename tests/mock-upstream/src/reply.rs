//! What the simulated model answers: deterministic text or a tool call, split into stream chunks.

use serde_json::{Map, Value};

use crate::scenario::{DEFAULT_CHUNKS, Scenario};
use crate::tokens::{SplitMix, count, fnv1a};

/// Words that are each exactly one o200k_base token, alone and after a space (checked by a test).
pub const WORDS: &[&str] = &[
    "the", "quick", "brown", "fox", "jump", "over", "lazy", "dog", "and", "then", "runs", "back",
    "home", "to", "see", "a", "bright", "red", "sun", "in", "blue", "sky", "while", "birds",
    "sing", "soft", "songs", "near", "old", "green", "trees", "by", "river", "that", "past",
    "small", "stone", "where", "people", "live", "work", "play", "every", "day", "with", "great",
    "light", "wind", "open", "of", "gold", "summer", "long", "warm", "night", "water", "world",
    "time", "good", "new", "first", "last", "little", "high",
];

/// A tool the request declared.
#[derive(Debug, Clone, Copy)]
pub struct ToolDecl<'a> {
    /// The tool's name.
    pub name: &'a str,
    /// Its JSON Schema for arguments, if any.
    pub schema: Option<&'a Value>,
}

/// The request's tool-choice setting, in provider-neutral terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides (here: only when the user says "call <tool>").
    Auto,
    /// Tools must not be called.
    Never,
    /// Some tool must be called (the first one).
    Required,
    /// This tool must be called.
    Named(String),
}

/// What the reply is made from.
#[derive(Debug)]
pub struct ReplyInput<'a> {
    /// Text of the last user message.
    pub last_user: &'a str,
    /// Declared tools.
    pub tools: Vec<ToolDecl<'a>>,
    /// Tool-choice setting.
    pub tool_choice: ToolChoice,
    /// The request's output-token limit.
    pub max_tokens: Option<u64>,
    /// Structured output asked for (JSON mode or a JSON Schema).
    pub json: Option<JsonReply<'a>>,
}

/// A structured-output request: the reply text is then JSON.
#[derive(Debug, Clone, Copy)]
pub enum JsonReply<'a> {
    /// A sample instance of this JSON Schema.
    Schema(&'a Value),
    /// Any JSON object (`{"reply": "<generated words>"}`).
    AnyObject,
}

/// Why the reply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Natural end.
    Stop,
    /// Hit the request's output-token limit.
    Length,
    /// Ended with a tool call.
    ToolCall,
}

/// A planned tool call.
#[derive(Debug, Clone)]
pub struct ToolCall {
    /// Deterministic id suffix (providers add their prefix: `call_`, `toolu_`).
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as a JSON object.
    pub input: Value,
    /// Arguments as compact JSON text.
    pub arguments: String,
    /// `arguments` split into stream pieces.
    pub pieces: Vec<String>,
}

/// The reply body.
#[derive(Debug, Clone)]
pub enum ReplyBody {
    /// Text, split into stream chunks.
    Text(Vec<String>),
    /// A tool call.
    Tool(ToolCall),
}

/// A fully planned reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Text or tool call.
    pub body: ReplyBody,
    /// Visible completion tokens.
    pub completion_tokens: u32,
    /// Hidden reasoning tokens (scenario `reasoning_tokens`).
    pub reasoning_tokens: u32,
    /// Why it ended.
    pub finish: Finish,
    /// Completion tokens carried by each stream chunk (used for `tps` pacing).
    pub chunk_tokens: Vec<u32>,
}

impl Reply {
    /// The whole reply text (empty for a tool call).
    pub fn text(&self) -> String {
        match &self.body {
            ReplyBody::Text(chunks) => chunks.concat(),
            ReplyBody::Tool(_) => String::new(),
        }
    }

    /// The stream pieces: text chunks or tool-argument pieces.
    pub fn pieces(&self) -> &[String] {
        match &self.body {
            ReplyBody::Text(chunks) => chunks,
            ReplyBody::Tool(call) => &call.pieces,
        }
    }

    /// Plans the reply for a request and its scenario.
    pub fn plan(input: &ReplyInput<'_>, scenario: &Scenario) -> Self {
        let chunks = scenario.chunks.unwrap_or(DEFAULT_CHUNKS).max(1) as usize;
        let reasoning_tokens = scenario.reasoning_tokens.unwrap_or(0);
        if let Some(call) = pick_tool(input, scenario) {
            let tool = input.tools.iter().find(|t| t.name == call);
            let args = tool
                .and_then(|t| t.schema)
                .map_or_else(|| Value::Object(Map::new()), |schema| sample(schema, 0));
            let arguments = args.to_string();
            let tokens = count(&call).saturating_add(count(&arguments));
            let id = format!(
                "{:016x}",
                fnv1a(format!("{}\u{0}{call}", input.last_user).as_bytes())
            );
            let pieces = split_even(&arguments, chunks);
            return Self {
                chunk_tokens: pieces.iter().map(|p| count(p).max(1)).collect(),
                body: ReplyBody::Tool(ToolCall {
                    id,
                    pieces,
                    name: call,
                    input: args,
                    arguments,
                }),
                completion_tokens: tokens,
                reasoning_tokens,
                finish: Finish::ToolCall,
            };
        }
        if let Some(content) = &scenario.content {
            let pieces = split_words(content, chunks);
            return Self {
                chunk_tokens: pieces.iter().map(|p| count(p).max(1)).collect(),
                body: ReplyBody::Text(pieces),
                completion_tokens: count(content),
                reasoning_tokens,
                finish: Finish::Stop,
            };
        }
        if let Some(json) = input.json {
            let value = match json {
                JsonReply::Schema(schema) => sample(schema, 0),
                JsonReply::AnyObject => {
                    let words = scenario.tokens.unwrap_or(chunks as u32) as usize;
                    serde_json::json!({"reply": generate(input.last_user, words, 1).concat()})
                }
            };
            let text = value.to_string();
            let pieces = split_even(&text, chunks);
            return Self {
                chunk_tokens: pieces.iter().map(|p| count(p).max(1)).collect(),
                body: ReplyBody::Text(pieces),
                completion_tokens: count(&text),
                reasoning_tokens,
                finish: Finish::Stop,
            };
        }
        let wanted = u64::from(scenario.tokens.unwrap_or(chunks as u32));
        let limit = input.max_tokens.unwrap_or(u64::MAX);
        let (tokens, finish) = if wanted > limit {
            (limit, Finish::Length)
        } else {
            (wanted, Finish::Stop)
        };
        let tokens = usize::try_from(tokens).unwrap_or(usize::MAX);
        Self {
            chunk_tokens: sizes(tokens, chunks.min(tokens))
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
                .collect(),
            body: ReplyBody::Text(generate(input.last_user, tokens, chunks)),
            completion_tokens: u32::try_from(tokens).unwrap_or(u32::MAX),
            reasoning_tokens,
            finish,
        }
    }
}

/// The tool to call, if any: scenario `tool`, a named or required tool choice, or "call <name>".
fn pick_tool(input: &ReplyInput<'_>, scenario: &Scenario) -> Option<String> {
    if input.tools.is_empty() {
        return None;
    }
    if let Some(tool) = &scenario.tool {
        return Some(tool.clone());
    }
    match &input.tool_choice {
        ToolChoice::Never => None,
        ToolChoice::Named(name) => Some(name.clone()),
        ToolChoice::Required => input.tools.first().map(|t| t.name.to_owned()),
        ToolChoice::Auto => {
            let text = input.last_user.to_lowercase();
            input
                .tools
                .iter()
                .find(|t| text.contains(&format!("call {}", t.name.to_lowercase())))
                .map(|t| t.name.to_owned())
        }
    }
}

/// `tokens` words chosen from [`WORDS`] by a sequence seeded from the prompt, in `chunks` chunks.
fn generate(seed_text: &str, tokens: usize, chunks: usize) -> Vec<String> {
    let mut rng = SplitMix::new(fnv1a(seed_text.as_bytes()));
    let n_chunks = chunks.min(tokens);
    let mut out = Vec::with_capacity(n_chunks);
    let mut first = true;
    for size in sizes(tokens, n_chunks) {
        let mut chunk = String::with_capacity(size * 7);
        for _ in 0..size {
            let word = WORDS[(rng.next_u64() % WORDS.len() as u64) as usize];
            if !first {
                chunk.push(' ');
            }
            first = false;
            chunk.push_str(word);
        }
        out.push(chunk);
    }
    out
}

/// Splits `len` items into `parts` sizes that differ by at most one, larger first.
fn sizes(len: usize, parts: usize) -> impl Iterator<Item = usize> {
    let parts = parts.max(1);
    let (base, extra) = (len / parts, len % parts);
    (0..parts)
        .map(move |i| base + usize::from(i < extra))
        .filter(|n| *n > 0)
}

/// Splits text at word starts into at most `chunks` chunks (whitespace stays with the next word).
fn split_words(text: &str, chunks: usize) -> Vec<String> {
    let mut starts = vec![0];
    let mut prev_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() && !prev_space && i > 0 {
            starts.push(i);
        }
        prev_space = c.is_whitespace();
    }
    let words: Vec<&str> = starts
        .iter()
        .zip(starts.iter().skip(1).chain(std::iter::once(&text.len())))
        .map(|(a, b)| &text[*a..*b])
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    let mut at = 0;
    for size in sizes(words.len(), chunks.min(words.len())) {
        out.push(words[at..at + size].concat());
        at += size;
    }
    out
}

/// Splits text at char boundaries into at most `parts` pieces of similar length.
fn split_even(text: &str, parts: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    for size in sizes(chars.len(), parts.min(chars.len())) {
        out.push(chars[at..at + size].iter().collect());
        at += size;
    }
    out
}

/// A deterministic sample value for a JSON Schema.
fn sample(schema: &Value, depth: usize) -> Value {
    if depth > 4 {
        return Value::Null;
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match ty.to_ascii_lowercase().as_str() {
        "object" => {
            let mut obj = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    obj.insert(name.clone(), sample(prop, depth + 1));
                }
            }
            Value::Object(obj)
        }
        "array" => {
            let item = schema
                .get("items")
                .map_or(Value::Null, |i| sample(i, depth + 1));
            Value::Array(vec![item])
        }
        "integer" => Value::from(42),
        "number" => Value::from(1.5),
        "boolean" => Value::Bool(true),
        "null" => Value::Null,
        _ => Value::String("sample".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input<'a>(
        last_user: &'a str,
        tools: Vec<ToolDecl<'a>>,
        choice: ToolChoice,
    ) -> ReplyInput<'a> {
        ReplyInput {
            last_user,
            tools,
            tool_choice: choice,
            max_tokens: None,
            json: None,
        }
    }

    #[test]
    fn every_word_is_one_token_alone_and_after_a_space() {
        let bad: Vec<&str> = WORDS
            .iter()
            .copied()
            .filter(|w| count(w) != 1 || count(&format!(" {w}")) != 1)
            .collect();
        assert!(bad.is_empty(), "not single tokens: {bad:?}");
    }

    #[test]
    fn generated_text_is_deterministic_and_counted() {
        let s = Scenario {
            tokens: Some(20),
            chunks: Some(6),
            ..Scenario::default()
        };
        let a = Reply::plan(&input("hi there", vec![], ToolChoice::Auto), &s);
        let b = Reply::plan(&input("hi there", vec![], ToolChoice::Auto), &s);
        let ReplyBody::Text(chunks) = &a.body else {
            panic!("text expected")
        };
        assert_eq!(chunks.len(), 6);
        assert_eq!(a.text(), b.text());
        assert_eq!(count(&a.text()), 20);
        assert_eq!(a.completion_tokens, 20);
        assert_eq!(a.text().split(' ').count(), 20);
        let c = Reply::plan(&input("something else", vec![], ToolChoice::Auto), &s);
        assert_ne!(a.text(), c.text());
    }

    #[test]
    fn defaults_and_max_tokens() {
        let a = Reply::plan(&input("x", vec![], ToolChoice::Auto), &Scenario::default());
        assert_eq!(a.completion_tokens, 8);
        assert_eq!(a.finish, Finish::Stop);
        let mut i = input("x", vec![], ToolChoice::Auto);
        i.max_tokens = Some(3);
        let b = Reply::plan(&i, &Scenario::default());
        assert_eq!((b.completion_tokens, b.finish), (3, Finish::Length));
        let ReplyBody::Text(chunks) = &b.body else {
            panic!()
        };
        assert_eq!(chunks.len(), 3);
        let z = Reply::plan(
            &input("x", vec![], ToolChoice::Auto),
            &Scenario {
                tokens: Some(0),
                ..Scenario::default()
            },
        );
        assert_eq!(z.text(), "");
    }

    #[test]
    fn structured_output_is_json() {
        let schema = json!({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}});
        let mut i = input("x", vec![], ToolChoice::Auto);
        i.json = Some(JsonReply::Schema(&schema));
        let r = Reply::plan(&i, &Scenario::default());
        let v: Value = serde_json::from_str(&r.text()).unwrap();
        assert_eq!(v, json!({"name": "sample", "age": 42}));
        assert_eq!(r.completion_tokens, count(&r.text()));
        i.json = Some(JsonReply::AnyObject);
        let r = Reply::plan(&i, &Scenario::default());
        let v: Value = serde_json::from_str(&r.text()).unwrap();
        assert_eq!(v["reply"].as_str().unwrap().split(' ').count(), 8);
    }

    #[test]
    fn content_is_split_on_words() {
        let s = Scenario {
            content: Some("Hello, big world!".into()),
            chunks: Some(2),
            ..Scenario::default()
        };
        let r = Reply::plan(&input("x", vec![], ToolChoice::Auto), &s);
        let ReplyBody::Text(chunks) = &r.body else {
            panic!()
        };
        assert_eq!(chunks, &vec!["Hello, big".to_owned(), " world!".to_owned()]);
        assert_eq!(r.completion_tokens, count("Hello, big world!"));
    }

    #[test]
    fn tool_selection() {
        let schema = json!({"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]},"days":{"type":"integer"}}});
        let tools = vec![
            ToolDecl {
                name: "get_weather",
                schema: Some(&schema),
            },
            ToolDecl {
                name: "noop",
                schema: None,
            },
        ];
        let r = Reply::plan(
            &input(
                "please call get_weather now",
                tools.clone(),
                ToolChoice::Auto,
            ),
            &Scenario::default(),
        );
        let ReplyBody::Tool(call) = &r.body else {
            panic!("tool expected")
        };
        assert_eq!(call.name, "get_weather");
        assert_eq!(call.input, json!({"city":"sample","unit":"c","days":42}));
        assert_eq!(call.pieces.concat(), call.arguments);
        assert_eq!(r.finish, Finish::ToolCall);
        let r = Reply::plan(
            &input("hello", tools.clone(), ToolChoice::Auto),
            &Scenario::default(),
        );
        assert!(matches!(r.body, ReplyBody::Text(_)));
        let r = Reply::plan(
            &input("hello", tools.clone(), ToolChoice::Required),
            &Scenario::default(),
        );
        assert!(matches!(&r.body, ReplyBody::Tool(c) if c.name == "get_weather"));
        let r = Reply::plan(
            &input("hello", tools.clone(), ToolChoice::Named("noop".into())),
            &Scenario::default(),
        );
        assert!(matches!(&r.body, ReplyBody::Tool(c) if c.name == "noop" && c.arguments == "{}"));
        let r = Reply::plan(
            &input("call get_weather", tools.clone(), ToolChoice::Never),
            &Scenario::default(),
        );
        assert!(matches!(r.body, ReplyBody::Text(_)));
        let s = Scenario {
            tool: Some("noop".into()),
            ..Scenario::default()
        };
        let r = Reply::plan(&input("hello", tools, ToolChoice::Never), &s);
        assert!(matches!(&r.body, ReplyBody::Tool(c) if c.name == "noop"));
        let r = Reply::plan(&input("call x", vec![], ToolChoice::Required), &s);
        assert!(matches!(r.body, ReplyBody::Text(_)));
    }
}
