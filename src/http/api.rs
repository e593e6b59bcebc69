//! `/api/v1/changes`: list, show, approve and reject plans (JSON), behind the
//! bearer token; and the approve/reject operations the page shares.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{ApiAuth, AppState};
use crate::store::{self, PlanId, PlanRecord, TargetCheck};

/// Body of `POST /api/v1/changes/{id}/approve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproveBody {
    pub(crate) by: String,
    #[serde(default)]
    pub(crate) comment: Option<String>,
}

/// Body of `POST /api/v1/changes/{id}/reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectBody {
    pub(crate) by: String,
    pub(crate) reason: String,
}

/// An error answer: status and message (sent as `{"error": ...}`).
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(json!({ "error": self.message }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> Self {
        let status = match &e {
            store::Error::NotFound(_) | store::Error::UnknownChange(_) => StatusCode::NOT_FOUND,
            store::Error::WrongStatus { .. } | store::Error::Stale { .. } => StatusCode::CONFLICT,
            e if e.is_retriable() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// Message of the 403 when no token is configured.
pub(crate) const CLOSED_MESSAGE: &str = "no API token is configured ([http] token), so the API \
     refuses approve and reject; configure a token, set [http] open_api = true to allow them \
     without one, or use `ddlsync approve` / `ddlsync reject` on the agent's host";

/// Checks `given` (the token a caller presented, if any) for `access`.
pub(crate) fn check_token(
    auth: &ApiAuth,
    given: Option<&str>,
    access: Access,
) -> Result<(), ApiError> {
    match auth {
        ApiAuth::Token(t) => match given {
            Some(g) if t.matches(g) => Ok(()),
            Some(_) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "the bearer token is wrong",
            )),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "this API needs `Authorization: Bearer <token>`",
            )),
        },
        ApiAuth::Closed if access == Access::Write => {
            Err(ApiError::new(StatusCode::FORBIDDEN, CLOSED_MESSAGE))
        }
        ApiAuth::Closed | ApiAuth::Open => Ok(()),
    }
}

fn authorize(state: &AppState, headers: &HeaderMap, access: Access) -> Result<(), ApiError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    check_token(&state.auth, given, access)
}

/// Runs a store call off the async threads.
pub(crate) async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&store::Store) -> store::Result<T> + Send + 'static,
{
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("store task failed: {e}"),
        )),
    }
}

fn plan_id(raw: &str) -> Result<PlanId, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{raw:?} is not a plan id (a number, as listed by GET /api/v1/changes)"),
        )
    })
}

fn need(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`{field}` must not be empty"),
        ));
    }
    Ok(())
}

/// Approves plan `id` by `by`, checking the live target when the agent gave a
/// verifier, else the last target fingerprint the agent recorded (the agent
/// verifies again before applying).
pub(crate) async fn approve_plan(
    state: &AppState,
    id: PlanId,
    by: String,
    comment: Option<String>,
) -> Result<PlanRecord, ApiError> {
    need("by", &by)?;
    let current: Option<Option<String>> = match &state.verifier {
        None => None,
        Some(v) => {
            let plan = blocking(state, move |s| s.get(id)).await?;
            match v.current_fingerprint(&plan.target_table).await {
                Ok(fp) => Some(fp),
                Err(why) => {
                    tracing::warn!(plan = %id, table = %plan.target_table, error = %why,
                        "Cannot read the target for the approval check; the agent verifies before applying.");
                    None
                }
            }
        }
    };
    let by_log = by.clone();
    let now = std::time::SystemTime::now();
    let rec = blocking(state, move |s| {
        let check = match &current {
            Some(fp) => TargetCheck::Current(fp.as_deref()),
            None => TargetCheck::LastSeen,
        };
        s.approve(id, &by, comment.as_deref(), check, now)
    })
    .await;
    match &rec {
        Ok(p) => {
            tracing::info!(plan = %id, table = %p.target_table, by = %by_log, "Plan approved through the HTTP API.");
            state.approvals.notify_one();
        }
        Err(e) => {
            tracing::info!(plan = %id, by = %by_log, error = %e.message, "Approval refused.");
        }
    }
    rec
}

/// Rejects plan `id`.
pub(crate) async fn reject_plan(
    state: &AppState,
    id: PlanId,
    by: String,
    reason: String,
) -> Result<PlanRecord, ApiError> {
    need("by", &by)?;
    need("reason", &reason)?;
    let by_log = by.clone();
    let now = std::time::SystemTime::now();
    let rec = blocking(state, move |s| s.reject(id, &by, &reason, now)).await?;
    tracing::info!(plan = %id, table = %rec.target_table, by = %by_log, "Plan rejected through the HTTP API.");
    Ok(rec)
}

fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

/// `GET /api/v1/changes`: the pending plans.
pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let r = async {
        authorize(&state, &headers, Access::Read)?;
        let plans = blocking(&state, |s| s.pending()).await?;
        Ok::<_, ApiError>(Json(json!({ "plans": plans })))
    };
    r.await.into_response()
}

/// `GET /api/v1/changes/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let r = async {
        authorize(&state, &headers, Access::Read)?;
        let id = plan_id(&id)?;
        Ok::<_, ApiError>(Json(blocking(&state, move |s| s.get(id)).await?))
    };
    r.await.into_response()
}

/// `POST /api/v1/changes/{id}/approve` with `{"by": ..., "comment": ...}`.
pub(crate) async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let r = async {
        authorize(&state, &headers, Access::Write)?;
        let id = plan_id(&id)?;
        let b: ApproveBody = body(&bytes)?;
        Ok::<_, ApiError>(Json(approve_plan(&state, id, b.by, b.comment).await?))
    };
    r.await.into_response()
}

/// `POST /api/v1/changes/{id}/reject` with `{"by": ..., "reason": ...}`.
pub(crate) async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let r = async {
        authorize(&state, &headers, Access::Write)?;
        let id = plan_id(&id)?;
        let b: RejectBody = body(&bytes)?;
        Ok::<_, ApiError>(Json(reject_plan(&state, id, b.by, b.reason).await?))
    };
    r.await.into_response()
}
