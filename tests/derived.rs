//! The targets ddlsync derives besides the mirror (`plan::derived`): the raw
//! change-log table and the current-state materialized view, planned from a
//! source table against a catalog read as `SHOW CREATE` output; creation,
//! regeneration after add / rename / drop column (snapshots), the pipeline
//! with `targets` and loader-owned truncates, and a property test that the
//! generated view reads exactly the source's columns.

use std::path::Path;

use ddlsync::capabilities::StarRocksVersion;
use ddlsync::catalog::{parse_catalog, render_show_create, Catalog};
use ddlsync::config::Config;
use ddlsync::diff::{desired_table, ChangeKind, TableDiff};
use ddlsync::loader::convert::RAW_COLUMNS;
use ddlsync::model::history::Histories;
use ddlsync::model::{ColumnId, SourceColumn, SourceDialect, SourceTable, SourceType, TableId};
use ddlsync::pipeline::{self, Inputs};
use ddlsync::plan::derived::{
    current_mv_id, current_state_mv, definition_fingerprint, definition_marker, diff_current_mv,
    diff_raw, raw_table, raw_table_id,
};
use ddlsync::plan::{plan, render_json, render_text, Plan, PlanOptions, Step};
use ddlsync::policy::{RuleSet, Verdict};
use ddlsync::source::decode_file;
use ddlsync::types::MappingOptions;
use proptest::prelude::*;

fn ty(name: &str, length: Option<u64>) -> SourceType {
    SourceType {
        name: name.into(),
        length,
        ..SourceType::default()
    }
}

fn col(id: u32, name: &str, t: SourceType, nullable: bool) -> SourceColumn {
    SourceColumn {
        id: ColumnId(id),
        name: name.into(),
        former_names: vec![],
        position: id,
        ty: t,
        nullable,
        default: None,
        comment: None,
        auto_increment: false,
    }
}

fn orders(columns: Vec<SourceColumn>) -> SourceTable {
    SourceTable {
        id: TableId::new("shop", "orders"),
        dialect: SourceDialect::Mysql,
        columns,
        primary_key: vec!["id".into()],
        charset: Some("utf8mb4".into()),
        comment: None,
    }
}

fn base() -> Vec<SourceColumn> {
    vec![
        col(1, "id", ty("BIGINT", None), false),
        col(2, "customer", ty("VARCHAR", Some(50)), true),
        col(3, "qty", ty("INT", None), true),
        col(4, "price", ty("DECIMAL", Some(10)).with_scale(2), true),
        col(5, "paid", ty("BOOLEAN", None), true),
        col(6, "placed_at", ty("DATETIME", None), true),
        col(7, "weight", ty("DOUBLE", None), true),
        col(8, "attrs", ty("JSON", None), true),
    ]
}

trait Scale {
    fn with_scale(self, s: u32) -> Self;
}

impl Scale for SourceType {
    fn with_scale(mut self, s: u32) -> Self {
        self.scale = Some(s);
        self
    }
}

fn opts() -> PlanOptions {
    PlanOptions { replication_num: 1 }
}

fn target() -> TableId {
    TableId::new("shop", "orders")
}

fn diffs(s: &SourceTable, cat: &Catalog) -> Vec<TableDiff> {
    let raw = raw_table_id(&target());
    vec![
        diff_raw(&s.id, &raw, cat, &opts()),
        diff_current_mv(
            s,
            &raw,
            &current_mv_id(&target()),
            cat,
            &MappingOptions::default(),
            &opts(),
        ),
    ]
}

fn run(s: &SourceTable, cat: &Catalog) -> Plan {
    plan(
        &diffs(s, cat),
        &RuleSet::defaults().unwrap(),
        cat,
        &"3.3.5".parse::<StarRocksVersion>().unwrap(),
        &opts(),
    )
}

/// The catalog after ddlsync created the raw table and the view for `s`, as
/// `SHOW CREATE` output (the view text is ddlsync's, as StarRocks keeps its
/// comment).
fn created_for(s: &SourceTable) -> Catalog {
    let raw = raw_table(raw_table_id(&target()), &opts());
    let mv = current_state_mv(
        s,
        &raw.id,
        &current_mv_id(&target()),
        &MappingOptions::default(),
        &opts(),
    )
    .unwrap();
    let text = format!("USE `shop`;\n{}\n{};\n", render_show_create(&raw), mv);
    let cat = parse_catalog(&text, None).unwrap();
    assert_eq!(cat.views.len(), 1, "{text}");
    cat
}

