//! The Avro setup (second Connect worker, Confluent's AvroConverter, prefixes
//! `avro_pg` / `avro_mdb1`): an ALTER followed by a write registers a new
//! version of the table's `-value` subject in the registry, and the record in
//! Kafka is Confluent-framed with that schema's id.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use serde_json::Value;

use super::stack::{stack, table, Result, Stack, DEADLINE};

async fn get(s: &Stack, path: &str) -> Result<(u16, Value)> {
    let resp = reqwest::get(format!("{}{path}", s.var("STACK_REGISTRY"))).await?;
    let status = resp.status().as_u16();
    Ok((status, serde_json::from_str(&resp.text().await?)?))
}

/// Waits until `subject` has at least `n` versions; returns the latest one.
async fn wait_versions(s: &Stack, subject: &str, n: usize) -> Result<Value> {
    let end = Instant::now() + DEADLINE;
    loop {
        let (status, versions) = get(s, &format!("/subjects/{subject}/versions")).await?;
        if status == 200 && versions.as_array().is_some_and(|v| v.len() >= n) {
            return Ok(get(s, &format!("/subjects/{subject}/versions/latest"))
                .await?
                .1);
        }
        if Instant::now() > end {
            return Err(format!("subject {subject}: wanted {n} versions within {DEADLINE:?}, registry says {versions}").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn field_names(version: &Value) -> Vec<String> {
    // The value schema is Debezium's Envelope; `before` is ["null", Value record].
    let schema: Value =
        serde_json::from_str(version["schema"].as_str().unwrap_or("{}")).unwrap_or_default();
    let before = schema["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "before"))
        .cloned();
    let record = before
        .and_then(|b| {
            b["type"]
                .as_array()
                .and_then(|t| t.iter().find(|x| x.is_object()).cloned())
        })
        .unwrap_or_default();
    record["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn check_framing(s: &Stack, topic: &str, schema_id: u64) -> Result {
    // Confluent framing: magic 0, then the 4-byte big-endian schema id.
    s.wait_for(topic, "a record written with the new schema", |rs| {
        rs.iter().any(|r| {
            r.value.as_deref().is_some_and(|v| {
                v.len() > 5
                    && v[0] == 0
                    && u64::from(u32::from_be_bytes([v[1], v[2], v[3], v[4]])) == schema_id
            })
        })
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn avro_pg_alter_registers_a_new_subject_version() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let pg = s.postgres().await?;
    let t = table("avro_pg");
    let subject = format!("{}.public.{t}-value", s.var("STACK_AVRO_PG_PREFIX"));
    pg.batch_execute(&format!("CREATE TABLE public.{t} (id integer PRIMARY KEY, name text); INSERT INTO public.{t} VALUES (1, 'one');"))
        .await?;
    let v1 = wait_versions(&s, &subject, 1).await?;
    assert_eq!(field_names(&v1), ["id", "name"]);
    pg.batch_execute(&format!("ALTER TABLE public.{t} ADD COLUMN email varchar(64); INSERT INTO public.{t} VALUES (2, 'two', 'x@y');"))
        .await?;
    let v2 = wait_versions(&s, &subject, 2).await?;
    assert_eq!(v2["version"], 2);
    assert_eq!(field_names(&v2), ["id", "name", "email"]);
    assert_ne!(v1["id"], v2["id"]);
    let topic = format!("{}.public.{t}", s.var("STACK_AVRO_PG_PREFIX"));
    check_framing(&s, &topic, v2["id"].as_u64().unwrap()).await
}

#[tokio::test]
async fn avro_mariadb_alter_registers_a_new_subject_version() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let mut db = s.mariadb().await?;
    let t = table("avro_mdb");
    let subject = format!("{}.inventory.{t}-value", s.var("STACK_AVRO_MARIADB_PREFIX"));
    db.query_drop(format!("CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(50)); INSERT INTO {t} VALUES (1, 'one')"))
        .await?;
    let v1 = wait_versions(&s, &subject, 1).await?;
    assert_eq!(field_names(&v1), ["id", "name"]);
    db.query_drop(format!(
        "ALTER TABLE {t} ADD COLUMN qty BIGINT NULL; INSERT INTO {t} VALUES (2, 'two', 5)"
    ))
    .await?;
    let v2 = wait_versions(&s, &subject, 2).await?;
    assert_eq!(field_names(&v2), ["id", "name", "qty"]);
    let topic = format!("{}.inventory.{t}", s.var("STACK_AVRO_MARIADB_PREFIX"));
    check_framing(&s, &topic, v2["id"].as_u64().unwrap()).await?;
    // The schema-change topic's own subject exists too.
    let (status, _) = get(
        &s,
        &format!(
            "/subjects/{}-value/versions",
            s.var("STACK_AVRO_MARIADB_PREFIX")
        ),
    )
    .await?;
    assert_eq!(status, 200);
    Ok(())
}
