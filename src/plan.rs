//! The planner: ordered steps that bring a StarRocks table in line with its
//! source, respecting what StarRocks can do (starrocks-facts §1, §3.2, §7).
//!
//! Owns [`Plan`], [`TablePlan`], [`PlannedChange`], [`Step`], the entry points
//! [`plan`] and [`plan_table`], and the renderers [`render_text`] (terraform-
//! like, with a unified diff of `SHOW CREATE TABLE`) and [`render_json`]
//! (design.md contract). Pure: data in, data out; no I/O, no clock. SQL comes
//! only from the `ddl` AST.
//!
//! Per table, the changes decided `apply` are planned together: one merged
//! `ALTER TABLE` for ADD/DROP/MODIFY COLUMN (one schema-change job, then a
//! wait), `RENAME COLUMN` and comments as separate synchronous statements.
//! A change with no in-place ALTER needs a shadow-table rebuild (CREATE new,
//! INSERT SELECT with CASTs, SWAP WITH, DROP old); rebuilds never run without
//! approval, so such a change decided `apply` is queued by the built-in rule
//! `SR001 builtin-rebuild-needs-approval` (RENAME COLUMN before 3.3.2,
//! widening a PRIMARY KEY INT column, ...). Each change decided
//! `queue` or `halt` gets its own steps (what would run after approval),
//! planned against the table as the applied changes leave it; `ignore`d
//! changes produce no SQL. Materialized views reading a modified column are
//! re-activated; views reading a dropped or renamed column are rebuilt.
//!
//! ```
//! use ddlsync::capabilities::StarRocksVersion;
//! use ddlsync::catalog::Catalog;
//! use ddlsync::diff::diff_table;
//! use ddlsync::model::{ColumnId, SourceColumn, SourceDialect, SourceTable, SourceType, TableId};
//! use ddlsync::plan::{plan, render_json, render_text, PlanOptions};
//! use ddlsync::policy::RuleSet;
//! use ddlsync::types::MappingOptions;
//!
//! let source = SourceTable {
//!     id: TableId::new("shop", "orders"), dialect: SourceDialect::Mysql,
//!     columns: vec![SourceColumn {
//!         id: ColumnId(1), name: "id".into(), former_names: vec![], position: 1,
//!         ty: SourceType::named("BIGINT"), nullable: false, default: None,
//!         comment: None, auto_increment: false,
//!     }],
//!     primary_key: vec!["id".into()], charset: None, comment: None,
//! };
//! let diff = diff_table(&source, None, &MappingOptions::default());
//! let version: StarRocksVersion = "3.3.5".parse().unwrap();
//! let p = plan(&[diff], &RuleSet::defaults().unwrap(), &Catalog::default(), &version,
//!              &PlanOptions::default());
//! assert!(render_text(&p).contains("CREATE TABLE `shop`.`orders`"));
//! assert_eq!(render_json(&p)["changes"][0]["kind"], "create_table");
//! ```

pub mod derived;
mod mv;
mod rebuild;
mod render;
mod steps;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::capabilities::StarRocksVersion;
use crate::catalog::{Catalog, TargetTable};
use crate::ddl::{CreateTable, Statement};
use crate::diff::{apply_changes_to, Change, Note, TableDiff};
use crate::model::TableId;
use crate::policy::{Decision, RuleSet, Verdict};

pub use render::{render_json, render_text, show_create};

/// Errors of the planner (planning itself does not fail; impossible changes
/// become notes).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Decisions and changes of a table do not line up.
    #[error("table {table}: {changes} changes but {decisions} decisions")]
    DecisionCount {
        /// The table.
        table: TableId,
        /// Number of changes.
        changes: usize,
        /// Number of decisions.
        decisions: usize,
    },
}

