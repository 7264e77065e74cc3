//! Sending adapter requests with reqwest: retries, timeouts, error mapping.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;

use super::retry::{sleep, timeout};
use super::{Client, RequestOptions};
use crate::error::{Error, ErrorDetail, Result};
use crate::providers::{Adapter, ProviderAdapter, ProviderRequest, StreamState};
use crate::stream::{ChatStream, decode_chat_stream};

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
                error = %error,
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
            let body = response.bytes().await.unwrap_or_default();
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
    /// Sends a passthrough request once and returns whatever the provider answered.
    pub(super) async fn send_raw(
        &self,
        request: &ProviderRequest,
        request_id: &str,
        total: Option<Duration>,
    ) -> Result<reqwest::Response> {
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

/// Reads a whole response body.
pub(super) async fn read_body(response: reqwest::Response) -> Result<Bytes> {
    Ok(response.bytes().await?)
}

/// Turns a streamed response into canonical chunks.
pub(super) fn chunk_stream(
    response: reqwest::Response,
    state: StreamState,
    provider: String,
) -> ChatStream {
    let bytes = Box::pin(response.bytes_stream().map(|r| r.map_err(Error::from)));
    let stream = decode_chat_stream(bytes, state)
        .map(move |item| item.map_err(|e| e.with_provider(&provider)));
    Box::pin(stream)
}
