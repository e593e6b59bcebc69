//! The agent's HTTP server over a real socket (port 0): bearer-token checks
//! (401 without or with a wrong token, 403 when no token is configured and the
//! API is not open), approve/reject, a stale plan refused with the reason,
//! `/metrics` names, `/readyz` flipping, the approval page and graceful
//! shutdown.

#[path = "support/desk_plans.rs"]
mod desk_plans;

use std::sync::Arc;

use ddlsync::http::{serve, ApiAuth, ApiToken, AppState, BoxFuture, Readiness, TargetVerifier};
use ddlsync::metrics::{Metrics, NAMES};
use ddlsync::model::TableId;
use ddlsync::store::{PlanId, PlanStatus, Store};
use desk_plans::{at, context, queued_drop};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "s3cret-token";

struct Server {
    base: String,
    store: Arc<Store>,
    state: AppState,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), ddlsync::http::Error>>,
    client: reqwest::Client,
}

impl Server {
    async fn start(auth: ApiAuth, verifier: Option<Arc<dyn TargetVerifier>>) -> (Server, PlanId) {
        let store = Arc::new(Store::open_in_memory().unwrap());
        let id = store
            .record_plan(&queued_drop(), &context(), at(0))
            .unwrap();
        let mut state = AppState::new(
            store.clone(),
            Arc::new(Metrics::new()),
            Readiness::new(),
            auth,
        );
        if let Some(v) = verifier {
            state = state.with_verifier(v);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(listener, state.clone(), shutdown.clone()));
        let server = Server {
            base,
            store,
            state,
            shutdown,
            task,
            client: reqwest::Client::new(),
        };
        (server, id)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut req = self.client.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, String) {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

fn token_auth() -> ApiAuth {
    ApiAuth::Token(ApiToken::new(TOKEN))
}

#[tokio::test]
async fn api_needs_the_token() {
    let (s, id) = Server::start(token_auth(), None).await;
    let (status, _) = s.get("/api/v1/changes", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s.get("/api/v1/changes", Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let approve = format!("/api/v1/changes/{id}/approve");
    let (status, body) = s.post(&approve, None, json!({"by": "mallory"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = s
        .post(&approve, Some("s3cret-tokeN"), json!({"by": "mallory"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.store.get(id).unwrap().status, PlanStatus::Pending);

    let (status, text) = s.get("/api/v1/changes", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["plans"][0]["id"], id.0);
    let (status, text) = s.get(&format!("/api/v1/changes/{id}"), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, _) = s.get("/api/v1/changes/999", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test]
async fn approve_with_the_token_works() {
    let (s, id) = Server::start(token_auth(), None).await;
    let notified = s.state.approvals.clone();
    let (status, body) = s
        .post(
            &format!("/api/v1/changes/{id}/approve"),
            Some(TOKEN),
            json!({"by": "alice", "comment": "ok"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "approved");
    assert_eq!(body["approval"]["by"], "alice");
    // The agent is woken at once.
    tokio::time::timeout(std::time::Duration::from_secs(1), notified.notified())
        .await
        .unwrap();
    // Approving twice says why not.
    let (status, body) = s
        .post(
            &format!("/api/v1/changes/{id}/approve"),
            Some(TOKEN),
            json!({"by": "bob"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("already approved by alice"),
        "{body}"
    );
    s.stop().await;
}

#[tokio::test]
async fn no_token_refuses_writes_unless_open() {
    let (s, id) = Server::start(ApiAuth::Closed, None).await;
    let (status, _) = s.get("/api/v1/changes", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .post(
            &format!("/api/v1/changes/{id}/approve"),
            None,
            json!({"by": "alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body["error"].as_str().unwrap().contains("open_api"),
        "{body}"
    );
    let (status, _) = s
        .post(
            &format!("/api/v1/changes/{id}/reject"),
            None,
            json!({"by": "alice", "reason": "no"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    s.stop().await;

    let (s, id) = Server::start(ApiAuth::Open, None).await;
    let (status, body) = s
        .post(
            &format!("/api/v1/changes/{id}/reject"),
            None,
            json!({"by": "carol", "reason": "keep it"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "rejected");
    s.stop().await;
}

/// A target that changed since the plan was made.
struct ChangedTarget;

impl TargetVerifier for ChangedTarget {
    fn current_fingerprint<'a>(
        &'a self,
        _table: &'a TableId,
    ) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async { Ok(Some("sha256:feedfacefeedfacefeed".to_owned())) })
    }
}

#[tokio::test]
async fn stale_plan_is_refused_with_the_reason() {
    let (s, id) = Server::start(token_auth(), Some(Arc::new(ChangedTarget))).await;
    let (status, body) = s
        .post(
            &format!("/api/v1/changes/{id}/approve"),
            Some(TOKEN),
            json!({"by": "alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let msg = body["error"].as_str().unwrap();
    assert!(msg.contains(&format!("plan {id} is stale")), "{msg}");
    assert!(msg.contains("sha256:feedfacefeed"), "{msg}");
    assert_eq!(s.store.get(id).unwrap().status, PlanStatus::Stale);
    assert!(s.store.take_approved(at(5)).unwrap().is_empty());
    s.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let (s, _id) = Server::start(token_auth(), None).await;
    assert_eq!(s.get("/healthz", None).await.0, StatusCode::OK);
    let (status, text) = s.get("/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(text.contains("history is not rebuilt"), "{text}");
    s.state.readiness.set_history_rebuilt();
    s.state.readiness.set_starrocks_answered();
    let (status, text) = s.get("/readyz", None).await;
    assert_eq!(status, StatusCode::OK, "{text}");

    s.state
        .metrics
        .record_failure(ddlsync::metrics::FailureCause::UnparseableDdl);
    let (status, text) = s.get("/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    for name in NAMES {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(text.contains("ddlsync_pending_changes 1"), "{text}");
    assert!(text.contains("ddlsync_held_tables 1"), "{text}");
    assert!(
        text.contains(r#"ddlsync_failures_total{cause="unparseable_ddl"} 1"#),
        "{text}"
    );
    s.stop().await;
}

#[tokio::test]
async fn approval_page_lists_and_posts() {
    let (s, id) = Server::start(token_auth(), None).await;
    let (status, html) = s.get("/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("Plan {id}: shop.orders")), "{html}");
    assert!(html.contains("DROP COLUMN"), "{html}");
    assert!(html.contains("type=\"password\" name=\"token\""), "{html}");
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));

    let url = s.url(&format!("/ui/changes/{id}/approve"));
    let resp = s
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=nope&by=alice&comment=")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = s
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}&by=alice&comment=fine"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("approved"));
    assert_eq!(s.store.get(id).unwrap().status, PlanStatus::Approved);
    s.stop().await;
}