/// Code of the built-in rule that queues a change decided `apply` which
/// needs a shadow-table rebuild (e.g. RENAME COLUMN before 3.3.2, widening a
/// PRIMARY KEY INT column).
pub const REBUILD_APPROVAL_CODE: &str = "SR001";
/// Name of that rule.
pub const REBUILD_APPROVAL_NAME: &str = "builtin-rebuild-needs-approval";
/// Code of the decision the agent gives a change a person approved.
pub const APPROVED_CODE: &str = "SR002";
/// Name of that decision.
pub const APPROVED_NAME: &str = "approved";
/// Suffix of shadow tables.
pub const SHADOW_SUFFIX: &str = "__ddlsync_new";

/// Knobs of the planner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanOptions {
    /// `replication_num` of tables ddlsync creates.
    pub replication_num: u32,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self { replication_num: 3 }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Hold the loader for the table (pause its partitions) until released.
    HoldGate {
        /// The table.
        table: TableId,
    },
    /// Run one statement; `waits_for_job` when it starts an async schema-change job.
    Sql {
        /// The statement.
        statement: Statement,
        /// A [`Step::WaitForAlterJob`] follows.
        waits_for_job: bool,
    },
    /// Poll `SHOW ALTER TABLE COLUMN` until the table's job is FINISHED (or CANCELLED: fail).
    WaitForAlterJob {
        /// The table.
        table: TableId,
    },
    /// `ALTER MATERIALIZED VIEW mv ACTIVE` and `REFRESH`.
    ReactivateMv {
        /// The view.
        mv: TableId,
        /// The statements.
        statements: Vec<Statement>,
    },
    /// Drop and re-create the view from its definition.
    RebuildMv {
        /// The view.
        mv: TableId,
        /// The statements.
        statements: Vec<Statement>,
    },
    /// Shadow-table rebuild: CREATE new, INSERT SELECT, SWAP WITH, DROP old.
    Rebuild {
        /// The table.
        table: TableId,
        /// The shadow table.
        shadow: TableId,
        /// The statements, in order.
        statements: Vec<Statement>,
    },
    /// Let the loader continue with the table.
    ReleaseGate {
        /// The table.
        table: TableId,
    },
}

impl Step {
    /// The SQL statements of the step, in order.
    pub fn statements(&self) -> Vec<&Statement> {
        match self {
            Step::Sql { statement, .. } => vec![statement],
            Step::ReactivateMv { statements, .. }
            | Step::RebuildMv { statements, .. }
            | Step::Rebuild { statements, .. } => statements.iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// How the planner carries a change out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "how", content = "why", rename_all = "snake_case")]
pub enum Action {
    /// Decided `ignore`: nothing runs.
    None,
    /// An in-place statement.
    InPlace,
    /// A shadow-table rebuild, and why.
    Rebuild(String),
    /// StarRocks cannot do it at all; why.
    Impossible(String),
}

/// A change with its decision and what the plan does for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    /// Stable id: `db.table/kind[/column]`.
    pub id: String,
    /// The source table.
    pub source_table: TableId,
    /// The change.
    pub change: Change,
    /// Policy's decision (after planner downgrades).
    pub decision: Decision,
    /// Held for approval (`queue`) or halting (`halt`): its steps are what
    /// would run after approval.
    pub pending: bool,
    /// How it is carried out.
    pub action: Action,
    /// The steps that carry it out (shared with other applied changes of the table).
    pub steps: Vec<Step>,
    /// Notes (mapping losses, warnings).
    pub notes: Vec<String>,
}

impl PlannedChange {
    /// The SQL of the change's steps.
    pub fn statements(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|s| s.statements().into_iter().map(ToString::to_string))
            .collect()
    }
}

/// The plan of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TablePlan {
    /// The source table.
    pub source_table: TableId,
    /// The target table.
    pub target_table: TableId,
    /// Fingerprint of the target's `SHOW CREATE TABLE` before (`None`: table missing).
    pub from_fingerprint: Option<String>,
    /// Fingerprint after every non-ignored change (`None`: table dropped).
    pub to_fingerprint: Option<String>,
    /// `SHOW CREATE TABLE` before.
    pub before: Option<String>,
    /// `SHOW CREATE TABLE` after every non-ignored change.
    pub after: Option<String>,
    /// The changes, in diff order.
    pub changes: Vec<PlannedChange>,
    /// The steps that run now (changes decided `apply`).
    pub steps: Vec<Step>,
    /// Notes of the diff (possible renames, ...).
    pub notes: Vec<Note>,
}

