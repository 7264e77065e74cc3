//! The output limit Anthropic requires: which one is sent, and how an answer cut by it ends.

use serde_json::json;

use super::*;
use crate::providers::{Adapter, ProviderAdapter, ProviderKind};
use crate::stream::{ChatAccumulator, decode_sse_text};
use crate::types::{ChatMessage, FinishReason};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/anthropic/", $name))
    };
}

fn config() -> ProviderConfig {
    ProviderConfig::new(
        "anthropic",
        ProviderKind::Anthropic,
        "https://api.anthropic.com/v1",
    )
    .with_api_key("sk-ant-test-key")
}

fn hi() -> ChatCompletionRequest {
    ChatCompletionRequest::new("m", vec![ChatMessage::user("hi")])
}

fn sent_max_tokens(adapter: &Adapter, request: &ChatCompletionRequest) -> serde_json::Value {
    adapter
        .chat_request(request, "claude")
        .unwrap()
        .body
        .unwrap()["max_tokens"]
        .clone()
}

#[test]
fn the_configured_default_is_sent_when_the_request_sets_no_limit() {
    let mut c = config();
    c.default_max_tokens = Some(1500);
    let a = Adapter::new(c);
    assert!(a.requires_max_tokens());
    assert_eq!(a.default_max_tokens(), Some(1500));
    assert_eq!(sent_max_tokens(&a, &hi()), json!(1500));
    // The request's own limit always wins.
    let mut req = hi();
    req.max_tokens = Some(10);
    assert_eq!(sent_max_tokens(&a, &req), json!(10));

    // Without configuration, the family's documented default.
    let plain = Adapter::new(config());
    assert_eq!(plain.default_max_tokens(), Some(DEFAULT_MAX_TOKENS));
    assert_eq!(sent_max_tokens(&plain, &hi()), json!(DEFAULT_MAX_TOKENS));
}

#[test]
fn only_anthropic_requires_an_output_limit() {
    for kind in [
        ProviderKind::OpenAi,
        ProviderKind::Azure,
        ProviderKind::Gemini,
    ] {
        let mut c = ProviderConfig::new("p", kind, "https://example.com").with_api_key("k");
        c.default_max_tokens = Some(1500);
        let a = Adapter::new(c);
        assert!(!a.requires_max_tokens(), "{kind:?}");
        assert_eq!(a.default_max_tokens(), None, "{kind:?}");
    }
}

#[test]
fn an_answer_cut_by_max_tokens_ends_with_length() {
    let a = AnthropicAdapter::new(config());
    let completion = a
        .parse_chat_response(fixture!("response_max_tokens.json").as_bytes(), "claude")
        .unwrap();
    assert_eq!(
        completion.choices[0].finish_reason,
        Some(FinishReason::Length)
    );

    let chunks =
        decode_sse_text(fixture!("stream_max_tokens.sse"), a.stream_state("claude")).unwrap();
    let mut acc = ChatAccumulator::new();
    chunks.iter().for_each(|c| acc.push(c));
    let streamed = acc.finish();
    assert_eq!(
        streamed.choices[0].finish_reason,
        Some(FinishReason::Length)
    );
    assert_eq!(
        streamed.choices[0].message.content,
        completion.choices[0].message.content
    );
    let wire = serde_json::to_value(&streamed.choices[0]).unwrap();
    assert_eq!(wire["finish_reason"], "length");
}
