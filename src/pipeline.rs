//! The one planning path: source histories + target catalog + rules + config
//! → diffs → decisions → [`Plan`].
//!
//! `ddlsync plan` (offline, from files) calls it, and so will the agent and the
//! online `plan --config`, so that what a dry run shows is what the agent does.
//! Owns the routing of source tables to target tables (config mapping, table
//! renames followed through the history), the table-level changes that only
//! the history reveals (drop, rename, truncate), and the warnings carried from
//! the history into the plan. Pure: no I/O, no clock.
//!
//! Per `[[tables]]` entry it plans the targets asked for (`targets`): the
//! PRIMARY KEY mirror, the raw change-log table `<target>_cdc_raw` and the
//! current-state view `<target>_current` (both in `plan::derived`). When the
//! loader applies source truncates itself (`[loader] truncate = "apply"`),
//! no `truncate_table` is planned: a note says the loader owns it.

use std::collections::BTreeSet;

use crate::capabilities::StarRocksVersion;
use crate::catalog::Catalog;
use crate::config::{Config, Route, TargetKind, TruncateMode};
use crate::diff::{diff_table_into, history_changes, Change, Note, TableDiff};
use crate::model::history::{Histories, TableEvent};
use crate::model::TableId;
use crate::plan::derived;
use crate::plan::{plan, Plan, PlanOptions};
use crate::policy::RuleSet;
use crate::types::MappingOptions;

/// Everything the planner reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// What the source says, table by table.
    pub histories: &'a Histories,
    /// What StarRocks has.
    pub catalog: &'a Catalog,
    /// Policy.
    pub rules: &'a RuleSet,
    /// Mapping of tables and types.
    pub config: &'a Config,
    /// The StarRocks version planned for.
    pub version: &'a StarRocksVersion,
}

/// A plan and what was left out of it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The plan (tables with changes only).
    pub plan: Plan,
    /// Source tables that no `[[tables]]` entry maps (not synced).
    pub unmapped: Vec<TableId>,
    /// Number of source tables compared.
    pub compared: usize,
}

/// Diffs every mapped source table against the catalog and plans the result.
pub fn run(inputs: Inputs<'_>) -> Outcome {
    let diffs = diff_all(inputs);
    let options = plan_options(inputs.config);
    let compared = diffs
        .iter()
        .map(|(d, _)| &d.source_table)
        .collect::<BTreeSet<_>>()
        .len();
    let plan = plan(
        &diffs.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>(),
        inputs.rules,
        inputs.catalog,
        inputs.version,
        &options,
    );
    let unmapped = inputs
        .histories
        .tables()
        .map(|(id, _)| id)
        .filter(|id| inputs.config.route(id).is_none())
        .cloned()
        .collect();
    Outcome {
        plan,
        unmapped,
        compared,
    }
}

/// The planner's options from the config (`replication_num`).
pub fn plan_options(config: &Config) -> PlanOptions {
    PlanOptions {
        replication_num: config
            .starrocks
            .as_ref()
            .map_or(PlanOptions::default().replication_num, |s| {
                s.replication_num
            }),
    }
}

/// Whether the loader runs and truncates mirrors itself, in stream order.
fn loader_owns_truncate(config: &Config) -> bool {
    config
        .loader
        .as_ref()
        .is_some_and(|l| l.enabled && l.truncate == TruncateMode::Apply)
}

/// The StarRocks tables a route plans (the mirror and, when asked for, the
/// raw change-log table): what the online planners must introspect. The
/// current-state view is read with the views of the target's database.
pub fn route_tables(route: &Route) -> Vec<TableId> {
    let mut out = vec![route.target.clone()];
    if route.targets.contains(&TargetKind::Raw)
        || route.targets.contains(&TargetKind::CurrentStateMv)
    {
        out.push(derived::raw_table_id(&route.target));
    }
    out
}

