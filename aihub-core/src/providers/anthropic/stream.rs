//! Anthropic's typed stream events → canonical chunks.

use std::collections::HashMap;

use eventsource_stream::Event;
use serde::Deserialize;
use serde_json::Value;

use super::response::{AnthropicUsage, finish_reason, stream_error};
use crate::error::{Error, Result};
use crate::providers::{new_id, unix_now};
use crate::types::{
    ChatCompletionChunk, ChunkDelta, FinishReason, FunctionCallDelta, ToolCallDelta,
};

/// One event of a Messages stream; types this parser does not know are skipped, as
/// Anthropic's versioning policy asks.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StreamEvent {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u64,
        content_block: BlockStart,
    },
    ContentBlockDelta {
        index: u64,
        delta: BlockDelta,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDelta,
        #[serde(default)]
        usage: Option<AnthropicUsage>,
    },
    MessageStop {},
    Error {},
    #[serde(other)]
    Ignored,
}

#[derive(Debug, Deserialize)]
struct StartMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<AnthropicUsage>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockStart {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
    },
    #[serde(other)]
    Other,
}

/// Block deltas; `signature_delta` and `citations_delta` have no canonical place.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Default, Deserialize)]
struct MessageDelta {
    #[serde(default)]
    stop_reason: Option<String>,
}

/// Parser state for one Anthropic stream.
///
/// Emits a first chunk with the role, then text, reasoning and tool-call deltas, a chunk
/// with the finish reason at `message_delta`, and at `message_stop` a last chunk with
/// empty `choices` and the usage (input side from `message_start`, cumulative counts
/// from `message_delta`).
#[derive(Debug, Clone)]
pub struct AnthropicStreamState {
    model: String,
    id: String,
    created: i64,
    started: bool,
    done: bool,
    usage: AnthropicUsage,
    /// Content block index → tool-call ordinal.
    tool_calls: HashMap<u64, u32>,
}

impl AnthropicStreamState {
    /// A parser for a stream answering for `model` (used when `message_start` names none).
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            id: String::new(),
            created: 0,
            started: false,
            done: false,
            usage: AnthropicUsage::default(),
            tool_calls: HashMap::new(),
        }
    }

    /// True once `message_stop` has arrived.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds one event. `error` events come back as `Err`, mapped as error responses are
    /// (`overloaded_error` is a retryable upstream error).
    pub fn on_event(&mut self, event: &Event) -> Result<Vec<ChatCompletionChunk>> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let mut value: Value = serde_json::from_str(data).map_err(|e| {
            Error::invalid_response(format!("Anthropic stream event is not JSON: {e}"))
        })?;
        if let Some(obj) = value.as_object_mut()
            && !obj.contains_key("type")
            && !event.event.is_empty()
        {
            obj.insert("type".into(), event.event.clone().into());
        }
        let parsed = StreamEvent::deserialize(&value).map_err(|e| {
            Error::invalid_response(format!("Anthropic stream event {:?}: {e}", event.event))
        })?;
        let mut out = Vec::new();
        match parsed {
            StreamEvent::MessageStart { message } => {
                if !self.started {
                    self.id = message.id.unwrap_or_else(|| new_id("msg_"));
                    if let Some(model) = message.model {
                        self.model = model;
                    }
                }
                if let Some(usage) = &message.usage {
                    self.usage.update(usage);
                }
                self.begin(&mut out);
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                self.begin(&mut out);
                match content_block {
                    BlockStart::Text { text } => self.push_text(&mut out, text),
                    BlockStart::Thinking { thinking } => self.push_reasoning(&mut out, thinking),
                    BlockStart::ToolUse { id, name, input } => {
                        let ordinal = u32::try_from(self.tool_calls.len()).unwrap_or(u32::MAX);
                        self.tool_calls.insert(index, ordinal);
                        // Input arrives as input_json_delta pieces; a start block that
                        // already holds a non-empty input carries it whole.
                        let arguments = match input {
                            Value::Object(map) if !map.is_empty() => Value::Object(map).to_string(),
                            _ => String::new(),
                        };
                        let call = ToolCallDelta {
                            index: ordinal,
                            id: Some(id),
                            kind: Some("function".to_owned()),
                            function: Some(FunctionCallDelta {
                                name: Some(name),
                                arguments: Some(arguments),
                            }),
                        };
                        out.push(self.tool_chunk(call));
                    }
                    BlockStart::Other => {}
                }
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                self.begin(&mut out);
                match delta {
                    BlockDelta::TextDelta { text } => self.push_text(&mut out, text),
                    BlockDelta::ThinkingDelta { thinking } => {
                        self.push_reasoning(&mut out, thinking);
                    }
                    BlockDelta::InputJsonDelta { partial_json } => {
                        let ordinal = self.tool_calls.get(&index).copied().ok_or_else(|| {
                            Error::invalid_response(format!(
                                "Anthropic stream: input_json_delta for block {index}, which is not a tool_use block"
                            ))
                        })?;
                        if !partial_json.is_empty() {
                            let call = ToolCallDelta {
                                index: ordinal,
                                function: Some(FunctionCallDelta {
                                    name: None,
                                    arguments: Some(partial_json),
                                }),
                                ..ToolCallDelta::default()
                            };
                            out.push(self.tool_chunk(call));
                        }
                    }
                    BlockDelta::Other => {}
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                self.begin(&mut out);
                if let Some(usage) = &usage {
                    self.usage.update(usage);
                }
                if let Some(reason) = delta.stop_reason.as_deref() {
                    out.push(self.finish_chunk(finish_reason(reason)));
                }
            }
            StreamEvent::MessageStop {} => {
                self.begin(&mut out);
                self.done = true;
                if !self.usage.is_empty() {
                    let mut chunk = self.chunk();
                    chunk.usage = Some(self.usage.to_usage());
                    out.push(chunk);
                }
            }
            StreamEvent::Error {} => return Err(stream_error(&value)),
            StreamEvent::Ignored => {}
        }
        Ok(out)
    }

    /// Before the first chunk: fixes id and time and emits the role chunk.
    fn begin(&mut self, out: &mut Vec<ChatCompletionChunk>) {
        if self.started {
            return;
        }
        self.started = true;
        if self.id.is_empty() {
            self.id = new_id("msg_");
        }
        self.created = unix_now();
        out.push(
            self.chunk()
                .with_delta(0, ChunkDelta::role("assistant"), None),
        );
    }

    fn chunk(&self) -> ChatCompletionChunk {
        ChatCompletionChunk::new(self.id.clone(), self.created, self.model.clone())
    }

    fn push_text(&self, out: &mut Vec<ChatCompletionChunk>, text: String) {
        if !text.is_empty() {
            out.push(self.chunk().with_delta(0, ChunkDelta::text(text), None));
        }
    }

    fn push_reasoning(&self, out: &mut Vec<ChatCompletionChunk>, thinking: String) {
        if !thinking.is_empty() {
            let delta = ChunkDelta {
                reasoning_content: Some(thinking),
                ..ChunkDelta::default()
            };
            out.push(self.chunk().with_delta(0, delta, None));
        }
    }

    fn tool_chunk(&self, call: ToolCallDelta) -> ChatCompletionChunk {
        let delta = ChunkDelta {
            tool_calls: Some(vec![call]),
            ..ChunkDelta::default()
        };
        self.chunk().with_delta(0, delta, None)
    }

    fn finish_chunk(&self, reason: FinishReason) -> ChatCompletionChunk {
        self.chunk()
            .with_delta(0, ChunkDelta::default(), Some(reason))
    }
}
