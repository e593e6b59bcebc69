//! Planning throughput: 1,000 source tables × 50 columns, each with a schema
//! history of two events (CREATE, then an ALTER that adds a column, renames one
//! and widens one), against a StarRocks catalog of the tables as created.
//!
//! Measured separately: decoding + folding the history, parsing the catalog,
//! and diff → policy → plan (`pipeline::run`). Run with `cargo bench --bench plan`.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use ddlsync::capabilities::StarRocksVersion;
use ddlsync::catalog::parse_catalog;
use ddlsync::config::Config;
use ddlsync::model::history::Histories;
use ddlsync::pipeline::{self, Inputs};
use ddlsync::policy::RuleSet;
use ddlsync::source::decode_file;

const TABLES: usize = 1_000;
const COLUMNS: usize = 50;

fn column_json(name: &str, position: usize, type_name: &str, length: Option<u32>) -> String {
    let (len, charset) = match length {
        Some(l) => (l.to_string(), "\"utf8mb4\"".to_owned()),
        None => ("null".to_owned(), "null".to_owned()),
    };
    format!(
        r#"{{"name":"{name}","jdbcType":12,"nativeType":null,"typeName":"{type_name}","typeExpression":"{type_name}","charsetName":{charset},"length":{len},"scale":null,"position":{position},"optional":{optional},"autoIncremented":false,"generated":false,"comment":null,"hasDefaultValue":false,"defaultValueExpression":null,"enumValues":null}}"#,
        optional = position != 1
    )
}

fn columns(altered: bool) -> Vec<String> {
    let mut cols = vec![column_json("id", 1, "BIGINT", None)];
    for i in 2..=COLUMNS {
        let name = if altered && i == 3 {
            "c3_renamed".to_owned()
        } else {
            format!("c{i}")
        };
        let cols_len = if altered && i == 4 { 200 } else { 100 };
        if i % 2 == 0 {
            cols.push(column_json(&name, i, "VARCHAR", Some(cols_len)));
        } else {
            cols.push(column_json(&name, i, "INT", None));
        }
    }
    if altered {
        cols.push(column_json("added", COLUMNS + 1, "VARCHAR", Some(32)));
    }
    cols
}

fn event(table: usize, kind: &str, ddl: &str, altered: bool, pos: usize) -> String {
    let value = format!(
        r#"{{"source":{{"version":"3.6.3.Final","connector":"mysql","name":"bench","ts_ms":1700000000000,"snapshot":"false","db":"shop","table":"t{table}","server_id":1,"file":"mysql-bin.000001","pos":{pos},"row":0}},"ts_ms":1700000000000,"databaseName":"shop","schemaName":null,"ddl":"{ddl}","tableChanges":[{{"type":"{kind}","id":"\"shop\".\"t{table}\"","table":{{"defaultCharsetName":"utf8mb4","primaryKeyColumnNames":["id"],"columns":[{}],"comment":null}}}}]}}"#,
        columns(altered).join(",")
    );
    format!("{value}\n")
}

fn events() -> String {
    let mut out = String::new();
    for t in 0..TABLES {
        out.push_str(&event(
            t,
            "CREATE",
            &format!("CREATE TABLE t{t} (...)"),
            false,
            t * 10,
        ));
    }
    for t in 0..TABLES {
        let ddl = format!(
            "ALTER TABLE t{t} RENAME COLUMN c3 TO c3_renamed, MODIFY COLUMN c4 VARCHAR(200), ADD COLUMN added VARCHAR(32)"
        );
        out.push_str(&event(t, "ALTER", &ddl, true, t * 10 + 5));
    }
    out
}

fn catalog_text() -> String {
    let mut out = String::from("USE shop;\n");
    for t in 0..TABLES {
        writeln!(out, "CREATE TABLE `t{t}` (").expect("writing to a String");
        writeln!(out, "  `id` bigint(20) NOT NULL COMMENT \"\",").expect("writing to a String");
        for i in 2..=COLUMNS {
            let ty = if i % 2 == 0 {
                "varchar(400)"
            } else {
                "int(11)"
            };
            let sep = if i == COLUMNS { "" } else { "," };
            writeln!(out, "  `c{i}` {ty} NULL COMMENT \"\"{sep}").expect("writing to a String");
        }
        out.push_str(
            ") ENGINE=OLAP \nPRIMARY KEY(`id`)\nDISTRIBUTED BY HASH(`id`) \nPROPERTIES (\n\"replication_num\" = \"1\"\n);\n\n",
        );
    }
    out
}

fn bench(c: &mut Criterion) {
    let events_text = events();
    let ddl_text = catalog_text();
    let rules = RuleSet::defaults().expect("shipped rules are valid");
    let config = Config::default();
    let version: StarRocksVersion = "3.3.5".parse().expect("version");

    let (decoded, errors) = decode_file(&events_text);
    assert!(errors.is_empty(), "{:?}", errors.first());
    let mut histories = Histories::new();
    for e in &decoded {
        histories.apply(e);
    }
    let catalog = parse_catalog(&ddl_text, None).expect("catalog parses");
    let check = pipeline::run(Inputs {
        histories: &histories,
        catalog: &catalog,
        rules: &rules,
        config: &config,
        version: &version,
    });
    assert_eq!(check.plan.tables.len(), TABLES, "every table has changes");

    let mut group = c.benchmark_group("1000_tables_x_50_columns");
    group.sample_size(10);
    group.bench_function("decode_and_fold_history", |b| {
        b.iter(|| {
            let (decoded, _) = decode_file(black_box(&events_text));
            let mut h = Histories::new();
            for e in &decoded {
                h.apply(e);
            }
            h
        })
    });
    group.bench_function("parse_catalog", |b| {
        b.iter(|| parse_catalog(black_box(&ddl_text), None).expect("parses"))
    });
    group.bench_function("diff_policy_plan", |b| {
        b.iter(|| {
            pipeline::run(Inputs {
                histories: black_box(&histories),
                catalog: &catalog,
                rules: &rules,
                config: &config,
                version: &version,
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
