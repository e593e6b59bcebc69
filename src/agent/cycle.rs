//! One planning cycle of the agent: introspect the targets, run the one
//! planning path ([`pipeline::run`]), record each new table plan in the store
//! (a plan already recorded for the same target fingerprints and changes is
//! not recorded again — this is what keeps a restart from replaying
//! decisions), and set the loader's gates from the store and the catalog.
//! Also prepares an approved plan for the executor: re-planned against the
//! live target with the approved changes decided `apply`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use crate::capabilities::StarRocksVersion;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::gate::Gates;
use crate::metrics::{FailureCause, Metrics};
use crate::model::history::{Histories, HistoryNote};
use crate::model::TableId;
use crate::pipeline::{self, Inputs};
use crate::plan::{
    change_id, fingerprint, plan_approved, plan_table, render_text, show_create, Plan, TablePlan,
};
use crate::policy::{RuleSet, Verdict};
use crate::source::{Event, Located};
use crate::starrocks::Client;
use crate::store::{PlanContext, PlanRecord, PlanStatus, Store};

/// How long a failed plan waits before the same changes are planned again.
const FAILED_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

/// What a cycle needs besides the planner's own state.
pub(crate) struct Env<'a> {
    pub(crate) config: &'a Config,
    pub(crate) store: &'a Store,
    pub(crate) metrics: &'a Metrics,
    pub(crate) gates: &'a Gates,
    pub(crate) client: &'a Client,
    pub(crate) rules: &'a RuleSet,
    pub(crate) version: &'a StarRocksVersion,
    /// Target tables whose plan is being applied now.
    pub(crate) in_flight: &'a BTreeSet<TableId>,
    pub(crate) dry_run: bool,
}

/// The agent's view of the source, and what it already reported.
#[derive(Debug, Default)]
pub(crate) struct Planner {
    pub(crate) histories: Histories,
    /// Kafka timestamp of the newest schema event per source table.
    pub(crate) event_ts: BTreeMap<TableId, i64>,
    unmapped_reported: BTreeSet<TableId>,
    seen: BTreeMap<TableId, String>,
    /// Source tables changed since the last cycle (planned alone next time).
    dirty: BTreeSet<TableId>,
    /// Plan every table next time (start, resync, rules changed).
    full: bool,
}

/// Same target fingerprints and same change ids.
fn same_plan(record: &PlanRecord, plan: &TablePlan) -> bool {
    record.from_fingerprint == plan.from_fingerprint
        && record.to_fingerprint == plan.to_fingerprint
        && record
            .changes
            .iter()
            .map(|c| c.change_id.as_str())
            .eq(plan.changes.iter().map(|c| c.id.as_str()))
}

impl Planner {
    /// Folds one event into the history; returns whether a table changed.
    pub(crate) fn fold(
        &mut self,
        event: &Located<Event>,
        kafka_ts_ms: Option<i64>,
        metrics: &Metrics,
    ) -> bool {
        let mut changed = false;
        for note in self.histories.apply(event) {
            match &note {
                HistoryNote::NewVersion { table, .. }
                | HistoryNote::Dropped { table }
                | HistoryNote::Truncated { table }
                | HistoryNote::ColumnRenamed { table, .. }
                | HistoryNote::PossibleRename { table, .. } => {
                    self.dirty.insert(table.clone());
                }
                HistoryNote::TableRenamed { from, to } => {
                    self.dirty.insert(from.clone());
                    self.dirty.insert(to.clone());
                }
                _ => {}
            }
            match &note {
                HistoryNote::NewVersion { table, .. } => {
                    changed = true;
                    if let Some(ts) = kafka_ts_ms {
                        self.event_ts.insert(table.clone(), ts);
                    }
                    tracing::debug!(%note, position = %event.position, "Source schema version.");
                }
                HistoryNote::TableRenamed { .. }
                | HistoryNote::Dropped { .. }
                | HistoryNote::Truncated { .. }
                | HistoryNote::ColumnRenamed { .. }
                | HistoryNote::PossibleRename { .. } => {
                    changed = true;
                    tracing::info!(%note, position = %event.position, "Source table event.");
                }
                HistoryNote::DdlNotParsed { ddl, error } => {
                    metrics.record_failure(FailureCause::UnparseableDdl);
                    tracing::warn!(position = %event.position, ddl = %ddl, error = %error, "DDL statement does not parse; its tableChanges were applied.");
                }
                HistoryNote::Unchanged { .. } => {}
                HistoryNote::Skipped { reason } => {
                    tracing::debug!(position = %event.position, reason = %reason, "Event skipped by the history.");
                }
            }
        }
        changed
    }