fn snapshot(name: &str, p: &Plan) {
    insta::assert_snapshot!(format!("{name}_text"), render_text(p));
    insta::assert_json_snapshot!(format!("{name}_json"), render_json(p));
}

fn kinds(p: &Plan) -> Vec<(String, ChangeKind, Verdict)> {
    p.tables
        .iter()
        .flat_map(|t| {
            t.changes.iter().map(|c| {
                (
                    t.target_table.to_string(),
                    c.change.kind(),
                    c.decision.verdict,
                )
            })
        })
        .collect()
}

/// The SQL of the steps that run now.
fn statements(p: &Plan) -> Vec<String> {
    p.tables
        .iter()
        .flat_map(|t| &t.steps)
        .flat_map(|s| s.statements().into_iter().map(ToString::to_string))
        .collect()
}

#[test]
fn raw_table_and_current_view_are_created() {
    let p = run(&orders(base()), &Catalog::default());
    assert_eq!(
        kinds(&p),
        vec![
            (
                "shop.orders_cdc_raw".into(),
                ChangeKind::CreateTable,
                Verdict::Apply
            ),
            (
                "shop.orders_current".into(),
                ChangeKind::CreateTable,
                Verdict::Apply
            ),
        ]
    );
    // The raw table has exactly the loader's columns.
    let raw = raw_table(raw_table_id(&target()), &opts());
    let mut names: Vec<&str> = raw.columns.iter().map(|c| c.name.as_str()).collect();
    let mut want = RAW_COLUMNS.to_vec();
    names.sort_unstable();
    want.sort_unstable();
    assert_eq!(names, want);
    snapshot("derived_create", &p);
}

#[test]
fn in_sync_after_creation() {
    let s = orders(base());
    let p = run(&s, &created_for(&s));
    assert!(p.is_in_sync(), "{}", render_text(&p));
}

#[test]
fn regenerated_after_add_column() {
    let old = orders(base());
    let mut cols = base();
    cols.push(col(9, "note", ty("VARCHAR", Some(100)), true));
    let p = run(&orders(cols), &created_for(&old));
    assert_eq!(
        kinds(&p),
        vec![(
            "shop.orders_current".into(),
            ChangeKind::RegenerateMv,
            Verdict::Apply
        )]
    );
    let steps = &p.tables[0].steps;
    assert!(matches!(&steps[..], [Step::RebuildMv { .. }]), "{steps:?}");
    snapshot("derived_regenerate_add_column", &p);
}

#[test]
fn regenerated_after_rename_column() {
    let old = orders(base());
    let mut cols = base();
    cols[1].name = "buyer".into();
    cols[1].former_names = vec!["customer".into()];
    let p = run(&orders(cols), &created_for(&old));
    let sql = statements(&p).join("\n");
    assert!(
        sql.contains("\"$.buyer\") AS VARCHAR(200)) AS `buyer`"),
        "{sql}"
    );
    assert!(!sql.contains("customer"), "{sql}");
    insta::assert_snapshot!("derived_regenerate_rename_column_text", render_text(&p));
}

#[test]
fn regenerated_after_drop_column() {
    let old = orders(base());
    let mut cols = base();
    cols.retain(|c| c.name != "weight");
    let p = run(&orders(cols), &created_for(&old));
    assert_eq!(p.tables.len(), 1);
    let sql = statements(&p).join("\n");
    assert!(!sql.contains("weight"), "{sql}");
    insta::assert_snapshot!("derived_regenerate_drop_column_text", render_text(&p));
}

