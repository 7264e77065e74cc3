//! Streams: the task that owns an upstream stream, relays its chunks to the ingress, and
//! bills and records it however it ends.
//!
//! The task, not the client's connection, owns the upstream stream. When the client goes
//! away (before the first byte or after), the task notices, drops the upstream stream
//! (which cancels it) and records what was produced up to then. When the shutdown deadline
//! passes, it ends the stream with an error event and records it. The record is written
//! before the last event is sent.

use aihub_core::stream::{ChatAccumulator, ChatStream};
use aihub_core::{ChatCompletionChunk, ChatCompletionRequest, Error, ErrorDetail, Usage};
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};

use super::attempts::{self, Admission, Attempts};
use super::proxied::with_cost;
use super::{Ending, Failure, Proxied};
use crate::error::ApiError;
use crate::limits::RateHeaders;
use crate::state::AppState;

/// Events buffered between the relay task and a slow client.
const BUFFER: usize = 64;

/// What a stream's ingress receives, in order: chunks, then one usage chunk, then at most
/// one failure; the channel closing is the end of the stream.
#[derive(Debug)]
pub enum StreamEvent {
    /// A chunk from the upstream (usage-only chunks are not passed on).
    Chunk(ChatCompletionChunk),
    /// The usage-only chunk (empty `choices`), with the gateway's charge and whether the
    /// tokens were estimated. Sent after the request's record is written.
    Usage(ChatCompletionChunk),
    /// The stream failed after it began.
    Failed(ApiError),
}

/// A started stream.
#[derive(Debug)]
pub struct StreamAnswer {
    /// The gateway request id.
    pub request_id: String,
    /// `x-ratelimit-*` headers.
    pub headers: RateHeaders,
    /// The stream's events.
    pub events: mpsc::Receiver<StreamEvent>,
    /// What the response cache did, when the request used it.
    pub cache: Option<crate::cache::CacheStatus>,
}

/// Starts the relay task and waits until the upstream stream began (or failed first).
pub async fn start(
    state: &AppState,
    proxied: Proxied,
    admission: Admission,
    route: super::Route,
    request: ChatCompletionRequest,
) -> Result<StreamAnswer, Failure> {
    let (started_tx, started_rx) = oneshot::channel();
    let (events_tx, events) = mpsc::channel(BUFFER);
    let request_id = proxied.id.clone();
    let headers = admission.headers();
    super::proxied::spawn_guarded(
        state,
        proxied.clone(),
        relay(
            state.clone(),
            proxied,
            admission,
            route,
            request,
            started_tx,
            events_tx,
        ),
    );
    match started_rx.await {
        Ok(Ok(())) => Ok(StreamAnswer {
            request_id,
            headers,
            events,
            cache: None,
        }),
        Ok(Err(error)) => Err(Failure {
            error,
            headers: Some(headers),
            request_id: Some(request_id),
        }),
        Err(_) => Err(Failure {
            error: ApiError::unavailable(
                "the gateway failed while starting this stream",
                "gateway_error",
            ),
            headers: Some(headers),
            request_id: Some(request_id),
        }),
    }
}

/// True when `chunk` carries content: text, tool-call arguments or reasoning. Chunks before
/// the first such one (a role-only chunk, say) are preamble.
fn has_content(chunk: &ChatCompletionChunk) -> bool {
    chunk.choices.iter().any(|c| {
        c.delta.content.as_deref().is_some_and(|t| !t.is_empty())
            || c.delta.tool_calls.is_some()
            || c.delta.reasoning_content.is_some()
    })
}

/// Reads `stream` until its first content (or its end), holding the preamble back, within
/// `limit`: a stream that fails, stalls or ends empty before any content is a failed
/// attempt, and the request can fall over to another deployment with nothing sent to the
/// client. Returns the stream with the held chunks in front.
pub(super) async fn first_content(
    mut stream: ChatStream,
    limit: std::time::Duration,
) -> Result<ChatStream, Error> {
    let mut held = Vec::new();
    let read = async {
        loop {
            match stream.next().await {
                None => {
                    // An answer with a finish reason and no text is complete (an empty reply).
                    let finished = held.iter().any(|c: &ChatCompletionChunk| {
                        c.choices.iter().any(|ch| ch.finish_reason.is_some())
                    });
                    if finished {
                        return Ok(());
                    }
                    return Err(Error::InvalidResponse(ErrorDetail {
                        message: "The upstream stream ended before any content.".into(),
                        code: Some("empty_stream".into()),
                        ..ErrorDetail::default()
                    }));
                }
                Some(Err(e)) => return Err(e),
                Some(Ok(chunk)) => {
                    let done = has_content(&chunk)
                        || chunk.choices.iter().any(|c| c.finish_reason.is_some());
                    held.push(chunk);
                    if done {
                        return Ok(());
                    }
                }
            }
        }
    };
    match tokio::time::timeout(limit, read).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(Error::Timeout(ErrorDetail {
                message: format!(
                    "no content within {} ms of the stream's start",
                    limit.as_millis()
                ),
                code: Some("first_token_timeout".into()),
                ..ErrorDetail::default()
            }));
        }
    }
    Ok(Box::pin(
        futures::stream::iter(held.into_iter().map(Ok)).chain(stream),
    ))
}

