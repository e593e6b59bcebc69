//! `watch::RegistryWatcher` against the in-process registry emulator, fed with
//! the schemas a real Debezium + AvroConverter run registered
//! (`src/loader/avro/testdata/schema-registry.json`): new subject versions
//! become inline-schema events whose tables equal what the JSON converter's
//! inline schemas give; seen versions are not repeated; a registry that is
//! down is a retriable error and loses nothing.

use ddlsync::config::RegistryConfig;
use ddlsync::model::SourceDialect;
use ddlsync::source::{decode_line, Event, Located, Op};
use ddlsync::watch::{RegistryError, RegistryWatcher, SubjectFilter};
use serde_json::{json, Value};

const REGISTRY: &str = include_str!("../src/loader/avro/testdata/schema-registry.json");
const PG_JSON: &str =
    include_str!("../fixtures/debezium/captured/json/dbserver1.public.all_types.jsonl");
const MDB_JSON: &str =
    include_str!("../fixtures/debezium/captured/json/mdb1.inventory.all_types.jsonl");

fn cfg(url: &str) -> RegistryConfig {
    RegistryConfig {
        url: url.to_owned(),
        username: None,
        password: None,
        poll_interval_ms: 500,
    }
}

async fn start(addr: Option<std::net::SocketAddr>) -> testkit::registry::Handle {
    let mut c = testkit::registry::Config::default();
    if let Some(a) = addr {
        c.addr = a;
    }
    testkit::registry::Server::start(c)
        .await
        .expect("registry emulator")
}

