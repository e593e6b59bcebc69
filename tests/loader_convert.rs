//! Conversion of real captured Debezium 3.6.3 events (fixtures/debezium/captured, see its
//! SOURCES.md): the `all_types` rows value by value against the SQL that inserted them,
//! the envelope cases (deletes, tombstones, key changes, truncates, TOASTed values,
//! schema changes), schemaless JSON; property tests in `loader_convert/props.rs`.

#[path = "loader_convert/props.rs"]
mod props;

use std::sync::Arc;

use ddlsync::loader::convert::{
    convert_value, BytesMode, Cell, Column, Config, Decoded, Decoder, Event, MirrorOp, Op, Record,
    RowSchema, Semantic, TableOptions, TimeUnit, TimeZone, RAW_COLUMNS, UNAVAILABLE_PLACEHOLDER,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/debezium/captured/json/"
);

/// (topic, partition, offset, key text, value text) of a captured record.
type Captured = (String, i32, i64, Option<String>, Option<String>);

/// The captured records of a fixture file, in offset order.
fn records(file: &str) -> Vec<Captured> {
    let text = std::fs::read_to_string(format!("{DIR}{file}")).expect("fixture");
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("kcat line");
            (
                v["topic"].as_str().expect("topic").to_string(),
                v["partition"].as_i64().expect("partition") as i32,
                v["offset"].as_i64().expect("offset"),
                v["key"].as_str().map(str::to_string),
                v["payload"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn decode_all(file: &str, dec: &mut Decoder, opts: &TableOptions) -> Vec<Decoded> {
    records(file)
        .iter()
        .map(|(topic, partition, offset, key, value)| {
            let rec = Record {
                topic,
                partition: *partition,
                offset: *offset,
                key: key.as_deref(),
                value: value.as_deref(),
            };
            dec.decode(&rec, opts).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

fn event(d: &Decoded) -> &Event {
    match d {
        Decoded::Event(e) => e,
        Decoded::Tombstone => panic!("tombstone"),
    }
}

/// The single upsert row of an event, without `__op`.
fn upserted(d: &Decoded) -> Map<String, Value> {
    let e = event(d);
    assert_eq!(e.mirror.len(), 1, "{:?}", e.mirror);
    assert_eq!(e.mirror[0].op, MirrorOp::Upsert);
    assert_eq!(e.mirror[0].values()["__op"], json!(0));
    let mut m = e.mirror[0].values();
    m.shift_remove("__op");
    m
}

fn check(row: &Map<String, Value>, expected: Value) {
    let expected = expected.as_object().expect("object");
    assert_eq!(
        row.len(),
        expected.len(),
        "columns: {:?}",
        row.keys().collect::<Vec<_>>()
    );
    for (k, want) in expected {
        let got = &row[k];
        match (got.as_f64(), want.as_f64()) {
            (Some(g), Some(w)) if !got.is_i64() && !got.is_u64() => {
                assert_eq!(g, w, "column {k}")
            }
            _ => assert_eq!(got, want, "column {k}"),
        }
    }
}

#[test]
fn postgres_all_types_value_by_value() {
    let mut dec = Decoder::default();
    let out = decode_all(
        "dbserver1.public.all_types.jsonl",
        &mut dec,
        &TableOptions::default(),
    );
    assert_eq!(out.len(), 4);
    // pg-seed.sql row 1: (1, -32768, -2147483648, -9223372036854775808, -99999999.9999, -3.4e38,
    // -1.7e308, false, '', 'v', 'a', '0001-01-01', '00:00:00', '1970-01-01 00:00:00',
    // '1970-01-01 00:00:00+00', '-1 day', '00000000-...', '[]', '{}', '\x', '{}', '{}', 'sad', '::1', -1.00)
    check(
        &upserted(&out[0]),
        json!({"id": 1, "c_smallint": -32768, "c_int": -2147483648i64, "c_bigint": i64::MIN,
            "c_numeric": "-99999999.9999", "c_real": -3.4e38, "c_double": -1.7e308, "c_bool": false,
            "c_text": "", "c_varchar": "v", "c_char": "a  ", "c_date": "0001-01-01",
            "c_time": "00:00:00", "c_timestamp": "1970-01-01 00:00:00",
            "c_timestamptz": "1970-01-01 00:00:00", "c_interval": -86_400_000_000i64,
            "c_uuid": "00000000-0000-0000-0000-000000000000", "c_json": [], "c_jsonb": {},
            "c_bytea": "", "c_int_array": [], "c_text_array": [], "c_enum": "sad", "c_inet": "::1",
            "c_money": "-1.00"}),
    );
    // Row 2: NULL everywhere but id.
    let r2 = upserted(&out[1]);
    assert_eq!(r2["id"], json!(2));
    assert!(r2
        .iter()
        .filter(|(k, _)| *k != "id")
        .all(|(_, v)| v.is_null()));
    assert_eq!(r2.len(), 25);
    // P13: INSERT INTO all_types VALUES (3, 32767, 2147483647, 9223372036854775807, 12345.6789,
    // 1.5, 2.25, true, 'text ✓', 'varchar', 'abc', '2024-02-29', '23:59:59.999999',
    // '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.789012+02', '1 year 2 mons 3 days
    // 04:05:06.5', 'a0eebc99-...', '{"k": [1, 2]}', '{"k": {"n": null}}', '\xdeadbeef',
    // '{1,2,3}', '{"x","y"}', 'happy', '192.168.0.1', 42.10)
    let row3 = json!({"id": 3, "c_smallint": 32767, "c_int": 2147483647, "c_bigint": i64::MAX,
        "c_numeric": "12345.6789", "c_real": 1.5, "c_double": 2.25, "c_bool": true,
        "c_text": "text ✓", "c_varchar": "varchar", "c_char": "abc", "c_date": "2024-02-29",
        "c_time": "23:59:59.999999", "c_timestamp": "2024-02-29 12:34:56.789012",
        "c_timestamptz": "2024-02-29 10:34:56.789012",
        // MicroDuration: Debezium counts a month as 30 days, a year as 365.25 days.
        "c_interval": 37_091_106_500_000i64,
        "c_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "c_json": {"k": [1, 2]},
        "c_jsonb": {"k": {"n": null}}, "c_bytea": "deadbeef", "c_int_array": [1, 2, 3],
        "c_text_array": ["x", "y"], "c_enum": "happy", "c_inet": "192.168.0.1", "c_money": "42.10"});
    check(&upserted(&out[2]), row3.clone());
    assert_eq!(event(&out[2]).op, Op::Create);
    // UPDATE all_types SET c_text='updated', c_numeric=-0.0001 WHERE id=3 (before is null:
    // replica identity default, so a single upsert).
    let mut row4 = row3;
    row4["c_text"] = json!("updated");
    row4["c_numeric"] = json!("-0.0001");
    check(&upserted(&out[3]), row4);
    let e = event(&out[3]);
    assert_eq!(e.op, Op::Update);
    let raw = e.raw.as_ref().expect("raw row");
    assert_eq!(raw.before, None);
    assert_eq!(
        raw.after.as_ref().map(|a| a.value()["c_date"].clone()),
        Some(json!("2024-02-29"))
    );
    assert!(
        raw.source_position.starts_with("pg:000000000000"),
        "{}",
        raw.source_position
    );
    assert_eq!(
        (raw.topic.as_str(), raw.partition, raw.offset),
        ("dbserver1.public.all_types", 0, 3)
    );
    let j = raw.to_json();
    let mut text = String::new();
    raw.write_json(&mut text);
    assert_eq!(serde_json::from_str::<Value>(&text).expect("valid JSON"), j);
    assert_eq!(j.as_object().map(|o| o.len()), Some(RAW_COLUMNS.len()));
    assert_eq!(j["op"], json!("u"));
    assert!(j["event_time"]
        .as_str()
        .is_some_and(|t| t.starts_with("20")));
}

#[test]
fn postgres_zoned_timestamps_follow_the_configured_zone() {
    let cfg = Config::new(
        TimeZone::parse("+08:00").expect("tz"),
        BytesMode::Base64,
        UNAVAILABLE_PLACEHOLDER,
    );
    let mut dec = Decoder::new(cfg);
    let out = decode_all(
        "dbserver1.public.all_types.jsonl",
        &mut dec,
        &TableOptions::default(),
    );
    let r = upserted(&out[2]);
    assert_eq!(r["c_timestamptz"], json!("2024-02-29 18:34:56.789012"));
    // MicroTimestamp has no zone: unchanged.
    assert_eq!(r["c_timestamp"], json!("2024-02-29 12:34:56.789012"));
    assert_eq!(r["c_bytea"], json!("3q2+7w=="));
}

#[test]
fn mariadb_all_types_value_by_value() {
    let mut dec = Decoder::default();
    let out = decode_all(
        "mdb1.inventory.all_types.jsonl",
        &mut dec,
        &TableOptions::default(),
    );
    // maria-seed.sql row 1: (1, 127, -32768, -8388608, 0, -9223372036854775808, 0,
    // -99999999.9999, -1.5, -2.25, b'000', false, 'a', '', '', x'', 'a', '', '1000-01-01',
    // '-838:59:59.000', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01', 1901, '[]')
    check(
        &upserted(&out[0]),
        json!({"id": 1, "c_tinyint": 127, "c_smallint": -32768, "c_mediumint": -8388608,
            "c_int_unsigned": 0, "c_bigint": i64::MIN, "c_bigint_unsigned": 0,
            "c_decimal": "-99999999.9999", "c_float": -1.5, "c_double": -2.25, "c_bit": 0,
            // BOOLEAN is TINYINT(1): the MySQL connector sends int16.
            "c_bool": 0, "c_char": "a", "c_varchar": "", "c_text": "", "c_blob": "",
            "c_enum": "a", "c_set": "", "c_date": "1000-01-01", "c_time": "-838:59:59",
            "c_datetime": "1000-01-01 00:00:00", "c_timestamp": "1970-01-01 00:00:01",
            "c_year": 1901,
            // MariaDB JSON is LONGTEXT: a plain string schema, kept as text.
            "c_json": "[]"}),
    );
    let r2 = upserted(&out[1]);
    assert!(r2
        .iter()
        .filter(|(k, _)| *k != "id")
        .all(|(_, v)| v.is_null()));
    // M15: INSERT INTO all_types VALUES (3, -128, 32767, 8388607, 4294967295,
    // 9223372036854775807, 18446744073709551615, 12345.6789, 1.5, 2.25, b'101', true, 'abc',
    // 'varchar ✓', 'text', x'DEADBEEF', 'b', 'x,z', '2024-02-29', '23:59:59.123',
    // '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56', 2024, '{"k": [1, 2]}')
    let row3 = json!({"id": 3, "c_tinyint": -128, "c_smallint": 32767, "c_mediumint": 8388607,
        "c_int_unsigned": 4294967295u32, "c_bigint": i64::MAX,
        // bigint.unsigned.handling.mode=long (default): 2^64-1 arrives as -1 and cannot be
        // recovered here; `precise` mode sends a Decimal instead.
        "c_bigint_unsigned": -1,
        "c_decimal": "12345.6789", "c_float": 1.5, "c_double": 2.25, "c_bit": 5, "c_bool": 1,
        "c_char": "abc", "c_varchar": "varchar ✓", "c_text": "text", "c_blob": "deadbeef",
        "c_enum": "b", "c_set": "x,z", "c_date": "2024-02-29", "c_time": "23:59:59.123000",
        "c_datetime": "2024-02-29 12:34:56.789012", "c_timestamp": "2024-02-29 12:34:56",
        "c_year": 2024, "c_json": "{\"k\": [1, 2]}"});
    check(&upserted(&out[2]), row3.clone());
    // UPDATE all_types SET c_text='updated', c_decimal=-0.0001 WHERE id=3 (full before image,
    // same key: one upsert).
    let mut row4 = row3;
    row4["c_text"] = json!("updated");
    row4["c_decimal"] = json!("-0.0001");
    check(&upserted(&out[3]), row4);
    let raw = event(&out[3]).raw.as_ref().expect("raw");
    assert_eq!(
        raw.before.as_ref().map(|b| b.value()["c_text"].clone()),
        Some(json!("text"))
    );
    assert!(
        raw.source_position.starts_with("mysql:mariadb-bin.000001:"),
        "{}",
        raw.source_position
    );
}

#[test]
fn mariadb_orders_decimal_millis_datetime_and_truncate() {
    let mut dec = Decoder::default();
    let out = decode_all(
        "mdb1.inventory.orders.jsonl",
        &mut dec,
        &TableOptions::default(),
    );
    let r = upserted(&out[0]);
    // DECIMAL(10,2) 19.99 and DATETIME(3) '2024-01-02 03:04:05.678' (io.debezium.time.Timestamp).
    assert_eq!(r["amount"], json!("19.99"));
    assert_eq!(r["created_at"], json!("2024-01-02 03:04:05.678000"));
    let t = event(&out[2]);
    assert_eq!(t.op, Op::Truncate);
    assert!(t.mirror.is_empty());
    assert_eq!(
        t.raw.as_ref().map(|r| r.to_json()["op"].clone()),
        Some(json!("t"))
    );
}

#[test]
fn postgres_customers_envelopes() {
    let mut dec = Decoder::default();
    let out = decode_all(
        "dbserver1.public.customers.jsonl",
        &mut dec,
        &TableOptions::default(),
    );
    assert_eq!(out.len(), 27);
    // P03: delete 1004 (before has the key, other NOT NULL columns as ""), then a tombstone.
    let d = event(&out[6]);
    assert_eq!(d.op, Op::Delete);
    assert_eq!(d.mirror.len(), 1);
    assert_eq!(d.mirror[0].op, MirrorOp::Delete);
    assert_eq!(
        Value::Object(d.mirror[0].values()),
        json!({"id": 1004, "__op": 1})
    );
    for i in [7, 17, 19] {
        assert_eq!(out[i], Decoded::Tombstone, "offset {i}");
    }
    // P11: key change 1006 -> 2006 arrives as delete + tombstone + create.
    assert_eq!(
        Value::Object(event(&out[18]).mirror[0].values()),
        json!({"id": 1006, "__op": 1})
    );
    assert_eq!(upserted(&out[20])["id"], json!(2006));
    // P14: truncate (null key): no mirror rows, the caller decides.
    let t = event(&out[24]);
    assert_eq!((t.op, t.mirror.len()), (Op::Truncate, 0));
    // Schema fingerprints: equal within a schema, different across DDL steps.
    let fp = |i: usize| event(&out[i]).schema.fingerprint().to_string();
    assert_eq!(fp(0), fp(5));
    assert_ne!(fp(5), fp(8)); // P04 ADD COLUMN phone
    assert_ne!(fp(8), fp(10)); // P05 ADD COLUMN loyalty
    assert_ne!(fp(11), fp(12)); // P07 RENAME COLUMN
    assert_ne!(fp(12), fp(13)); // P08 loyalty int -> bigint
    assert_ne!(fp(13), fp(14)); // P09 DROP NOT NULL
    assert_eq!(upserted(&out[13])["loyalty"], json!(9_000_000_000i64));
    assert_eq!(upserted(&out[14])["email"], json!(null));
}

#[test]
fn mariadb_customers_key_change_and_full_before() {
    let mut dec = Decoder::default();
    let out = decode_all(
        "mdb1.inventory.customers.jsonl",
        &mut dec,
        &TableOptions::default(),
    );
    assert_eq!(upserted(&out[5])["email"], json!("sally@new.example"));
    assert_eq!(
        Value::Object(event(&out[15]).mirror[0].values()),
        json!({"id": 1006, "__op": 1})
    );
    assert_eq!(upserted(&out[17])["family_name"], json!("Phone"));
}

/// PG customers offset 15 (REPLICA IDENTITY FULL update), edited.
fn edited_update(edit: impl Fn(&mut Value)) -> (String, String) {
    let recs = records("dbserver1.public.customers.jsonl");
    let (_, _, _, key, value) = &recs[15];
    let mut v: Value = serde_json::from_str(value.as_deref().expect("value")).expect("json");
    edit(&mut v["payload"]);
    (key.clone().expect("key"), v.to_string())
}

fn decode_one(key: &str, value: &str, opts: &TableOptions) -> Event {
    let rec = Record {
        topic: "t",
        partition: 0,
        offset: 1,
        key: Some(key),
        value: Some(value),
    };
    match Decoder::default().decode(&rec, opts).expect("decode") {
        Decoded::Event(e) => *e,
        Decoded::Tombstone => panic!("tombstone"),
    }
}

#[test]
fn an_update_that_changes_the_key_is_a_delete_then_an_upsert() {
    let (key, value) = edited_update(|p| p["after"]["id"] = json!(7001));
    let e = decode_one(&key, &value, &TableOptions::default());
    assert_eq!(e.mirror.len(), 2);
    assert_eq!(
        Value::Object(e.mirror[0].values()),
        json!({"id": 1001, "__op": 1})
    );
    assert_eq!(
        (e.mirror[1].op, &e.mirror[1].values()["id"]),
        (MirrorOp::Upsert, &json!(7001))
    );
    // Explicit key columns win over the record key.
    let opts = TableOptions {
        key_columns: Some(vec!["email".into()]),
        ..TableOptions::default()
    };
    let e = decode_one(&key, &value, &opts);
    assert_eq!(e.mirror.len(), 1);
}

#[test]
fn toasted_unchanged_values_are_reported_never_written() {
    let (key, value) = edited_update(|p| p["after"]["email"] = json!(UNAVAILABLE_PLACEHOLDER));
    let e = decode_one(&key, &value, &TableOptions::default());
    let m = &e.mirror[0];
    assert_eq!(m.unavailable, vec!["email".to_string()]);
    assert!(!m.values().contains_key("email"));
    assert_eq!(m.values()["first_name"], json!("Sally"));
    let raw_after = e
        .raw
        .as_ref()
        .and_then(|r| r.after.as_ref())
        .expect("after")
        .value();
    assert_eq!(raw_after["email"], json!(UNAVAILABLE_PLACEHOLDER));
}

#[test]
fn schemaless_json_with_a_column_description() {
    let recs = records("dbserver1.public.all_types.jsonl");
    let value = recs[2].4.as_deref().expect("value");
    let v: Value = serde_json::from_str(value).expect("json");
    let bare = v["payload"].to_string();
    let mut desc = vec![
        Column::new("id", Semantic::Int, false),
        Column::new("c_numeric", Semantic::Decimal { scale: 4 }, true),
        Column::new("c_date", Semantic::Date, true),
        Column::new("c_timestamp", Semantic::Timestamp(TimeUnit::Micro), true),
        Column::new("c_timestamptz", Semantic::ZonedTimestamp, true),
        Column::new("c_jsonb", Semantic::Json, true),
    ];
    let opts = TableOptions {
        description: Some(Arc::new(RowSchema::new(desc.clone()))),
        key_columns: Some(vec!["id".into()]),
        ..TableOptions::default()
    };
    let e = decode_one("{\"id\": 3}", &bare, &opts);
    let r = &e.mirror[0].values();
    assert_eq!(r["c_numeric"], json!("12345.6789"));
    assert_eq!(r["c_date"], json!("2024-02-29"));
    assert_eq!(r["c_timestamp"], json!("2024-02-29 12:34:56.789012"));
    assert_eq!(r["c_timestamptz"], json!("2024-02-29 10:34:56.789012"));
    assert_eq!(r["c_jsonb"], json!({"k": {"n": null}}));
    // Undescribed columns are kept as sent.
    assert_eq!(r["c_time"], json!(86_399_999_999i64));
    desc.push(Column::new("extra", Semantic::Int, true));
    assert_ne!(RowSchema::new(desc).fingerprint(), e.schema.fingerprint());
    // Without a description, schemaless JSON is refused with the topic named.
    let rec = Record {
        topic: "t",
        partition: 0,
        offset: 9,
        key: None,
        value: Some(&bare),
    };
    let err = Decoder::default()
        .decode(&rec, &TableOptions::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "t[0]@9: topic t: no inline schema and no column description"
    );
}

#[test]
fn a_known_schema_is_recognised_not_parsed_and_decodes_the_same() {
    // A decoder that has seen the schema takes the fast path from the second record on;
    // a fresh decoder per record takes the full one.
    for file in [
        "dbserver1.public.all_types.jsonl",
        "dbserver1.public.customers.jsonl",
        "mdb1.inventory.customers.jsonl",
    ] {
        let mut shared = Decoder::default();
        let opts = TableOptions::default();
        for (topic, partition, offset, key, value) in records(file) {
            let rec = Record {
                topic: &topic,
                partition,
                offset,
                key: key.as_deref(),
                value: value.as_deref(),
            };
            let fast = shared.decode(&rec, &opts).expect("decode");
            let full = Decoder::default().decode(&rec, &opts).expect("decode");
            assert_eq!(fast, full, "{file} offset {offset}");
        }
    }
    // Another member after the payload: the full path reads it; a cut record is an error.
    let recs = records("dbserver1.public.customers.jsonl");
    let (topic, _, _, key, value) = &recs[0];
    let value = value.as_deref().expect("value");
    let rec = |value: &'static str| Record {
        topic,
        partition: 0,
        offset: 1,
        key: key.as_deref(),
        value: Some(value),
    };
    let text = |t: String| -> &'static str { Box::leak(t.into_boxed_str()) };
    let mut dec = Decoder::default();
    let opts = TableOptions::default();
    let first = dec
        .decode(&rec(text(value.to_string())), &opts)
        .expect("decode");
    let more = text(format!("{},\"x\":1}}", &value[..value.len() - 1]));
    assert_eq!(dec.decode(&rec(more), &opts).expect("decode"), first);
    let cut = text(value[..value.len() - 1].to_string());
    let err = dec.decode(&rec(cut), &opts).unwrap_err();
    assert!(err.to_string().contains("malformed value"), "{err}");
}

#[test]
fn malformed_records_are_typed_errors() {
    let mut dec = Decoder::default();
    let opts = TableOptions::default();
    let go = |dec: &mut Decoder, v: &str| {
        dec.decode(
            &Record {
                topic: "t",
                partition: 1,
                offset: 2,
                key: None,
                value: Some(v),
            },
            &opts,
        )
    };
    assert!(go(&mut dec, "{\"schema\":").is_err());
    let bad_op =
        r#"{"schema": {"type": "struct", "fields": []}, "payload": {"op": "x", "after": {}}}"#;
    assert!(go(&mut dec, bad_op)
        .unwrap_err()
        .to_string()
        .contains("op \"x\""));
    let no_after = r#"{"schema": {"type": "struct", "fields": []}, "payload": {"op": "c"}}"#;
    assert!(go(&mut dec, no_after)
        .unwrap_err()
        .to_string()
        .contains("after is missing"));
    assert_eq!(go(&mut dec, "null").expect("tombstone"), Decoded::Tombstone);
}
