//! Helpers shared by the integration tests.

use mock_upstream::{MockConfig, MockServer};
use serde_json::Value;

pub async fn server() -> MockServer {
    mock_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

pub async fn server_with(config: MockConfig) -> MockServer {
    mock_upstream::spawn_with("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// One SSE event: its `event:` name (if any) and its `data:` text.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event: Option<String>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("bad JSON {:?}: {e}", self.data))
    }
}

/// Parses an SSE body (LF or CRLF line endings) into events.
pub fn parse_sse(text: &str) -> Vec<Event> {
    let text = text.replace("\r\n", "\n");
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = Some(name.to_owned());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push(d);
                }
            }
            Event {
                event,
                data: data.join("\n"),
            }
        })
        .collect()
}

/// Reads a body to the end; returns the bytes received and whether it ended in an error.
pub async fn read_body(response: reqwest::Response) -> (String, bool) {
    use futures::StreamExt as _;
    let mut stream = response.bytes_stream();
    let mut out = Vec::new();
    let mut failed = false;
    while let Some(item) = stream.next().await {
        match item {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), failed)
}

/// Replaces values that differ per response (ids, timestamps) with fixed placeholders.
pub fn normalize(mut value: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (key, val) in map.iter_mut() {
                    match key.as_str() {
                        "id" | "responseId"
                            if val.is_string() && !val.as_str().unwrap().is_empty() =>
                        {
                            *val = Value::String("<id>".into());
                        }
                        "created" if val.as_u64().is_some_and(|n| n > 0) => *val = Value::from(0),
                        _ => walk(val),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

/// Prompt tokens by OpenAI's formula for (role, text) messages.
pub fn prompt_tokens(messages: &[(&str, &str)]) -> u32 {
    messages
        .iter()
        .map(|(role, text)| {
            mock_upstream::TOKENS_PER_MESSAGE
                + mock_upstream::count_tokens(role)
                + mock_upstream::count_tokens(text)
        })
        .sum::<u32>()
        + mock_upstream::REPLY_PRIMING_TOKENS
}
