//! Planner scenarios, snapshot-tested as text and JSON plans: merged ALTERs,
//! queued drops, renames per target version, PRIMARY KEY limits, shadow
//! rebuilds with MV re-activation or rebuild, NOT NULL, new tables, hostile
//! identifiers. Every snapshot was read and checked against starrocks-facts.

use ddlsync::capabilities::StarRocksVersion;
use ddlsync::catalog::{parse_catalog, render_show_create, Catalog, TargetTable};
use ddlsync::diff::{desired_table, diff_table, history_changes, ChangeKind, TableDiff};
use ddlsync::model::{ColumnId, SourceColumn, SourceDialect, SourceTable, SourceType, TableId};
use ddlsync::plan::{plan, render_json, render_text, Action, Plan, PlanOptions, Step};
use ddlsync::policy::{RuleSet, Verdict};
use ddlsync::types::MappingOptions;

fn ty(name: &str, length: Option<u64>) -> SourceType {
    SourceType {
        name: name.into(),
        length,
        charset: matches!(name, "VARCHAR" | "CHAR" | "TEXT").then(|| "utf8mb4".to_string()),
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

fn source(db: &str, name: &str, columns: Vec<SourceColumn>, key: &[&str]) -> SourceTable {
    SourceTable {
        id: TableId::new(db, name),
        dialect: SourceDialect::Mysql,
        columns,
        primary_key: key.iter().map(|k| k.to_string()).collect(),
        charset: Some("utf8mb4".into()),
        comment: None,
    }
}

fn customers() -> SourceTable {
    source(
        "shop",
        "customers",
        vec![
            col(1, "id", ty("BIGINT", None), false),
            col(2, "last_name", ty("VARCHAR", Some(100)), true),
            col(3, "city", ty("VARCHAR", Some(50)), true),
        ],
        &["id"],
    )
}

/// The target as ddlsync would have created it, with replication_num set.
fn target_of(s: &SourceTable) -> TargetTable {
    let (mut t, _) = desired_table(s, &s.id, &MappingOptions::default());
    t.properties.insert("replication_num".into(), "1".into());
    t
}

/// The catalog as `ddlsync plan --target-ddl` reads it: `SHOW CREATE` output
/// parsed by the catalog module (views as `(database, SHOW CREATE MATERIALIZED VIEW text)`).
fn catalog(tables: Vec<TargetTable>, views: Vec<(&str, String)>) -> Catalog {
    let mut text = String::new();
    for t in &tables {
        text.push_str(&format!(
            "USE `{}`;\n{}\n",
            t.id.database.replace('`', "``"),
            render_show_create(t)
        ));
    }
    for (db, v) in &views {
        text.push_str(&format!("USE `{db}`;\n{v}\n"));
    }
    let cat = parse_catalog(&text, None).unwrap();
    assert_eq!(cat.tables.len(), tables.len(), "{text}");
    cat
}

fn mv(name: &str, base: &TableId, columns: &[&str]) -> (&'static str, String) {
    assert_eq!(base.database, "shop");
    let select: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
    (
        "shop",
        format!(
            "CREATE MATERIALIZED VIEW `{name}` (`{}`)\nDISTRIBUTED BY RANDOM\nREFRESH ASYNC\nAS SELECT {} FROM `shop`.`{}`;",
            columns.join("`, `"),
            select.join(", "),
            base.table
        ),
    )
}

fn version(v: &str) -> StarRocksVersion {
    v.parse().unwrap()
}

fn run(diffs: &[TableDiff], cat: &Catalog, v: &str) -> Plan {
    let rules = RuleSet::defaults().unwrap();
    plan(
        diffs,
        &rules,
        cat,
        &version(v),
        &PlanOptions { replication_num: 1 },
    )
}

fn diff(s: &SourceTable, cat: &Catalog) -> TableDiff {
    diff_table(s, cat.tables.get(&s.id), &MappingOptions::default())
}

fn snapshot(name: &str, p: &Plan) {
    insta::assert_snapshot!(format!("{name}_text"), render_text(p));
    insta::assert_json_snapshot!(format!("{name}_json"), render_json(p));
}

fn sql_of(p: &Plan) -> Vec<String> {
    p.tables
        .iter()
        .flat_map(|t| &t.steps)
        .flat_map(|s| s.statements().into_iter().map(|s| s.to_string()))
        .collect()
}

#[test]
fn in_sync_plan_says_so() {
    let s = customers();
    let cat = catalog(vec![target_of(&s)], vec![]);
    let p = run(&[diff(&s, &cat)], &cat, "3.3.5");
    assert!(p.is_in_sync());
    assert_eq!(
        render_text(&p),
        "No changes. StarRocks is in sync with the source.\n"
    );
    assert_eq!(render_json(&p)["in_sync"], true);
}

#[test]
fn add_columns_on_pk_table_is_one_merged_alter() {
    let before = customers();
    let cat = catalog(vec![target_of(&before)], vec![]);
    let mut after = before.clone();
    after
        .columns
        .push(col(4, "email", ty("VARCHAR", Some(255)), true));
    let mut points = col(5, "points", ty("INT", None), false);
    points.default = Some("0".into());
    after.columns.push(points);
    after.columns[2].ty.length = Some(80); // city VARCHAR(200) -> VARCHAR(320): widening
    let p = run(&[diff(&after, &cat)], &cat, "3.3.5");
    let sql = sql_of(&p);
    assert_eq!(sql.len(), 1, "{sql:#?}");
    assert!(sql[0].starts_with("ALTER TABLE `shop`.`customers` MODIFY COLUMN `city` VARCHAR(320) NULL, ADD COLUMN `email` VARCHAR(1020) NULL, ADD COLUMN `points` INT NOT NULL DEFAULT \"0\""), "{}", sql[0]);
    assert!(matches!(p.tables[0].steps[2], Step::WaitForAlterJob { .. }));
    snapshot("add_columns_merged", &p);
}

#[test]
fn drop_column_is_queued_with_its_statement() {
    let before = customers();
    let cat = catalog(vec![target_of(&before)], vec![]);
    let mut after = before.clone();
    after.columns.remove(2);
    let p = run(&[diff(&after, &cat)], &cat, "3.3.5");
    let c = &p.tables[0].changes[0];
    assert_eq!(
        (c.change.kind(), c.decision.verdict, c.pending),
        (ChangeKind::DropColumn, Verdict::Queue, true)
    );
    assert!(p.tables[0].steps.is_empty(), "nothing runs before approval");
    assert_eq!(
        c.statements(),
        vec!["ALTER TABLE `shop`.`customers` DROP COLUMN `city`"]
    );
    snapshot("drop_column_queued", &p);
}

fn renamed() -> (SourceTable, Catalog) {
    let before = customers();
    let mut after = before.clone();
    after.columns[1].name = "family_name".into();
    after.columns[1].former_names = vec!["last_name".into(), "surname".into()];
    (after, catalog(vec![target_of(&before)], vec![]))
}

#[test]
fn rename_column_on_3_3_5_is_a_rename() {
    let (after, cat) = renamed();
    let p = run(&[diff(&after, &cat)], &cat, "3.3.5");
    assert_eq!(
        sql_of(&p),
        vec!["ALTER TABLE `shop`.`customers` RENAME COLUMN `last_name` TO `family_name`"]
    );
    snapshot("rename_3_3_5", &p);
}

#[test]
fn rename_column_on_3_2_0_is_a_queued_rebuild() {
    let (after, cat) = renamed();
    let p = run(&[diff(&after, &cat)], &cat, "3.2.0");
    let c = &p.tables[0].changes[0];
    assert_eq!(c.decision.verdict, Verdict::Queue);
    assert_eq!(c.decision.rule_code, "SR001");
    assert!(matches!(c.action, Action::Rebuild(_)));
    let stmts = c.statements();
    assert!(
        stmts[1].contains("SELECT `id`, `last_name`, `city` FROM `shop`.`customers`"),
        "{stmts:#?}"
    );
    assert!(
        stmts[1].contains("(`id`, `family_name`, `city`)"),
        "{stmts:#?}"
    );
    snapshot("rename_3_2_0", &p);
}

#[test]
fn varchar_widening_on_pk_key_column_is_in_place() {
    let before = source(
        "shop",
        "skus",
        vec![
            col(1, "sku", ty("VARCHAR", Some(20)), false),
            col(2, "name", ty("VARCHAR", Some(40)), true),
        ],
        &["sku"],
    );
    let cat = catalog(vec![target_of(&before)], vec![]);
    let mut after = before.clone();
    after.columns[0].ty.length = Some(40);
    let p = run(&[diff(&after, &cat)], &cat, "3.3.5");
    assert_eq!(
        sql_of(&p),
        vec!["ALTER TABLE `shop`.`skus` MODIFY COLUMN `sku` VARCHAR(160) KEY NOT NULL"]
    );
    snapshot("pk_varchar_widening", &p);
}

#[test]
fn int_to_bigint_on_pk_key_column_is_a_rebuild() {
    let before = source(
        "shop",
        "orders",
        vec![
            col(1, "id", ty("INT", None), false),
            col(2, "total", ty("INT", None), true),
        ],
        &["id"],
    );
    let cat = catalog(vec![target_of(&before)], vec![]);
    let mut after = before.clone();
    after.columns[0].ty = ty("BIGINT", None);
    let p = run(&[diff(&after, &cat)], &cat, "3.3.5");
    let c = &p.tables[0].changes[0];
    assert_eq!(c.change.type_change().map(|c| c.as_str()), Some("widening"));
    assert!(matches!(c.action, Action::Rebuild(_)), "{:?}", c.action);
    assert!(c.pending);
    assert!(
        c.statements()[1].contains("CAST(`id` AS BIGINT)"),
        "{:#?}",
        c.statements()
    );
    snapshot("pk_int_to_bigint_rebuild", &p);
}

#[test]
fn incompatible_change_is_a_shadow_rebuild_with_mv_reactivation() {
    let before = source(
        "shop",
        "events",
        vec![
            col(1, "id", ty("BIGINT", None), false),
            col(2, "happened_at", ty("DATETIME", None), true),
            col(3, "kind", ty("VARCHAR", Some(20)), true),
        ],
        &["id"],
    );
    let t = target_of(&before);
    let views = vec![mv("events_by_kind", &t.id, &["kind", "id"])];
    let cat = catalog(vec![t], views);
    let mut after = before.clone();
    after.columns[1].ty = ty("BIGINT", None); // DATETIME -> BIGINT: no in-place conversion
    let p = run(&[diff(&after, &cat)], &cat, "3.3.5");
    let c = &p.tables[0].changes[0];
    assert_eq!(
        c.change.type_change().map(|c| c.as_str()),
        Some("incompatible")
    );
    assert!(c.pending && matches!(c.action, Action::Rebuild(_)));
    assert!(
        c.steps
            .iter()
            .any(|s| matches!(s, Step::ReactivateMv { .. })),
        "a swap inactivates every view"
    );
    snapshot("incompatible_rebuild_mv", &p);
}

#[test]
fn mv_reading_a_dropped_column_is_rebuilt_other_untouched() {
    let before = customers();
    let t = target_of(&before);
    let views = vec![
        mv("by_city", &t.id, &["city", "id"]),
        mv("names", &t.id, &["id", "last_name"]),
    ];
    let cat = catalog(vec![t], views);
    let mut after = before.clone();
    after.columns.remove(2);
    let p = run(&[diff(&after, &cat)], &cat, "3.3.5");
    let c = &p.tables[0].changes[0];
    let rebuilt: Vec<String> = c
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::RebuildMv { mv, .. } => Some(mv.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(rebuilt, vec!["shop.by_city"]);
    assert!(!c
        .steps
        .iter()
        .any(|s| matches!(s, Step::ReactivateMv { .. })));
    snapshot("mv_dropped_column", &p);
}

#[test]
fn make_not_null_is_a_rebuild() {
    let before = customers();
    let t = target_of(&before);
    let cat = catalog(vec![t.clone()], vec![]);
    let mut after = before.clone();
    after.columns[2].nullable = false;
    let mut d = diff(&after, &cat);
    assert!(
        d.is_empty(),
        "structurally in sync: the target holds every value"
    );
    d.extend(history_changes(&before, &after, &t));
    let p = run(&[d], &cat, "3.3.5");
    let c = &p.tables[0].changes[0];
    assert_eq!(c.change.kind(), ChangeKind::MakeNotNull);
    assert!(matches!(c.action, Action::Rebuild(_)));
    snapshot("make_not_null_rebuild", &p);
}

#[test]
fn new_source_table_is_created() {
    let mut s = source(
        "shop",
        "invoices",
        vec![
            col(1, "number", ty("VARCHAR", Some(30)), false),
            col(
                2,
                "amount",
                SourceType {
                    name: "DECIMAL".into(),
                    length: Some(12),
                    scale: Some(2),
                    ..SourceType::default()
                },
                false,
            ),
            col(3, "issued", ty("DATE", None), false),
        ],
        &["issued", "number"],
    );
    s.comment = Some("invoices issued".into());
    let cat = catalog(vec![], vec![]);
    let p = run(&[diff(&s, &cat)], &cat, "3.3.5");
    let sql = sql_of(&p);
    assert_eq!(sql.len(), 2);
    assert!(
        sql[0].starts_with("CREATE DATABASE IF NOT EXISTS"),
        "{}",
        sql[0]
    );
    assert!(
        sql[1].contains("PRIMARY KEY(`issued`, `number`)"),
        "{}",
        sql[1]
    );
    assert!(sql[1].contains("\"replication_num\" = \"1\""), "{}", sql[1]);
    snapshot("create_table", &p);
}

#[test]
fn hostile_identifiers_are_quoted() {
    let s = source(
        "shop`; DROP DATABASE x; --",
        "or\"ders's",
        vec![
            col(1, "i`d", ty("BIGINT", None), false),
            col(2, "a b;c", ty("INT", None), true),
            col(3, "new\nline", ty("INT", None), true),
        ],
        &["i`d"],
    );
    let before = SourceTable {
        columns: s.columns[..2].to_vec(),
        ..s.clone()
    };
    let cat = catalog(vec![target_of(&before)], vec![]);
    let p = run(&[diff(&s, &cat)], &cat, "3.3.5");
    assert_eq!(
        sql_of(&p),
        vec!["ALTER TABLE `shop``; DROP DATABASE x; --`.`or\"ders's` ADD COLUMN `new\nline` INT NULL"]
    );
    snapshot("hostile_identifiers", &p);
}

#[test]
fn ignored_changes_produce_no_sql() {
    let mut before = customers();
    before.columns[2].default = Some("'Paris'".into());
    let t = target_of(&before);
    let cat = catalog(vec![t.clone()], vec![]);
    let mut after = before.clone();
    after.columns[2].default = Some("'Lyon'".into());
    let mut d = diff(&after, &cat);
    d.extend(history_changes(&before, &after, &t));
    let p = run(&[d], &cat, "3.3.5");
    let c = &p.tables[0].changes[0];
    assert_eq!(
        (c.change.kind(), c.decision.verdict),
        (ChangeKind::ChangeDefault, Verdict::Ignore)
    );
    assert!(c.statements().is_empty() && p.tables[0].steps.is_empty());
    assert!(render_text(&p).contains("Plan: 0 to apply, 0 queued, 1 ignored, 0 halted."));
}

#[test]
fn plans_are_deterministic() {
    let (after, cat) = renamed();
    let a = render_json(&run(&[diff(&after, &cat)], &cat, "3.2.0"));
    let b = render_json(&run(&[diff(&after, &cat)], &cat, "3.2.0"));
    assert_eq!(a, b);
}

#[test]
fn losses_and_possible_renames_are_shown() {
    let before = customers();
    let cat = catalog(vec![target_of(&before)], vec![]);
    let mut after = before.clone();
    after.columns.remove(1); // last_name gone, no evidence of a rename...
    after
        .columns
        .push(col(4, "surname", ty("VARCHAR", Some(100)), true)); // ...same type
    let mut created = col(5, "created", ty("DATETIME", None), true);
    created.ty.scale = Some(6);
    created.ty.length = Some(6);
    after.columns.push(created);
    let p = run(&[diff(&after, &cat)], &cat, "3.3.5");
    let text = render_text(&p);
    assert!(text.contains("note (possible_rename)"), "{text}");
    assert!(!text.contains("rename_column"), "{text}");
    insta::assert_snapshot!("losses_and_possible_renames_text", text);
}
