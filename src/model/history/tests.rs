//! Unit tests of the history, with inline schema-change values.

use serde_json::{json, Value};

use super::*;
use crate::model::ColumnId;
use crate::source::decode_line;

fn col(name: &str, ty: &str, pos: u32) -> Value {
    json!({"name": name, "typeName": ty, "typeExpression": ty, "charsetName": null,
           "length": 255, "position": pos, "optional": false,
           "autoIncremented": false, "generated": false})
}

fn customers(third: &str) -> Vec<Value> {
    vec![
        col("id", "INT", 1),
        col("first_name", "VARCHAR", 2),
        col(third, "VARCHAR", 3),
        col("email", "VARCHAR", 4),
    ]
}

fn change(kind: &str, id: &str, columns: Option<Vec<Value>>) -> Value {
    let table = columns.map(
        |c| json!({"defaultCharsetName": "utf8mb4", "primaryKeyColumnNames": ["id"], "columns": c}),
    );
    json!({"type": kind, "id": id, "table": table})
}

fn event(ddl: &str, changes: Vec<Value>) -> Located<Event> {
    let v = json!({"source": {"connector": "mysql", "db": "inventory", "file": "bin.1", "pos": 4},
                   "databaseName": "inventory", "ddl": ddl, "tableChanges": changes});
    decode_line(&v.to_string(), 1).unwrap().unwrap()
}

fn create(h: &mut Histories) {
    h.apply(&event(
        "CREATE TABLE customers (...)",
        vec![change(
            "CREATE",
            r#""inventory"."customers""#,
            Some(customers("last_name")),
        )],
    ));
}

fn id(t: &str) -> TableId {
    TableId::new("inventory", t)
}

fn latest<'a>(h: &'a Histories, t: &str) -> &'a SourceTable {
    &h.get(&id(t)).unwrap().latest().unwrap().table
}

#[test]
fn rename_chain_keeps_column_identity() {
    let mut h = Histories::new();
    create(&mut h);
    let original = latest(&h, "customers").column("last_name").unwrap().id;
    let n1 = h.apply(&event(
        "ALTER TABLE customers CHANGE COLUMN last_name surname VARCHAR(255) NOT NULL",
        vec![change(
            "ALTER",
            r#""inventory"."customers""#,
            Some(customers("surname")),
        )],
    ));
    assert!(n1.contains(&HistoryNote::ColumnRenamed {
        table: id("customers"),
        from: "last_name".into(),
        to: "surname".into()
    }));
    let n2 = h.apply(&event(
        "ALTER TABLE customers RENAME COLUMN surname TO family_name",
        vec![change(
            "ALTER",
            r#""inventory"."customers""#,
            Some(customers("family_name")),
        )],
    ));
    assert!(!n2
        .iter()
        .any(|n| matches!(n, HistoryNote::PossibleRename { .. })));
    let c = latest(&h, "customers").column("family_name").unwrap();
    assert_eq!(c.id, original);
    assert_eq!(c.former_names, vec!["last_name", "surname"]);
    assert_eq!(h.get(&id("customers")).unwrap().versions.len(), 3);
}

#[test]
fn unparsed_ddl_is_a_warning_and_table_changes_still_apply() {
    let mut h = Histories::new();
    create(&mut h);
    let notes = h.apply(&event(
        "ALTER TABLE customers FROBNICATE last_name INTO surname",
        vec![change(
            "ALTER",
            r#""inventory"."customers""#,
            Some(customers("surname")),
        )],
    ));
    assert!(notes
        .iter()
        .any(|n| matches!(n, HistoryNote::DdlNotParsed { .. })));
    assert!(notes.contains(&HistoryNote::PossibleRename {
        table: id("customers"),
        from: "last_name".into(),
        to: "surname".into()
    }));
    let v = h.get(&id("customers")).unwrap().latest().unwrap();
    assert!(v.warnings.iter().any(|w| w.starts_with("ddl not parsed")));
    assert!(v
        .warnings
        .iter()
        .any(|w| w.starts_with("possible rename last_name -> surname")));
    let c = v.table.column("surname").unwrap();
    assert!(c.former_names.is_empty());
    assert_eq!(c.id, ColumnId(5), "a possible rename gets a new id");
}

