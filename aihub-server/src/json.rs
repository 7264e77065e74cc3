//! The JSON body extractor of the gateway: a size limit answered with 413, and parse errors
//! answered with 400 naming the field at fault, both in OpenAI's error shape.

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body parsed into `T`.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

fn too_large(limit: usize) -> ApiError {
    ApiError(aihub_core::Error::PayloadTooLarge(
        aihub_core::ErrorDetail::new(format!(
            "The request body is larger than this gateway accepts ({limit} bytes)."
        )),
    ))
}

/// Largest refused body the gateway still reads to the end before answering 413.
const DRAIN_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Longest the gateway spends reading a refused body.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads and discards a refused body (up to [`DRAIN_MAX_BYTES`] and [`DRAIN_TIMEOUT`]), so
/// that a client still sending it receives the 413 instead of a connection reset: a server
/// that answers early and closes while bytes are arriving makes the kernel reset the
/// connection, and the client never sees the answer.
async fn drain(req: Request, declared: usize) {
    if declared > DRAIN_MAX_BYTES {
        return;
    }
    let mut body = req.into_body().into_data_stream();
    let read_all = async {
        use futures::StreamExt as _;
        while let Some(Ok(_)) = body.next().await {}
    };
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, read_all).await;
}

/// Parses `bytes` as `T`, naming the field at fault on error.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    aihub_core::types::from_json_slice(bytes).map_err(ApiError)
}

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.config.max_body_bytes;
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if let Some(declared) = declared.filter(|n| *n > limit) {
            drain(req, declared).await;
            return Err(too_large(limit));
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|e| {
                let over = std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
                if over {
                    too_large(limit)
                } else {
                    ApiError::bad_request(format!("Could not read the request body: {e}"), "body")
                }
            })?;
        parse(&bytes).map(Json)
    }
}
