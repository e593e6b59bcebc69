//! Unit tests of the line and file decoders (inline JSON).

use super::*;

#[test]
fn blank_and_tombstone_lines_are_none() {
    assert_eq!(decode_line("   ", 1), Ok(None));
    let kcat = r#"{"topic":"t.db.x","partition":0,"offset":7,"key":"{\"id\":1}","payload":null}"#;
    assert_eq!(decode_line(kcat, 2), Ok(None));
}

use proptest::prelude::*;
use serde_json::json;

const ORDERS: &str =
    include_str!("../../fixtures/debezium/captured/json/mdb1.inventory.orders.jsonl");

fn schema_change_value() -> serde_json::Value {
    json!({"source": {"connector": "mysql", "db": "inventory", "file": "bin.3", "pos": 9, "ts_ms": 5},
           "databaseName": "inventory", "schemaName": null,
           "ddl": "ALTER TABLE t ADD c INT",
           "tableChanges": [{"type": "ALTER", "id": "\"inventory\".\"t\"",
               "table": {"defaultCharsetName": null, "primaryKeyColumnNames": ["a"],
                   "columns": [
                       {"name": "a", "typeName": "INT UNSIGNED", "position": 1, "optional": false},
                       {"name": "b", "jdbcType": 12, "nativeType": null, "typeName": "VARCHAR",
                        "typeExpression": "VARCHAR", "charsetName": "latin1", "length": 10,
                        "scale": null, "position": 2, "optional": true, "autoIncremented": false,
                        "generated": false, "comment": null, "defaultValueExpression": null,
                        "enumValues": null},
                       {"name": "c", "typeName": "ENUM", "position": 3, "comment": "x",
                        "defaultValueExpression": "'p'", "enumValues": ["'p'", "'q'"]}]}}]})
}

#[test]
fn optional_column_fields_absent_null_or_present() {
    let ev = decode_line(&schema_change_value().to_string(), 3)
        .unwrap()
        .unwrap();
    assert_eq!(ev.position.native.as_deref(), Some("bin.3:9"));
    assert_eq!(ev.position.line, Some(3));
    let Event::SchemaChange(sc) = ev.value else {
        panic!()
    };
    let t = sc.table_changes[0].table.as_ref().unwrap();
    let (a, b, c) = (&t.columns[0], &t.columns[1], &t.columns[2]);
    assert!(a.ty.unsigned && a.ty.name == "INT" && !a.nullable && a.ty.length.is_none());
    assert_eq!(
        (b.ty.length, b.ty.charset.as_deref(), b.nullable),
        (Some(10), Some("latin1"), true)
    );
    assert_eq!(c.ty.enum_values, vec!["p", "q"]);
    assert_eq!(
        (c.default.as_deref(), c.comment.as_deref()),
        (Some("'p'"), Some("x"))
    );
    assert!(c.nullable, "absent `optional` means nullable");
}

#[test]
fn schema_change_wrapped_in_connect_envelope_and_kcat() {
    let wrapped = json!({"schema": {"type": "struct", "name": "io.debezium.connector.mysql.SchemaChangeValue"},
                         "payload": schema_change_value()});
    let a = decode_line(&wrapped.to_string(), 1).unwrap().unwrap();
    let kcat = json!({"topic": "mdb1", "partition": 0, "offset": 14,
                      "key": "{\"schema\":{},\"payload\":{\"databaseName\":\"inventory\"}}",
                      "payload": wrapped.to_string()});
    let b = decode_line(&kcat.to_string(), 1).unwrap().unwrap();
    assert_eq!(a.value, b.value);
    assert_eq!(b.position.offset, Some(14));
}

#[test]
fn wrong_field_types_are_named() {
    let mut v = schema_change_value();
    v["tableChanges"][0]["table"]["columns"][1]["length"] = json!("ten");
    let e = decode_line(&v.to_string(), 7).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 7: invalid field `payload.tableChanges[0].table.columns[1].length`: expected an integer, found a string"
    );
    let mut v = schema_change_value();
    v["tableChanges"][0]["type"] = json!("MERGE");
    assert!(decode_line(&v.to_string(), 1)
        .unwrap_err()
        .to_string()
        .contains("unknown table change type `MERGE`"));
    let e = decode_line(
        r#"{"before":null,"after":{"a":1},"source":{"connector":"mysql","db":"d","table":"t"}}"#,
        12,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 12: not a Debezium message: missing field `payload.op`"
    );
    let e = decode_line(
        r#"{"topic":"t","partition":0,"offset":1,"payload":"{\"op\":"}"#,
        4,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("line 4: invalid field `payload`: record value is not json"),
        "{e}"
    );
}

