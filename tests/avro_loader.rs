//! Avro on the local stack (`scripts/stack up`): the same table is captured by
//! the JSON Connect worker (prefixes `STACK_PG_PREFIX` / `STACK_MARIADB_PREFIX`)
//! and by the Avro one (Confluent's AvroConverter and the registry emulator,
//! prefixes `STACK_AVRO_PG_PREFIX` / `STACK_AVRO_MARIADB_PREFIX`). Every Avro
//! record, through `loader::avro::AvroDecoder` and `loader::convert::Decoder`,
//! must give the same rows as its JSON twin, and its row schema must be the
//! JSON converter's field for field; the registry watcher's table must be the
//! one the JSON inline schema gives.
//!
//! Skipped with a note when the stack is not up (`STACK_REQUIRED=1` makes that
//! a failure), like `tests/e2e.rs`.

#[allow(dead_code)]
#[path = "e2e/stack.rs"]
mod stack;

use ddlsync::config::RegistryConfig;
use ddlsync::kafka::Record;
use ddlsync::loader::avro::AvroDecoder;
use ddlsync::loader::convert::{Decoded, Decoder, JsonText, Record as ConvertRecord, TableOptions};
use ddlsync::source::{decode_value, Event};
use ddlsync::watch::{RegistryWatcher, SubjectFilter};
use mysql_async::prelude::Queryable;
use serde_json::Value;

use stack::{stack, table, Result, Stack};

fn registry(s: &Stack) -> RegistryConfig {
    RegistryConfig {
        url: s.var("STACK_REGISTRY").to_owned(),
        username: None,
        password: None,
        poll_interval_ms: 500,
    }
}

/// The `after` (else `before`) row struct's fields of a Connect envelope schema.
fn row_fields(value: &Value) -> Option<Value> {
    value["schema"]["fields"]
        .as_array()?
        .iter()
        .find(|f| f["field"] == "after")
        .map(|f| f["fields"].clone())
}

fn text(b: Option<&[u8]>) -> Option<String> {
    b.map(|b| String::from_utf8(b.to_vec()).expect("JSON-converter records are UTF-8"))
}

/// (op, mirror rows, raw before/after) of one record, through the loader's decoder.
fn rows(topic: &str, key: Option<&str>, value: Option<&str>) -> Result<String> {
    let rec = ConvertRecord {
        topic,
        partition: 0,
        offset: 0,
        key,
        value,
    };
    Ok(
        match Decoder::default().decode(&rec, &TableOptions::default())? {
            Decoded::Tombstone => "tombstone".to_owned(),
            Decoded::Event(e) => {
                // Values, not texts: a number may be written `1e+300` or `1.0E300`.
                let mirror: Vec<_> = e
                    .mirror
                    .iter()
                    .map(|m| (m.op, m.values(), &m.unavailable))
                    .collect();
                let image = |t: &Option<JsonText>| t.as_ref().map(JsonText::value);
                let raw = e.raw.as_ref().map(|r| (image(&r.before), image(&r.after)));
                format!("{:?} {:?} {:?}", e.op, mirror, raw)
            }
        },
    )
}