    /// Plans every table in the next cycle.
    pub(crate) fn plan_everything(&mut self) {
        self.full = true;
    }

    /// Plans the source tables that route to `target` in the next cycle.
    pub(crate) fn target_changed(&mut self, config: &Config, target: &TableId) {
        let sources: Vec<TableId> = self
            .histories
            .tables()
            .chain(self.histories.dropped())
            .filter(|(id, h)| {
                std::iter::once(*id)
                    .chain(h.former_ids.iter())
                    .filter_map(|n| config.route(n))
                    .any(|r| pipeline::route_tables(&r).contains(target))
            })
            .map(|(id, _)| id.clone())
            .collect();
        self.dirty.extend(sources);
    }

    /// Every target table `histories` route to (current and former names).
    pub(crate) fn targets_of(histories: &Histories, config: &Config) -> Vec<TableId> {
        let mut targets: BTreeSet<TableId> = BTreeSet::new();
        for (id, history) in histories.tables().chain(histories.dropped()) {
            for name in std::iter::once(id).chain(history.former_ids.iter()) {
                if let Some(route) = config.route(name) {
                    targets.extend(pipeline::route_tables(&route));
                }
            }
        }
        targets.into_iter().collect()
    }

    /// Reads the targets (and the views of their databases) from StarRocks.
    pub(crate) async fn introspect(
        &self,
        env: &Env<'_>,
        targets: &[TableId],
    ) -> Result<Catalog, crate::starrocks::Error> {
        let dbs: BTreeSet<String> = targets.iter().map(|t| t.database.clone()).collect();
        env.client
            .introspect_with_views(targets, &dbs.into_iter().collect::<Vec<_>>())
            .await
    }

    /// Plans every table. A table whose plan mixes changes to apply now with
    /// changes that wait is split: the changes decided `apply` are planned
    /// (and run) alone now; those that wait are planned, and recorded as
    /// pending, in the next cycle against the target the first part leaves.
    fn plan_all(
        &self,
        env: &Env<'_>,
        histories: &Histories,
        catalog: &Catalog,
    ) -> pipeline::Outcome {
        let inputs = Inputs {
            histories,
            catalog,
            rules: env.rules,
            config: env.config,
            version: env.version,
        };
        let mut outcome = pipeline::run(inputs);
        let mixed = |t: &TablePlan| {
            t.changes.iter().any(|c| c.pending)
                && t.changes.iter().any(|c| !c.pending && !c.steps.is_empty())
        };
        if !outcome.plan.tables.iter().any(mixed) {
            return outcome;
        }
        let diffs = pipeline::diff_all(inputs);
        let options = pipeline::plan_options(env.config);
        for t in outcome.plan.tables.iter_mut().filter(|t| mixed(t)) {
            let Some((diff, _)) = diffs.iter().find(|(d, _)| d.target_table == t.target_table)
            else {
                continue;
            };
            let waiting: BTreeSet<&str> = t
                .changes
                .iter()
                .filter(|c| c.pending)
                .map(|c| c.id.as_str())
                .collect();
            let mut now = diff.clone();
            now.changes
                .retain(|c| !waiting.contains(change_id(c).as_str()));
            let decisions: Vec<_> = now
                .changes
                .iter()
                .map(|c| env.rules.decide(&now.source_table, c))
                .collect();
            let first = plan_table(&now, &decisions, catalog, env.version, &options);
            if !first.changes.iter().any(|c| c.pending) {
                tracing::debug!(table = %t.target_table, waiting = waiting.len(), "Changes to apply now are planned apart from those that wait.");
                *t = first;
            }
        }
        outcome
    }