#[test]
fn a_view_not_generated_by_ddlsync_is_left_alone() {
    let text = "USE `shop`;\nCREATE MATERIALIZED VIEW `orders_current` (`id`)\nREFRESH ASYNC\nAS SELECT `id` FROM `shop`.`orders_cdc_raw`;\n";
    let cat = parse_catalog(text, None).unwrap();
    let d = diff_current_mv(
        &orders(base()),
        &raw_table_id(&target()),
        &current_mv_id(&target()),
        &cat,
        &MappingOptions::default(),
        &opts(),
    );
    assert!(d.changes.is_empty());
    assert_eq!(d.notes[0].code, "current_mv_not_managed");
}

#[test]
fn no_primary_key_no_view() {
    let mut s = orders(base());
    s.primary_key.clear();
    let d = diff_current_mv(
        &s,
        &raw_table_id(&target()),
        &current_mv_id(&target()),
        &Catalog::default(),
        &MappingOptions::default(),
        &opts(),
    );
    assert!(d.changes.is_empty());
    assert_eq!(d.notes[0].code, "no_primary_key");
}

/// The postgres-customers scenario (which truncates) with every target and
/// a loader that applies truncates itself.
#[test]
fn pipeline_plans_targets_and_leaves_truncates_to_the_loader() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios/postgres-customers");
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let (events, errors) = decode_file(&events);
    assert!(errors.is_empty());
    let mut histories = Histories::new();
    for e in &events {
        histories.apply(e);
    }
    let ddl = std::fs::read_to_string(dir.join("starrocks.sql")).unwrap();
    let catalog = parse_catalog(&ddl, None).unwrap();
    let version: StarRocksVersion = "3.3.5".parse().unwrap();
    let plan_with = |loader: &str| {
        let toml = format!(
            "{loader}\n[[tables]]\nsource = \"*.customers\"\ntargets = [\"mirror\", \"raw\", \"current_state_mv\"]\n"
        );
        let config = Config::parse("ddlsync.toml", &toml, &|_| None).unwrap();
        pipeline::run(Inputs {
            histories: &histories,
            catalog: &catalog,
            rules: &RuleSet::defaults().unwrap(),
            config: &config,
            version: &version,
        })
    };
    let by_agent = plan_with("");
    let truncates = |p: &Plan| {
        kinds(p)
            .into_iter()
            .filter(|(_, k, _)| *k == ChangeKind::TruncateTable)
            .count()
    };
    assert!(truncates(&by_agent.plan) > 0, "the scenario truncates");
    let by_loader = plan_with("[loader]\ntopics = [\"^shop\\\\..*\"]\ntruncate = \"apply\"\n");
    assert_eq!(truncates(&by_loader.plan), 0);
    let notes: Vec<&str> = by_loader
        .plan
        .tables
        .iter()
        .flat_map(|t| t.notes.iter().map(|n| n.code.as_str()))
        .collect();
    assert!(notes.contains(&"truncate_by_loader"), "{notes:?}");
    let targets: Vec<String> = kinds(&by_loader.plan)
        .into_iter()
        .filter(|(_, k, _)| *k == ChangeKind::CreateTable)
        .map(|(t, _, _)| t)
        .collect();
    assert!(
        targets.iter().any(|t| t.ends_with("customers_cdc_raw")),
        "{targets:?}"
    );
    assert!(
        targets.iter().any(|t| t.ends_with("customers_current")),
        "{targets:?}"
    );
    insta::assert_snapshot!(
        "derived_pipeline_loader_truncates_text",
        render_text(&by_loader.plan)
    );
}

// --- property: the view reads exactly the source's columns -------------------

fn source_types() -> impl Strategy<Value = SourceType> {
    prop_oneof![
        Just(ty("INT", None)),
        Just(ty("BIGINT", None)),
        Just(ty("SMALLINT", None)),
        Just(ty("TINYINT", None)),
        Just(ty("VARCHAR", Some(40))),
        Just(ty("CHAR", Some(3))),
        Just(ty("TEXT", None)),
        Just(ty("DECIMAL", Some(12)).with_scale(3)),
        Just(ty("DOUBLE", None)),
        Just(ty("FLOAT", None)),
        Just(ty("DATE", None)),
        Just(ty("DATETIME", None)),
        Just(ty("BOOLEAN", None)),
        Just(ty("JSON", None)),
    ]
}

