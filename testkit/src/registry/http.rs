//! The Confluent REST API over the store: routing, request parsing and
//! Confluent's response shapes and content type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::compat::Level;
use super::store::{Error, Store, Submitted, VersionSel, SCHEMA_TYPES};

/// Confluent's response content type.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

type Shared = Arc<Mutex<Store>>;
type Params = Query<HashMap<String, String>>;

fn reply(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: Value) -> Response {
    reply(StatusCode::OK, &body)
}

fn fail(e: &Error) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    reply(
        status,
        &json!({ "error_code": e.code, "message": e.message }),
    )
}

fn answer(r: Result<Value, Error>) -> Response {
    match r {
        Ok(v) => ok(v),
        Err(e) => fail(&e),
    }
}

fn flag(q: &HashMap<String, String>, name: &str) -> bool {
    q.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn lock(store: &Shared) -> std::sync::MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn submitted(body: &Bytes) -> Result<Submitted, Error> {
    let v: Submitted = serde_json::from_slice(body).map_err(|e| Error {
        code: 42201,
        message: format!("Invalid schema: request body: {e}"),
    })?;
    Ok(v)
}

fn level_body(body: &Bytes) -> Result<Level, Error> {
    let v: Value = serde_json::from_slice(body).map_err(|e| Error {
        code: 42203,
        message: format!("Invalid compatibility level: request body: {e}"),
    })?;
    let name = v
        .get("compatibility")
        .or_else(|| v.get("compatibilityLevel"))
        .and_then(Value::as_str);
    let name = name.unwrap_or_default();
    Level::parse(name).ok_or_else(|| Error::invalid_compatibility(name))
}

/// The router of the whole API.
pub fn router(store: Shared) -> Router {
    Router::new()
        .route("/", get(|| async { ok(json!({})) }))
        .route("/subjects", get(list_subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route(
            "/subjects/{subject}/versions",
            get(list_versions).post(register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(get_version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(get_version_schema),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(referenced_by),
        )
        .route("/schemas/types", get(|| async { ok(json!(SCHEMA_TYPES)) }))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/schema", get(schema_text_by_id))
        .route("/schemas/ids/{id}/versions", get(id_versions))
        .route("/schemas/ids/{id}/subjects", get(id_subjects))
        .route(
            "/config",
            get(get_global).put(put_global).delete(delete_global),
        )
        .route(
            "/config/{subject}",
            get(get_subject_config)
                .put(put_subject_config)
                .delete(delete_subject_config),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(compat_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compat_version),
        )
        .route(
            "/mode",
            get(|| async { ok(json!({ "mode": "READWRITE" })) }),
        )
        .fallback(|| async {
            reply(
                StatusCode::NOT_FOUND,
                &json!({ "error_code": 404, "message": "HTTP 404 Not Found" }),
            )
        })
        .with_state(store)
}

async fn list_subjects(State(s): State<Shared>, Query(q): Params) -> Response {
    ok(json!(lock(&s).subjects(flag(&q, "deleted"))))
}

async fn list_versions(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
) -> Response {
    answer(
        lock(&s)
            .versions(&subject, flag(&q, "deleted"))
            .map(|v| json!(v)),
    )
}

async fn register(State(s): State<Shared>, Path(subject): Path<String>, body: Bytes) -> Response {
    let r = submitted(&body).and_then(|sub| lock(&s).register(&subject, &sub));
    answer(r.map(|id| json!({ "id": id })))
}

async fn lookup(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
    body: Bytes,
) -> Response {
    let r = submitted(&body).and_then(|sub| lock(&s).lookup(&subject, &sub, flag(&q, "deleted")));
    answer(r.map(|v| json!(v)))
}

async fn get_version(
    State(s): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    let r = VersionSel::parse(&version)
        .and_then(|sel| lock(&s).version(&subject, sel, flag(&q, "deleted")));
    answer(r.map(|v| json!(v)))
}

async fn get_version_schema(
    State(s): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    let r = VersionSel::parse(&version)
        .and_then(|sel| lock(&s).version(&subject, sel, flag(&q, "deleted")));
    match r {
        Ok(v) => match serde_json::from_str::<Value>(&v.schema) {
            Ok(parsed) => ok(parsed),
            Err(_) => reply(StatusCode::OK, &Value::String(v.schema)),
        },
        Err(e) => fail(&e),
    }
}

async fn referenced_by(
    State(s): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
) -> Response {
    let r = VersionSel::parse(&version).and_then(|sel| lock(&s).version(&subject, sel, false));
    answer(r.map(|_| json!([])))
}

async fn delete_subject(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
) -> Response {
    answer(
        lock(&s)
            .delete_subject(&subject, flag(&q, "permanent"))
            .map(|v| json!(v)),
    )
}

async fn delete_version(
    State(s): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    let r = VersionSel::parse(&version)
        .and_then(|sel| lock(&s).delete_version(&subject, sel, flag(&q, "permanent")));
    answer(r.map(|v| json!(v)))
}

fn parse_id(id: &str) -> Result<u32, Error> {
    id.parse().map_err(|_| Error {
        code: 40403,
        message: format!("Schema {id} not found"),
    })
}

async fn schema_by_id(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let store = lock(&s);
    let r = parse_id(&id).and_then(|id| store.schema_by_id(id).cloned());
    answer(r.map(|st| {
        let mut body = json!({ "schema": st.schema });
        if st.schema_type != "AVRO" {
            body["schemaType"] = json!(st.schema_type);
        }
        if !st.references.is_empty() {
            body["references"] = json!(st.references);
        }
        body
    }))
}

async fn schema_text_by_id(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let store = lock(&s);
    match parse_id(&id).and_then(|id| store.schema_by_id(id).cloned()) {
        Ok(st) => match serde_json::from_str::<Value>(&st.schema) {
            Ok(parsed) => ok(parsed),
            Err(_) => ok(Value::String(st.schema)),
        },
        Err(e) => fail(&e),
    }
}

async fn id_versions(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Response {
    let store = lock(&s);
    let r = parse_id(&id).and_then(|id| store.id_usages(id, flag(&q, "deleted")));
    answer(r.map(|u| {
        json!(u
            .into_iter()
            .map(|(subject, version)| json!({ "subject": subject, "version": version }))
            .collect::<Vec<_>>())
    }))
}

async fn id_subjects(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Response {
    let store = lock(&s);
    let r = parse_id(&id).and_then(|id| store.id_usages(id, flag(&q, "deleted")));
    answer(r.map(|u| {
        let mut names: Vec<String> = u.into_iter().map(|(s, _)| s).collect();
        names.dedup();
        json!(names)
    }))
}

async fn get_global(State(s): State<Shared>) -> Response {
    ok(json!({ "compatibilityLevel": lock(&s).global_level().name() }))
}

async fn put_global(State(s): State<Shared>, body: Bytes) -> Response {
    let r = level_body(&body).and_then(|l| lock(&s).set_global_level(l).map(|()| l));
    answer(r.map(|l| json!({ "compatibility": l.name() })))
}

async fn delete_global(State(s): State<Shared>) -> Response {
    let mut store = lock(&s);
    let old = store.global_level();
    answer(
        store
            .set_global_level(Level::Backward)
            .map(|()| json!({ "compatibilityLevel": old.name() })),
    )
}

async fn get_subject_config(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
) -> Response {
    let store = lock(&s);
    match store.subject_level(&subject) {
        Some(l) => ok(json!({ "compatibilityLevel": l.name() })),
        None if flag(&q, "defaultToGlobal") => {
            ok(json!({ "compatibilityLevel": store.global_level().name() }))
        }
        None => fail(&Error::subject_config_not_found(&subject)),
    }
}

async fn put_subject_config(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    let r = level_body(&body).and_then(|l| lock(&s).set_subject_level(&subject, l).map(|()| l));
    answer(r.map(|l| json!({ "compatibility": l.name() })))
}

async fn delete_subject_config(State(s): State<Shared>, Path(subject): Path<String>) -> Response {
    answer(
        lock(&s)
            .clear_subject_level(&subject)
            .map(|l| json!({ "compatibilityLevel": l.name() })),
    )
}

fn compat_answer(r: Result<Vec<String>, Error>, q: &HashMap<String, String>) -> Response {
    answer(r.map(|messages| {
        let mut body = json!({ "is_compatible": messages.is_empty() });
        if flag(q, "verbose") {
            body["messages"] = json!(messages);
        }
        body
    }))
}

async fn compat_all(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
    body: Bytes,
) -> Response {
    let r = submitted(&body).and_then(|sub| lock(&s).compatibility(&subject, None, &sub));
    compat_answer(r, &q)
}

async fn compat_version(
    State(s): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
    body: Bytes,
) -> Response {
    let r = VersionSel::parse(&version).and_then(|sel| {
        let sub = submitted(&body)?;
        lock(&s).compatibility(&subject, Some(sel), &sub)
    });
    compat_answer(r, &q)
}
