//! Carrying out approved plans: take them from the store, check the live
//! target against the fingerprint the plan was made for (a stale plan is
//! refused and re-planned, never applied), re-plan with the approved changes
//! decided `apply`, and run the steps on a task of their own per table, so a
//! long rebuild of one table never delays the others. Plans left `applying`
//! by a crash are resumed without the fingerprint check: the executor
//! re-reads the target before each step and awaits a job already running.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::cycle::{Env, Planner};
use super::observer::StoreObserver;
use crate::executor::{Executor, Failure, Outcome};
use crate::metrics::{FailureCause, Metrics};
use crate::model::TableId;
use crate::plan::{fingerprint, show_create, TablePlan};
use crate::store::{PlanId, Store};

/// The end of one table's run, reported back to the agent's loop.
#[derive(Debug)]
pub(crate) struct Done {
    pub(crate) plan: PlanId,
    pub(crate) target: TableId,
    pub(crate) result: Result<Outcome, Failure>,
    /// Source event times (ms) of the changes carried out.
    pub(crate) event_times: Vec<i64>,
}

/// Takes approved plans and those left applying (by a crash, or because the
/// target could not be read) and starts a run for each table not running.
/// A plan with steps already recorded resumes without the fingerprint check.
/// Returns the target tables started and those to plan again (stale).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn start_approved(
    planner: &Planner,
    env: &Env<'_>,
    store: &Arc<Store>,
    metrics: &Arc<Metrics>,
    executor: &Executor,
    runs: &mut JoinSet<Done>,
    cancel: &CancellationToken,
) -> (Vec<TableId>, Vec<TableId>) {
    let now = SystemTime::now();
    if let Err(e) = store.take_approved(now) {
        store_failed(metrics, "approved plans", &e);
    }
    let records = match store.with_status(crate::store::PlanStatus::Applying) {
        Ok(r) => r,
        Err(e) => {
            store_failed(metrics, "plans to apply", &e);
            return (Vec::new(), Vec::new());
        }
    };
    let mut started = Vec::new();
    let mut replan = Vec::new();
    for record in records {
        if env.in_flight.contains(&record.target_table) || started.contains(&record.target_table) {
            continue;
        }
        let resumed = store.steps(record.id).is_ok_and(|s| !s.is_empty());
        let catalog = match planner
            .introspect(env, std::slice::from_ref(&record.target_table))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                // Left `applying`: retried on the next tick.
                metrics.record_failure(FailureCause::StarrocksUnavailable);
                tracing::error!(table = %record.target_table, plan = %record.id, error = %e, "Cannot read the target before applying; will retry.");
                continue;
            }
        };
        let current = catalog
            .tables
            .get(&record.target_table)
            .map(|t| fingerprint(&show_create(t)));
        if !resumed {
            if let Err(e) = store.verify_target(record.id, current.as_deref(), now) {
                tracing::warn!(table = %record.target_table, plan = %record.id, reason = %e, "Approved plan is stale: not applied; the table is planned again.");
                replan.push(record.target_table.clone());
                continue;
            }
        }
        let plan = match planner.prepare(env, &catalog, &record) {
            Ok(p) => p,
            Err(reason) => {
                tracing::warn!(table = %record.target_table, plan = %record.id, reason = %reason, "Approved plan cannot run as approved.");
                if let Err(e) = store.mark_failed(record.id, &reason, now) {
                    store_failed(metrics, "a failed plan", &e);
                }
                replan.push(record.target_table.clone());
                continue;
            }
        };
        let event_times: Vec<i64> = record
            .changes
            .iter()
            .filter(|c| c.decision != crate::policy::Verdict::Ignore)
            .filter_map(|c| c.source_position.as_ref().and_then(|p| p.ts_ms))
            .collect();
        let kafka_ts = planner.event_ts.get(&record.source_table).copied();
        tracing::info!(table = %record.target_table, plan = %record.id, steps = plan.steps.len(), resumed, "Applying plan.");
        started.push(record.target_table.clone());
        spawn_run(
            runs,
            executor.clone(),
            plan,
            StoreObserver::new(store.clone(), metrics.clone(), record.id, kafka_ts),
            cancel.clone(),
            event_times,
        );
    }
    (started, replan)
}

fn spawn_run(
    runs: &mut JoinSet<Done>,
    executor: Executor,
    plan: TablePlan,
    observer: StoreObserver,
    cancel: CancellationToken,
    event_times: Vec<i64>,
) {
    runs.spawn(async move {
        let result = executor.run_plan(&plan, &observer, &cancel).await;
        if let Some(d) = observer.event_to_submit() {
            tracing::debug!(table = %plan.target_table, event_to_submit_ms = d.as_millis() as u64, "Propagation to submit.");
        }
        Done {
            plan: observer.plan,
            target: plan.target_table.clone(),
            result,
            event_times,
        }
    });
}

/// Records the end of a run: applied, failed, or (cancelled) left applying.
pub(crate) fn finish(done: &Done, store: &Store, metrics: &Metrics) {
    let now = SystemTime::now();
    match &done.result {
        Ok(outcome) if outcome.cancelled => {
            tracing::info!(table = %done.target, plan = %done.plan, job = ?outcome.pending_job, "Run interrupted by shutdown; the plan stays applying and resumes at the next start.");
        }
        Ok(_) => {
            if let Err(e) = store.mark_applied(done.plan, now) {
                store_failed(metrics, "an applied plan", &e);
            }
            let now_ms = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            for ts in &done.event_times {
                if now_ms >= *ts {
                    metrics.observe_propagation(Duration::from_millis((now_ms - ts) as u64));
                }
            }
            tracing::info!(table = %done.target, plan = %done.plan, "Plan applied.");
        }
        Err(failure) => {
            let cause = match &failure.error {
                crate::executor::Error::JobCancelled { .. } => FailureCause::AlterCancelled,
                crate::executor::Error::StarRocks(crate::starrocks::Error::Connection {
                    ..
                }) => FailureCause::StarrocksUnavailable,
                _ => FailureCause::StarrocksRefused,
            };
            metrics.record_failure(cause);
            tracing::error!(table = %done.target, plan = %done.plan, error = %failure, "Plan failed.");
            if let Err(e) = store.mark_failed(done.plan, &failure.to_string(), now) {
                store_failed(metrics, "a failed plan", &e);
            }
        }
    }
}

fn store_failed(metrics: &Metrics, what: &str, e: &crate::store::Error) {
    metrics.record_failure(FailureCause::Store);
    tracing::error!(error = %e, "Cannot record {what} in the store.");
}
