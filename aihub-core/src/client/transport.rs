//! Sending adapter requests with reqwest: retries, timeouts, size limits, error mapping.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use super::retry::{sleep, timeout};
use super::{Client, RequestOptions};
use crate::error::{Error, ErrorDetail, Result, request_id_from_headers};
use crate::providers::{Adapter, ProviderAdapter, ProviderRequest, StreamState};
use crate::stream::{ChatStream, decode_chat_stream_limited};

/// Default largest response body the client reads (32 MiB: an 8 MiB completion with
/// JSON escaping and room to spare).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 << 20;

/// Default longest life of a stream, from its response head to its last chunk (10 minutes).
pub const DEFAULT_STREAM_TIMEOUT: Duration = Duration::from_secs(600);

/// Limits on what one response may make the client hold or wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ResponseLimits {
    /// Largest body of a non-streamed response (an error body is cut at this size).
    pub max_body_bytes: usize,
    /// Largest single SSE event of a stream.
    pub max_event_bytes: usize,
    /// Longest life of a stream after its response head; `None` for no limit.
    pub stream_timeout: Option<Duration>,
}

impl Default for ResponseLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_event_bytes: crate::stream::DEFAULT_MAX_EVENT_BYTES,
            stream_timeout: Some(DEFAULT_STREAM_TIMEOUT),
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's Display can include the URL; it never includes headers, so no key leaks.
        let detail = ErrorDetail::new(e.to_string());
        if e.is_timeout() {
            Error::Timeout(detail)
        } else if e.is_decode() {
            Error::InvalidResponse(detail)
        } else {
            Error::Connection(detail)
        }
    }
}

impl Client {
    /// Sends `request`, retrying retryable failures; returns a 2xx response with its
    /// body unread. For streams the timeout covers only the wait for the response head.
    pub(super) async fn send(
        &self,
        adapter: &Adapter,
        request: ProviderRequest,
        options: &RequestOptions,
        stream: bool,
    ) -> Result<reqwest::Response> {
        let policy = self.inner.retry;
        let max_retries = options.max_retries.unwrap_or(policy.max_retries);
        let total = options.timeout.or(self.inner.timeout);
        let request_id = options
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut attempt = 0;
        loop {
            let result = self
                .send_once(adapter, &request, &request_id, total, stream)
                .await;
            let error = match result {
                Ok(response) => return Ok(response),
                Err(e) => e.with_request_id(Some(request_id.clone())),
            };
            if !error.is_retryable() || attempt >= max_retries {
                return Err(error);
            }
            let Some(wait) = policy.delay(attempt, error.retry_after()) else {
                return Err(error);
            };
            tracing::debug!(
                provider = %adapter.config().id,
                attempt = attempt + 1,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %crate::error::scrub::scrub_secrets(&error.to_string()),
                "retrying"
            );
            sleep(wait).await;
            attempt += 1;
        }
    }

    pub(super) async fn send_once(
        &self,
        adapter: &Adapter,
        request: &ProviderRequest,
        request_id: &str,
        total: Option<Duration>,
        stream: bool,
    ) -> Result<reqwest::Response> {
        let mut builder = self.http_request(request, request_id)?;
        if let (Some(t), false) = (total, stream) {
            builder = builder.timeout(t);
        }
        let send = async {
            let response = builder.send().await?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let headers = response.headers().clone();
            if status.is_redirection() {
                return Err(redirect_not_followed(status.as_u16(), &headers));
            }
            let body = read_at_most(response, self.inner.limits.max_body_bytes).await;
            Err(adapter.parse_error(status.as_u16(), &headers, &body))
        };
        match total {
            Some(t) if stream => timeout(t, send).await.unwrap_or_else(|| {
                Err(Error::Timeout(ErrorDetail::new(format!(
                    "no response within {} ms",
                    t.as_millis()
                ))))
            }),
            _ => send.await,
        }
    }
}

impl Client {
    /// The reqwest request for `request`, with the client request id and the JSON body.
    fn http_request(
        &self,
        request: &ProviderRequest,
        request_id: &str,
    ) -> Result<reqwest::RequestBuilder> {
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), &request.url)
            .headers(request.headers.clone())
            .header("x-client-request-id", request_id);
        if let Some(body) = &request.body {
            let bytes =
                serde_json::to_vec(body).map_err(|e| Error::bad_request(e.to_string(), None))?;
            builder = builder.body(bytes);
        }
        Ok(builder)
    }

    /// Sends a passthrough request once and returns whatever the provider answered.
    pub(super) async fn send_raw(
        &self,
        request: &ProviderRequest,
        request_id: &str,
        total: Option<Duration>,
    ) -> Result<reqwest::Response> {
        let builder = self.http_request(request, request_id)?;
        let send = async { Ok(builder.send().await?) };
        match total {
            Some(t) => timeout(t, send).await.unwrap_or_else(|| {
                Err(Error::Timeout(ErrorDetail::new(format!(
                    "no response within {} ms",
                    t.as_millis()
                ))))
            }),
            None => send.await,
        }
    }
}

