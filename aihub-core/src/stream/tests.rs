use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use proptest::prelude::*;

use super::*;
use crate::providers::StreamState;
use crate::providers::openai::OpenAiStreamState;

const WITH_USAGE: &str = include_str!("../../../tests/fixtures/openai/stream_include_usage.sse");
const WITHOUT_DONE: &str =
    include_str!("../../../tests/fixtures/openai/stream_closed_without_done.sse");
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

    /// Cutting a stream anywhere before its finish reason has fully arrived is reported,
    /// never silently truncated.
    #[test]
    fn any_cut_before_the_finish_reason_is_an_error(at in 0usize..1000) {
        let finish = WITH_USAGE.find("\"finish_reason\":\"stop\"").unwrap();
        let end = finish + WITH_USAGE[finish..].find("\n\n").unwrap() + 1;
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
fn a_stream_closed_after_finish_and_usage_without_done_is_complete() {
    let chunks = decode_sse_text(WITHOUT_DONE, state()).unwrap();
    let mut acc = ChatAccumulator::new();
    chunks.iter().for_each(|c| acc.push(c));
    assert_eq!(acc.usage().map(|u| u.total_tokens), Some(11));
    let c = acc.finish();
    assert_eq!(c.choices[0].message.content.as_deref(), Some("Hello there"));
    assert_eq!(c.choices[0].finish_reason, Some(FinishReason::Stop));
    // The same stream delivered in pieces ends the same way.
    let pieces = decode_in_pieces(WITHOUT_DONE, &[7, 300, 301, 900]);
    assert!(pieces.iter().all(Result::is_ok), "{pieces:?}");
    assert_eq!(pieces.len(), chunks.len());
}

#[test]
fn a_choice_without_its_finish_reason_keeps_the_stream_truncated() {
    // Choice 0 finished, choice 1 did not: the connection closing is still a truncation.
    let text = concat!(
        "data: {\"id\":\"x\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}},{\"index\":1,\"delta\":{\"content\":\"b\"}}]}\n\n",
        "data: {\"id\":\"x\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    );
    let err = decode_sse_text(text, state()).unwrap_err();
    assert_eq!(err.code(), Some("stream_truncated"));
}

#[test]
fn an_event_over_the_limit_ends_the_stream_with_an_error() {
    let limit = 64;
    let small = "data: {\"id\":\"x\",\"created\":1,\"model\":\"m\",\"choices\":[]}\n\n";
    assert!(small.len() - 2 <= limit);
    let big = format!(
        "data: {{\"id\":\"x\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n",
        "y".repeat(limit)
    );
    // The big event arrives in many small reads, as from a network.
    let mut pieces: Vec<std::result::Result<Bytes, Error>> =
        vec![Ok(Bytes::copy_from_slice(small.as_bytes()))];
    pieces.extend(
        big.as_bytes()
            .chunks(5)
            .map(|c| Ok(Bytes::copy_from_slice(c))),
    );
    let out: Vec<_> =
        decode_chat_stream_limited(futures_util::stream::iter(pieces), state(), limit)
            .collect::<Vec<_>>()
            .now_or_never()
            .unwrap();
    let err = out.last().unwrap().as_ref().unwrap_err();
    assert_eq!(err.kind(), "invalid_response");
    assert_eq!(err.code(), Some("event_too_large"));
    assert!(err.message().contains("64 bytes"), "{}", err.message());
    // An event just at the limit passes.
    let exact = format!("data: {}\n\n", "z".repeat(limit - 6));
    let source = futures_util::stream::iter([Ok::<_, Error>(Bytes::from(exact))]);
    let out: Vec<_> = decode_chat_stream_limited(source, state(), limit)
        .collect::<Vec<_>>()
        .now_or_never()
        .unwrap();
    assert!(
        out.iter().all(|r| r
            .as_ref()
            .map_or_else(|e| e.code() != Some("event_too_large"), |_| true)),
        "{out:?}"
    );
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
