//! `POST /v1/chat/completions`, streamed and not.
//!
//! Usage is always taken from the upstream (streams always ask for it) and recorded
//! durably before the response completes; it is shown to the caller only when asked for.

use std::convert::Infallible;
use std::time::Duration;

use aihub_core::stream::{ChatAccumulator, ChatStream};
use aihub_core::{ChatCompletionChunk, ChatCompletionRequest, Error, RequestOptions, Usage};
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use crate::auth::KeyAuth;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::limits::Ticket;
use crate::state::AppState;
use crate::usage::{Exchange, Outcome};

/// A new gateway request id.
pub fn request_id() -> String {
    format!("req_{}", uuid::Uuid::new_v4().simple())
}

/// `response` with an `x-request-id` header.
pub fn with_request_id(mut response: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// Usage estimated locally when the upstream reported none (a stream cut short).
fn estimate_usage(model: &str, prompt_tokens: u64, acc: &ChatAccumulator) -> Usage {
    let completion = aihub_core::tokens::count_text(model, acc.content());
    Usage::new(prompt_tokens, u64::try_from(completion).unwrap_or(u64::MAX))
}

/// `POST /v1/chat/completions`.
pub async fn completions(
    State(state): State<AppState>,
    auth: KeyAuth,
    Json(mut request): Json<ChatCompletionRequest>,
) -> ApiResult<Response> {
    request.validate()?;
    let routed = state.models.resolve(&request.model)?;
    request.model.clone_from(&routed.id);
    let exchange = Exchange {
        id: request_id(),
        auth,
        model: routed,
        started_ms: state.now_ms(),
        stream: request.is_stream(),
    };
    let prompt_tokens = u64::try_from(aihub_core::tokens::count_request(&request)).unwrap_or(0);
    let max_output = exchange.max_output(&state, request.output_limit(), request.n);
    let ticket = match exchange.admit(&state, prompt_tokens, max_output).await {
        Ok(ticket) => ticket,
        Err(refused) => return Ok(with_request_id(refused.into_response(), &exchange.id)),
    };
    let options = RequestOptions {
        request_id: Some(exchange.id.clone()),
        ..RequestOptions::default()
    };
    if exchange.stream {
        return Ok(stream(state, exchange, ticket, prompt_tokens, request, options).await);
    }
    let headers = ticket.headers;
    let result = state.client.chat().create_with(request, &options).await;
    let usage = match &result {
        Ok(c) => c.usage.clone().unwrap_or_default(),
        Err(_) => Usage::default(),
    };
    exchange.settle(&state, ticket, &usage).await;
    let record = exchange.record_result(state.now_ms(), &result, |_| usage.clone());
    state.usage.record(record).await;
    let mut response = match result {
        Ok(completion) => axum::Json(completion).into_response(),
        Err(e) => {
            ApiError::from_upstream(e.with_request_id(Some(exchange.id.clone()))).into_response()
        }
    };
    headers.apply(response.headers_mut());
    Ok(with_request_id(response, &exchange.id))
}

async fn stream(
    state: AppState,
    exchange: Exchange,
    ticket: Ticket,
    prompt_estimate: u64,
    request: ChatCompletionRequest,
    options: RequestOptions,
) -> Response {
    let wants_usage = request.wants_stream_usage();
    let headers = ticket.headers;
    let upstream = match state.client.chat().stream_with(request, &options).await {
        Ok(s) => s,
        Err(e) => {
            exchange.settle(&state, ticket, &Usage::default()).await;
            let record = exchange.record(Outcome {
                usage: &Usage::default(),
                finished_ms: state.now_ms(),
                ttft_ms: None,
                status: e.status(),
                error_type: Some(e.kind()),
            });
            state.usage.record(record).await;
            let mut response =
                ApiError::from_upstream(e.with_request_id(Some(exchange.id))).into_response();
            headers.apply(response.headers_mut());
            return response;
        }
    };
    let id = exchange.id.clone();
    let recorder = StreamRecorder {
        state,
        exchange,
        ticket: Some(ticket),
        prompt_estimate,
        ttft_ms: None,
        acc: ChatAccumulator::new(),
        done: false,
    };
    let body = sse_body(upstream, recorder, wants_usage);
    let sse = Sse::new(body).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    let mut response = sse.into_response();
    headers.apply(response.headers_mut());
    with_request_id(response, &id)
}

fn sse_body(
    mut upstream: ChatStream,
    mut recorder: StreamRecorder,
    wants_usage: bool,
) -> impl futures::Stream<Item = Result<Event, Infallible>> {
    async_stream::stream! {
        let mut failure: Option<Error> = None;
        while let Some(item) = upstream.next().await {
            match item {
                Ok(chunk) => {
                    recorder.observe(&chunk);
                    let usage_only = chunk.choices.is_empty() && chunk.usage.is_some();
                    if usage_only && !wants_usage {
                        continue;
                    }
                    match serde_json::to_string(&chunk) {
                        Ok(json) => yield Ok(Event::default().data(json)),
                        Err(e) => tracing::error!(error = %e, "could not encode a chunk"),
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(upstream);
        let error_event = failure.as_ref().map(|e| {
            let e = ApiError::from_upstream(e.clone().with_request_id(Some(recorder.exchange.id.clone()))).0;
            Event::default().data(e.to_openai_json().to_string())
        });
        recorder.finish(failure.as_ref()).await;
        if let Some(event) = error_event {
            yield Ok(event);
        }
        yield Ok(Event::default().data("[DONE]"));
    }
}

/// Watches a stream go by and records its usage when it ends — or, when the client goes
/// away first, when it is dropped (the upstream request is cancelled with it).
struct StreamRecorder {
    state: AppState,
    exchange: Exchange,
    ticket: Option<Ticket>,
    prompt_estimate: u64,
    ttft_ms: Option<i64>,
    acc: ChatAccumulator,
    done: bool,
}

impl StreamRecorder {
    fn observe(&mut self, chunk: &ChatCompletionChunk) {
        if self.ttft_ms.is_none()
            && chunk.choices.iter().any(|c| {
                c.delta.content.as_deref().is_some_and(|t| !t.is_empty())
                    || c.delta.tool_calls.is_some()
                    || c.delta.reasoning_content.is_some()
            })
        {
            self.ttft_ms = Some(self.state.now_ms() - self.exchange.started_ms);
        }
        self.acc.push(chunk);
    }

    fn usage(&self) -> Usage {
        self.acc.usage().cloned().unwrap_or_else(|| {
            estimate_usage(&self.exchange.model.id, self.prompt_estimate, &self.acc)
        })
    }

    fn outcome_record(
        &self,
        usage: &Usage,
        status: u16,
        error_type: Option<&str>,
    ) -> crate::store::UsageRecord {
        self.exchange.record(Outcome {
            usage,
            finished_ms: self.state.now_ms(),
            ttft_ms: self.ttft_ms,
            status,
            error_type,
        })
    }

    async fn finish(&mut self, failure: Option<&Error>) {
        self.done = true;
        let usage = self.usage();
        if let Some(ticket) = self.ticket.take() {
            self.exchange.settle(&self.state, ticket, &usage).await;
        }
        let record = match failure {
            None => self.outcome_record(&usage, 200, None),
            Some(e) => self.outcome_record(&usage, e.status(), Some(e.kind())),
        };
        self.state.usage.record(record).await;
    }
}

impl Drop for StreamRecorder {
    fn drop(&mut self) {
        if !self.done {
            // 499: the client closed the connection before the stream ended.
            let usage = self.usage();
            if let Some(ticket) = self.ticket.take() {
                self.exchange.settle_detached(&self.state, ticket, &usage);
            }
            let record = self.outcome_record(&usage, 499, Some("client_disconnected"));
            self.state.usage.record_detached(record);
        }
    }
}
