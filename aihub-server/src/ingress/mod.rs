//! Wire formats in front of the pipeline: each handler decodes its format, calls
//! [`crate::gateway`], and encodes the answer. Today: OpenAI's Chat Completions,
//! Embeddings and Models.

pub mod chat;
pub mod embeddings;
pub mod models;

use aihub_core::pricing::Money;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::gateway::Failure;
use crate::limits::RateHeaders;

/// The gateway request id's header.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// What the request was charged.
const X_AIHUB_COST: HeaderName = HeaderName::from_static("x-aihub-cost");
/// The currency of `x-aihub-cost`.
const X_AIHUB_COST_CURRENCY: HeaderName = HeaderName::from_static("x-aihub-cost-currency");

/// `response` with an `x-request-id` header.
pub fn with_request_id(mut response: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        response.headers_mut().insert(X_REQUEST_ID, v);
    }
    response
}

/// The headers every served answer carries: rate limits, request id and, for answers whose
/// cost is known before the body, `x-aihub-cost` and `x-aihub-cost-currency`.
pub fn served_headers(
    mut response: Response,
    id: &str,
    rates: &RateHeaders,
    cost: Option<Money>,
) -> Response {
    // Room for every header added here at once, instead of the map growing twice.
    response.headers_mut().reserve(10);
    rates.apply(response.headers_mut());
    if let Some(cost) = cost {
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&cost.amount.normalize().to_string()) {
            headers.insert(X_AIHUB_COST, v);
        }
        headers.insert(
            X_AIHUB_COST_CURRENCY,
            HeaderValue::from_static(cost.currency.code()),
        );
    }
    with_request_id(response, id)
}

/// A failure in OpenAI's error shape, with its headers.
pub fn failure_response(failure: Failure) -> Response {
    let mut response = failure.error.into_response();
    if let Some(h) = &failure.headers {
        h.apply(response.headers_mut());
    }
    match &failure.request_id {
        Some(id) => with_request_id(response, id),
        None => response,
    }
}
