//! Non-stream requests served from an upstream stream (`routing.non_stream_as_stream`).
//!
//! A provider answers a non-stream request only once the whole completion is generated, so
//! a stalled upstream can hold its caller for the whole `upstream_timeout_secs` with nothing
//! to tell it from a long answer. Asked as a stream, the upstream shows that it is working
//! with its first content: an attempt with none within `routing.first_token_timeout_ms` is
//! a failed attempt and the request falls over, and the completion is assembled from the
//! chunks. Nothing reaches the client before the whole completion is assembled, so even an
//! attempt that fails after producing content can fall over; what it produced is billed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aihub_core::client::{AttemptInfo, AttemptOptions, Client};
use aihub_core::stream::ChatAccumulator;
use aihub_core::{ChatCompletion, ChatCompletionRequest, Error};
use futures::StreamExt;

use crate::routing::Deployment;

/// Tokens of attempts that failed after the provider had produced output: the provider
/// bills them, so the request's record counts them (estimated).
#[derive(Debug, Default)]
pub(super) struct Partial {
    prompt: AtomicU64,
    output: AtomicU64,
}

impl Partial {
    /// Prompt and output tokens billed by failed attempts.
    pub(super) fn tokens(&self) -> (u64, u64) {
        (
            self.prompt.load(Ordering::Acquire),
            self.output.load(Ordering::Acquire),
        )
    }
}

/// One attempt of a non-stream request, made as a stream and assembled. `prompt_tokens` is
/// the request's counted prompt (billed with the output of an attempt cut after content,
/// unless the cut was a timeout, whose prompt the attempt loop bills already).
pub(super) async fn attempt(
    client: &Client,
    deployment: &Deployment,
    request: &ChatCompletionRequest,
    options: &AttemptOptions,
    first_content_limit: Duration,
    prompt_tokens: u64,
    partial: &Partial,
) -> (aihub_core::Result<ChatCompletion>, AttemptInfo) {
    let started = Instant::now();
    let (result, mut info) = client
        .attempt_chat_stream_on(
            &deployment.adapter,
            &deployment.model.upstream,
            request,
            options,
        )
        .await;
    let stream = match result {
        Ok(stream) => super::relay::first_content(stream, first_content_limit).await,
        Err(e) => Err(e),
    };
    let mut stream = match stream {
        Ok(stream) => stream,
        Err(e) => {
            info.latency = started.elapsed();
            return (Err(e), info);
        }
    };
    let mut acc = ChatAccumulator::new();
    // The whole attempt stays within the non-stream request's own total timeout.
    let deadline = options
        .timeout
        .map(|t| tokio::time::Instant::from_std(started) + t);
    loop {
        let next = match deadline {
            Some(at) => tokio::time::timeout_at(at, stream.next())
                .await
                .unwrap_or_else(|_| Some(Err(total_timeout(options)))),
            None => stream.next().await,
        };
        let Some(item) = next else { break };
        match item {
            Ok(chunk) => acc.push(&chunk),
            Err(e) => {
                let output =
                    aihub_core::tokens::count_output(&deployment.model.id, acc.output_texts());
                let output = u64::try_from(output).unwrap_or(u64::MAX);
                partial.output.fetch_add(output, Ordering::AcqRel);
                if !matches!(e, Error::Timeout(_)) {
                    partial.prompt.fetch_add(prompt_tokens, Ordering::AcqRel);
                }
                info.latency = started.elapsed();
                return (Err(e), info);
            }
        }
    }
    info.usage_reported = acc.usage().is_some();
    info.latency = started.elapsed();
    (Ok(acc.finish()), info)
}

fn total_timeout(options: &AttemptOptions) -> Error {
    Error::Timeout(aihub_core::ErrorDetail {
        message: format!(
            "the upstream did not finish within {} s",
            options.timeout.unwrap_or_default().as_secs()
        ),
        code: Some("upstream_timeout".into()),
        ..aihub_core::ErrorDetail::default()
    })
}