/// Waits for `n` records in both topics and compares them pairwise.
async fn compare(s: &Stack, json_topic: &str, avro_topic: &str, n: usize) -> Result {
    let json_recs = s
        .wait_for(json_topic, &format!("{n} records"), |rs| rs.len() >= n)
        .await?;
    let avro_recs = s
        .wait_for(avro_topic, &format!("{n} records"), |rs| rs.len() >= n)
        .await?;
    assert_eq!(json_recs.len(), avro_recs.len(), "record counts differ");
    let decoder = AvroDecoder::new(&registry(s))?;
    for (j, a) in json_recs.iter().zip(&avro_recs) {
        let at = format!("{json_topic}@{} vs {avro_topic}@{}", j.offset, a.offset);
        let (jk, jv) = (text(j.key.as_deref()), text(j.value.as_deref()));
        let ak = match a.key.as_deref() {
            Some(k) => Some(decoder.to_connect_json(k).await?),
            None => None,
        };
        let av = match a.value.as_deref() {
            Some(v) => Some(decoder.to_connect_json(v).await?),
            None => None,
        };
        if let (Some(jv), Some(av)) = (&jv, &av) {
            let jv: Value = serde_json::from_str(jv)?;
            assert_eq!(
                row_fields(av).map(|f| f.to_string()),
                row_fields(&jv).map(|f| f.to_string()),
                "row schema at {at}"
            );
            assert_eq!(
                av["payload"]["after"], jv["payload"]["after"],
                "after at {at}"
            );
            assert_eq!(
                av["payload"]["before"], jv["payload"]["before"],
                "before at {at}"
            );
        }
        let (ak, av) = (ak.map(|k| k.to_string()), av.map(|v| v.to_string()));
        assert_eq!(
            rows(avro_topic, ak.as_deref(), av.as_deref())?,
            rows(json_topic, jk.as_deref(), jv.as_deref())?,
            "rows at {at}"
        );
    }
    Ok(())
}

/// The registry watcher's table for `avro_topic` equals the JSON inline schema's.
async fn compare_watched_table(s: &Stack, avro_topic: &str, json_rec: &Record) -> Result {
    let filter = SubjectFilter::from_topics(&[avro_topic.to_owned()])?;
    let mut watcher = RegistryWatcher::new(&registry(s), filter)?;
    let events = watcher.poll().await?;
    assert_eq!(events.len(), 1, "one version of {avro_topic}-value");
    let watched = match &events[0].value {
        Event::DataChange(dc) => dc.schema.clone(),
        other => panic!("{other:?}"),
    };
    let json: Value = serde_json::json!({
        "topic": json_rec.topic,
        "partition": json_rec.partition,
        "offset": json_rec.offset,
        "key": text(json_rec.key.as_deref()),
        "payload": text(json_rec.value.as_deref()),
    });
    let inline = match decode_value(&json, 0)?.map(|e| e.value) {
        Some(Event::DataChange(dc)) => dc.schema,
        other => panic!("{other:?}"),
    };
    assert!(watched.is_some());
    assert_eq!(watched, inline);
    Ok(())
}

#[tokio::test]
async fn avro_postgres_rows_equal_the_json_topic() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let pg = s.postgres().await?;
    let t = table("avro_ld_pg");
    pg.batch_execute(&format!(
        "CREATE TYPE {t}_mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE public.{t} (id integer PRIMARY KEY, c_smallint smallint, c_bigint bigint,
           c_numeric numeric(12,4), c_numeric_any numeric, c_real real, c_double double precision,
           c_bool boolean, c_text text, c_varchar varchar(20), c_char char(3), c_date date,
           c_time time, c_timestamp timestamp(6), c_timestamptz timestamptz, c_interval interval,
           c_uuid uuid, c_json json, c_jsonb jsonb, c_bytea bytea, c_int_array int[],
           c_text_array text[], c_enum {t}_mood, c_money money, c_inet inet);
         INSERT INTO public.{t} VALUES
           (1, -32768, -9223372036854775808, -99999999.9999, 12345.678901234, -3.4e38, -1.7e308,
            false, '', 'v', 'a', '0001-01-01', '00:00:00', '1970-01-01 00:00:00',
            '1970-01-01 00:00:00+00', '-1 day', '00000000-0000-0000-0000-000000000000', '[]', '{{}}',
            '', '{{}}', '{{}}', 'sad', -1.50, '::1'),
           (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
           (3, 7, 42, 1.5, 0.001, 1.25, 2.5, true, 'text é', 'varchar', 'xyz', '2024-02-29',
            '23:59:59.999999', '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.789+05:30',
            '1 year 2 months 3 days 04:05:06.7', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
            '{{\"a\": [1, 2]}}', '{{\"b\": null}}', '\\xdeadbeef', '{{1,NULL,3}}', '{{\"x\",NULL}}',
            'happy', 1234.56, '10.0.0.1');
         UPDATE public.{t} SET c_text = 'updated', c_numeric = 2.0001 WHERE id = 3;
         DELETE FROM public.{t} WHERE id = 2;"
    ))
    .await?;
    let json_topic = format!("{}.public.{t}", s.var("STACK_PG_PREFIX"));
    let avro_topic = format!("{}.public.{t}", s.var("STACK_AVRO_PG_PREFIX"));
    // 3 inserts, 1 update, 1 delete and its tombstone.
    compare(&s, &json_topic, &avro_topic, 6).await?;
    let json_recs = s
        .wait_for(&json_topic, "first insert", |rs| !rs.is_empty())
        .await?;
    compare_watched_table(&s, &avro_topic, &json_recs[0]).await
}