fn captured_schema(id: u64) -> String {
    let registry: Value = serde_json::from_str(REGISTRY).unwrap();
    registry["schemas"][id.to_string()]["schema"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn register(url: &str, subject: &str, schema: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{url}/subjects/{subject}/versions"))
        .header("content-type", "application/vnd.schemaregistry.v1+json")
        .body(json!({ "schema": schema }).to_string())
        .send()
        .await
        .expect("register");
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
}

/// Registers every version of `subjects` from the captured run, in order.
async fn load(url: &str, subjects: &[&str]) {
    // The captured run's registry checked nothing: neither does this one.
    let resp = reqwest::Client::new()
        .put(format!("{url}/config"))
        .header("content-type", "application/vnd.schemaregistry.v1+json")
        .body(r#"{"compatibility": "NONE"}"#)
        .send()
        .await
        .expect("config");
    assert!(resp.status().is_success());
    let registry: Value = serde_json::from_str(REGISTRY).unwrap();
    for s in subjects {
        for id in registry["subjects"][s].as_array().unwrap() {
            register(url, s, &captured_schema(id.as_u64().unwrap())).await;
        }
    }
}

fn table_of(e: &Located<Event>) -> &ddlsync::model::SourceTable {
    match &e.value {
        Event::DataChange(dc) => dc.schema.as_ref().expect("schema"),
        other => panic!("not a data change: {other:?}"),
    }
}

/// The table the JSON converter's inline schema gives for the first record.
fn inline_table(jsonl: &str) -> ddlsync::model::SourceTable {
    let first = jsonl.lines().next().unwrap();
    let ev = decode_line(first, 1).unwrap().unwrap();
    table_of(&ev).clone()
}

#[tokio::test]
async fn new_versions_become_events_with_the_tables_inline_schemas_give() {
    let server = start(None).await;
    let url = server.url();
    load(
        &url,
        &[
            "dbserver1.public.all_types-key",
            "dbserver1.public.all_types-value",
            "mdb1.inventory.all_types-key",
            "mdb1.inventory.all_types-value",
            "mdb1-key",
            "mdb1-value",
            "mdb1.inventory.customers-value",
        ],
    )
    .await;
    let filter = SubjectFilter::from_topics(&[]).unwrap();
    let mut w = RegistryWatcher::new(&cfg(&url), filter).unwrap();
    let events = w.poll().await.unwrap();
    let natives: Vec<String> = events
        .iter()
        .map(|e| e.position.native.clone().unwrap())
        .collect();
    let mut expected = vec![
        "registry:dbserver1.public.all_types-value/versions/1".to_owned(),
        "registry:mdb1.inventory.all_types-value/versions/1".to_owned(),
    ];
    expected
        .extend((1..=7).map(|v| format!("registry:mdb1.inventory.customers-value/versions/{v}")));
    assert_eq!(
        natives, expected,
        "the schema-change subject mdb1-value is skipped"
    );

    let pg = &events[0];
    assert_eq!(
        pg.position.topic.as_deref(),
        Some("dbserver1.public.all_types")
    );
    let Event::DataChange(dc) = &pg.value else {
        panic!()
    };
    assert_eq!(
        (dc.op, &dc.before, &dc.after),
        (Op::Read, &Value::Null, &Value::Null)
    );
    assert_eq!(dc.dialect, SourceDialect::Postgres);
    assert_eq!(table_of(pg), &inline_table(PG_JSON));
    assert_eq!(table_of(pg).primary_key, vec!["id"]);
    assert_eq!(table_of(&events[1]), &inline_table(MDB_JSON));
    // customers: no -key subject registered, so no key (the history keeps its own).
    let Event::DataChange(c) = &events[2].value else {
        panic!()
    };
    assert!(c.key.is_none());
    assert_eq!(c.table.to_string(), "inventory.customers");

    // Nothing new: nothing again. A new version: just that one.
    assert!(w.poll().await.unwrap().is_empty());
    let mut v2: Value = serde_json::from_str(&captured_schema(4)).unwrap();
    let value_record = &mut v2["fields"][0]["type"][1];
    value_record["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "c_new", "type": ["null", "string"], "default": null}));
    register(&url, "dbserver1.public.all_types-value", &v2.to_string()).await;
    let events = w.poll().await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].position.native.as_deref(),
        Some("registry:dbserver1.public.all_types-value/versions/2")
    );
    let cols: Vec<&str> = table_of(&events[0])
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(cols.last(), Some(&"c_new"));
    assert_eq!(w.seen()["dbserver1.public.all_types-value"].len(), 2);
}

#[tokio::test]
async fn only_the_loaders_topics_are_watched_and_restored_versions_are_skipped() {
    let server = start(None).await;
    let url = server.url();
    load(
        &url,
        &[
            "dbserver1.public.all_types-value",
            "mdb1.inventory.customers-value",
        ],
    )
    .await;
    let by_name = SubjectFilter::from_topics(&["dbserver1.public.all_types".to_owned()]).unwrap();
    let mut w = RegistryWatcher::new(&cfg(&url), by_name).unwrap();
    assert_eq!(w.poll().await.unwrap().len(), 1);

    let by_regex = SubjectFilter::from_topics(&["^mdb1\\.inventory\\..*".to_owned()]).unwrap();
    let mut w = RegistryWatcher::new(&cfg(&url), by_regex).unwrap();
    for v in 1..=5 {
        w.mark_seen("mdb1.inventory.customers-value", v);
    }
    let events = w.poll().await.unwrap();
    let natives: Vec<_> = events
        .iter()
        .map(|e| e.position.native.clone().unwrap())
        .collect();
    assert_eq!(
        natives,
        [
            "registry:mdb1.inventory.customers-value/versions/6",
            "registry:mdb1.inventory.customers-value/versions/7"
        ]
    );
    assert!(matches!(
        SubjectFilter::from_topics(&["^(".to_owned()]),
        Err(RegistryError::Settings(_))
    ));
}

#[tokio::test]
async fn a_registry_that_is_down_is_retriable_and_loses_nothing() {
    let server = start(None).await;
    let addr = server.addr();
    let url = server.url();
    server.shutdown().await.unwrap();
    let mut w = RegistryWatcher::new(&cfg(&url), SubjectFilter::from_topics(&[]).unwrap()).unwrap();
    let e = w.poll().await.unwrap_err();
    assert!(e.is_retriable(), "{e:?}");
    assert!(
        matches!(&e, RegistryError::Unavailable { url: u, .. } if *u == url),
        "{e:?}"
    );
    assert!(e.to_string().contains("GET /subjects"), "{e}");
    // Back on the same address: the next poll gets everything.
    let server = start(Some(addr)).await;
    load(&url, &["dbserver1.public.all_types-value"]).await;
    assert_eq!(w.poll().await.unwrap().len(), 1);
    drop(server);
}
