//! The router and the listener.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::config::CorsOrigins;
use crate::error::ApiError;
use crate::ingress::{chat, embeddings, models};
use crate::state::AppState;

/// The whole HTTP surface of the gateway.
pub fn app(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/chat/completions", post(chat::completions))
        .route("/embeddings", post(embeddings::embeddings))
        .route("/models", get(models::list));
    let api = crate::api::router(&state);
    let cors = cors_layer(&state.config.cors);
    let router = Router::new()
        .nest("/v1", v1)
        .nest("/api/v1", api)
        .route("/health", get(|| async { "ok" }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    // Outermost, so that a preflight is answered before routing and authentication.
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// Headers a browser script may read from the gateway's answers.
const EXPOSED_HEADERS: [&str; 13] = [
    "x-request-id",
    "x-aihub-cost",
    "x-aihub-cost-currency",
    "x-aihub-cache",
    "x-aihub-cache-age",
    "retry-after",
    "x-should-retry",
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
];

/// The CORS layer for the configured origins, or none. Request headers are mirrored from
/// the preflight: SDKs send their own families of headers (`x-stainless-*` from the
/// official OpenAI SDK, `x-client-request-id`, callers' `defaultHeaders`), no cookies are
/// involved (`Authorization: Bearer` only), and the origin check is what guards access.
fn cors_layer(origins: &CorsOrigins) -> Option<CorsLayer> {
    let allow_origin = match origins {
        CorsOrigins::None => return None,
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(
            list.iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        ),
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
            .max_age(Duration::from_secs(600)),
    )
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("Unknown endpoint {}.", uri.path()), "unknown_url")
}

async fn method_not_allowed() -> impl IntoResponse {
    let e = aihub_core::Error::bad_request("This method is not allowed on this endpoint.", None);
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(e.to_openai_json()),
    )
}

/// Serves `app(state)` on `listener` until `shutdown` completes, then lets open requests
/// finish for `shutdown_grace`; past it, open streams end with an error event and their
/// record, and the server returns. TCP_NODELAY is set on every accepted socket.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tasks = state.tasks.clone();
    let grace = state.config.shutdown_grace;
    let shutdown = async move {
        shutdown.await;
        tasks.start_deadline(grace);
    };
    let app = app(state);
    use axum::serve::ListenerExt as _;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
