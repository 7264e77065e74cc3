//! OpenAI-compatible SSE chunks → canonical chunks.

use eventsource_stream::Event;
use serde_json::Value;

use super::normalize_usage;
use crate::error::{Error, Result};
use crate::types::ChatCompletionChunk;

/// Parser state for one OpenAI-compatible stream.
///
/// The stream's terminal event is `data: [DONE]`. Some servers close the connection
/// without it once the answer is over; a stream that stops after every choice seen has
/// its `finish_reason` is therefore complete too ([`is_complete`](Self::is_complete)),
/// while one that stops before is truncated.
#[derive(Debug, Clone)]
pub struct OpenAiStreamState {
    model: String,
    done: bool,
    /// Choice indices seen, with whether each has its finish reason.
    choices: Vec<(u32, bool)>,
}

impl OpenAiStreamState {
    /// A parser for a stream answering for `model`.
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            done: false,
            choices: Vec::new(),
        }
    }

    /// True once `data: [DONE]` has arrived.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// True when the stream may end here: `[DONE]` arrived, or every choice seen so far
    /// has its finish reason (usage, when the provider sends it, comes with or after it).
    pub fn is_complete(&self) -> bool {
        self.done || (!self.choices.is_empty() && self.choices.iter().all(|(_, f)| *f))
    }

    fn note_choices(&mut self, chunk: &ChatCompletionChunk) {
        for c in &chunk.choices {
            let finished = c.finish_reason.is_some();
            match self.choices.iter_mut().find(|(i, _)| *i == c.index) {
                Some((_, f)) => *f |= finished,
                None => self.choices.push((c.index, finished)),
            }
        }
    }

    /// Feeds one event. Usage is always delivered in a chunk of its own with empty
    /// `choices`, whichever way the provider sent it (a final chunk as OpenAI does, the
    /// chunk with the finish reason as Mistral and Zhipu do, `choices[].usage` as
    /// Moonshot does, or `x_groq.usage`).
    pub fn on_event(&mut self, event: &Event) -> Result<Vec<ChatCompletionChunk>> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(Vec::new());
        }
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let mut value: Value = serde_json::from_str(data)
            .map_err(|e| Error::invalid_response(format!("stream chunk is not JSON: {e}")))?;
        if event.event == "error" || value.get("error").is_some() {
            return Err(super::super::openai_style_error(
                500,
                &http::HeaderMap::new(),
                data.as_bytes(),
            ));
        }
        let usage = take_usage(&mut value);
        if let Some(obj) = value.as_object_mut()
            && !obj.contains_key("model")
        {
            obj.insert("model".into(), self.model.clone().into());
        }
        let mut chunk: ChatCompletionChunk = serde_json::from_value(value)
            .map_err(|e| Error::invalid_response(format!("stream chunk: {e}")))?;
        self.note_choices(&chunk);
        let mut out = Vec::with_capacity(2);
        if !chunk.choices.is_empty() {
            let mut usage_chunk = None;
            if let Some(u) = usage {
                let mut c =
                    ChatCompletionChunk::new(chunk.id.clone(), chunk.created, chunk.model.clone());
                c.usage = Some(u);
                c.system_fingerprint = chunk.system_fingerprint.clone();
                usage_chunk = Some(c);
            }
            chunk.usage = None;
            out.push(chunk);
            out.extend(usage_chunk);
        } else if let Some(u) = usage {
            chunk.usage = Some(u);
            out.push(chunk);
        }
        // A chunk with neither choices nor usage (Azure's prompt_filter_results) adds nothing.
        Ok(out)
    }
}

fn take_usage(value: &mut Value) -> Option<Usage> {
    let top = value.get("usage").and_then(normalize_usage);
    let groq = value.pointer("/x_groq/usage").and_then(normalize_usage);
    let mut in_choice = None;
    if let Some(Value::Array(choices)) = value.get_mut("choices") {
        for c in choices.iter_mut() {
            if let Some(u) = c.as_object_mut().and_then(|o| o.remove("usage")) {
                in_choice = in_choice.or_else(|| normalize_usage(&u));
            }
        }
    }
    if let Some(obj) = value.as_object_mut() {
        obj.remove("usage");
        if let Some(Value::Object(x)) = obj.get_mut("x_groq") {
            x.remove("usage");
        }
    }
    top.or(groq).or(in_choice)
}

use crate::types::Usage;
