//! The request pipeline: the one place that owns a proxied request from end to end.
//!
//! ```text
//! ingress (decode) ─▶ resolve + authorise the model ─▶ count the prompt ─▶ admit (reserve)
//!   ─▶ plan the attempts ─▶ call one attempt at a time (aihub-core's single-attempt entry)
//!   ─▶ settle ─▶ record ─▶ answer ─▶ ingress (encode)
//! ```
//!
//! Ingress handlers only decode their wire format, call [`chat`] or [`embeddings`], and
//! encode what comes back. Everything after admission runs in a task of its own, tracked by
//! [`crate::tasks::Tasks`]: a client that leaves does not cancel it, so every admitted request ends in
//! exactly one usage record — a non-stream request is finished against the upstream in the
//! background and billed with what the provider reports; a stream is cancelled upstream and
//! billed for what was produced up to then.

mod access;
mod assembled;
mod attempts;
mod cached;
mod capacity;
mod chat;
mod embeddings;
mod proxied;
mod relay;

pub use attempts::{Admission, Attempts};
pub use cached::CachePlan;
pub use chat::{ChatAnswer, chat};
pub use embeddings::embeddings;
pub use proxied::{Ending, Proxied, prompt_reservation};
pub use relay::{StreamAnswer, StreamEvent};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::ApiError;
use crate::limits::{RateHeaders, Refused};

/// A request the pipeline did not serve: the error in OpenAI's words, the rate-limit
/// headers when a limit refused it, and the gateway request id.
#[derive(Debug)]
pub struct Failure {
    /// The error to answer with.
    pub error: ApiError,
    /// `x-ratelimit-*` headers, when there are any to send.
    pub headers: Option<RateHeaders>,
    /// The gateway request id, once one was assigned.
    pub request_id: Option<String>,
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            headers: None,
            request_id: None,
        }
    }
}

impl From<aihub_core::Error> for Failure {
    fn from(error: aihub_core::Error) -> Self {
        Self::from(ApiError(error))
    }
}

impl Failure {
    fn refused(refused: Refused, request_id: &str) -> Self {
        Self {
            error: refused.error,
            headers: refused.headers,
            request_id: Some(request_id.to_owned()),
        }
    }
}

/// The answer when a request's task ended without an outcome (it panicked; its record was
/// written by [`proxied::spawn_guarded`]).
fn task_failed(headers: RateHeaders, request_id: String) -> Failure {
    tracing::error!(request_id = %request_id, "request task ended without an answer");
    Failure {
        error: ApiError::unavailable(
            "the gateway failed while serving this request",
            "gateway_error",
        ),
        headers: Some(headers),
        request_id: Some(request_id),
    }
}

/// A served request's answer with what the ingress needs to encode it.
#[derive(Debug)]
pub struct Served<T> {
    /// The canonical answer.
    pub value: T,
    /// The gateway request id.
    pub request_id: String,
    /// `x-ratelimit-*` headers.
    pub headers: RateHeaders,
    /// What the request was charged, when the model is priced.
    pub cost: Option<aihub_core::pricing::Money>,
    /// What the response cache did, when the request used it.
    pub cache: Option<crate::cache::CacheStatus>,
}

/// Set when the handler waiting for a request's task goes away (the client disconnected).
#[derive(Debug, Default)]
pub(crate) struct Presence {
    gone: Arc<AtomicBool>,
    kept: bool,
}

impl Presence {
    pub(crate) fn flag(&self) -> Arc<AtomicBool> {
        self.gone.clone()
    }

    pub(crate) fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        if !self.kept {
            self.gone.store(true, Ordering::Release);
        }
    }
}

/// Where a request goes: its model group, the fallbacks it named itself, and the output
/// tokens reserved per choice (sent as `max_tokens` to providers that require one).
#[derive(Debug)]
pub struct Route {
    /// The group `model` named.
    pub group: Arc<crate::routing::Group>,
    /// The request's own `fallbacks` / `models`.
    pub fallbacks: Vec<String>,
    /// Output tokens reserved per choice.
    pub per_choice: u64,
    /// How the request uses the response cache; `None` when it does not.
    pub cache: Option<Box<CachePlan>>,
}

/// A new gateway request id.
pub fn request_id() -> String {
    format!("req_{}", uuid::Uuid::new_v4().simple())
}
