use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use proptest::prelude::*;

use super::*;
use crate::providers::openai::OpenAiStreamState;

const WITH_USAGE: &str = include_str!("../../../tests/fixtures/openai/stream_include_usage.sse");
const TOOL_CALLS: &str = include_str!("../../../tests/fixtures/openai/stream_tool_calls.sse");

fn state() -> StreamState {
    StreamState::OpenAi(OpenAiStreamState::new("m"))
}

/// Decodes `text` delivered in pieces split at `cuts` (byte offsets).
fn decode_in_pieces(text: &str, cuts: &[usize]) -> Vec<Result<ChatCompletionChunk>> {
    let bytes = text.as_bytes();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.dedup();
    let pieces: Vec<std::result::Result<Bytes, Error>> = points
        .windows(2)
        .map(|w| Ok(Bytes::copy_from_slice(&bytes[w[0]..w[1]])))
        .collect();
    decode_chat_stream(futures_util::stream::iter(pieces), state())
        .collect::<Vec<_>>()
        .now_or_never()
        .unwrap()
}

proptest! {
    /// However the network splits the bytes (mid-line, mid-UTF-8 character), the
    /// decoded chunks are the same.
    #[test]
    fn splitting_never_changes_the_result(cuts in proptest::collection::vec(0usize..4000, 0..40)) {
        for text in [WITH_USAGE, TOOL_CALLS] {
            let whole = decode_sse_text(text, state()).unwrap();
            let pieces: Vec<_> = decode_in_pieces(text, &cuts).into_iter().collect::<Result<_>>().unwrap();
            prop_assert_eq!(whole, pieces);
        }
    }

    /// Cutting a stream anywhere before `[DONE]` is reported, never silently truncated.
    #[test]
    fn any_cut_before_done_is_an_error(at in 0usize..1000) {
        let end = WITH_USAGE.find("data: [DONE]").unwrap();
        let cut = at % end;
        let results = decode_in_pieces(&WITH_USAGE[..cut], &[]);
        let last = results.last().unwrap();
        prop_assert!(matches!(last, Err(e) if e.code() == Some("stream_truncated")), "{:?}", last);
    }
}

#[test]
fn transport_failure_ends_the_stream_with_its_error() {
    let pieces: Vec<std::result::Result<Bytes, Error>> = vec![
        Ok(Bytes::from_static(
            b"data: {\"id\":\"x\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n",
        )),
        Err(Error::Connection(ErrorDetail::new("connection reset by peer"))),
        Ok(Bytes::from_static(b"data: [DONE]\n\n")),
    ];
    let out: Vec<_> = decode_chat_stream(futures_util::stream::iter(pieces), state())
        .collect::<Vec<_>>()
        .now_or_never()
        .unwrap();
    assert_eq!(out.len(), 2, "nothing is read after the error");
    assert!(out[0].is_ok());
    assert_eq!(out[1].as_ref().unwrap_err().kind(), "connection");
}

#[test]
fn accumulator_rebuilds_several_choices() {
    let mut acc = ChatAccumulator::new();
    let base = ChatCompletionChunk::new("id1", 5, "m");
    acc.push(
        &base
            .clone()
            .with_delta(0, crate::types::ChunkDelta::role("assistant"), None),
    );
    acc.push(
        &base
            .clone()
            .with_delta(1, crate::types::ChunkDelta::text("B"), None),
    );
    acc.push(
        &base
            .clone()
            .with_delta(0, crate::types::ChunkDelta::text("A1"), None),
    );
    acc.push(&base.clone().with_delta(
        0,
        crate::types::ChunkDelta::text("A2"),
        Some(FinishReason::Stop),
    ));
    acc.push(
        &base
            .clone()
            .with_delta(1, Default::default(), Some(FinishReason::Length)),
    );
    let mut usage_chunk = base.clone();
    usage_chunk.usage = Some(Usage::new(3, 4));
    acc.push(&usage_chunk);
    assert_eq!(acc.chunk_count(), 6);
    assert_eq!(acc.usage(), Some(&Usage::new(3, 4)));
    let c = acc.finish();
    assert_eq!(c.choices.len(), 2);
    assert_eq!(c.choices[0].message.content.as_deref(), Some("A1A2"));
    assert_eq!(c.choices[1].message.content.as_deref(), Some("B"));
    assert_eq!(c.choices[1].finish_reason, Some(FinishReason::Length));
    assert_eq!(c.usage.unwrap().total_tokens, 7);
}

#[test]
fn output_texts_cover_every_choice_tool_call_and_reasoning() {
    use crate::types::{ChunkDelta, FunctionCallDelta, ToolCallDelta};
    let mut acc = ChatAccumulator::new();
    let base = ChatCompletionChunk::new("id1", 5, "m");
    acc.push(&base.clone().with_delta(0, ChunkDelta::text("Hello"), None));
    acc.push(&base.clone().with_delta(1, ChunkDelta::text("Other"), None));
    let reasoning = ChunkDelta {
        reasoning_content: Some("thinking".into()),
        ..ChunkDelta::default()
    };
    acc.push(&base.clone().with_delta(0, reasoning, None));
    for (name, args) in [(Some("get_weather"), "{\"city\""), (None, ":\"Paris\"}")] {
        let delta = ChunkDelta {
            tool_calls: Some(vec![ToolCallDelta {
                index: 0,
                id: name.map(|_| "call_1".to_owned()),
                kind: name.map(|_| "function".to_owned()),
                function: Some(FunctionCallDelta {
                    name: name.map(str::to_owned),
                    arguments: Some(args.to_owned()),
                }),
            }]),
            ..ChunkDelta::default()
        };
        acc.push(&base.clone().with_delta(1, delta, None));
    }
    let mut texts = acc.output_texts();
    texts.sort_unstable();
    assert_eq!(
        texts,
        vec![
            "Hello",
            "Other",
            "get_weather",
            "thinking",
            "{\"city\":\"Paris\"}"
        ]
    );
}
