//! The approval page at `/`: server-rendered HTML (no scripts, no external
//! assets) listing the pending plans with their changes and SQL, and
//! approve/reject forms that post the token the user types.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::api::{
    approve_plan, blocking, check_token, reject_plan, Access, ApiError, CLOSED_MESSAGE,
};
use super::{ApiAuth, AppState};
use crate::store::{short_fingerprint, PlanId, PlanRecord};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}\
    pre{background:#f4f4f4;padding:.6em;overflow-x:auto}\
    table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}\
    section{border-top:2px solid #888;margin-top:1.5em}form{display:inline-block;margin:.5em 1em .5em 0}\
    .note{background:#fff4d6;padding:.5em}.error{background:#fde2e2;padding:.5em}";

/// Approve form fields.
#[derive(Debug, Deserialize)]
pub(crate) struct ApproveForm {
    #[serde(default)]
    token: String,
    by: String,
    #[serde(default)]
    comment: String,
}

/// Reject form fields.
#[derive(Debug, Deserialize)]
pub(crate) struct RejectForm {
    #[serde(default)]
    token: String,
    by: String,
    reason: String,
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

/// `GET /`.
pub(crate) async fn index(State(state): State<AppState>) -> Response {
    match blocking(&state, |s| s.pending()).await {
        Ok(plans) => Html(render_index(&plans, &state.auth)).into_response(),
        Err(e) => result_page(e.status, &e.message),
    }
}

fn render_index(plans: &[PlanRecord], auth: &ApiAuth) -> String {
    let mut b = String::from("<h1>ddlsync — changes waiting for approval</h1>\n");
    match auth {
        ApiAuth::Token(_) => {}
        ApiAuth::Closed => {
            b.push_str(&format!(
                "<p class=\"note\">{}.</p>\n",
                escape(CLOSED_MESSAGE)
            ));
        }
        ApiAuth::Open => b.push_str(
            "<p class=\"note\">The API is open (no token): anyone who reaches this page can \
             approve or reject.</p>\n",
        ),
    }
    if plans.is_empty() {
        b.push_str("<p>No changes are waiting for approval.</p>\n");
    }
    for p in plans {
        render_plan(&mut b, p, auth);
    }
    page("ddlsync approvals", &b)
}

fn render_plan(b: &mut String, p: &PlanRecord, auth: &ApiAuth) {
    b.push_str(&format!(
        "<section id=\"plan-{id}\"><h2>Plan {id}: {table}</h2>\n<p>source {source} · \
         recorded {at} · planned against target {fp}</p>\n",
        id = p.id,
        table = escape(&p.target_table.to_string()),
        source = escape(&p.source_table.to_string()),
        at = p.created_at,
        fp = escape(&short_fingerprint(p.from_fingerprint.as_deref())),
    ));
    b.push_str("<table><tr><th>change</th><th>decision</th><th>rule</th><th>reason</th></tr>\n");
    for c in &p.changes {
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>",
            escape(&c.change_id),
            c.decision,
            escape(&c.rule),
            escape(&c.rule_name),
            escape(&c.reason)
        ));
        b.push('\n');
    }
    b.push_str("</table>\n");
    let sql: Vec<&str> = p
        .pending_changes()
        .flat_map(|c| c.statements.iter().map(String::as_str))
        .collect();
    if !sql.is_empty() {
        b.push_str(&format!(
            "<h3>SQL after approval</h3><pre>{}</pre>\n",
            escape(&sql.join("\n"))
        ));
    }
    b.push_str(&format!(
        "<details><summary>Full plan</summary><pre>{}</pre></details>\n",
        escape(&p.text)
    ));
    let disabled = if matches!(auth, ApiAuth::Closed) {
        " disabled"
    } else {
        ""
    };
    let token = if matches!(auth, ApiAuth::Token(_)) {
        "<label>token <input type=\"password\" name=\"token\" required \
         autocomplete=\"off\"></label> "
    } else {
        ""
    };
    b.push_str(&format!(
        "<form method=\"post\" action=\"/ui/changes/{id}/approve\">{token}\
         <label>by <input name=\"by\" required></label> \
         <label>comment <input name=\"comment\"></label> \
         <button type=\"submit\"{disabled}>Approve</button></form>\n\
         <form method=\"post\" action=\"/ui/changes/{id}/reject\">{token}\
         <label>by <input name=\"by\" required></label> \
         <label>reason <input name=\"reason\" required></label> \
         <button type=\"submit\"{disabled}>Reject</button></form></section>\n",
        id = p.id
    ));
}

fn result_page(status: StatusCode, message: &str) -> Response {
    let class = if status.is_success() { "note" } else { "error" };
    let body = format!(
        "<h1>ddlsync</h1><p class=\"{class}\">{}</p><p><a href=\"/\">Back to the pending changes</a></p>",
        escape(message)
    );
    (status, Html(page("ddlsync approvals", &body))).into_response()
}

fn form_token(t: &str) -> Option<&str> {
    Some(t.trim()).filter(|t| !t.is_empty())
}

fn parse_id(raw: &str) -> Result<PlanId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, format!("{raw:?} is not a plan id")))
}

/// `POST /ui/changes/{id}/approve` (form).
pub(crate) async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ApproveForm>,
) -> Response {
    let r = async {
        check_token(&state.auth, form_token(&f.token), Access::Write)?;
        let id = parse_id(&id)?;
        let comment = Some(f.comment.trim().to_owned()).filter(|c| !c.is_empty());
        approve_plan(&state, id, f.by.trim().to_owned(), comment).await
    };
    match r.await {
        Ok(p) => result_page(
            StatusCode::OK,
            &format!(
                "Plan {} ({}) approved. The agent verifies the target and applies it.",
                p.id, p.target_table
            ),
        ),
        Err(e) => result_page(e.status, &e.message),
    }
}

/// `POST /ui/changes/{id}/reject` (form).
pub(crate) async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<RejectForm>,
) -> Response {
    let r = async {
        check_token(&state.auth, form_token(&f.token), Access::Write)?;
        let id = parse_id(&id)?;
        reject_plan(
            &state,
            id,
            f.by.trim().to_owned(),
            f.reason.trim().to_owned(),
        )
        .await
    };
    match r.await {
        Ok(p) => result_page(
            StatusCode::OK,
            &format!(
                "Plan {} ({}) rejected: it will not be applied.",
                p.id, p.target_table
            ),
        ),
        Err(e) => result_page(e.status, &e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn empty_page_says_so() {
        let html = render_index(&[], &ApiAuth::Closed);
        assert!(html.contains("No changes are waiting"));
        assert!(html.contains("refuses approve and reject"));
    }
}
