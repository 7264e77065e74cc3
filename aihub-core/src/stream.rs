//! Streaming: SSE bytes → canonical chunks, and an accumulator that rebuilds the final
//! completion from chunks.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;

use bytes::Bytes;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{FutureExt, Stream, StreamExt};

use crate::error::{Error, ErrorDetail, Result};
use crate::types::{
    ChatCompletion, ChatCompletionChunk, Choice, FinishReason, ResponseMessage, ToolCall, Usage,
};

/// A stream of canonical chunks (`Send` on native targets; wasm32 futures are not).
#[cfg(not(target_family = "wasm"))]
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatCompletionChunk>> + Send>>;
/// A stream of canonical chunks (`Send` on native targets; wasm32 futures are not).
#[cfg(target_family = "wasm")]
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatCompletionChunk>>>>;

/// `Send` on native targets, nothing on wasm32.
#[cfg(not(target_family = "wasm"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_family = "wasm"))]
impl<T: Send + ?Sized> MaybeSend for T {}
/// `Send` on native targets, nothing on wasm32.
#[cfg(target_family = "wasm")]
pub trait MaybeSend {}
#[cfg(target_family = "wasm")]
impl<T: ?Sized> MaybeSend for T {}

/// A wire family's parser for one streamed response: SSE events in, canonical chunks out.
/// Each provider family implements it (`providers::StreamState` dispatches to them).
pub trait EventParser {
    /// Feeds one SSE event; returns the canonical chunks it yields (possibly none). Error
    /// events in the stream come back as `Err`.
    fn on_event(&mut self, event: &Event) -> Result<Vec<ChatCompletionChunk>>;
    /// True once the stream's terminal event has been seen.
    fn is_done(&self) -> bool;
    /// True when a stream whose connection closes here is a complete answer.
    fn is_complete(&self) -> bool;
}

/// Default longest single SSE event: 16 MiB, room for an 8 MiB completion sent as one
/// event with JSON escaping.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 << 20;

/// Decodes an SSE byte stream with the family's parser `state`, allowing events of up to
/// [`DEFAULT_MAX_EVENT_BYTES`].
///
/// Error events become `Err` items; a stream that ends before it is complete (see
/// [`EventParser::is_complete`]: `[DONE]` or every choice finished, `message_stop`, a final
/// `finishReason`) ends with an `Err` too, never a silent truncation. After the first
/// `Err` the stream ends.
pub fn decode_chat_stream<S, B, E, P>(bytes: S, state: P) -> ChatStream
where
    S: Stream<Item = std::result::Result<B, E>> + MaybeSend + Unpin + 'static,
    B: AsRef<[u8]>,
    E: Into<Error>,
    P: EventParser + MaybeSend + 'static,
{
    decode_chat_stream_limited(bytes, state, DEFAULT_MAX_EVENT_BYTES)
}

/// [`decode_chat_stream`] with a limit on the size of one event: an event over
/// `max_event_bytes` ends the stream with [`Error::InvalidResponse`] (code
/// `event_too_large`) before more than that is buffered.
pub fn decode_chat_stream_limited<S, B, E, P>(
    bytes: S,
    state: P,
    max_event_bytes: usize,
) -> ChatStream
where
    S: Stream<Item = std::result::Result<B, E>> + MaybeSend + Unpin + 'static,
    B: AsRef<[u8]>,
    E: Into<Error>,
    P: EventParser + MaybeSend + 'static,
{
    let mut size = size::EventSize::new(max_event_bytes);
    let checked = bytes.map(move |item| {
        let b = item.map_err(Into::into)?;
        size.feed(b.as_ref())?;
        Ok::<B, Error>(b)
    });
    let events = checked.eventsource();
    let init = (events, state, VecDeque::<ChatCompletionChunk>::new(), false);
    let stream = futures_util::stream::unfold(
        init,
        |(mut events, mut state, mut pending, mut finished)| async move {
            loop {
                if let Some(chunk) = pending.pop_front() {
                    return Some((Ok(chunk), (events, state, pending, finished)));
                }
                if finished || state.is_done() {
                    return None;
                }
                let item = match events.next().await {
                    Some(Ok(event)) => match state.on_event(&event) {
                        Ok(chunks) => {
                            pending.extend(chunks);
                            continue;
                        }
                        Err(e) => Err(e),
                    },
                    Some(Err(EventStreamError::Transport(e))) => Err(e),
                    Some(Err(EventStreamError::Utf8(e))) => {
                        Err(Error::invalid_response(format!("stream is not UTF-8: {e}")))
                    }
                    Some(Err(EventStreamError::Parser(e))) => {
                        Err(Error::invalid_response(format!("malformed SSE: {e}")))
                    }
                    // Closed after the answer was complete, without its end marker.
                    None if state.is_complete() => return None,
                    None => Err(Error::stream_truncated(None)),
                };
                finished = true;
                return Some((item, (events, state, pending, finished)));
            }
        },
    );
    Box::pin(stream)
}