#[test]
fn id_with_two_names_is_ordered_by_the_ddl() {
    let mut v = schema_change_value();
    v["ddl"] = json!("RENAME TABLE a TO t");
    v["tableChanges"][0]["id"] = json!("\"inventory\".\"t\",\"inventory\".\"a\"");
    let Event::SchemaChange(sc) = decode_line(&v.to_string(), 1).unwrap().unwrap().value else {
        panic!()
    };
    let c = &sc.table_changes[0];
    assert_eq!((c.id.table.as_str(), c.id_order), ("t", IdOrder::NewOld));
    assert_eq!(c.previous_id.as_ref().map(|p| p.table.as_str()), Some("a"));
    v["tableChanges"][0]["id"] = json!("\"inventory\".\"a\",\"inventory\".\"t\"");
    let Event::SchemaChange(sc) = decode_line(&v.to_string(), 1).unwrap().unwrap().value else {
        panic!()
    };
    assert_eq!(
        (
            sc.table_changes[0].id.table.as_str(),
            sc.table_changes[0].id_order
        ),
        ("t", IdOrder::OldNew)
    );
}

#[test]
fn document_mode_reads_pretty_printed_files() {
    let text = format!(
        "/* header\n * lines\n */\n{}\n{}",
        serde_json::to_string_pretty(&schema_change_value()).unwrap(),
        "{\n \"a\": 1\n}"
    );
    let (events, errors) = decode_file(&text);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].position.line, Some(4));
    assert_eq!(errors.len(), 1);
    assert!(errors[0].to_string().starts_with("line "), "{}", errors[0]);
}

#[test]
fn truncated_first_line_does_not_hide_the_rest() {
    let first = ORDERS.lines().next().unwrap();
    let text = format!("{}\n{first}\n", &first[..40]);
    let (events, errors) = decode_file(&text);
    assert_eq!((events.len(), errors.len()), (1, 1));
    assert_eq!(errors[0].line(), 1);
    assert_eq!(events[0].position.line, Some(2));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        drop(decode_line(&s, 1));
        drop(decode_file(&s));
    }

    #[test]
    fn mutated_fixture_lines_never_panic(line in 0usize..3, cut in 0usize..4000, at in 0usize..4000, ch in any::<char>()) {
        let text = ORDERS.lines().nth(line).unwrap_or("");
        let mut chars: Vec<char> = text.chars().collect();
        let n = chars.len().max(1);
        chars.truncate(cut % (n + 1) + n / 2);
        if !chars.is_empty() {
            let i = at % chars.len();
            chars[i] = ch;
        }
        let mutated: String = chars.into_iter().collect();
        drop(decode_line(&mutated, 1));
        // the value inside the kcat line, mutated the same way
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            if let Some(p) = v["payload"].as_str() {
                let mut p: Vec<char> = p.chars().collect();
                if !p.is_empty() { let i = at % p.len(); p[i] = ch; }
                drop(decode_line(&p.into_iter().collect::<String>(), 1));
            }
        }
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        drop(decode_line(&v.to_string(), 1));
        let wrapped = json!({"payload": v, "schema": {"fields": [{"field": "after", "fields": [v]}]}});
        drop(decode_line(&wrapped.to_string(), 1));
    }
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-z]{0,6}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("op".to_string()),
                        Just("tableChanges".to_string()),
                        Just("payload".to_string()),
                        Just("source".to_string()),
                        Just("ddl".to_string()),
                        Just("table".to_string()),
                        Just("columns".to_string()),
                        Just("id".to_string()),
                        Just("type".to_string()),
                        Just("fields".to_string()),
                        Just("historyRecord".to_string()),
                        "[a-z]{1,4}"
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}
