//! `POST /v1/embeddings`, OpenAI's wire format (float and base64 encodings).

use aihub_core::EmbeddingRequest;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::{failure_response, served_headers};
use crate::auth::KeyAuth;
use crate::gateway;
use crate::json::Json;
use crate::state::AppState;

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(state): State<AppState>,
    caller: KeyAuth,
    Json(request): Json<EmbeddingRequest>,
) -> Response {
    match gateway::embeddings(&state, caller, request).await {
        Ok(served) => served_headers(
            axum::Json(&served.value).into_response(),
            &served.request_id,
            &served.headers,
            served.cost,
        ),
        Err(failure) => failure_response(failure),
    }
}