#[test]
fn fallback_reader_keeps_renames_of_unparsed_ddl() {
    let mut h = Histories::new();
    create(&mut h);
    h.apply(&event(
        "ALTER TABLE customers CHANGE COLUMN last_name surname VARCHAR(255) NOT NULL, FROBNICATE",
        vec![change(
            "ALTER",
            r#""inventory"."customers""#,
            Some(customers("surname")),
        )],
    ));
    let v = h.get(&id("customers")).unwrap().latest().unwrap();
    assert!(v.warnings.iter().any(|w| w.contains("fallback")));
    assert_eq!(
        v.table.column("surname").unwrap().former_names,
        vec!["last_name"]
    );
}

#[test]
fn rename_table_moves_the_history() {
    let mut h = Histories::new();
    create(&mut h);
    let notes = h.apply(&event(
        "RENAME TABLE customers TO clients",
        vec![change(
            "ALTER",
            r#""inventory"."clients""#,
            Some(customers("last_name")),
        )],
    ));
    assert!(notes.contains(&HistoryNote::TableRenamed {
        from: id("customers"),
        to: id("clients")
    }));
    assert!(h.get(&id("customers")).is_none());
    let hist = h.get(&id("clients")).unwrap();
    assert_eq!(hist.former_ids, vec![id("customers")]);
    assert_eq!(hist.versions.len(), 2);
    let names: Vec<_> = h.tables().map(|(t, _)| t.table.clone()).collect();
    assert_eq!(names, vec!["clients"]);
    assert!(matches!(
        h.table_events().last(),
        Some(TableEvent::Renamed { .. })
    ));
}