    /// One cycle (see the module doc). A StarRocks error ends it early.
    /// Plans the tables changed since the last cycle (all of them after
    /// [`Planner::plan_everything`]): only their targets are read.
    pub(crate) async fn cycle(&mut self, env: &Env<'_>) -> Result<(), crate::starrocks::Error> {
        let now = SystemTime::now();
        let partial;
        let histories = if self.full {
            &self.histories
        } else {
            partial = self.histories.subset(&self.dirty);
            &partial
        };
        let targets = Self::targets_of(histories, env.config);
        let catalog = self.introspect(env, &targets).await?;
        let outcome = self.plan_all(env, histories, &catalog);
        // Columns each mapped source renamed (former → current name), for the loader's gates.
        let renamed_upstream: Vec<(TableId, BTreeMap<String, String>)> = histories
            .tables()
            .filter_map(|(id, h)| {
                let latest = &h.latest()?.table;
                let now: BTreeSet<&str> = latest.columns.iter().map(|c| c.name.as_str()).collect();
                let renamed = latest
                    .columns
                    .iter()
                    .flat_map(|c| c.former_names.iter().map(move |f| (f, &c.name)))
                    // A former name another column carries now is that column's.
                    .filter(|(f, _)| !now.contains(f.as_str()))
                    .map(|(f, n)| (f.clone(), n.clone()))
                    .collect();
                Some((env.config.route(id)?.target, renamed))
            })
            .collect();
        // Columns each mapped source had and dropped, for the loader's gates.
        let dropped_upstream: Vec<(TableId, BTreeSet<String>)> = histories
            .tables()
            .filter_map(|(id, h)| {
                let now: BTreeSet<&str> = h
                    .latest()?
                    .table
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect();
                let gone = h
                    .versions
                    .iter()
                    .flat_map(|v| v.table.columns.iter().map(|c| c.name.as_str()))
                    .filter(|n| !now.contains(n))
                    .map(str::to_owned)
                    .collect();
                Some((env.config.route(id)?.target, gone))
            })
            .collect();
        self.full = false;
        self.dirty.clear();
        for id in &outcome.unmapped {
            if self.unmapped_reported.insert(id.clone()) {
                env.metrics.record_failure(FailureCause::UnknownTable);
                tracing::warn!(table = %id, "Schema events for a table no [[tables]] entry maps; not synced.");
            }
        }
        if !env.dry_run {
            for t in &targets {
                let fp = catalog.tables.get(t).map(|t| fingerprint(&show_create(t)));
                if let Err(e) = env.store.record_target(t, fp.as_deref(), now) {
                    store_failed(env, "the target fingerprint", &e);
                }
            }
            self.record_seen(env, now);
        }
        let mut project: BTreeSet<TableId> = BTreeSet::new();
        for plan in &outcome.plan.tables {
            if env.in_flight.contains(&plan.target_table) {
                continue;
            }
            match self.record(env, plan, now) {
                Ok(keeps_fewer) => {
                    if keeps_fewer {
                        project.insert(plan.target_table.clone());
                    }
                }
                Err(e) => store_failed(env, "a plan", &e),
            }
        }
        for (target, names) in dropped_upstream {
            env.gates.set_dropped_upstream(&target, names);
        }
        for (target, renamed) in renamed_upstream {
            env.gates.set_renamed_upstream(&target, renamed);
        }
        for t in &targets {
            let columns = catalog
                .tables
                .get(t)
                .map(|x| x.columns.iter().map(|c| c.name.clone()).collect());
            env.gates.set_columns(t, columns);
            env.gates.set_project(t, project.contains(t));
            if env.in_flight.contains(t) {
                env.gates.hold(t, "a plan for the table is being applied");
                continue;
            }
            match env.store.gate_state(t) {
                Ok(crate::store::GateState::Open) => env.gates.release(t),
                Ok(crate::store::GateState::Held { plan, status }) => {
                    env.gates.hold(t, format!("plan {plan} is {status}"))
                }
                Err(e) => store_failed(env, "the gate state", &e),
            }
        }
        if let Ok((pending, held)) = env.store.counts() {
            env.metrics.set_pending_changes(pending);
            env.metrics.set_held_tables(held);
        }
        Ok(())
    }

    fn record_seen(&mut self, env: &Env<'_>, now: SystemTime) {
        for (id, history) in self.histories.tables() {
            let Some(latest) = history.latest() else {
                continue;
            };
            let fp = latest.fingerprint.to_string();
            if self.seen.get(id) == Some(&fp) {
                continue;
            }
            match env.store.record_seen(id, &fp, &latest.position, now) {
                Ok(()) => {
                    self.seen.insert(id.clone(), fp);
                }
                Err(e) => store_failed(env, "a seen source version", &e),
            }
        }
    }

