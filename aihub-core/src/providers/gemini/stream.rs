//! Gemini `streamGenerateContent?alt=sse` events → canonical chunks.

use std::collections::BTreeMap;

use eventsource_stream::Event;
use serde_json::Value;

use super::response::{
    candidate_blocked, check_prompt_blocked, error_in_body, finish_reason, model_version,
    read_candidate, response_id, usage_from_metadata,
};
use crate::error::{Error, Result};
use crate::providers::unix_now;
use crate::types::{
    ChatCompletionChunk, ChunkChoice, ChunkDelta, FinishReason, FunctionCallDelta, ToolCallDelta,
    Usage,
};

/// Parser state for one Gemini stream.
///
/// Every event is a whole `GenerateContentResponse`. Gemini has no end-of-stream marker:
/// the stream is complete once every candidate seen has a `finishReason` (Gemini sends
/// the usage in that same event), and the last usage seen then follows as a chunk with
/// empty `choices`. A stream that stops before that is reported as truncated by the
/// driver.
#[derive(Debug, Clone)]
pub struct GeminiStreamState {
    model: String,
    id: Option<String>,
    created: i64,
    choices: BTreeMap<u32, ChoiceProgress>,
    usage: Option<Usage>,
    done: bool,
}

/// What has been emitted for one candidate so far.
#[derive(Debug, Clone, Default)]
struct ChoiceProgress {
    /// The role has been sent.
    started: bool,
    /// Text, reasoning or a call has been sent.
    produced: bool,
    /// Tool calls sent so far (the next call's index).
    calls: u32,
    /// A finish reason has been seen.
    finished: bool,
}

impl GeminiStreamState {
    /// A parser for a stream answering for `model`.
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            id: None,
            created: unix_now(),
            choices: BTreeMap::new(),
            usage: None,
            done: false,
        }
    }

    /// True once every candidate has finished and that event has been processed.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds one event. Error objects (`{"error": …}` or `[{"error": …}]`), a blocked
    /// prompt and a candidate a filter stopped before it wrote anything are `Err`.
    pub fn on_event(&mut self, event: &Event) -> Result<Vec<ChatCompletionChunk>> {
        let data = event.data.trim();
        if self.done || data.is_empty() {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|e| Error::invalid_response(format!("stream event is not JSON: {e}")))?;
        if let Some(err) = error_in_body(&value) {
            return Err(err);
        }
        let mut out = Vec::new();
        match &value {
            Value::Array(items) => {
                for item in items {
                    self.on_response(item, &mut out)?;
                }
            }
            single => self.on_response(single, &mut out)?,
        }
        Ok(out)
    }

    fn on_response(&mut self, value: &Value, out: &mut Vec<ChatCompletionChunk>) -> Result<()> {
        if self.done {
            return Ok(());
        }
        check_prompt_blocked(value)?;
        if self.id.is_none() {
            self.id = Some(response_id(value));
            if let Some(version) = model_version(value) {
                self.model = version.to_owned();
            }
        }
        if let Some(usage) = value.get("usageMetadata").and_then(usage_from_metadata) {
            self.usage = Some(usage);
        }
        let mut chunk = self.chunk();
        for (pos, cand) in super::response::candidates(value).iter().enumerate() {
            let piece = read_candidate(cand, pos);
            let progress = self.choices.entry(piece.index).or_default();
            let mut delta = ChunkDelta {
                content: piece.text.clone().filter(|t| !t.is_empty()),
                reasoning_content: piece.reasoning.clone().filter(|t| !t.is_empty()),
                ..ChunkDelta::default()
            };
            if !piece.calls.is_empty() {
                let calls = piece
                    .calls
                    .iter()
                    .map(|call| {
                        let index = progress.calls;
                        progress.calls += 1;
                        ToolCallDelta {
                            index,
                            id: Some(call.id.clone()),
                            kind: Some("function".to_owned()),
                            function: Some(FunctionCallDelta {
                                name: Some(call.function.name.clone()),
                                arguments: Some(call.function.arguments.clone()),
                            }),
                        }
                    })
                    .collect();
                delta.tool_calls = Some(calls);
            }
            let has_output = delta.content.is_some()
                || delta.reasoning_content.is_some()
                || delta.tool_calls.is_some();
            progress.produced |= has_output;
            let finish = piece
                .finish
                .as_deref()
                .map(|raw| finish_reason(raw, progress.calls > 0));
            if finish == Some(FinishReason::ContentFilter) && !progress.produced {
                return Err(candidate_blocked(&piece));
            }
            if finish.is_some() {
                progress.finished = true;
            }
            if !has_output && finish.is_none() && piece.logprobs.is_none() {
                continue;
            }
            if !progress.started {
                progress.started = true;
                delta.role = Some("assistant".to_owned());
            }
            chunk.choices.push(ChunkChoice {
                index: piece.index,
                delta,
                finish_reason: finish,
                logprobs: piece.logprobs,
            });
        }
        if !chunk.choices.is_empty() {
            out.push(chunk);
        }
        if !self.choices.is_empty() && self.choices.values().all(|c| c.finished) {
            self.done = true;
            if let Some(usage) = self.usage.take() {
                let mut last = self.chunk();
                last.usage = Some(usage);
                out.push(last);
            }
        }
        Ok(())
    }

    fn chunk(&self) -> ChatCompletionChunk {
        ChatCompletionChunk::new(
            self.id.clone().unwrap_or_default(),
            self.created,
            self.model.clone(),
        )
    }
}