#[test]
fn two_name_ids_in_either_order() {
    for (raw, ddl) in [
        (
            r#""inventory"."customers","inventory"."clients""#,
            "RENAME TABLE customers TO clients",
        ),
        (
            r#""inventory"."clients","inventory"."customers""#,
            "RENAME TABLE customers TO clients",
        ),
        (r#""inventory"."customers","inventory"."clients""#, ""),
        (r#""inventory"."clients","inventory"."customers""#, ""),
    ] {
        let mut h = Histories::new();
        create(&mut h);
        h.apply(&event(
            ddl,
            vec![change("ALTER", raw, Some(customers("last_name")))],
        ));
        assert!(
            h.get(&id("clients")).is_some_and(|t| !t.dropped),
            "{raw} / {ddl:?}"
        );
        assert!(h.get(&id("customers")).is_none(), "{raw} / {ddl:?}");
    }
}

#[test]
fn alter_rename_to_and_other_databases() {
    let mut h = Histories::new();
    create(&mut h);
    h.apply(&event(
        "ALTER TABLE customers RENAME TO people",
        vec![change(
            "ALTER",
            r#""inventory"."people""#,
            Some(customers("last_name")),
        )],
    ));
    assert!(h.get(&id("people")).is_some());
    h.apply(&event(
        "CREATE TABLE other.people (id INT)",
        vec![change(
            "CREATE",
            r#""other"."people""#,
            Some(vec![col("id", "INT", 1)]),
        )],
    ));
    assert_eq!(h.tables().count(), 2);
}

#[test]
fn drop_and_recreate() {
    let mut h = Histories::new();
    create(&mut h);
    let notes = h.apply(&event(
        "DROP TABLE `inventory`.`customers`",
        vec![change("DROP", r#""inventory"."customers""#, None)],
    ));
    assert_eq!(
        notes,
        vec![HistoryNote::Dropped {
            table: id("customers")
        }]
    );
    assert_eq!(h.tables().count(), 0);
    assert_eq!(h.dropped().count(), 1);
    create(&mut h);
    let hist = h.get(&id("customers")).unwrap();
    assert!(!hist.dropped);
    assert_eq!(hist.versions.len(), 1);
}

#[test]
fn identical_structure_is_unchanged_and_fingerprint_is_stable() {
    let mut h = Histories::new();
    create(&mut h);
    let notes = h.apply(&event(
        "ALTER TABLE customers ADD INDEX i (email)",
        vec![change(
            "ALTER",
            r#""inventory"."customers""#,
            Some(customers("last_name")),
        )],
    ));
    assert_eq!(
        notes,
        vec![HistoryNote::Unchanged {
            table: id("customers")
        }]
    );
    let fp = h
        .get(&id("customers"))
        .unwrap()
        .latest()
        .unwrap()
        .fingerprint;
    assert_eq!(fp.to_string().len(), 12);
    assert_eq!(fp, Fingerprint::of(latest(&h, "customers")));
    let notes = h.apply(&event("SET character_set_server=utf8mb4", vec![]));
    assert!(matches!(notes[0], HistoryNote::Skipped { .. }));
}

#[test]
fn truncate_statement_and_data_event() {
    let mut h = Histories::new();
    create(&mut h);
    let notes = h.apply(&event("TRUNCATE TABLE customers", vec![]));
    assert_eq!(
        notes,
        vec![HistoryNote::Truncated {
            table: id("customers")
        }]
    );
    let t = json!({"before": null, "after": null, "op": "t",
                   "source": {"connector": "mysql", "db": "inventory", "table": "customers"}});
    let notes = h.apply(&decode_line(&t.to_string(), 2).unwrap().unwrap());
    assert_eq!(
        notes,
        vec![HistoryNote::Truncated {
            table: id("customers")
        }]
    );
    assert_eq!(
        h.table_events()
            .iter()
            .filter(|e| matches!(e, TableEvent::Truncated { .. }))
            .count(),
        2
    );
}

#[test]
fn inline_schema_versions_only_on_fingerprint_change() {
    let line = |cols: Value| {
        json!({"schema": {"type": "struct", "fields": [
                   {"field": "after", "type": "struct", "optional": true, "fields": cols}]},
               "payload": {"before": null, "after": {}, "op": "c",
                   "source": {"connector": "postgresql", "schema": "public", "table": "t", "lsn": 5}}})
        .to_string()
    };
    let a = json!([{"field": "id", "type": "int32", "optional": false},
                   {"field": "old", "type": "string", "optional": true}]);
    let b = json!([{"field": "id", "type": "int32", "optional": false},
                   {"field": "new", "type": "string", "optional": true}]);
    let mut h = Histories::new();
    let n1 = h.apply(&decode_line(&line(a.clone()), 1).unwrap().unwrap());
    assert!(matches!(n1[0], HistoryNote::NewVersion { version: 0, .. }));
    let n2 = h.apply(&decode_line(&line(a), 2).unwrap().unwrap());
    assert!(matches!(n2[0], HistoryNote::Unchanged { .. }));
    let n3 = h.apply(&decode_line(&line(b), 3).unwrap().unwrap());
    let t = TableId::new("public", "t");
    assert!(n3.contains(&HistoryNote::PossibleRename {
        table: t.clone(),
        from: "old".into(),
        to: "new".into()
    }));
    let v = h.get(&t).unwrap().latest().unwrap();
    assert_eq!(v.position.native.as_deref(), Some("lsn:5"));
    assert_eq!(v.origin, VersionOrigin::InlineSchema);
}

#[test]
fn inline_schemas_do_not_resurrect_renamed_or_dropped_tables() {
    let mut h = Histories::new();
    create(&mut h);
    h.apply(&event(
        "RENAME TABLE customers TO clients",
        vec![change(
            "ALTER",
            r#""inventory"."clients""#,
            Some(customers("last_name")),
        )],
    ));
    let late = json!({"schema": {"type": "struct", "fields": [
            {"field": "after", "type": "struct", "optional": true,
             "fields": [{"field": "id", "type": "int32", "optional": false}]}]},
        "payload": {"before": null, "after": {"id": 1}, "op": "c",
            "source": {"connector": "mysql", "db": "inventory", "table": "customers"}}});
    let notes = h.apply(&decode_line(&late.to_string(), 9).unwrap().unwrap());
    assert!(
        matches!(&notes[0], HistoryNote::Skipped { reason } if reason.contains("renamed to inventory.clients"))
    );
    assert!(h.get(&id("customers")).is_none());
}