/// Decodes a complete SSE body held in memory (fixtures, recorded responses).
pub fn decode_sse_text<P: EventParser + MaybeSend + 'static>(
    text: &str,
    state: P,
) -> Result<Vec<ChatCompletionChunk>> {
    let bytes = Bytes::copy_from_slice(text.as_bytes());
    let source = futures_util::stream::iter([Ok::<_, Error>(bytes)]);
    let stream = decode_chat_stream(source, state);
    stream
        .collect::<Vec<_>>()
        .now_or_never()
        .ok_or_else(|| Error::invalid_response("in-memory stream did not complete"))?
        .into_iter()
        .collect()
}

/// What one [`next_batch`] read: the chunks, then possibly the error that ended the stream.
#[derive(Debug, Default)]
pub struct ChunkBatch {
    /// Chunks in the order they arrived.
    pub chunks: Vec<ChatCompletionChunk>,
    /// The error that ended the stream after `chunks`, if it failed.
    pub error: Option<Error>,
    /// True when the stream is over (ended, failed or already closed).
    pub ended: bool,
}

impl ChunkBatch {
    /// The batch as the JS SDKs' native halves hand it over:
    /// `{"chunks": [...], "error": to_sdk_json() | null, "done": bool}`.
    pub fn to_sdk_json(&self) -> serde_json::Value {
        serde_json::json!({
            "chunks": self.chunks,
            "error": self.error.as_ref().map(Error::to_sdk_json),
            "done": self.ended,
        })
    }
}

/// Waits for the next chunk of `slot`'s stream, then takes the chunks already received (up
/// to `max`) without waiting again; clears `slot` when the stream ends or fails.
///
/// The SDK bindings read streams this way so that a fast stream crosses from Rust into
/// Python or JavaScript once per burst rather than once per chunk.
pub async fn next_batch(slot: &mut Option<ChatStream>, max: usize) -> ChunkBatch {
    let mut batch = ChunkBatch::default();
    let Some(stream) = slot.as_mut() else {
        batch.ended = true;
        return batch;
    };
    let mut next = stream.next().await;
    loop {
        match next {
            Some(Ok(chunk)) => batch.chunks.push(chunk),
            Some(Err(e)) => {
                batch.error = Some(e);
                break;
            }
            None => {
                batch.ended = true;
                break;
            }
        }
        if batch.chunks.len() >= max.max(1) {
            break;
        }
        match stream.next().now_or_never() {
            Some(item) => next = item,
            None => break,
        }
    }
    if batch.error.is_some() {
        batch.ended = true;
    }
    if batch.ended {
        *slot = None;
    }
    batch
}

/// Rebuilds a [`ChatCompletion`] from stream chunks: text, refusals, reasoning, tool
/// calls whose arguments arrive in pieces, finish reasons and usage.
#[derive(Debug, Default, Clone)]
pub struct ChatAccumulator {
    id: String,
    created: i64,
    model: String,
    system_fingerprint: Option<String>,
    choices: BTreeMap<u32, ChoiceState>,
    usage: Option<Usage>,
    chunks: usize,
}

