//! Integration tests of Debezium decoding and the schema history on the copied
//! fixtures (`fixtures/debezium/`, see its SOURCES.md): every file decodes or
//! is rejected with a precise error, nothing panics, and the real MariaDB /
//! PostgreSQL captures give the expected histories (renames as renames).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ddlsync::model::history::{Histories, HistoryNote, TableEvent};
use ddlsync::model::{SourceDialect, TableId};
use ddlsync::source::{decode_file, decode_line, DecodeError, Event, Located, Op};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/debezium")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

fn decode_ok(rel: &str) -> Vec<Located<Event>> {
    let (events, errors) = decode_file(&read(rel));
    assert!(errors.is_empty(), "{rel}: {errors:?}");
    events
}

fn describe(ev: &Located<Event>) -> String {
    match &ev.value {
        Event::SchemaChange(sc) => format!(
            "schema-change db={:?} changes=[{}]",
            sc.database,
            sc.table_changes
                .iter()
                .map(|c| format!(
                    "{:?} {} ({} columns)",
                    c.kind,
                    c.id,
                    c.table.as_ref().map_or(0, |t| t.columns.len())
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Event::DataChange(dc) => format!(
            "{} {} {} schema={}",
            dc.op.code(),
            dc.dialect,
            dc.table,
            dc.schema.as_ref().map_or("none".to_string(), |s| format!(
                "{} columns",
                s.columns.len()
            ))
        ),
    }
}

/// Every fixture file (but the DDL corpus and SOURCES.md) decoded: one line per
/// event or error. Doc excerpts that are not valid JSON must be rejected.
#[test]
fn every_fixture_decodes_or_is_rejected_precisely() {
    let mut all = Vec::new();
    files(&root(), &mut all);
    let mut report = String::new();
    for path in all {
        let rel = path
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("ddl/") || rel.ends_with(".md") || rel.ends_with("steps-maria.json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let (events, errors) = std::panic::catch_unwind(|| decode_file(&text))
            .unwrap_or_else(|_| panic!("{rel}: decode_file panicked"));
        writeln!(
            report,
            "{rel}: {} events, {} errors",
            events.len(),
            errors.len()
        )
        .unwrap();
        if rel.ends_with(".jsonl") {
            // Large captures: kinds only.
            let mut kinds: Vec<String> = events.iter().map(describe).collect();
            kinds.dedup();
            for k in kinds {
                writeln!(report, "  {k}").unwrap();
            }
        } else {
            for ev in &events {
                writeln!(report, "  {}", describe(ev)).unwrap();
            }
        }
        for e in &errors {
            writeln!(report, "  error: {e}").unwrap();
        }
        if rel.contains(".doc-excerpt.") {
            assert!(!errors.is_empty() || !events.is_empty(), "{rel}");
        }
    }
    insta::assert_snapshot!("fixture_decode_report", report);
}

#[test]
fn docs_schema_change_value_decodes_to_source_table() {
    let events = decode_ok("schema-change/debezium-docs/mysql-schema-change-value.json");
    let Event::SchemaChange(sc) = &events[0].value else {
        panic!("not a schema change")
    };
    assert_eq!(
        sc.ddl.as_deref(),
        Some("ALTER TABLE customers ADD middle_name varchar(255) AFTER first_name")
    );
    assert_eq!(
        events[0].position.native.as_deref(),
        Some("mysql-bin.000003:570")
    );
    let table = sc.table_changes[0].table.as_ref().unwrap();
    insta::assert_json_snapshot!("docs_schema_change_table", table);
}

#[test]
fn paimon_history_record_is_read() {
    let events =
        decode_ok("schema-change/third-party/apache-paimon/mysql/debezium-event-change.json");
    let Event::SchemaChange(sc) = &events[0].value else {
        panic!("not a schema change")
    };
    assert_eq!(sc.database.as_deref(), Some("tinyint1_not_bool_test"));
    let t = sc.table_changes[0].table.as_ref().unwrap();
    assert_eq!(t.column("_new_tinyint1").unwrap().ty.name, "TINYINT");
}

#[test]
fn transaction_metadata_and_keys_are_rejected_precisely() {
    let (_, errors) = decode_file(&read(
        "data-change/debezium-docs/mysql-transaction-begin.json",
    ));
    assert_eq!(
        errors[0].to_string(),
        "line 1: unsupported Debezium message: transaction metadata event (status BEGIN), not a change event"
    );
    assert!(errors[0].is_skippable());
    let (_, errors) = decode_file(&read("data-change/debezium-docs/mysql-customers-key.json"));
    assert_eq!(
        errors[0].to_string(),
        "line 1: not a Debezium message: missing field `payload.op` (this is a record key, not a value)"
    );
    let (_, errors) = decode_file(&read(
        "inventory/debezium-examples/tutorial/register-mysql.json",
    ));
    assert!(
        matches!(errors[0], DecodeError::NotDebezium { .. }),
        "{errors:?}"
    );
}

#[test]
fn truncated_and_garbage_lines_name_line_and_column() {
    let text = read("captured/json/mdb1.inventory.customers.jsonl");
    let first = text.lines().next().unwrap();
    let cut = &first[..first.len() / 2];
    let input = format!("{first}\n{cut}\n\nnot json\n[1,2]\n{first}\n");
    let (events, errors) = decode_file(&input);
    assert_eq!(events.len(), 2);
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        shown[0].starts_with("line 2: invalid json at column "),
        "{shown:?}"
    );
    assert_eq!(shown[1], "line 4: invalid json at column 2: expected ident");
    assert_eq!(
        shown[2],
        "line 5: not a Debezium message: expected a json object, found an array"
    );
    assert_eq!(events[1].position.line, Some(6));
}

#[test]
fn kcat_lines_and_raw_values_decode_alike() {
    let text = read("captured/json/mdb1.inventory.customers.jsonl");
    let line = text.lines().next().unwrap();
    let kcat = decode_line(line, 1).unwrap().unwrap();
    let record: serde_json::Value = serde_json::from_str(line).unwrap();
    let raw_value = record["payload"].as_str().unwrap();
    let raw = decode_line(raw_value, 1).unwrap().unwrap();
    let (Event::DataChange(a), Event::DataChange(b)) = (&kcat.value, &raw.value) else {
        panic!()
    };
    assert_eq!(a.table, TableId::new("inventory", "customers"));
    assert_eq!(a.op, Op::Read);
    assert_eq!(
        kcat.position.topic.as_deref(),
        Some("mdb1.inventory.customers")
    );
    assert_eq!(kcat.position.offset, Some(0));
    assert_eq!(
        kcat.position.native.as_deref(),
        Some("mariadb-bin.000001:3111")
    );
    // the kcat line carries the key, so the primary key is known
    assert_eq!(a.schema.as_ref().unwrap().primary_key, vec!["id"]);
    assert!(b.schema.as_ref().unwrap().primary_key.is_empty());
    assert_eq!(a.after, b.after);
    // kcat -J with the value as an object instead of a string
    let mut obj = record.clone();
    obj["payload"] = serde_json::from_str(raw_value).unwrap();
    let as_obj = decode_line(&obj.to_string(), 1).unwrap().unwrap();
    assert_eq!(as_obj.value, kcat.value);
    // schemas.enable=false: the bare payload
    let bare = serde_json::from_str::<serde_json::Value>(raw_value).unwrap()["payload"].to_string();
    let Event::DataChange(c) = decode_line(&bare, 1).unwrap().unwrap().value else {
        panic!()
    };
    assert!(c.schema.is_none());
    assert_eq!(c.after, a.after);
}

#[test]
fn postgres_all_types_inferred_native_types() {
    let events = decode_ok("captured/json/dbserver1.public.all_types.jsonl");
    let Event::DataChange(dc) = &events[0].value else {
        panic!()
    };
    assert_eq!(dc.dialect, SourceDialect::Postgres);
    let t = dc.schema.as_ref().unwrap();
    let ty = |n: &str| t.column(n).unwrap().ty.name.clone();
    assert_eq!(ty("c_uuid"), "UUID");
    assert_eq!(ty("c_timestamptz"), "TIMESTAMPTZ");
    assert_eq!(ty("c_int_array"), "_INT4");
    assert_eq!(ty("c_text_array"), "_TEXT");
    assert_eq!(ty("c_numeric"), "NUMERIC");
    insta::assert_json_snapshot!("pg_all_types_table", t);
}

#[test]
fn mariadb_all_types_inferred_native_types() {
    let events = decode_ok("captured/json/mdb1.inventory.all_types.jsonl");
    let Event::DataChange(dc) = &events[0].value else {
        panic!()
    };
    insta::assert_json_snapshot!("mariadb_all_types_table", dc.schema.as_ref().unwrap());
}

/// Offsets of a MariaDB step in `steps-maria.json`.
fn step_offsets(prefix: &str, topic: &str) -> (usize, usize) {
    let steps: serde_json::Value =
        serde_json::from_str(&read("captured/json/steps-maria.json")).unwrap();
    let step = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"].as_str().unwrap().starts_with(prefix))
        .unwrap();
    let r = &step["topics"][topic];
    (
        r[0].as_u64().unwrap() as usize,
        r[1].as_u64().unwrap() as usize,
    )
}

/// The real capture has no schema-change topic file, so the MariaDB
/// `CHANGE COLUMN` (M07) and `RENAME COLUMN` (M09) steps are seen through the
/// inline schemas of `mdb1.inventory.customers`: drop + add at the same
/// position, which must be flagged as a possible rename and never applied as one.
#[test]
fn captured_mariadb_renames_via_inline_schemas_are_possible_renames_only() {
    let events = decode_ok("captured/json/mdb1.inventory.customers.jsonl");
    let (m07, _) = step_offsets("M07", "mdb1.inventory.customers");
    let (m09, _) = step_offsets("M09", "mdb1.inventory.customers");
    let mut h = Histories::new();
    let mut possible = Vec::new();
    for ev in &events {
        for n in h.apply(ev) {
            if let HistoryNote::PossibleRename { from, to, .. } = n {
                possible.push((ev.position.offset.unwrap() as usize, from, to));
            }
        }
    }
    assert!(
        possible.contains(&(m07, "last_name".into(), "surname".into())),
        "{possible:?}"
    );
    assert!(
        possible.contains(&(m09, "surname".into(), "family_name".into())),
        "{possible:?}"
    );
    let latest = h
        .get(&TableId::new("inventory", "customers"))
        .unwrap()
        .latest()
        .unwrap();
    let family = latest.table.column("family_name").unwrap();
    assert!(
        family.former_names.is_empty(),
        "no rename without ddl evidence"
    );
}

#[test]
fn captured_postgres_history() {
    let events = decode_ok("captured/json/dbserver1.public.customers.jsonl");
    let mut h = Histories::new();
    let notes = h.apply_all(&events);
    let id = TableId::new("public", "customers");
    let hist = h.get(&id).unwrap();
    let summary: Vec<String> = hist
        .versions
        .iter()
        .map(|v| {
            format!(
                "offset {:?} {}: {}",
                v.position.offset,
                v.fingerprint,
                v.table
                    .columns
                    .iter()
                    .map(|c| format!(
                        "{}#{}:{}{}",
                        c.name,
                        c.id.0,
                        c.ty.name,
                        if c.nullable { "?" } else { "" }
                    ))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })
        .collect();
    insta::assert_snapshot!("pg_customers_versions", summary.join("\n"));
    assert!(notes.iter().any(|n| matches!(n, HistoryNote::PossibleRename { from, to, .. } if from == "last_name" && to == "surname")));
    assert!(h
        .table_events()
        .iter()
        .any(|e| matches!(e, TableEvent::Truncated { id: t, .. } if *t == id)));
}

/// A schema-change topic value for `table` with ddl `ddl`, columns taken from
/// a decoded (captured) table.
fn schema_change_line(ddl: &str, kind: &str, table: &ddlsync::model::SourceTable) -> String {
    let columns: Vec<serde_json::Value> = table
        .columns
        .iter()
        .map(|c| {
            serde_json::json!({"name": c.name, "typeName": c.ty.name, "typeExpression": c.ty.name,
                "length": c.ty.length, "position": c.position, "optional": c.nullable,
                "autoIncremented": false, "generated": false})
        })
        .collect();
    serde_json::json!({
        "source": {"connector": "mysql", "db": table.id.database, "file": "mariadb-bin.000001", "pos": 1},
        "databaseName": table.id.database, "ddl": ddl,
        "tableChanges": [{"type": kind, "id": format!("\"{}\".\"{}\"", table.id.database, table.id.table),
            "table": {"primaryKeyColumnNames": ["id"], "columns": columns}}]})
    .to_string()
}

/// The MariaDB scenario replayed as the schema-change topic shows it: each DDL
/// step's real statement (`steps-maria.json`) with the column list after it
/// (the captured inline schema of the step's first data record), interleaved
/// with the captured data events. CHANGE COLUMN then RENAME COLUMN must end as
/// one column `family_name` that was `last_name` then `surname`, and RENAME
/// TABLE must move the history to `clients`.
#[test]
fn mariadb_scenario_with_real_ddl_keeps_identity_through_renames() {
    let customers = decode_ok("captured/json/mdb1.inventory.customers.jsonl");
    let clients = decode_ok("captured/json/mdb1.inventory.clients.jsonl");
    let steps: serde_json::Value =
        serde_json::from_str(&read("captured/json/steps-maria.json")).unwrap();
    let schema_at = |events: &[Located<Event>], offset: usize| {
        events
            .iter()
            .find_map(|e| match &e.value {
                Event::DataChange(dc) if e.position.offset == Some(offset as i64) => {
                    dc.schema.clone()
                }
                _ => None,
            })
            .unwrap()
    };
    let mut h = Histories::new();
    let mut notes = Vec::new();
    let first = schema_at(&customers, 0);
    let create = schema_change_line(
        "CREATE TABLE customers (id INT PRIMARY KEY)",
        "CREATE",
        &first,
    );
    notes.extend(h.apply(&decode_line(&create, 1).unwrap().unwrap()));
    let feed = |h: &mut Histories,
                notes: &mut Vec<HistoryNote>,
                events: &[Located<Event>],
                range: std::ops::Range<usize>| {
        for e in events
            .iter()
            .filter(|e| range.contains(&(e.position.offset.unwrap() as usize)))
        {
            notes.extend(h.apply(e));
        }
    };
    let mut applied = 0usize;
    for step in steps.as_array().unwrap() {
        let sql = step["sql"].as_str().unwrap();
        let Some(stmt) = ddlsync::source::ddl::split_statements(sql)
            .into_iter()
            .find(|s| s.starts_with("ALTER TABLE customers") || s.starts_with("RENAME TABLE"))
        else {
            continue;
        };
        if stmt.starts_with("RENAME TABLE") {
            feed(&mut h, &mut notes, &customers, applied..usize::MAX);
            applied = usize::MAX;
            let line = schema_change_line(&stmt, "ALTER", &schema_at(&clients, 0));
            notes.extend(h.apply(&decode_line(&line, 1).unwrap().unwrap()));
            feed(&mut h, &mut notes, &clients, 0..usize::MAX);
        } else {
            let from = step["topics"]["mdb1.inventory.customers"][0]
                .as_u64()
                .unwrap() as usize;
            feed(&mut h, &mut notes, &customers, applied..from);
            applied = from;
            let line = schema_change_line(&stmt, "ALTER", &schema_at(&customers, from));
            notes.extend(h.apply(&decode_line(&line, 1).unwrap().unwrap()));
        }
    }
    let shown: Vec<String> = notes.iter().map(ToString::to_string).collect();
    assert!(
        !notes.iter().any(|n| matches!(
            n,
            HistoryNote::PossibleRename { .. } | HistoryNote::Skipped { .. }
        )),
        "{shown:#?}"
    );
    assert!(h.get(&TableId::new("inventory", "customers")).is_none());
    let hist = h.get(&TableId::new("inventory", "clients")).unwrap();
    assert_eq!(
        hist.former_ids,
        vec![TableId::new("inventory", "customers")]
    );
    let original = hist.versions[0].table.column("last_name").unwrap().id;
    let family = hist.latest().unwrap().table.column("family_name").unwrap();
    assert_eq!(family.id, original);
    assert_eq!(family.former_names, vec!["last_name", "surname"]);
    insta::assert_snapshot!("mariadb_scenario_notes", shown.join("\n"));
}

#[test]
fn real_step_statements_yield_the_expected_renames() {
    let steps: serde_json::Value =
        serde_json::from_str(&read("captured/json/steps-maria.json")).unwrap();
    let mut cols = Vec::new();
    let mut tables = Vec::new();
    for step in steps.as_array().unwrap() {
        for stmt in ddlsync::source::ddl::split_statements(step["sql"].as_str().unwrap()) {
            let a = ddlsync::source::ddl::analyze(&stmt);
            cols.extend(a.column_renames.into_iter().map(|r| (r.from, r.to)));
            tables.extend(
                a.table_renames
                    .into_iter()
                    .map(|r| (r.from.name, r.to.name)),
            );
        }
    }
    assert_eq!(
        cols,
        vec![
            ("last_name".into(), "surname".into()),
            ("surname".into(), "family_name".into())
        ]
    );
    assert_eq!(
        tables,
        vec![("customers".to_string(), "clients".to_string())]
    );
}

/// Propagated source types (`__debezium.source.column.type`, length, scale)
/// are used as the native type: UNSIGNED and ZEROFILL are read off the name.
#[test]
fn propagated_source_types_are_used() {
    // the file alternates key and value lines; keys are rejected as such
    let (events, errors) = decode_file(&read(
        "data-change/third-party/apache-paimon/kafka/debezium-avro/table/schema/alltype/debezium-avro-data-1.txt",
    ));
    assert_eq!(errors.len(), 2);
    let Event::DataChange(dc) = &events[0].value else {
        panic!()
    };
    let t = dc.schema.as_ref().unwrap();
    let summary: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            format!(
                "{} {} nullable={} semantic={:?}",
                c.name, c.ty, c.nullable, c.ty.semantic
            )
        })
        .collect();
    insta::assert_snapshot!("paimon_propagated_types", summary.join("\n"));
    assert!(t
        .columns
        .iter()
        .any(|c| c.ty.name == "BIGINT" && c.ty.unsigned));
}