/// How a relayed stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The upstream finished.
    Done,
    /// The client went away.
    ClientGone,
    /// The shutdown deadline passed.
    Shutdown,
}

fn shutdown_error() -> Error {
    Error::Upstream(ErrorDetail {
        message: "The gateway is shutting down; the answer was cut short.".into(),
        code: Some("gateway_shutdown".into()),
        ..ErrorDetail::default()
    })
}

/// The stream's identity, taken from its first chunk, for the usage chunk the gateway adds.
#[derive(Debug, Default)]
struct Identity {
    id: String,
    created: i64,
    model: String,
}

struct Relay {
    state: AppState,
    proxied: Proxied,
    admission: Admission,
    finished: bool,
    acc: ChatAccumulator,
    ttft_ms: Option<i64>,
    identity: Option<Identity>,
    cache: Option<Box<super::CachePlan>>,
}

async fn relay(
    state: AppState,
    proxied: Proxied,
    admission: Admission,
    mut route: super::Route,
    request: ChatCompletionRequest,
    mut started: oneshot::Sender<Result<(), ApiError>>,
    events: mpsc::Sender<StreamEvent>,
) {
    let client = state.client.clone();
    let mut relay = Relay {
        state: state.clone(),
        proxied,
        admission,
        finished: false,
        acc: ChatAccumulator::new(),
        ttft_ms: None,
        identity: None,
        cache: route.cache.take(),
    };
    let per_choice = route.per_choice;
    let first_content_limit = state
        .config
        .routing
        .first_token_timeout
        .unwrap_or(state.config.upstream_timeout);
    let calls = Box::pin(attempts::run(
        &state,
        &relay.proxied,
        route.group,
        &route.fallbacks,
        &mut relay.admission,
        |deployment, options| {
            let (client, request) = (&client, &request);
            async move {
                let request = super::chat::for_deployment(request, &deployment, per_choice);
                let (result, info) = client
                    .attempt_chat_stream_on(
                        &deployment.adapter,
                        &deployment.model.upstream,
                        &request,
                        &options,
                    )
                    .await;
                match result {
                    Ok(stream) => (first_content(stream, first_content_limit).await, info),
                    Err(e) => (Err(e), info),
                }
            }
        },
    ));
    let begun = tokio::select! {
        done = calls => Begun::Done(done),
        () = started.closed() => Begun::ClientGone,
        () = state.tasks.deadline_reached() => Begun::Shutdown,
    };
    let (result, attempts) = match begun {
        Begun::Done(done) => done,
        Begun::Shutdown => {
            relay
                .finish_unstarted(&Attempts::default(), Some(&shutdown_error()), End::Shutdown)
                .await;
            let _ = started.send(Err(ApiError::from_upstream(shutdown_error())));
            return;
        }
        Begun::ClientGone => {
            // The client left before the first byte: the upstream call is dropped
            // (cancelled) with the select, and the request is billed for its prompt.
            relay
                .finish_unstarted(
                    &Attempts {
                        count: 1,
                        ..Attempts::default()
                    },
                    None,
                    End::ClientGone,
                )
                .await;
            return;
        }
    };
    let upstream = match result {
        Ok(s) => s,
        Err(e) => {
            relay.finish_unstarted(&attempts, Some(&e), End::Done).await;
            let e = e.with_request_id(Some(relay.proxied.id.clone()));
            let _ = started.send(Err(ApiError::from_upstream(e)));
            return;
        }
    };
    if started.send(Ok(())).is_err() {
        drop(upstream);
        relay
            .finish_unstarted(&attempts, None, End::ClientGone)
            .await;
        return;
    }
    relay.run(upstream, attempts, events).await;
}

/// How the wait for a stream's start ended.
enum Begun<T> {
    Done(T),
    ClientGone,
    Shutdown,
}

impl Relay {
    fn observe(&mut self, chunk: &ChatCompletionChunk) {
        if self.identity.is_none() {
            self.identity = Some(Identity {
                id: chunk.id.clone(),
                created: chunk.created,
                model: chunk.model.clone(),
            });
        }
        if self.ttft_ms.is_none() && has_content(chunk) {
            self.ttft_ms = Some(self.state.now_ms() - self.proxied.started_ms);
        }
        self.acc.push(chunk);
    }

    /// The usage to bill: the provider's, or an estimate of the prompt and everything
    /// produced in every choice.
    fn usage(&self, attempts: &Attempts) -> (Usage, bool) {
        let billed_prompt_tokens = attempts.billed_prompt_tokens;
        let (mut usage, estimated) = match self.acc.usage() {
            Some(u) => (u.clone(), false),
            None => {
                let output = aihub_core::tokens::count_output(
                    &attempts.model(&self.proxied).id,
                    self.acc.output_texts(),
                );
                (
                    Usage::new(
                        self.proxied.prompt_tokens,
                        u64::try_from(output).unwrap_or(u64::MAX),
                    ),
                    true,
                )
            }
        };
        usage.prompt_tokens = usage.prompt_tokens.saturating_add(billed_prompt_tokens);
        usage.total_tokens = usage.prompt_tokens.saturating_add(usage.completion_tokens);
        (usage, estimated)
    }

