//! Micro-benchmarks of the hot paths every front end shares: SSE chunk decoding, request
//! translation and response parsing per provider family, cost arithmetic and token counting.
//!
//! `cargo bench -p aihub-core --bench core`. Inputs are the provider fixtures of
//! `tests/fixtures` and, for token counting, this repository's `docs/*.md` repeated to about
//! 1 MB (the same text `bench/tokens.sh` hands to the Python tiktoken package).

use std::hint::black_box;

use aihub_core::catalog::Catalog;
use aihub_core::providers::{Adapter, ProviderAdapter, ProviderConfig, ProviderKind};
use aihub_core::stream::decode_sse_text;
use aihub_core::tokens::count_text;
use aihub_core::types::{PromptTokensDetails, from_json_slice};
use aihub_core::{ChatCompletionRequest, Usage};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!("../../tests/fixtures/", $path))
    };
}

/// One adapter per wire family, as the client builds them, with an upstream model name.
fn adapters() -> [(&'static str, Adapter, &'static str); 3] {
    let adapter = |id: &str, kind, base: &str| {
        Adapter::new(ProviderConfig::new(id, kind, base).with_api_key("k"))
    };
    [
        (
            "openai",
            adapter("openai", ProviderKind::OpenAi, "https://api.openai.com/v1"),
            "gpt-4o-mini",
        ),
        (
            "anthropic",
            adapter(
                "anthropic",
                ProviderKind::Anthropic,
                "https://api.anthropic.com/v1",
            ),
            "claude-sonnet-4-5",
        ),
        (
            "gemini",
            adapter(
                "gemini",
                ProviderKind::Gemini,
                "https://generativelanguage.googleapis.com/v1beta",
            ),
            "gemini-2.5-flash",
        ),
    ]
}

/// An OpenAI stream of `n` content chunks, then usage and `[DONE]`.
fn openai_stream(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" word{i}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
        ));
    }
    s.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":50,\"total_tokens\":59}}\n\ndata: [DONE]\n\n");
    s
}

fn sse_decoding(c: &mut Criterion) {
    let [
        (_, openai, openai_model),
        (_, anthropic, anthropic_model),
        (_, gemini, gemini_model),
    ] = adapters();
    let cases = [
        ("openai_50_chunks", &openai, openai_model, openai_stream(50)),
        (
            "anthropic_text_tool_use",
            &anthropic,
            anthropic_model,
            fixture!("anthropic/stream_text_tool_use.sse").to_owned(),
        ),
        (
            "gemini_text",
            &gemini,
            gemini_model,
            fixture!("gemini/stream_text.sse").to_owned(),
        ),
    ];
    let mut group = c.benchmark_group("sse_decode");
    for (name, adapter, model, text) in cases {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                decode_sse_text(black_box(&text), adapter.stream_state(model))
                    .map(|chunks| chunks.len())
            })
        });
    }
    group.finish();
}

fn translation(c: &mut Criterion) {
    let request: ChatCompletionRequest =
        match from_json_slice(fixture!("openai/request_tools.json").as_bytes()) {
            Ok(request) => request,
            Err(e) => {
                eprintln!("skipping the translation benchmarks: {e}");
                return;
            }
        };
    let mut group = c.benchmark_group("chat_request");
    for (name, adapter, model) in adapters() {
        group.bench_function(name, |b| {
            b.iter(|| {
                adapter
                    .chat_request(black_box(&request), model)
                    .map(|r| r.body.is_some())
            })
        });
    }
    group.finish();

    let bodies = [
        fixture!("openai/response_tool_calls.json"),
        fixture!("anthropic/response_tool_use.json"),
        fixture!("gemini/response_function_call.json"),
    ];
    let mut group = c.benchmark_group("parse_chat_response");
    for ((name, adapter, model), body) in adapters().into_iter().zip(bodies) {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                adapter
                    .parse_chat_response(black_box(body.as_bytes()), model)
                    .map(|r| r.choices.len())
            })
        });
    }
    group.finish();
}

fn cost(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let model = "anthropic/claude-sonnet-4-5";
    let Some(price) = catalog.get(model).and_then(|m| m.price.clone()) else {
        eprintln!("skipping the cost benchmarks: {model} has no price");
        return;
    };
    let mut usage = Usage::new(20_000, 1_500);
    usage.prompt_tokens_details = Some(PromptTokensDetails {
        cached_tokens: Some(15_000),
        cache_write_tokens: Some(3_000),
        ..Default::default()
    });
    c.bench_function("cost/price_with_cache", |b| {
        b.iter(|| price.cost(black_box(&usage)))
    });
    c.bench_function("cost/catalog_lookup_and_price", |b| {
        b.iter(|| aihub_core::catalog::cost_for_model(catalog, black_box(model), &usage))
    });
}

/// This repository's docs, repeated to about 1 MB: English prose with Markdown and code.
fn docs_text() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    let one: String = files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    let mut text = String::new();
    while text.len() < 1_000_000 && !one.is_empty() {
        text.push_str(&one);
    }
    text
}

fn tokens(c: &mut Criterion) {
    let text = docs_text();
    let mut group = c.benchmark_group("count_tokens");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    for (name, model) in [("o200k_base", "gpt-4o"), ("cl100k_base", "gpt-4")] {
        // Builds the encoder outside the measurement, and says what is counted (bench/tokens.sh
        // compares the count with Python tiktoken's).
        let n = count_text(model, &text);
        eprintln!("{name}: {} tokens in {} bytes", n, text.len());
        group.bench_function(name, |b| b.iter(|| count_text(model, black_box(&text))));
    }
    group.finish();
}

criterion_group!(benches, sse_decoding, translation, cost, tokens);
criterion_main!(benches);
