//! `GET /v1/models` and `POST /v1/embeddings`.

use aihub_core::{EmbeddingRequest, ModelList, Usage};
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::chat::{request_id, with_request_id};
use crate::auth::KeyAuth;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use crate::usage::Exchange;

/// `GET /v1/models`: the models this key may use, with owner, limits and prices.
pub async fn list(State(state): State<AppState>, _auth: KeyAuth) -> Json<ModelList> {
    Json(ModelList {
        object: "list".into(),
        data: state.models.list(),
    })
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(state): State<AppState>,
    auth: KeyAuth,
    Json(mut request): Json<EmbeddingRequest>,
) -> ApiResult<Response> {
    if request.input.is_empty() {
        return Err(ApiError::bad_request("'input' must not be empty.", "input"));
    }
    let routed = state.models.resolve(&request.model)?;
    request.model.clone_from(&routed.id);
    let exchange = Exchange {
        id: request_id(),
        auth,
        model: routed,
        started_ms: state.now_ms(),
        stream: false,
    };
    let result = state.client.embeddings().create(request).await;
    let record = exchange.record_result(state.now_ms(), &result, |r| {
        Usage::new(r.usage.prompt_tokens, 0)
    });
    state.usage.record(record).await;
    let id = exchange.id;
    match result {
        Ok(mut r) => {
            r.model = exchange.model.id;
            Ok(with_request_id(axum::Json(r).into_response(), &id))
        }
        Err(e) => Err(ApiError::from_upstream(e.with_request_id(Some(id)))),
    }
}