/// Decision counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    /// Changes to apply.
    pub apply: usize,
    /// Changes queued.
    pub queue: usize,
    /// Changes ignored.
    pub ignore: usize,
    /// Changes halting.
    pub halt: usize,
}

/// A whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Target version planned for.
    pub target_version: String,
    /// Tables with changes, by target table.
    pub tables: Vec<TablePlan>,
}

impl Plan {
    /// Decision counts over every change.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in self.tables.iter().flat_map(|t| &t.changes) {
            match c.decision.verdict {
                Verdict::Apply => s.apply += 1,
                Verdict::Queue => s.queue += 1,
                Verdict::Ignore => s.ignore += 1,
                Verdict::Halt => s.halt += 1,
            }
        }
        s
    }

    /// No change at all: the target is in sync.
    pub fn is_in_sync(&self) -> bool {
        self.tables.iter().all(|t| t.changes.is_empty())
    }
}

/// `sha256:<hex>` of a text.
pub fn fingerprint(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Plans every diff with decisions from `rules`. Tables without changes are left out.
pub fn plan(
    diffs: &[TableDiff],
    rules: &RuleSet,
    catalog: &Catalog,
    version: &StarRocksVersion,
    options: &PlanOptions,
) -> Plan {
    let mut tables: Vec<TablePlan> = diffs
        .iter()
        .filter(|d| !d.changes.is_empty())
        .map(|d| {
            let decisions: Vec<Decision> = d
                .changes
                .iter()
                .map(|c| rules.decide(&d.source_table, c))
                .collect();
            plan_table(d, &decisions, catalog, version, options)
        })
        .collect();
    tables.sort_by(|a, b| a.target_table.cmp(&b.target_table));
    Plan {
        target_version: version.to_string(),
        tables,
    }
}

/// The stable id of a change: `db.table/kind[/column]`.
pub fn change_id(c: &Change) -> String {
    match c.column() {
        Some(col) => format!("{}/{}/{col}", c.table, c.kind()),
        None => format!("{}/{}", c.table, c.kind()),
    }
}

/// Plans one table's changes given their decisions (one per change, same
/// order; missing decisions count as the built-in default).
pub fn plan_table(
    diff: &TableDiff,
    decisions: &[Decision],
    catalog: &Catalog,
    version: &StarRocksVersion,
    options: &PlanOptions,
) -> TablePlan {
    if derived::is_mv_diff(diff) {
        return derived::plan_mv_table(diff, decisions, catalog);
    }
    let before = catalog.tables.get(&diff.target_table);
    let ctx = steps::Ctx {
        catalog,
        version,
        options,
    };
    let all_renames = steps::renames(&diff.changes.iter().collect::<Vec<_>>());
    let mut planned: Vec<PlannedChange> = diff
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut decision = decisions
                .get(i)
                .cloned()
                .unwrap_or_else(Decision::builtin_default);
            let action = steps::classify(c, before, &all_renames, version);
            let mut notes: Vec<String> = c
                .losses()
                .iter()
                .map(|l| format!("mapping loss on {}: {}", l.column, l.loss.detail))
                .collect();
            if let (Verdict::Apply, Action::Rebuild(why), false) = (
                decision.verdict,
                &action,
                decision.rule_code == APPROVED_CODE,
            ) {
                notes.push(format!(
                    "rule {} {} said apply; queued because the change needs a rebuild",
                    decision.rule_code, decision.rule_name
                ));
                decision = Decision {
                    verdict: Verdict::Queue,
                    rule_code: REBUILD_APPROVAL_CODE.into(),
                    rule_name: REBUILD_APPROVAL_NAME.into(),
                    reason: format!(
                        "{why}: the change needs a shadow-table rebuild (a full copy of the \
                         table), and rebuilds are never applied without approval"
                    ),
                };
            }
            let action = if decision.verdict == Verdict::Ignore {
                Action::None
            } else {
                action
            };
            if let Action::Impossible(why) = &action {
                notes.push(format!("not planned: {why}"));
            }
            PlannedChange {
                id: change_id(c),
                source_table: diff.source_table.clone(),
                change: c.clone(),
                pending: matches!(decision.verdict, Verdict::Queue | Verdict::Halt),
                decision,
                action,
                steps: Vec::new(),
                notes,
            }
        })
        .collect();

    // Changes decided `apply`, planned together against the current table.
    let apply_idx: Vec<usize> = (0..planned.len())
        .filter(|&i| planned[i].decision.verdict == Verdict::Apply && is_runnable(&planned[i]))
        .collect();
    let group: Vec<&Change> = apply_idx.iter().map(|&i| &planned[i].change).collect();
    let applied = steps::plan_group(&ctx, before, &group);
    for (k, &i) in apply_idx.iter().enumerate() {
        planned[i].steps = applied.steps_of(k);
        planned[i].notes.extend(applied.notes_of(k));
    }
    let after_apply = applied.after.clone();

    // Each pending change alone, against the table as the applied changes leave it.
    for p in planned.iter_mut().filter(|p| p.pending && is_runnable(p)) {
        let g = steps::plan_group(&ctx, after_apply.as_ref(), &[&p.change]);
        p.steps = g.steps_of(0);
        p.notes.extend(g.notes_of(0));
    }

    let everything: Vec<Change> = planned
        .iter()
        .filter(|p| is_runnable(p))
        .map(|p| p.change.clone())
        .collect();
    let after = apply_changes_to(before, &everything).map(|t| {
        if before.is_none() {
            with_create_props(t, options)
        } else {
            t
        }
    });
    let before_text = before.map(show_create);
    let after_text = after.as_ref().map(show_create);
    TablePlan {
        source_table: diff.source_table.clone(),
        target_table: diff.target_table.clone(),
        from_fingerprint: before_text.as_deref().map(fingerprint),
        to_fingerprint: after_text.as_deref().map(fingerprint),
        before: before_text,
        after: after_text,
        changes: planned,
        steps: applied.steps,
        notes: diff.notes.clone(),
    }
}

