//! [`AvroDecoder`] against the in-process registry emulator: fetch by id,
//! the cache (a second decode works with the registry stopped), an unknown
//! id, a registry that is down.

use serde_json::{json, Value};

use super::{b64, decode_captured, lines, PG_AVRO, REGISTRY};
use crate::config::RegistryConfig;
use crate::loader::avro::{AvroDecoder, AvroError};

fn cfg(url: &str) -> RegistryConfig {
    RegistryConfig {
        url: format!("{url}/"),
        username: None,
        password: None,
        poll_interval_ms: 1000,
    }
}

async fn start() -> testkit::registry::Handle {
    testkit::registry::Server::start(testkit::registry::Config::default())
        .await
        .expect("registry emulator")
}

/// Registers `schema` under `subject`; returns its id.
pub(crate) async fn register(url: &str, subject: &str, schema: &str) -> u32 {
    let resp = reqwest::Client::new()
        .post(format!("{url}/subjects/{subject}/versions"))
        .header("content-type", "application/vnd.schemaregistry.v1+json")
        .body(json!({ "schema": schema }).to_string())
        .send()
        .await
        .expect("register");
    let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    u32::try_from(body["id"].as_u64().expect("id")).unwrap()
}

/// The first captured PostgreSQL record, re-framed with `id`.
fn record_with_id(id: u32) -> (Vec<u8>, Value) {
    let rec = &lines(PG_AVRO)[0];
    let mut bytes = b64(rec["payload_b64"].as_str().unwrap());
    let expected = decode_captured(&bytes);
    bytes[1..5].copy_from_slice(&id.to_be_bytes());
    (bytes, expected)
}

fn pg_value_schema() -> String {
    let registry: Value = serde_json::from_str(REGISTRY).unwrap();
    registry["schemas"]["4"]["schema"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn fetches_by_id_once_and_decodes_from_the_cache_afterwards() {
    let server = start().await;
    let id = register(
        &server.url(),
        "dbserver1.public.all_types-value",
        &pg_value_schema(),
    )
    .await;
    let decoder = AvroDecoder::new(&cfg(&server.url())).unwrap();
    let (bytes, expected) = record_with_id(id);
    assert_eq!(decoder.to_connect_json(&bytes).await.unwrap(), expected);
    assert_eq!(decoder.cached_schemas(), 1);
    // No registry any more: a cached id needs none.
    server.shutdown().await.unwrap();
    assert_eq!(decoder.to_connect_json(&bytes).await.unwrap(), expected);
    let text = decoder.to_connect_json_text(&bytes).await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), expected);
    assert_eq!(
        decoder.connect_schema(id).await.unwrap(),
        expected["schema"]
    );
}

#[tokio::test]
async fn an_unknown_id_is_a_clear_permanent_error_and_is_not_remembered() {
    let server = start().await;
    let decoder = AvroDecoder::new(&cfg(&server.url())).unwrap();
    let (bytes, expected) = record_with_id(1);
    let e = decoder.to_connect_json(&bytes).await.unwrap_err();
    assert!(
        matches!(&e, AvroError::UnknownSchemaId { id: 1, url } if *url == server.url()),
        "{e:?}"
    );
    assert!(!e.is_retriable());
    assert_eq!(e.schema_id(), Some(1));
    assert!(e.to_string().contains("schema id 1: not found"), "{e}");
    // Registered afterwards: the next record decodes.
    let id = register(&server.url(), "x-value", &pg_value_schema()).await;
    assert_eq!(id, 1);
    assert_eq!(decoder.to_connect_json(&bytes).await.unwrap(), expected);
}

#[tokio::test]
async fn a_registry_that_is_down_is_a_retriable_error() {
    let server = start().await;
    let url = server.url();
    server.shutdown().await.unwrap();
    let decoder = AvroDecoder::new(&cfg(&url)).unwrap();
    let (bytes, _) = record_with_id(4);
    let e = decoder.to_connect_json(&bytes).await.unwrap_err();
    assert!(
        matches!(e, AvroError::RegistryUnavailable { id: 4, .. }),
        "{e:?}"
    );
    assert!(e.is_retriable());
    assert_eq!(decoder.cached_schemas(), 0);
    // Bad framing is found before any registry call.
    let e = decoder.to_connect_json(b"{}").await.unwrap_err();
    assert!(matches!(e, AvroError::Framing { .. }), "{e:?}");
}

#[test]
fn the_decoder_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<AvroDecoder>();
    assert_send_sync::<AvroError>();
}