    /// Records `plan` unless the store already has it; returns whether the
    /// target keeps fewer columns on purpose (ignored or rejected changes).
    fn record(
        &self,
        env: &Env<'_>,
        plan: &TablePlan,
        now: SystemTime,
    ) -> Result<bool, crate::store::Error> {
        let ignored = plan
            .changes
            .iter()
            .any(|c| c.decision.verdict == Verdict::Ignore);
        let existing = env.store.plans(Some(&plan.target_table))?;
        let existing: Vec<&PlanRecord> = existing
            .iter()
            .filter(|r| r.target_table == plan.target_table)
            .collect();
        if let Some(open) = existing.iter().find(|r| r.status.holds_gate()) {
            if same_plan(open, plan)
                || matches!(open.status, PlanStatus::Approved | PlanStatus::Applying)
            {
                return Ok(ignored);
            }
        } else if let Some(done) = existing.iter().rev().find(|r| same_plan(r, plan)) {
            // Decided before (rejected, ignored, applied): not replayed. A failed
            // plan is planned again once it is FAILED_RETRY old.
            let age_ms = crate::store::Timestamp::from_system_time(now).0 - done.updated_at.0;
            let retry =
                done.status == PlanStatus::Failed && age_ms >= FAILED_RETRY.as_millis() as i64;
            if !retry {
                tracing::debug!(table = %plan.target_table, plan = %done.id, status = %done.status, "Plan was decided before; not planned again.");
                return Ok(ignored || done.status == PlanStatus::Rejected);
            }
            tracing::info!(table = %plan.target_table, plan = %done.id, "Plan failed a while ago; planning it again.");
        }
        let source = &plan.source_table;
        let position = self
            .histories
            .get(source)
            .and_then(|h| h.latest())
            .map(|v| v.position.clone());
        let context = PlanContext {
            target_version: env.version.to_string(),
            position,
        };
        let id = env.store.record_plan(plan, &context, now)?;
        for c in &plan.changes {
            env.metrics
                .record_decision(c.change.kind(), c.decision.verdict);
            let statements = c.statements().join("; ");
            let line = |msg: &str| {
                tracing::info!(
                    table = %plan.target_table,
                    plan = %id,
                    change = %c.id,
                    decision = %c.decision.verdict,
                    rule = %format!("{} {}", c.decision.rule_code, c.decision.rule_name),
                    statement = %statements,
                    "{msg}"
                )
            };
            match c.decision.verdict {
                Verdict::Halt => tracing::error!(
                    table = %plan.target_table,
                    plan = %id,
                    change = %c.id,
                    rule = %format!("{} {}", c.decision.rule_code, c.decision.rule_name),
                    reason = %c.decision.reason,
                    "ALERT: policy halts this table; its loader is held until a person decides."
                ),
                Verdict::Queue => line("Change queued for approval."),
                Verdict::Apply => line("Change decided apply."),
                Verdict::Ignore => line("Change ignored."),
            }
        }
        if env.dry_run {
            let text = render_text(&Plan {
                target_version: env.version.to_string(),
                tables: vec![plan.clone()],
            });
            tracing::info!(table = %plan.target_table, plan = %id, "Dry run: plan (not applied):\n{text}");
        }
        Ok(ignored)
    }

    /// The plan to run for an approved (or resumed) record, re-planned
    /// against `catalog`; `Err` says why it cannot run (the source moved on).
    pub(crate) fn prepare(
        &self,
        env: &Env<'_>,
        catalog: &Catalog,
        record: &PlanRecord,
    ) -> Result<TablePlan, String> {
        let approved: BTreeSet<String> = record
            .changes
            .iter()
            .filter(|c| c.pending)
            .map(|c| c.change_id.clone())
            .collect();
        let histories = self
            .histories
            .subset(&std::iter::once(record.source_table.clone()).collect());
        let diffs = pipeline::diff_all(Inputs {
            histories: &histories,
            catalog,
            rules: env.rules,
            config: env.config,
            version: env.version,
        });
        let Some((diff, _)) = diffs
            .iter()
            .find(|(d, _)| d.target_table == record.target_table)
        else {
            return Ok(TablePlan {
                source_table: record.source_table.clone(),
                target_table: record.target_table.clone(),
                from_fingerprint: record.from_fingerprint.clone(),
                to_fingerprint: record.to_fingerprint.clone(),
                before: None,
                after: None,
                changes: Vec::new(),
                steps: Vec::new(),
                notes: Vec::new(),
            });
        };
        let options = pipeline::plan_options(env.config);
        let plan = plan_approved(diff, env.rules, &approved, catalog, env.version, &options);
        let missing: Vec<&String> = approved
            .iter()
            .filter(|id| !plan.changes.iter().any(|c| &c.id == *id))
            .collect();
        if !missing.is_empty() && !plan.changes.is_empty() {
            return Err(format!(
                "the source changed since the plan was made: {} no longer planned; a new plan follows",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(plan)
    }
}

fn store_failed(env: &Env<'_>, what: &str, e: &crate::store::Error) {
    env.metrics.record_failure(FailureCause::Store);
    tracing::error!(error = %e, "Cannot record {what} in the store.");
}
