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
        if declared.is_some_and(|n| n > limit) {
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