#[tokio::test]
async fn avro_mariadb_rows_equal_the_json_topic() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let mut db = s.mariadb().await?;
    let t = table("avro_ld_mdb");
    db.query_drop(format!(
        "CREATE TABLE {t} (id INT PRIMARY KEY, c_tinyint TINYINT, c_smallint SMALLINT,
           c_mediumint MEDIUMINT, c_int_unsigned INT UNSIGNED, c_bigint BIGINT,
           c_bigint_unsigned BIGINT UNSIGNED, c_decimal DECIMAL(12,4), c_float FLOAT,
           c_double DOUBLE, c_bit BIT(3), c_bool BOOLEAN, c_char CHAR(3), c_varchar VARCHAR(20),
           c_text TEXT, c_blob BLOB, c_enum ENUM('a','b','c'), c_set SET('x','y','z'), c_date DATE,
           c_time TIME(6), c_datetime DATETIME(6), c_timestamp TIMESTAMP(6) NULL DEFAULT NULL,
           c_year YEAR, c_json JSON, c_def INT NOT NULL DEFAULT 7,
           c_vdef VARCHAR(10) DEFAULT 'abc', c_ddef DECIMAL(5,2) DEFAULT 1.25);
         INSERT INTO {t} (id, c_tinyint, c_smallint, c_mediumint, c_int_unsigned, c_bigint,
           c_bigint_unsigned, c_decimal, c_float, c_double, c_bit, c_bool, c_char, c_varchar,
           c_text, c_blob, c_enum, c_set, c_date, c_time, c_datetime, c_timestamp, c_year, c_json)
         VALUES
           (1, -128, -32768, -8388608, 4294967295, -9223372036854775808, 18446744073709551615,
            -99999999.9999, -1.5, -2.25, b'101', 0, 'a', '', '', '', 'a', '', '1000-01-01',
            '-838:59:59', '1000-01-01 00:00:00', '1970-01-01 00:00:01', 1901, '[]'),
           (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
           (3, 127, 32767, 8388607, 0, 42, 0, 1.5, 3.25, 1e300, b'111', 1, 'xyz', 'varchar é',
            'text', x'deadbeef', 'c', 'x,z', '2024-02-29', '12:34:56.789012',
            '2024-02-29 12:34:56.789012', '2030-01-01 00:00:00.5', 2155, '{{\"a\": [1, 2]}}');
         UPDATE {t} SET c_text = 'updated', c_decimal = 2.0001 WHERE id = 3;
         DELETE FROM {t} WHERE id = 2"
    ))
    .await?;
    let json_topic = format!("{}.inventory.{t}", s.var("STACK_MARIADB_PREFIX"));
    let avro_topic = format!("{}.inventory.{t}", s.var("STACK_AVRO_MARIADB_PREFIX"));
    compare(&s, &json_topic, &avro_topic, 6).await?;
    let json_recs = s
        .wait_for(&json_topic, "first insert", |rs| !rs.is_empty())
        .await?;
    compare_watched_table(&s, &avro_topic, &json_recs[0]).await
}
