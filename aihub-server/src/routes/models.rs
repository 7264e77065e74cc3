//! `GET /v1/models` and `POST /v1/embeddings`.

use aihub_core::{EmbeddingInput, EmbeddingRequest, ModelList, Usage};
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
    let prompt_tokens = match &request.input {
        EmbeddingInput::Tokens(t) => t.len(),
        EmbeddingInput::TokenBatches(b) => b.iter().map(Vec::len).sum(),
        input => input
            .texts()
            .iter()
            .map(|t| aihub_core::tokens::count_text(&exchange.model.id, t))
            .sum(),
    };
    let prompt_tokens = u64::try_from(prompt_tokens).unwrap_or(u64::MAX);
    let ticket = match exchange.admit(&state, prompt_tokens, 0).await {
        Ok(ticket) => ticket,
        Err(refused) => return Ok(with_request_id(refused.into_response(), &exchange.id)),
    };
    let headers = ticket.headers;
    let result = state.client.embeddings().create(request).await;
    let usage = match &result {
        Ok(r) => Usage::new(r.usage.prompt_tokens, 0),
        Err(_) => Usage::default(),
    };
    exchange.settle(&state, ticket, &usage).await;
    let record = exchange.record_result(state.now_ms(), &result, |_| usage.clone());
    state.usage.record(record).await;
    let id = exchange.id;
    let mut response = match result {
        Ok(mut r) => {
            r.model = exchange.model.id;
            axum::Json(r).into_response()
        }
        Err(e) => ApiError::from_upstream(e.with_request_id(Some(id.clone()))).into_response(),
    };
    headers.apply(response.headers_mut());
    Ok(with_request_id(response, &id))
}
