//! The agent's HTTP server (axum): `/healthz`, `/readyz`, `/metrics`
//! (Prometheus text), the approval API under `/api/v1/changes` and a small
//! server-rendered approval page at `/`.
//!
//! Owns routing, the bearer-token check (constant-time) and the API's answers.
//! The API's `ID` is a plan id (`ddlsync pending` shows them). With a token
//! configured every API call needs `Authorization: Bearer <token>` (401
//! otherwise). Without one, reads are open and approve/reject are refused
//! (403, with the explanation) unless `[http] open_api = true`; the server logs
//! which at start. The page's forms post the token the user types.
//!
//! Must not: log the token, hold a lock across `.await` (store calls run in
//! `spawn_blocking`), or apply anything — an approval only records; the agent
//! picks it up (woken through [`AppState::approvals`], and polling). Shuts down
//! gracefully when the [`CancellationToken`] passed to [`serve`] is cancelled.

mod api;
mod page;
mod ready;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::HttpConfig;
use crate::metrics::Metrics;
use crate::model::TableId;
use crate::store::Store;

pub use ready::Readiness;

/// Errors of the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listener failed.
    #[error("http server: {0}")]
    Serve(#[source] std::io::Error),
}

/// Result of server operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The API's bearer token; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// A token (from the config or the environment).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// Whether `given` is the token, compared in constant time.
    pub fn matches(&self, given: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), given.as_bytes())
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

/// Who may approve and reject through the API.
#[derive(Clone, PartialEq, Eq)]
pub enum ApiAuth {
    /// Every API call needs this bearer token.
    Token(ApiToken),
    /// No token configured: reads only; approve/reject refused (403).
    Closed,
    /// No token and `open_api = true`: anyone who reaches the port may approve.
    Open,
}

impl std::fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApiAuth::Token(_) => "Token(***)",
            ApiAuth::Closed => "Closed",
            ApiAuth::Open => "Open",
        })
    }
}

impl ApiAuth {
    /// From the `[http]` section (no section: closed).
    pub fn from_config(http: Option<&HttpConfig>) -> Self {
        match http {
            Some(HttpConfig { token: Some(t), .. }) if !t.expose().is_empty() => {
                ApiAuth::Token(ApiToken::new(t.expose()))
            }
            Some(HttpConfig { open_api: true, .. }) => ApiAuth::Open,
            _ => ApiAuth::Closed,
        }
    }
}

/// A boxed future (object-safe async).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Reads the live target fingerprint, so an API approval is checked against
/// the target now (stale → refused with the reason). Without one, approvals
/// are recorded "to be verified" by the agent, as from the desk.
pub trait TargetVerifier: Send + Sync {
    /// The fingerprint of `SHOW CREATE TABLE` of `table` now (`None`: missing),
    /// or why it cannot be read.
    fn current_fingerprint<'a>(
        &'a self,
        table: &'a TableId,
    ) -> BoxFuture<'a, std::result::Result<Option<String>, String>>;
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<Store>,
    /// The metric set.
    pub metrics: Arc<Metrics>,
    /// Readiness.
    pub readiness: Readiness,
    /// Who may approve.
    pub auth: ApiAuth,
    /// Live target check for approvals, when the agent provides one.
    pub verifier: Option<Arc<dyn TargetVerifier>>,
    /// Notified after each approval, so the agent picks it up at once.
    pub approvals: Arc<Notify>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store.path())
            .field("auth", &self.auth)
            .field("verifier", &self.verifier.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State without a live target check.
    pub fn new(
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        readiness: Readiness,
        auth: ApiAuth,
    ) -> Self {
        Self {
            store,
            metrics,
            readiness,
            auth,
            verifier: None,
            approvals: Arc::new(Notify::new()),
        }
    }

    /// Adds the live target check.
    pub fn with_verifier(mut self, verifier: Arc<dyn TargetVerifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/ui/changes/{id}/approve", post(page::approve))
        .route("/ui/changes/{id}/reject", post(page::reject))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/changes", get(api::list))
        .route("/api/v1/changes/{id}", get(api::show))
        .route("/api/v1/changes/{id}/approve", post(api::approve))
        .route("/api/v1/changes/{id}/reject", post(api::reject))
        .with_state(state)
}

/// Serves until `shutdown` is cancelled, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> Result<()> {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    match &state.auth {
        ApiAuth::Token(_) => {
            tracing::info!(listen = %addr, "HTTP API approvals require the bearer token.");
        }
        ApiAuth::Closed => tracing::warn!(
            listen = %addr,
            "No HTTP API token is configured: the API refuses approve and reject \
             (set [http] token, or open_api = true)."
        ),
        ApiAuth::Open => tracing::warn!(
            listen = %addr,
            "The HTTP API is open (open_api = true, no token): anyone who reaches it can \
             approve or reject changes."
        ),
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(Error::Serve)?;
    tracing::info!(listen = %addr, "HTTP server stopped.");
    Ok(())
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.readiness.check() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

async fn metrics(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.counts()).await {
        Ok(Ok((pending, held))) => {
            state.metrics.set_pending_changes(pending);
            state.metrics.set_held_tables(held);
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "Cannot count pending changes for /metrics."),
        Err(e) => tracing::warn!(error = %e, "Cannot count pending changes for /metrics."),
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (i, x) in a.iter().enumerate() {
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
