//! Avro → Connect JSON: against real captures (the same Debezium scenario
//! written once by JsonConverter and once by Confluent's AvroConverter, see
//! `testdata/README.md`), per logical type on small hand-written schemas, and
//! through the in-process registry emulator (fetch, cache, unknown id, down).

use apache_avro::types::Value as Avro;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use base64::Engine as _;
use serde_json::{json, Value};

use super::*;
use crate::loader::convert::{Decoded, Decoder, Record, TableOptions};

const PG_AVRO: &str = include_str!("testdata/dbserver1.public.all_types.jsonl");
const MDB_AVRO: &str = include_str!("testdata/mdb1.inventory.all_types.jsonl");
const REGISTRY: &str = include_str!("testdata/schema-registry.json");
const PG_JSON: &str =
    include_str!("../../../fixtures/debezium/captured/json/dbserver1.public.all_types.jsonl");
const MDB_JSON: &str =
    include_str!("../../../fixtures/debezium/captured/json/mdb1.inventory.all_types.jsonl");

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn prepared(id: u32, text: &str) -> Prepared {
    Prepared::new(id, text, Schema::parse_str(text).expect("avro schema")).expect("prepared")
}

/// Decodes a framed record with the captured registry's schemas.
fn decode_captured(bytes: &[u8]) -> Value {
    let registry: Value = serde_json::from_str(REGISTRY).unwrap();
    let (id, datum) = split_framing(bytes).unwrap();
    let text = registry["schemas"][id.to_string()]["schema"]
        .as_str()
        .unwrap();
    prepared(id, text).to_connect_json(id, datum).unwrap()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The captured Avro records, decoded, equal the JSON converter's records of
/// the same scenario: the schema text byte for byte, the row images exactly.
fn compare_captures(avro: &str, json_text: &str) {
    let avro = lines(avro);
    let json_recs = lines(json_text);
    assert_eq!(avro.len(), json_recs.len());
    for (a, j) in avro.iter().zip(&json_recs) {
        let value = decode_captured(&b64(a["payload_b64"].as_str().unwrap()));
        let expected: Value = serde_json::from_str(j["payload"].as_str().unwrap()).unwrap();
        assert_eq!(
            value["schema"].to_string(),
            expected["schema"].to_string(),
            "schema of offset {}",
            a["offset"]
        );
        for part in ["before", "after", "op"] {
            assert_eq!(
                value["payload"][part], expected["payload"][part],
                "{part} of offset {}",
                a["offset"]
            );
        }
        assert_eq!(
            value["payload"]["source"]["table"],
            expected["payload"]["source"]["table"]
        );
        let key = decode_captured(&b64(a["key_b64"].as_str().unwrap()));
        let expected_key: Value = serde_json::from_str(j["key"].as_str().unwrap()).unwrap();
        assert_eq!(key.to_string(), expected_key.to_string());
    }
}

#[test]
fn captured_postgres_all_types_equal_the_json_converter() {
    compare_captures(PG_AVRO, PG_JSON);
}

#[test]
fn captured_mariadb_all_types_equal_the_json_converter() {
    compare_captures(MDB_AVRO, MDB_JSON);
}

/// The loader's own decoder gives the same rows from both encodings.
#[test]
fn captured_records_load_the_same_rows_through_the_convert_decoder() {
    for (avro, json_text) in [(PG_AVRO, PG_JSON), (MDB_AVRO, MDB_JSON)] {
        for (a, j) in lines(avro).iter().zip(&lines(json_text)) {
            let topic = a["topic"].as_str().unwrap();
            let value = decode_captured(&b64(a["payload_b64"].as_str().unwrap())).to_string();
            let key = decode_captured(&b64(a["key_b64"].as_str().unwrap())).to_string();
            let rec = |key: &str, value: &str| -> Decoded {
                let r = Record {
                    topic,
                    partition: 0,
                    offset: 0,
                    key: Some(key),
                    value: Some(value),
                };
                Decoder::default()
                    .decode(&r, &TableOptions::default())
                    .unwrap()
            };
            let from_avro = rec(&key, &value);
            let from_json = rec(j["key"].as_str().unwrap(), j["payload"].as_str().unwrap());
            let (Decoded::Event(a_ev), Decoded::Event(j_ev)) = (from_avro, from_json) else {
                panic!("not events");
            };
            // The same values; number texts may differ (`-3.4E38` / `-3.4e+38`).
            let mirror = |e: &crate::loader::convert::Event| {
                e.mirror
                    .iter()
                    .map(|m| (m.op, m.values(), m.unavailable.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(mirror(&a_ev), mirror(&j_ev));
            assert_eq!(a_ev.schema.fingerprint(), j_ev.schema.fingerprint());
            let raw = |e: &crate::loader::convert::Event| {
                e.raw.as_ref().map(|r| {
                    let image = |t: &Option<crate::loader::convert::JsonText>| {
                        t.as_ref().map(|t| t.value())
                    };
                    (image(&r.before), image(&r.after))
                })
            };
            assert_eq!(raw(&a_ev), raw(&j_ev));
        }
    }
}

/// A one-field Debezium-like `Value` record with `field` as its only column.
fn one_field(field_type: Value) -> String {
    json!({"type": "record", "name": "Value", "namespace": "t.s.x", "fields": [
        {"name": "c", "type": field_type}
    ], "connect.name": "t.s.x.Value"})
    .to_string()
}

/// Writes `value` for `c` with the schema, decodes, returns (field schema, payload value).
fn roundtrip(field_type: Value, value: Avro) -> (Value, Value) {
    let text = one_field(field_type);
    let schema = Schema::parse_str(&text).unwrap();
    let record = Avro::Record(vec![("c".into(), value)]);
    let bytes = GenericDatumWriter::builder(&schema)
        .build()
        .unwrap()
        .write_value_to_vec(record)
        .unwrap();
    let out = prepared(1, &text).to_connect_json(1, &bytes).unwrap();
    (
        out["schema"]["fields"][0].clone(),
        out["payload"]["c"].clone(),
    )
}

fn opt(t: Value) -> Value {
    json!(["null", t])
}

fn some(v: Avro) -> Avro {
    Avro::Union(1, Box::new(v))
}

#[test]
fn debezium_logical_types_map_back_to_connect_names() {
    let named =
        |ty: &str, name: &str| json!({"type": ty, "connect.version": 1, "connect.name": name});
    let cases: Vec<(Value, Avro, Value, Value)> = vec![
        (
            opt(named("int", "io.debezium.time.Date")),
            some(Avro::Int(19000)),
            json!({"type": "int32", "optional": true, "name": "io.debezium.time.Date", "version": 1, "field": "c"}),
            json!(19000),
        ),
        (
            opt(named("long", "io.debezium.time.MicroTime")),
            some(Avro::Long(3_600_000_000)),
            json!({"type": "int64", "optional": true, "name": "io.debezium.time.MicroTime", "version": 1, "field": "c"}),
            json!(3_600_000_000_i64),
        ),
        (
            opt(named("long", "io.debezium.time.MicroTimestamp")),
            some(Avro::Long(-1)),
            json!({"type": "int64", "optional": true, "name": "io.debezium.time.MicroTimestamp", "version": 1, "field": "c"}),
            json!(-1),
        ),
        (
            opt(named("long", "io.debezium.time.Timestamp")),
            some(Avro::Long(1_700_000_000_000)),
            json!({"type": "int64", "optional": true, "name": "io.debezium.time.Timestamp", "version": 1, "field": "c"}),
            json!(1_700_000_000_000_i64),
        ),
        (
            opt(named("string", "io.debezium.time.ZonedTimestamp")),
            some(Avro::String("2024-01-02T03:04:05Z".into())),
            json!({"type": "string", "optional": true, "name": "io.debezium.time.ZonedTimestamp", "version": 1, "field": "c"}),
            json!("2024-01-02T03:04:05Z"),
        ),
        (
            opt(named("long", "io.debezium.time.MicroDuration")),
            some(Avro::Long(-86_400_000_000)),
            json!({"type": "int64", "optional": true, "name": "io.debezium.time.MicroDuration", "version": 1, "field": "c"}),
            json!(-86_400_000_000_i64),
        ),
        (
            opt(named("int", "io.debezium.time.Year")),
            some(Avro::Int(2155)),
            json!({"type": "int32", "optional": true, "name": "io.debezium.time.Year", "version": 1, "field": "c"}),
            json!(2155),
        ),
        (
            opt(named("string", "io.debezium.data.Uuid")),
            some(Avro::String("00000000-0000-0000-0000-000000000000".into())),
            json!({"type": "string", "optional": true, "name": "io.debezium.data.Uuid", "version": 1, "field": "c"}),
            json!("00000000-0000-0000-0000-000000000000"),
        ),
        (
            opt(named("string", "io.debezium.data.Json")),
            some(Avro::String("{\"a\": 1}".into())),
            json!({"type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1, "field": "c"}),
            json!("{\"a\": 1}"),
        ),
        (
            opt(
                json!({"type": "string", "connect.version": 1, "connect.parameters": {"allowed": "x,y,z"}, "connect.name": "io.debezium.data.EnumSet"}),
            ),
            some(Avro::String("x,z".into())),
            json!({"type": "string", "optional": true, "name": "io.debezium.data.EnumSet", "version": 1, "parameters": {"allowed": "x,y,z"}, "field": "c"}),
            json!("x,z"),
        ),
        (
            opt(
                json!({"type": "bytes", "connect.version": 1, "connect.parameters": {"length": "3"}, "connect.name": "io.debezium.data.Bits"}),
            ),
            some(Avro::Bytes(vec![5])),
            json!({"type": "bytes", "optional": true, "name": "io.debezium.data.Bits", "version": 1, "parameters": {"length": "3"}, "field": "c"}),
            json!("BQ=="),
        ),
        (
            opt(json!({"type": "int", "connect.type": "int16"})),
            some(Avro::Int(-32768)),
            json!({"type": "int16", "optional": true, "field": "c"}),
            json!(-32768),
        ),
        (
            opt(json!({"type": "int", "connect.type": "int8"})),
            some(Avro::Int(-128)),
            json!({"type": "int8", "optional": true, "field": "c"}),
            json!(-128),
        ),
        (
            opt(json!("float")),
            some(Avro::Float(-3.4e38)),
            json!({"type": "float", "optional": true, "field": "c"}),
            json!(-3.4e38),
        ),
        (
            opt(json!("bytes")),
            some(Avro::Bytes(vec![0xde, 0xad])),
            json!({"type": "bytes", "optional": true, "field": "c"}),
            json!("3q0="),
        ),
        (
            opt(json!({"type": "array", "items": ["null", "int"]})),
            some(Avro::Array(vec![
                Avro::Union(1, Box::new(Avro::Int(1))),
                Avro::Union(0, Box::new(Avro::Null)),
            ])),
            json!({"type": "array", "items": {"type": "int32", "optional": true}, "optional": true, "field": "c"}),
            json!([1, null]),
        ),
        (
            opt(json!("int")),
            Avro::Union(0, Box::new(Avro::Null)),
            json!({"type": "int32", "optional": true, "field": "c"}),
            Value::Null,
        ),
    ];
    for (ty, value, schema, payload) in cases {
        let (s, p) = roundtrip(ty.clone(), value);
        assert_eq!(s.to_string(), schema.to_string(), "schema of {ty}");
        assert_eq!(p, payload, "value of {ty}");
    }
}

#[test]
fn decimals_keep_their_bytes_and_scale() {
    // What AvroConverter writes for NUMERIC(12,4): the same two's-complement
    // bytes JsonConverter base64-encodes.
    let ty = opt(
        json!({"type": "bytes", "scale": 4, "precision": 12, "connect.version": 1,
        "connect.parameters": {"scale": "4", "connect.decimal.precision": "12"},
        "connect.name": "org.apache.kafka.connect.data.Decimal", "logicalType": "decimal"}),
    );
    let bytes = b64("/xcrWvAB");
    let (s, p) = roundtrip(
        ty,
        some(Avro::Decimal(apache_avro::Decimal::from(bytes.clone()))),
    );
    assert_eq!(
        s.to_string(),
        json!({"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal",
            "version": 1, "parameters": {"scale": "4", "connect.decimal.precision": "12"}, "field": "c"})
        .to_string()
    );
    assert_eq!(p, json!("/xcrWvAB"));
    // A plain Avro decimal (no Connect properties) still names Connect's Decimal.
    let plain = opt(json!({"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2}));
    let (s, p) = roundtrip(
        plain,
        some(Avro::Decimal(apache_avro::Decimal::from(vec![0x30, 0x39]))),
    );
    assert_eq!(s["name"], "org.apache.kafka.connect.data.Decimal");
    assert_eq!(
        s["parameters"],
        json!({"scale": "2", "connect.decimal.precision": "5"})
    );
    assert_eq!(p, json!("MDk="));
}

#[test]
fn structs_variable_scale_decimals_geometry_and_defaults() {
    let vsd = opt(
        json!({"type": "record", "name": "VariableScaleDecimal", "namespace": "io.debezium.data",
        "fields": [{"name": "scale", "type": "int"}, {"name": "value", "type": "bytes"}],
        "connect.version": 1, "connect.doc": "Variable scaled decimal", "connect.name": "io.debezium.data.VariableScaleDecimal"}),
    );
    let (s, p) = roundtrip(
        vsd,
        some(Avro::Record(vec![
            ("scale".into(), Avro::Int(2)),
            ("value".into(), Avro::Bytes(vec![0x30, 0x39])),
        ])),
    );
    assert_eq!(
        s.to_string(),
        json!({"type": "struct", "fields": [
            {"type": "int32", "optional": false, "field": "scale"},
            {"type": "bytes", "optional": false, "field": "value"}],
            "optional": true, "name": "io.debezium.data.VariableScaleDecimal", "version": 1,
            "doc": "Variable scaled decimal", "field": "c"})
        .to_string()
    );
    assert_eq!(p, json!({"scale": 2, "value": "MDk="}));

    let point = opt(
        json!({"type": "record", "name": "Point", "namespace": "io.debezium.data.geometry",
        "fields": [{"name": "x", "type": "double"}, {"name": "y", "type": "double"},
                   {"name": "wkb", "type": ["null", "bytes"], "default": null},
                   {"name": "srid", "type": ["null", "int"], "default": null}],
        "connect.version": 1, "connect.name": "io.debezium.data.geometry.Point"}),
    );
    let (s, p) = roundtrip(
        point,
        some(Avro::Record(vec![
            ("x".into(), Avro::Double(1.5)),
            ("y".into(), Avro::Double(-2.0)),
            ("wkb".into(), some(Avro::Bytes(vec![1]))),
            ("srid".into(), Avro::Union(0, Box::new(Avro::Null))),
        ])),
    );
    assert_eq!(s["name"], "io.debezium.data.geometry.Point");
    assert_eq!(p, json!({"x": 1.5, "y": -2.0, "wkb": "AQ==", "srid": null}));

    // A column default: `connect.default` inside a [T, "null"] union.
    let with_default = json!([{"type": "string", "connect.version": 1,
        "connect.parameters": {"allowed": "a,b"}, "connect.default": "a",
        "connect.name": "io.debezium.data.Enum"}, "null"]);
    let text = json!({"type": "record", "name": "Value", "fields": [
        {"name": "c", "type": with_default, "default": "a"},
        {"name": "n", "type": {"type": "int", "connect.default": 7}, "default": 7},
        {"name": "b", "type": {"type": "bytes", "connect.default": "\u{0}\u{ff}"}}]})
    .to_string();
    let schema = prepared(1, &text).connect_schema;
    assert_eq!(
        schema["fields"][0].to_string(),
        json!({"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
            "parameters": {"allowed": "a,b"}, "default": "a", "field": "c"})
        .to_string()
    );
    assert_eq!(schema["fields"][1]["default"], json!(7));
    assert_eq!(schema["fields"][2]["default"], json!("AP8="));
}

#[test]
fn maps_enums_and_refused_unions() {
    let (s, p) = roundtrip(
        opt(json!({"type": "map", "values": "long"})),
        some(Avro::Map(
            [
                ("b".to_string(), Avro::Long(2)),
                ("a".to_string(), Avro::Long(1)),
            ]
            .into_iter()
            .collect(),
        )),
    );
    assert_eq!(s["type"], "map");
    assert_eq!(s["keys"], json!({"type": "string", "optional": false}));
    assert_eq!(p.to_string(), r#"{"a":1,"b":2}"#);
    let (s, p) = roundtrip(
        json!({"type": "enum", "name": "E", "symbols": ["X", "Y"]}),
        Avro::Enum(1, "Y".into()),
    );
    assert_eq!((s["type"].clone(), p), (json!("string"), json!("Y")));
    let bad = one_field(json!(["null", "int", "string"]));
    let e = Prepared::new(3, &bad, Schema::parse_str(&bad).unwrap()).unwrap_err();
    assert!(matches!(e, AvroError::Mapping { id: 3, .. }), "{e}");
    assert!(
        e.to_string().contains("c: union of 2 non-null types"),
        "{e}"
    );
}

#[test]
fn framing_errors_say_what_is_wrong() {
    let e = split_framing(b"").unwrap_err();
    assert!(e.to_string().contains("empty record"), "{e}");
    let e = split_framing(b"{\"schema\"").unwrap_err();
    assert!(e.to_string().contains("0x7b"), "{e}");
    let e = split_framing(&[0, 0, 1]).unwrap_err();
    assert!(e.to_string().contains("3 bytes"), "{e}");
    assert_eq!(split_framing(&[0, 0, 0, 1, 2, 9]).unwrap(), (258, &[9][..]));
    // A datum cut short names the schema id.
    let text = one_field(json!("long"));
    let e = prepared(9, &text).to_connect_json(9, &[]).unwrap_err();
    assert!(matches!(e, AvroError::Data { id: 9, .. }), "{e}");
}

mod registry;
