//! `GET /v1/models`.

use aihub_core::ModelList;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::auth::KeyAuth;
use crate::json::Json;
use crate::state::AppState;

/// `GET /v1/models`: the models this key may use, with owner, limits and prices.
pub async fn list(State(state): State<AppState>, _caller: KeyAuth) -> Json<ModelList> {
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