    async fn finish(
        &mut self,
        usage: &Usage,
        estimated: bool,
        attempts: &Attempts,
        status: u16,
        error_type: Option<&str>,
    ) -> Option<aihub_core::pricing::Money> {
        if self.finished {
            return None;
        }
        self.finished = true;
        attempts.settle_capacity(&self.state, &self.proxied, usage);
        let ticket = self.admission.ticket.take();
        self.proxied
            .finish(
                &self.state,
                ticket,
                Ending {
                    usage,
                    estimated,
                    ttft_ms: self.ttft_ms,
                    status,
                    error_type,
                    attempts: attempts.count,
                    attempt: attempts.last.as_ref(),
                    log: &attempts.log,
                    model: attempts.model(&self.proxied),
                },
            )
            .await
    }

    /// Bills and records a stream that never began: its attempts failed, the client left
    /// first, or the gateway shut down. A client that left has sent its prompt, which the
    /// provider may have started on, so the counted prompt is billed (estimated).
    async fn finish_unstarted(&mut self, attempts: &Attempts, error: Option<&Error>, end: End) {
        let (usage, estimated) = match end {
            End::Done => (
                Usage::new(attempts.billed_prompt_tokens, 0),
                attempts.billed_prompt_tokens > 0,
            ),
            End::ClientGone | End::Shutdown => (Usage::new(self.proxied.prompt_tokens, 0), true),
        };
        let (status, kind) = match (end, error) {
            (End::ClientGone, _) => (499, Some("client_disconnected")),
            (_, Some(e)) => (crate::error::answered_status(e), Some(e.kind())),
            (_, None) => (503, Some("gateway_shutdown")),
        };
        self.finish(&usage, estimated, attempts, status, kind).await;
    }

    async fn run(
        &mut self,
        mut upstream: ChatStream,
        attempts: Attempts,
        events: mpsc::Sender<StreamEvent>,
    ) {
        let mut failure: Option<Error> = None;
        let mut end = End::Done;
        let every = self.state.limits.renew_every();
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                item = upstream.next() => match item {
                    None => break,
                    Some(Ok(chunk)) => {
                        self.observe(&chunk);
                        if chunk.choices.is_empty() && chunk.usage.is_some() {
                            continue;
                        }
                        if events.send(StreamEvent::Chunk(chunk)).await.is_err() {
                            end = End::ClientGone;
                            break;
                        }
                    }
                    Some(Err(e)) => {
                        failure = Some(e);
                        break;
                    }
                },
                () = events.closed() => {
                    end = End::ClientGone;
                    break;
                }
                () = self.state.tasks.deadline_reached() => {
                    end = End::Shutdown;
                    break;
                }
                _ = renew.tick() => {
                    if let Some(ticket) = &self.admission.ticket
                        && !self.state.limits.renew(ticket, self.state.now_ms()).await
                    {
                        tracing::warn!(request_id = %self.proxied.id, "could not renew a stream's reservation");
                    }
                }
            }
        }
        drop(upstream);
        let (usage, estimated) = self.usage(&attempts);
        let (status, kind) = match (end, &failure) {
            (End::ClientGone, _) => (499, Some("client_disconnected")),
            (End::Shutdown, _) => (503, Some("gateway_shutdown")),
            (End::Done, Some(e)) => (crate::error::answered_status(e), Some(e.kind())),
            (End::Done, None) => (200, None),
        };
        let cost = self
            .finish(&usage, estimated, &attempts, status, kind)
            .await;
        if status == 200 && !estimated && self.cache.is_some() {
            // A whole stream (its end, finish reasons and the provider's usage seen) is kept.
            let model = attempts.model(&self.proxied);
            let (provider, upstream) = match &attempts.last {
                Some(a) if !a.provider.is_empty() => {
                    (a.provider.as_str(), a.upstream_model.as_str())
                }
                _ => (model.provider.as_str(), model.upstream.as_str()),
            };
            let completion = self.acc.clone().finish();
            super::cached::store(
                &self.state,
                self.cache.as_deref(),
                completion,
                model,
                provider,
                upstream,
            )
            .await;
        }
        if end == End::ClientGone {
            return;
        }
        let identity = self.identity.take().unwrap_or_default();
        let usage_chunk = ChatCompletionChunk {
            id: identity.id,
            object: "chat.completion.chunk".into(),
            created: identity.created,
            model: identity.model,
            choices: Vec::new(),
            usage: Some(with_cost(usage, cost, estimated)),
            system_fingerprint: None,
            service_tier: None,
            extra: Default::default(),
        };
        let _ = events.send(StreamEvent::Usage(usage_chunk)).await;
        let error = match end {
            End::Shutdown => Some(shutdown_error()),
            _ => failure,
        };
        if let Some(e) = error {
            let e = e.with_request_id(Some(self.proxied.id.clone()));
            let _ = events
                .send(StreamEvent::Failed(ApiError::from_upstream(e)))
                .await;
        }
    }
}