/// One diff per mapped target (mirror, raw table, current-state view) of
/// every source table (live or dropped), in target order, with the notes
/// carried over from the history.
pub fn diff_all(inputs: Inputs<'_>) -> Vec<(TableDiff, Vec<Note>)> {
    let Inputs {
        histories,
        catalog,
        config,
        ..
    } = inputs;
    let mapping = MappingOptions {
        max_varchar_bytes: inputs.version.max_varchar_bytes(),
        ..config.mapping.clone()
    };
    let options = plan_options(config);
    let loader_truncates = loader_owns_truncate(config);
    let mut out = Vec::new();
    let mut claimed: BTreeSet<TableId> = BTreeSet::new();
    for (id, history) in histories.tables() {
        let Some(route) = config.route(id) else {
            continue;
        };
        let Some(latest) = history.latest() else {
            continue;
        };
        let source = &latest.table;
        if route.targets.contains(&TargetKind::Raw) {
            let raw = derived::raw_table_id(&route.target);
            claimed.insert(raw.clone());
            out.push((derived::diff_raw(id, &raw, catalog, &options), Vec::new()));
        }
        if route.targets.contains(&TargetKind::CurrentStateMv) {
            let raw = derived::raw_table_id(&route.target);
            let mv = derived::current_mv_id(&route.target);
            let d = derived::diff_current_mv(source, &raw, &mv, catalog, &mapping, &options);
            out.push((d, Vec::new()));
        }
        if !route.targets.contains(&TargetKind::Mirror) {
            continue;
        }
        let mut table_changes = Vec::new();
        // The target as it is now: under the routed name, or under the name the
        // table had before a rename the target has not followed yet. In the
        // second case the column changes are planned against the current name
        // and the rename is a change of its own (it may wait for approval).
        let mut target_id = route.target.clone();
        let mut target = catalog.tables.get(&route.target);
        if target.is_none() {
            let former = history
                .former_ids
                .iter()
                .rev()
                .filter_map(|f| config.route(f))
                .find(|r| catalog.tables.contains_key(&r.target) && !claimed.contains(&r.target));
            if let Some(former) = former {
                target = catalog.tables.get(&former.target);
                table_changes.push(Change::rename_table(
                    former.target.clone(),
                    route.target.clone(),
                ));
                target_id = former.target;
            }
        }
        claimed.insert(target_id.clone());
        claimed.insert(route.target.clone());
        let mut diff = diff_table_into(source, &target_id, target, &mapping);
        if let (Some(t), Some(first)) = (target, history.versions.first()) {
            diff.extend(history_changes(&first.table, source, t));
        }
        if target.is_some() {
            for event in histories.table_events() {
                if let TableEvent::Truncated { id: t, position } = event {
                    if t != id && !history.former_ids.contains(t) {
                        continue;
                    }
                    if loader_truncates {
                        diff.notes.push(Note {
                            code: "truncate_by_loader".into(),
                            column: None,
                            message: format!(
                                "the source truncated the table (at {position}); the loader \
                                 truncates {target_id} in stream order ([loader] truncate = \
                                 \"apply\"), so no truncate_table is planned"
                            ),
                        });
                    } else {
                        table_changes.push(Change::truncate_table(target_id.clone()));
                    }
                }
            }
        }
        diff.extend(table_changes);
        let mut notes: Vec<Note> = Vec::new();
        for version in &history.versions {
            for w in &version.warnings {
                notes.push(Note {
                    code: "history_warning".into(),
                    column: None,
                    message: format!("{w} (at {})", version.position),
                });
            }
        }
        diff.notes.extend(notes.iter().cloned());
        diff.notes.sort();
        diff.notes.dedup();
        out.push((diff, notes));
    }
    for (id, _history) in histories.dropped() {
        let Some(route) = config.route(id) else {
            continue;
        };
        if !route.targets.contains(&TargetKind::Mirror) {
            continue;
        }
        if claimed.contains(&route.target) || !catalog.tables.contains_key(&route.target) {
            continue;
        }
        claimed.insert(route.target.clone());
        let mut diff = TableDiff {
            source_table: id.clone(),
            target_table: route.target.clone(),
            changes: Vec::new(),
            notes: Vec::new(),
        };
        diff.extend([Change::drop_table(route.target.clone())]);
        out.push((diff, Vec::new()));
    }
    out.sort_by(|a, b| a.0.target_table.cmp(&b.0.target_table));
    out
}