impl Client {
    /// Reads a whole response body, refusing one larger than the client's
    /// `max_response_bytes` (by its `content-length` before reading, else as it arrives).
    pub(super) async fn read_body(&self, response: reqwest::Response) -> Result<Bytes> {
        let max = self.inner.limits.max_body_bytes;
        let declared = response.content_length();
        if declared.is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX)) {
            return Err(body_too_large(max));
        }
        let capacity = declared
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
            .min(max);
        let mut body = BytesMut::with_capacity(capacity);
        let mut pieces = response.bytes_stream();
        while let Some(piece) = pieces.next().await {
            let piece = piece?;
            if body.len().saturating_add(piece.len()) > max {
                return Err(body_too_large(max));
            }
            body.extend_from_slice(&piece);
        }
        Ok(body.freeze())
    }

    /// Turns a streamed response into canonical chunks, within the client's
    /// `max_event_bytes` and `stream_timeout`.
    pub(super) fn chunk_stream(
        &self,
        response: reqwest::Response,
        state: StreamState,
        provider: String,
    ) -> ChatStream {
        let limits = self.inner.limits;
        let bytes = Box::pin(response.bytes_stream().map(|r| r.map_err(Error::from)));
        let stream = decode_chat_stream_limited(bytes, state, limits.max_event_bytes);
        let stream = match limits.stream_timeout {
            Some(limit) => Box::pin(Deadline::new(stream, limit)) as ChatStream,
            None => stream,
        };
        Box::pin(stream.map(move |item| item.map_err(|e| e.with_provider(&provider))))
    }
}

/// Up to `max` bytes of an error body (the rest is dropped; the error is about the status).
async fn read_at_most(response: reqwest::Response, max: usize) -> Bytes {
    let mut body = BytesMut::new();
    let mut pieces = response.bytes_stream();
    while let Some(Ok(piece)) = pieces.next().await {
        let room = max.saturating_sub(body.len());
        body.extend_from_slice(&piece[..piece.len().min(room)]);
        if body.len() >= max {
            break;
        }
    }
    body.freeze()
}

fn body_too_large(max: usize) -> Error {
    Error::InvalidResponse(ErrorDetail {
        message: format!(
            "the upstream response body is larger than the limit of {max} bytes (max_response_bytes)"
        ),
        code: Some("response_too_large".to_owned()),
        ..ErrorDetail::default()
    })
}

/// A redirect the client's policy stopped (to another origin). Its `location` is not
/// repeated: it may name a host the caller should not learn about.
fn redirect_not_followed(status: u16, headers: &http::HeaderMap) -> Error {
    Error::InvalidResponse(ErrorDetail {
        message: format!(
            "the provider answered HTTP {status} redirecting to another origin; AI Hub does not follow it, so that the provider's credentials never leave for another host"
        ),
        code: Some("redirect_not_followed".to_owned()),
        upstream_status: Some(status),
        request_id: request_id_from_headers(headers),
        ..ErrorDetail::default()
    })
}

#[cfg(not(target_family = "wasm"))]
type Timer = Pin<Box<dyn Future<Output = ()> + Send>>;
#[cfg(target_family = "wasm")]
type Timer = Pin<Box<dyn Future<Output = ()>>>;

/// A stream that ends with a timeout error once it has lasted longer than its limit.
struct Deadline {
    inner: ChatStream,
    timer: Timer,
    limit: Duration,
    ended: bool,
}

impl Deadline {
    fn new(inner: ChatStream, limit: Duration) -> Self {
        Self {
            inner,
            timer: Box::pin(sleep(limit)),
            limit,
            ended: false,
        }
    }
}

impl Stream for Deadline {
    type Item = Result<crate::types::ChatCompletionChunk>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        // The timer first, so that a stream whose chunks are always ready is cut as well.
        if this.timer.as_mut().poll(cx).is_ready() {
            this.ended = true;
            return Poll::Ready(Some(Err(Error::Timeout(ErrorDetail {
                message: format!(
                    "the stream lasted longer than its limit of {} s (stream_timeout)",
                    this.limit.as_secs_f64()
                ),
                code: Some("stream_timeout".to_owned()),
                ..ErrorDetail::default()
            }))));
        }
        let item = std::task::ready!(this.inner.as_mut().poll_next(cx));
        this.ended = item.is_none();
        Poll::Ready(item)
    }
}

#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
