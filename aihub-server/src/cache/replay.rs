//! A stored completion sent again as the chunks of a stream: per choice a role chunk, its
//! reasoning, text, refusal and tool calls (each call whole, in one delta that carries its
//! `id`, `type` and `function.name`), then a chunk with its finish reason. The usage chunk
//! and `[DONE]` are added by the stream's ingress as for any stream.

use aihub_core::{
    ChatCompletion, ChatCompletionChunk, ChunkDelta, FunctionCallDelta, ToolCallDelta,
};

/// The chunks `completion` is streamed as (without the usage chunk).
pub fn chunks(completion: &ChatCompletion) -> Vec<ChatCompletionChunk> {
    let empty = || {
        let mut c = ChatCompletionChunk::new(&completion.id, completion.created, &completion.model);
        c.system_fingerprint
            .clone_from(&completion.system_fingerprint);
        c
    };
    let mut out = Vec::with_capacity(completion.choices.len() * 3);
    for choice in &completion.choices {
        let m = &choice.message;
        let index = choice.index;
        let mut first = ChunkDelta::role("assistant");
        first.content = Some(String::new());
        out.push(empty().with_delta(index, first, None));
        let pieces = [
            m.reasoning_content.as_ref().map(|t| ChunkDelta {
                reasoning_content: Some(t.clone()),
                ..ChunkDelta::default()
            }),
            m.content
                .as_ref()
                .filter(|t| !t.is_empty())
                .map(|t| ChunkDelta::text(t.clone())),
            m.refusal.as_ref().map(|t| ChunkDelta {
                refusal: Some(t.clone()),
                ..ChunkDelta::default()
            }),
            m.tool_calls
                .as_ref()
                .filter(|c| !c.is_empty())
                .map(|calls| ChunkDelta {
                    tool_calls: Some(
                        calls
                            .iter()
                            .zip(0u32..)
                            .map(|(call, i)| ToolCallDelta {
                                index: i,
                                id: Some(call.id.clone()),
                                kind: Some(call.kind.clone()),
                                function: Some(FunctionCallDelta {
                                    name: Some(call.function.name.clone()),
                                    arguments: Some(call.function.arguments.clone()),
                                }),
                            })
                            .collect(),
                    ),
                    ..ChunkDelta::default()
                }),
        ];
        for delta in pieces.into_iter().flatten() {
            out.push(empty().with_delta(index, delta, None));
        }
        out.push(empty().with_delta(index, ChunkDelta::default(), choice.finish_reason.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use aihub_core::stream::ChatAccumulator;

    use super::*;

    #[test]
    fn the_chunks_add_up_to_the_completion() {
        let completion: ChatCompletion = serde_json::from_value(serde_json::json!({
            "id": "c1", "object": "chat.completion", "created": 5, "model": "m",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "hello there"},
                 "finish_reason": "stop"},
                {"index": 1, "message": {"role": "assistant", "content": null,
                  "tool_calls": [{"id": "call_1", "type": "function",
                                  "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
                 "finish_reason": "tool_calls"}
            ]
        }))
        .unwrap();
        let chunks = chunks(&completion);
        assert_eq!(
            chunks[0].choices[0].delta.role.as_deref(),
            Some("assistant")
        );
        let mut acc = ChatAccumulator::new();
        for c in &chunks {
            acc.push(c);
        }
        let rebuilt = acc.finish();
        assert_eq!(
            rebuilt.choices[0].message.content.as_deref(),
            Some("hello there")
        );
        assert_eq!(
            rebuilt.choices[1].message.tool_calls,
            completion.choices[1].message.tool_calls
        );
        assert_eq!(
            rebuilt.choices[1].finish_reason,
            completion.choices[1].finish_reason
        );
        assert_eq!(rebuilt.id, "c1");
    }
}