/// Plans a table as approved: the changes whose ids are in `approved` are
/// decided `apply` ([`APPROVED_CODE`], rebuilds included); the others keep
/// their decisions. What the agent runs after an approval.
pub fn plan_approved(
    diff: &TableDiff,
    rules: &RuleSet,
    approved: &std::collections::BTreeSet<String>,
    catalog: &Catalog,
    version: &StarRocksVersion,
    options: &PlanOptions,
) -> TablePlan {
    let decisions: Vec<Decision> = diff
        .changes
        .iter()
        .map(|c| {
            if approved.contains(&change_id(c)) {
                Decision {
                    verdict: Verdict::Apply,
                    rule_code: APPROVED_CODE.into(),
                    rule_name: APPROVED_NAME.into(),
                    reason: "approved at the desk".into(),
                }
            } else {
                rules.decide(&diff.source_table, c)
            }
        })
        .collect();
    plan_table(diff, &decisions, catalog, version, options)
}

fn is_runnable(p: &PlannedChange) -> bool {
    matches!(p.action, Action::InPlace | Action::Rebuild(_))
}

/// A table ddlsync creates gets `replication_num` from the options.
pub(crate) fn with_create_props(mut t: TargetTable, options: &PlanOptions) -> TargetTable {
    t.properties
        .entry("replication_num".to_string())
        .or_insert_with(|| options.replication_num.to_string());
    t
}

/// The `CREATE TABLE` statement for a modelled table.
pub(crate) fn create_statement(t: &TargetTable, id: TableId) -> Statement {
    Statement::CreateTable(Box::new(CreateTable::from_target_as(t, id)))
}

#[cfg(test)]
mod tests;
