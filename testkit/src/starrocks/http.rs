//! HTTP side: the FE port answers Stream Load with a 307 redirect to the BE port and hosts the
//! `/_testkit/faults` admin endpoint; the BE port runs the load and serves error logs.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::engine::Engine;
use super::faults::FaultRequest;
use super::stream_load::{LoadRequest, Reply};

/// Shared context of both HTTP servers.
pub struct HttpCtx {
    /// The engine.
    pub engine: Arc<Mutex<Engine>>,
    /// Accepted user.
    pub user: String,
    /// Accepted password.
    pub password: String,
    /// BE address (redirect target).
    pub be_addr: SocketAddr,
}

type Resp = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        "application/json; charset=utf-8"
            .parse()
            .expect("static header"),
    );
    r
}

fn authorized(ctx: &HttpCtx, req: &Request<Incoming>) -> bool {
    let Some(v) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(b64) = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&raw);
    let (u, p) = text.split_once(':').unwrap_or((&text, ""));
    u == ctx.user && p == ctx.password
}

fn unauthorized() -> Resp {
    let mut r = reply(
        StatusCode::UNAUTHORIZED,
        r#"{"status":"FAILED","msg":"Access denied: wrong user or password"}"#,
    );
    r.headers_mut().insert(
        "www-authenticate",
        "Basic realm=\"StarRocks\"".parse().expect("static header"),
    );
    r
}

fn stream_load_path(path: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", db, table, "_stream_load"] => Some((db.to_string(), table.to_string())),
        _ => None,
    }
}

/// FE handler.
pub async fn fe(ctx: Arc<HttpCtx>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let path = req.uri().path().to_string();
    if path == "/_testkit/faults" {
        if req.method() == Method::GET {
            let f = ctx
                .engine
                .lock()
                .map(|e| serde_json::to_string(&e.faults).unwrap_or_default())
                .unwrap_or_default();
            return Ok(reply(StatusCode::OK, f));
        }
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let parsed: Result<FaultRequest, _> = serde_json::from_slice(&body);
        return Ok(match parsed {
            Err(e) => reply(
                StatusCode::BAD_REQUEST,
                format!(r#"{{"error":"{}"}}"#, e.to_string().replace('"', "'")),
            ),
            Ok(r) => {
                let Ok(mut e) = ctx.engine.lock() else {
                    return Ok(reply(StatusCode::INTERNAL_SERVER_ERROR, "{}"));
                };
                if let Some(ms) = e.faults.apply(&r) {
                    e.cfg.job_ms = ms;
                }
                tracing::info!(faults = ?e.faults, "faults updated");
                reply(
                    StatusCode::OK,
                    serde_json::to_string(&e.faults).unwrap_or_default(),
                )
            }
        });
    }
    if path == "/api/health" {
        return Ok(reply(StatusCode::OK, r#"{"status":"OK","msg":"Success"}"#));
    }
    if stream_load_path(&path).is_some() {
        if req.method() != Method::PUT {
            return Ok(reply(
                StatusCode::METHOD_NOT_ALLOWED,
                r#"{"status":"FAILED","msg":"Only PUT is supported"}"#,
            ));
        }
        if !authorized(&ctx, &req) {
            return Ok(unauthorized());
        }
        let pq = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or(path);
        let mut r = reply(StatusCode::TEMPORARY_REDIRECT, "");
        let loc = format!("http://{}{pq}", ctx.be_addr);
        if let Ok(v) = loc.parse() {
            r.headers_mut().insert("location", v);
        }
        return Ok(r);
    }
    Ok(reply(
        StatusCode::NOT_FOUND,
        r#"{"status":"FAILED","msg":"Not Found"}"#,
    ))
}

/// BE handler.
pub async fn be(ctx: Arc<HttpCtx>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let path = req.uri().path().to_string();
    if path == "/api/_load_error_log" {
        let file = req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|kv| kv.strip_prefix("file="))
            .unwrap_or("")
            .to_string();
        let log = ctx
            .engine
            .lock()
            .ok()
            .and_then(|e| e.error_logs.get(&file).cloned());
        return Ok(match log {
            Some(l) => {
                let mut r = reply(StatusCode::OK, l);
                r.headers_mut().insert(
                    "content-type",
                    "text/plain; charset=utf-8".parse().expect("static header"),
                );
                r
            }
            None => reply(StatusCode::NOT_FOUND, "no such error log"),
        });
    }
    let Some((db, table)) = stream_load_path(&path) else {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            r#"{"status":"FAILED","msg":"Not Found"}"#,
        ));
    };
    if req.method() != Method::PUT {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"status":"FAILED","msg":"Only PUT is supported"}"#,
        ));
    }
    if !authorized(&ctx, &req) {
        return Ok(unauthorized());
    }
    let headers: BTreeMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(e) => {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                format!(r#"{{"Status":"Fail","Message":"{e}"}}"#),
            ))
        }
    };
    let label = headers.get("label").cloned();
    if let Some(l) = &label {
        let taken = match ctx.engine.lock() {
            Ok(mut e) => e.begin_label(&db, l),
            Err(_) => return Ok(reply(StatusCode::INTERNAL_SERVER_ERROR, "{}")),
        };
        if let Some(r) = taken {
            return Ok(reply(StatusCode::OK, r.json()));
        }
    }
    let delay = ctx
        .engine
        .lock()
        .map(|e| e.faults.delay_stream_load_ms)
        .unwrap_or(0);
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let load = LoadRequest {
        db,
        table,
        headers,
        body,
    };
    let mut out = match ctx.engine.lock() {
        Ok(mut e) => {
            if let Some(l) = &label {
                e.end_label(&load.db, l);
            }
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.stream_load(&load))) {
                Ok(r) => r,
                Err(_) => {
                    return Ok(reply(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        r#"{"Status":"Fail","Message":"internal error"}"#,
                    ))
                }
            }
        }
        Err(_) => return Ok(reply(StatusCode::INTERNAL_SERVER_ERROR, "{}")),
    };
    if let Reply::Load(r) = &mut out {
        if let Some(u) = r.error_url.as_mut() {
            *u = format!("http://{}{u}", ctx.be_addr);
        }
        tracing::info!(label = %r.label, status = %r.status, loaded = r.number_loaded_rows, filtered = r.number_filtered_rows, "stream load");
    }
    Ok(reply(StatusCode::OK, out.json()))
}

/// Serves HTTP on `listener` with `handler` until `shutdown` flips.
/// The FE port is never refused (it hosts the faults endpoint); the BE port honours
/// `refuse_connections_ms`.
pub async fn serve<F, Fut>(
    listener: TcpListener,
    ctx: Arc<HttpCtx>,
    handler: F,
    refusable: bool,
    mut shutdown: watch::Receiver<bool>,
) where
    F: Fn(Arc<HttpCtx>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Resp, Infallible>> + Send + 'static,
{
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                if refusable && ctx.engine.lock().map(|e| e.faults.refusing()).unwrap_or(false) {
                    drop(stream);
                    continue;
                }
                let ctx = ctx.clone();
                let svc = hyper::service::service_fn(move |req| handler(ctx.clone(), req));
                tokio::spawn(async move {
                    let served = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "http connection ended");
                    }
                });
            }
        }
    }
}
