//! Plans for the desk and HTTP API tests: the planner's real output for a
//! small table, so the store holds what the agent would record.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ddlsync::capabilities::StarRocksVersion;
use ddlsync::catalog::Catalog;
use ddlsync::diff::{desired_table, diff_table};
use ddlsync::model::{ColumnId, SourceColumn, SourceDialect, SourceTable, SourceType, TableId};
use ddlsync::plan::{plan_table, TablePlan};
use ddlsync::policy::RuleSet;
use ddlsync::store::PlanContext;
use ddlsync::types::MappingOptions;

/// A fixed time, `secs` after a base.
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_000_000 + secs)
}

fn table(cols: &[&str]) -> SourceTable {
    SourceTable {
        id: TableId::new("shop", "orders"),
        dialect: SourceDialect::Mysql,
        columns: cols
            .iter()
            .enumerate()
            .map(|(i, name)| SourceColumn {
                id: ColumnId(i as u32 + 1),
                name: (*name).into(),
                former_names: vec![],
                position: i as u32 + 1,
                ty: SourceType::named(if i == 0 { "BIGINT" } else { "INT" }),
                nullable: i != 0,
                default: None,
                comment: None,
                auto_increment: false,
            })
            .collect(),
        primary_key: vec![cols[0].into()],
        charset: None,
        comment: None,
    }
}

/// The plan that takes `shop.orders` from `target` columns to `source` columns.
pub fn table_plan(source: &[&str], target: &[&str]) -> TablePlan {
    let s = table(source);
    let (t, _) = desired_table(&table(target), &s.id, &MappingOptions::default());
    let mut catalog = Catalog::default();
    catalog.tables.insert(s.id.clone(), t);
    let diff = diff_table(&s, catalog.tables.get(&s.id), &MappingOptions::default());
    let rules = RuleSet::defaults().unwrap();
    let decisions: Vec<_> = diff
        .changes
        .iter()
        .map(|c| rules.decide(&s.id, c))
        .collect();
    let version: StarRocksVersion = "3.3.5".parse().unwrap();
    plan_table(&diff, &decisions, &catalog, &version, &Default::default())
}

/// A queued `DROP COLUMN old` on `shop.orders`.
pub fn queued_drop() -> TablePlan {
    table_plan(&["id"], &["id", "old"])
}

/// The context recorded with test plans.
pub fn context() -> PlanContext {
    PlanContext {
        target_version: "3.3.5".into(),
        position: None,
    }
}

/// A scratch directory unique to one test.
#[allow(dead_code)]
pub fn scratch(test: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "ddlsync-desk-{}-{test}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