fn names() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_]{0,8}",
        Just("we ird".to_string()),
        Just("dot.ted".to_string()),
        Just("back`tick".to_string()),
        Just("quo\"te".to_string()),
        Just("offset".to_string()),
        Just("op".to_string()),
    ]
}

fn sources() -> impl Strategy<Value = SourceTable> {
    prop::collection::vec((names(), source_types(), any::<bool>()), 1..12).prop_map(|cols| {
        let mut seen = std::collections::BTreeSet::new();
        let mut columns = vec![col(1, "id", ty("BIGINT", None), false)];
        seen.insert("id".to_string());
        for (n, t, nullable) in cols {
            if seen.insert(n.to_ascii_lowercase()) {
                let id = columns.len() as u32 + 1;
                columns.push(col(id, &n, t, nullable));
            }
        }
        orders(columns)
    })
}

/// The select list of the rendered view, parsed back with sqlparser:
/// `(alias, json path)` per item.
fn parsed_items(sql: &str) -> Vec<(String, String)> {
    use sqlparser::ast::{
        Expr, FunctionArg, FunctionArgExpr, FunctionArguments, SelectItem, SetExpr, Statement,
        Value,
    };
    let query = sql.split_once("\nAS ").unwrap().1;
    let stmt = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::MySqlDialect {}, query)
        .unwrap()
        .remove(0);
    let Statement::Query(q) = stmt else {
        panic!("not a query")
    };
    let SetExpr::Select(sel) = *q.body else {
        panic!("not a select")
    };
    fn path_of(e: &Expr) -> Option<String> {
        match e {
            Expr::Cast { expr, .. } => path_of(expr),
            Expr::Function(f) => match &f.args {
                FunctionArguments::List(list) => match list.args.get(1) {
                    Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) => path_of(e),
                    _ => None,
                },
                _ => None,
            },
            Expr::Value(v) => match &v.value {
                Value::DoubleQuotedString(s) | Value::SingleQuotedString(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        }
    }
    sel.projection
        .iter()
        .map(|item| match item {
            SelectItem::ExprWithAlias { expr, alias } => {
                (alias.value.clone(), path_of(expr).unwrap_or_default())
            }
            other => panic!("unaliased item {other}"),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_view_reads_exactly_the_source_columns(s in sources()) {
        let mv = current_state_mv(
            &s,
            &raw_table_id(&target()),
            &current_mv_id(&target()),
            &MappingOptions::default(),
            &opts(),
        ).unwrap();
        let (table, _) = desired_table(&s, &target(), &MappingOptions::default());
        // One item per source column, named as the column, with its type.
        let mut want: Vec<String> = s.columns.iter().map(|c| c.name.clone()).collect();
        let mut got: Vec<String> = mv.query.items.iter().map(|i| i.alias.clone().unwrap()).collect();
        want.sort();
        got.sort();
        prop_assert_eq!(&got, &want);
        for (item, c) in mv.query.items.iter().zip(&table.columns) {
            prop_assert_eq!(item.alias.as_deref(), Some(c.name.as_str()));
            let text = item.expr.to_string();
            if c.ty != ddlsync::types::SrType::Json {
                let cast = format!(" AS {})", c.ty);
                prop_assert!(text.ends_with(&cast), "{} for {}", text, c.ty);
            }
        }
        // Rendered SQL parses, and each item reads the JSON key of its own column.
        let sql = mv.to_string();
        let items = parsed_items(&sql);
        prop_assert_eq!(items.len(), s.columns.len());
        for (alias, path) in items {
            prop_assert_eq!(path, ddlsync::plan::derived::json_path(&alias));
        }
        // The fingerprint is in the comment and ignores the comment itself.
        prop_assert_eq!(definition_marker(&sql), Some(definition_fingerprint(&mv)));
    }
}

#[test]
fn online_planners_introspect_the_raw_table_too() {
    let toml = "[[tables]]\nsource = \"shop.orders\"\ntargets = [\"raw\", \"current_state_mv\"]\n";
    let config = Config::parse("ddlsync.toml", toml, &|_| None).unwrap();
    let route = config.route(&TableId::new("shop", "orders")).unwrap();
    assert_eq!(
        pipeline::route_tables(&route),
        vec![target(), raw_table_id(&target())]
    );
}