#[derive(Debug, Default, Clone)]
struct ChoiceState {
    content: Option<String>,
    refusal: Option<String>,
    reasoning: Option<String>,
    tool_calls: BTreeMap<u32, ToolCall>,
    finish_reason: Option<FinishReason>,
}

fn append(slot: &mut Option<String>, piece: &Option<String>) {
    if let Some(p) = piece {
        slot.get_or_insert_with(String::new).push_str(p);
    }
}

impl ChatAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one chunk.
    pub fn push(&mut self, chunk: &ChatCompletionChunk) {
        self.chunks += 1;
        if self.id.is_empty() {
            self.id.clone_from(&chunk.id);
            self.created = chunk.created;
            self.model.clone_from(&chunk.model);
        }
        if chunk.system_fingerprint.is_some() {
            self.system_fingerprint
                .clone_from(&chunk.system_fingerprint);
        }
        if let Some(u) = &chunk.usage {
            self.usage = Some(u.clone());
        }
        for c in &chunk.choices {
            let state = self.choices.entry(c.index).or_default();
            append(&mut state.content, &c.delta.content);
            append(&mut state.refusal, &c.delta.refusal);
            append(&mut state.reasoning, &c.delta.reasoning_content);
            for tc in c.delta.tool_calls.iter().flatten() {
                let call = state
                    .tool_calls
                    .entry(tc.index)
                    .or_insert_with(|| ToolCall::function("", "", ""));
                if let Some(id) = &tc.id {
                    call.id.clone_from(id);
                }
                if let Some(kind) = &tc.kind {
                    call.kind.clone_from(kind);
                }
                if let Some(f) = &tc.function {
                    if let Some(name) = &f.name {
                        call.function.name.push_str(name);
                    }
                    if let Some(args) = &f.arguments {
                        call.function.arguments.push_str(args);
                    }
                }
            }
            if c.finish_reason.is_some() {
                state.finish_reason.clone_from(&c.finish_reason);
            }
        }
    }

    /// Usage seen so far (the last chunk that carried one).
    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    /// Number of chunks pushed.
    pub fn chunk_count(&self) -> usize {
        self.chunks
    }

    /// Every piece of output produced so far, in every choice: text, refusals, reasoning,
    /// and tool calls' names and arguments (what an estimate of output tokens counts).
    pub fn output_texts(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for c in self.choices.values() {
            out.extend(
                [&c.content, &c.refusal, &c.reasoning]
                    .into_iter()
                    .filter_map(|t| t.as_deref()),
            );
            for call in c.tool_calls.values() {
                out.push(call.function.name.as_str());
                out.push(call.function.arguments.as_str());
            }
        }
        out
    }

    /// Text generated so far in choice 0.
    pub fn content(&self) -> &str {
        self.choices
            .get(&0)
            .and_then(|c| c.content.as_deref())
            .unwrap_or("")
    }

    /// The completion the chunks add up to.
    pub fn finish(self) -> ChatCompletion {
        let choices = self
            .choices
            .into_iter()
            .map(|(index, s)| Choice {
                index,
                message: ResponseMessage {
                    role: "assistant".to_owned(),
                    content: s.content,
                    refusal: s.refusal,
                    tool_calls: (!s.tool_calls.is_empty())
                        .then(|| s.tool_calls.into_values().collect()),
                    reasoning_content: s.reasoning,
                    extra: Default::default(),
                },
                finish_reason: s.finish_reason,
                logprobs: None,
            })
            .collect();
        ChatCompletion {
            id: self.id,
            object: "chat.completion".to_owned(),
            created: self.created,
            model: self.model,
            choices,
            usage: self.usage,
            system_fingerprint: self.system_fingerprint,
            service_tier: None,
            extra: Default::default(),
        }
    }
}

impl From<EventStreamError<Error>> for Error {
    fn from(e: EventStreamError<Error>) -> Self {
        match e {
            EventStreamError::Transport(e) => e,
            other => Error::InvalidResponse(ErrorDetail::new(other.to_string())),
        }
    }
}

mod size;

#[cfg(test)]
mod tests;
