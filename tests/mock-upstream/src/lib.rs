//! mock-upstream: a simulator of the OpenAI, Azure OpenAI, Anthropic and Gemini HTTP APIs.
//!
//! It answers from each provider's published wire format (not from aihub-core), deterministically,
//! with honest token counts, and can be scripted per request (`x-mock` header or `model@key=value`)
//! to be slow, fail, retry, truncate or corrupt streams. See README.md for every knob.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = mock_upstream::spawn("127.0.0.1:0".parse().unwrap()).await?;
//! let base = server.openai_base(); // http://127.0.0.1:PORT/v1
//! # let _ = base;
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod anthropic;
mod conformance;
mod errors;
mod gemini;
mod openai;
mod reply;
mod scenario;
mod state;
mod stream;
mod tokens;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use conformance::vectors_dir;
pub use errors::Dialect;
pub use reply::WORDS;
pub use scenario::{KNOBS, SCENARIO_HEADER, SCENARIO_ID_HEADER, Scenario};
pub use state::{MockConfig, RECORD_LIMIT, RecordedRequest};
pub use tokens::{REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE, count as count_tokens, warm_up};

use errors::ApiError;

/// Runs the README's Rust examples as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
use state::AppState;

/// The simulator's routes, with fresh state.
pub fn router(config: MockConfig) -> Router {
    router_with_state(AppState::new(config))
}

fn router_with_state(app: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai::chat))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/v1/models", get(models))
        .route("/v1/models/{id}", get(model))
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/messages/count_tokens", post(anthropic::count_tokens))
        .route(
            "/openai/deployments/{deployment}/chat/completions",
            post(openai::azure_chat),
        )
        .route(
            "/openai/deployments/{deployment}/embeddings",
            post(openai::azure_embeddings),
        )
        .route("/v1beta/models", get(gemini::list))
        .route(
            "/v1beta/models/{*rest}",
            get(gemini::dispatch).post(gemini::dispatch),
        )
        .route(
            "/conformance/{group}/{name}/{*rest}",
            axum::routing::any(conformance::replay),
        )
        .route("/health", get(|| async { "ok" }))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(app.clone(), state::track))
        .with_state(app)
}

/// `GET /v1/models`: Anthropic's list when the request carries Anthropic headers, else OpenAI's.
async fn models(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if anthropic::is_anthropic(&headers) {
        anthropic::models(&app, &headers)
    } else {
        openai::models(&app, &headers)
    }
}

/// `GET /v1/models/{id}`, told apart the same way.
async fn model(
    State(app): State<Arc<AppState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    if anthropic::is_anthropic(&headers) {
        anthropic::model(&app, &headers, &id)
    } else {
        openai::model(&app, &headers, &id)
    }
}

/// Unknown routes: a 404 in the shape of the provider the path belongs to.
async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if path.starts_with("/v1beta") {
        ApiError::new(404, format!("Requested entity was not found: {path}"))
            .render(Dialect::Gemini)
    } else if anthropic::is_anthropic(&headers) {
        ApiError::new(404, format!("Not found: {path}")).render(Dialect::Anthropic)
    } else {
        ApiError::new(404, format!("Invalid URL ({method} {path})")).render(Dialect::OpenAi)
    }
}

/// Serves the simulator on `listener` (TCP_NODELAY on every connection) until `signal` completes,
/// then finishes the requests in flight.
pub async fn serve_until(
    listener: TcpListener,
    config: MockConfig,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_state(listener, AppState::new(config), signal).await
}

async fn serve_state(
    listener: TcpListener,
    app: Arc<AppState>,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tokens::warm_up().await;
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!("mock-upstream: TCP_NODELAY failed: {error}");
        }
    });
    axum::serve(listener, router_with_state(app))
        .with_graceful_shutdown(signal)
        .await
}

/// Starts the simulator with the default [`MockConfig`] on `addr` (port 0 picks a free port).
pub async fn spawn(addr: SocketAddr) -> std::io::Result<MockServer> {
    spawn_with(addr, MockConfig::default()).await
}

/// Starts the simulator on `addr` with `config`, in a task of the current tokio runtime.
pub async fn spawn_with(addr: SocketAddr, config: MockConfig) -> std::io::Result<MockServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    tokens::warm_up().await;
    let app = AppState::new(config);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_state(listener, app.clone(), async move {
        // A dropped sender also means "stop".
        let _ = rx.await;
    }));
    Ok(MockServer {
        addr,
        app,
        stop: Some(tx),
        task: Some(task),
    })
}

/// A running simulator; stops when dropped or on [`MockServer::shutdown`].
#[derive(Debug)]
pub struct MockServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    app: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl MockServer {
    /// `http://127.0.0.1:PORT` (a loopback address when bound to an unspecified one).
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// OpenAI base URL: `base_url()/v1`.
    pub fn openai_base(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    /// Anthropic base URL: `base_url()/v1`.
    pub fn anthropic_base(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    /// Gemini base URL: `base_url()/v1beta`.
    pub fn gemini_base(&self) -> String {
        format!("{}/v1beta", self.base_url())
    }

    /// Azure OpenAI endpoint: `base_url()` (routes are `/openai/deployments/{deployment}/…`).
    pub fn azure_base(&self) -> String {
        self.base_url()
    }

    /// Requests served since start or the last [`MockServer::reset`].
    pub fn request_count(&self) -> u64 {
        self.app.request_count()
    }

    /// The last ≤ 1000 requests, oldest first, secrets redacted (empty when recording is off).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.app.requests()
    }

    /// Clears the request counter, the recorded requests and the `fail_times` counters.
    pub fn reset(&self) {
        self.app.reset();
    }

    /// Stops accepting connections and waits (up to 5 s) for the requests in flight.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
