//! `POST /v1/chat/completions`, OpenAI's wire format, streamed and not.
//!
//! The pipeline always learns the request's usage (streams ask the upstream for it); the
//! caller sees the final usage chunk, with the charge, only when it asked for
//! `stream_options.include_usage`.

use std::convert::Infallible;
use std::time::Duration;

use aihub_core::ChatCompletionRequest;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::{failure_response, served_headers};
use crate::auth::KeyAuth;
use crate::cache::{self, CacheControls, CacheStatus};
use crate::gateway::{self, ChatAnswer, StreamAnswer, StreamEvent};
use crate::json::Json;
use crate::state::AppState;

/// `POST /v1/chat/completions`; `x-aihub-cache` and `x-aihub-cache-ttl` direct the response
/// cache (docs/cache.md).
pub async fn completions(
    State(state): State<AppState>,
    caller: KeyAuth,
    controls: CacheControls,
    Json(request): Json<ChatCompletionRequest>,
) -> Response {
    let wants_usage = request.wants_stream_usage();
    match gateway::chat(&state, caller, request, controls).await {
        Ok(ChatAnswer::Complete(served)) => with_cache_status(
            served_headers(
                axum::Json(&served.value).into_response(),
                &served.request_id,
                &served.headers,
                served.cost,
            ),
            served.cache,
        ),
        Ok(ChatAnswer::Stream(stream)) => {
            let (id, headers, cache) = (stream.request_id.clone(), stream.headers, stream.cache);
            let sse = Sse::new(sse_events(stream, wants_usage))
                .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
            with_cache_status(
                served_headers(sse.into_response(), &id, &headers, None),
                cache,
            )
        }
        Err(failure) => failure_response(failure),
    }
}

/// `response` with `x-aihub-cache` (and `x-aihub-cache-age` on a hit) when the cache was used.
fn with_cache_status(mut response: Response, status: Option<CacheStatus>) -> Response {
    let Some(status) = status else {
        return response;
    };
    let headers = response.headers_mut();
    headers.insert(cache::HEADER, HeaderValue::from_static(status.as_str()));
    if let CacheStatus::Hit { age_secs } = status {
        headers.insert(cache::AGE_HEADER, HeaderValue::from(age_secs));
    }
    response
}

fn sse_events(
    mut stream: StreamAnswer,
    wants_usage: bool,
) -> impl futures::Stream<Item = Result<Event, Infallible>> {
    async_stream::stream! {
        while let Some(event) = stream.events.recv().await {
            let data = match event {
                StreamEvent::Chunk(chunk) => serde_json::to_string(&chunk),
                StreamEvent::Usage(chunk) if wants_usage => serde_json::to_string(&chunk),
                StreamEvent::Usage(_) => continue,
                StreamEvent::Failed(e) => Ok(e.0.to_openai_json().to_string()),
            };
            match data {
                Ok(json) => yield Ok(Event::default().data(json)),
                Err(e) => tracing::error!(error = %e, "could not encode a stream event"),
            }
        }
        yield Ok(Event::default().data("[DONE]"));
    }
}
