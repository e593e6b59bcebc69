//! Store unit tests: migrations, merge/supersede, stale approvals, rejection,
//! the agent's take/verify/apply cycle and the history.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::schema::{migrate, Migration, MIGRATIONS};
use super::*;
use crate::capabilities::StarRocksVersion;
use crate::catalog::Catalog;
use crate::diff::{desired_table, diff_table};
use crate::model::{ColumnId, SourceColumn, SourceDialect, SourceTable, SourceType, TableId};
use crate::plan::{plan_table, TablePlan};
use crate::policy::RuleSet;
use crate::types::MappingOptions;

fn at(secs: u64) -> SystemTime {
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

/// The plan that takes a target with `target` columns to `source` columns.
pub(crate) fn table_plan(source: &[&str], target: &[&str]) -> TablePlan {
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

fn ctx() -> PlanContext {
    PlanContext {
        target_version: "3.3.5".into(),
        position: Some(crate::model::SourcePosition {
            native: Some("mysql-bin.000003:1234".into()),
            ts_ms: Some(1_795_000_000_000),
            ..Default::default()
        }),
    }
}

fn orders() -> TableId {
    TableId::new("shop", "orders")
}

#[test]
fn migrations_are_versioned_and_idempotent() {
    let dir = tempdir("migrations");
    let path = dir.join("store.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    // A later migration applies on top, once.
    let more: Vec<Migration> = MIGRATIONS
        .iter()
        .copied()
        .chain([("test table", "CREATE TABLE extra (x INTEGER);")])
        .collect();
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(migrate(&mut conn, &more).unwrap(), SCHEMA_VERSION + 1);
    assert_eq!(migrate(&mut conn, &more).unwrap(), SCHEMA_VERSION + 1);
    drop(conn);
    drop(store);
    // This binary refuses the newer file.
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found, known } if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION)
    );
    assert!(
        err.to_string().contains("newer than this ddlsync knows"),
        "{err}"
    );
}

#[test]
fn queued_plan_is_pending_and_holds_the_gate() {
    let store = Store::open_in_memory().unwrap();
    let p = table_plan(&["id"], &["id", "old"]);
    assert!(p.changes.iter().any(|c| c.pending), "{p:#?}");
    let id = store.record_plan(&p, &ctx(), at(0)).unwrap();
    let pending = store.pending().unwrap();
    assert_eq!(pending.len(), 1);
    let rec = &pending[0];
    assert_eq!(rec.id, id);
    assert_eq!(rec.status, PlanStatus::Pending);
    assert_eq!(rec.from_fingerprint, p.from_fingerprint);
    assert_eq!(rec.changes[0].change_id, "shop.orders/drop_column/old");
    assert!(
        rec.changes[0].statements[0].contains("DROP COLUMN"),
        "{rec:#?}"
    );
    assert_eq!(
        rec.changes[0]
            .source_position
            .as_ref()
            .unwrap()
            .native
            .as_deref(),
        Some("mysql-bin.000003:1234")
    );
    assert!(rec.text.contains("drop_column"), "{}", rec.text);
    assert_eq!(
        store.gate_state(&orders()).unwrap(),
        GateState::Held {
            plan: id,
            status: PlanStatus::Pending
        }
    );
    assert_eq!(store.counts().unwrap(), (1, 1));
    assert_eq!(store.resolve("shop.orders/drop_column/old").unwrap(), id);
    assert!(matches!(
        store.resolve("shop.x/drop_column/y"),
        Err(Error::UnknownChange(_))
    ));
}

#[test]
fn a_new_plan_supersedes_the_pending_one() {
    let store = Store::open_in_memory().unwrap();
    let first = store
        .record_plan(&table_plan(&["id"], &["id", "old"]), &ctx(), at(0))
        .unwrap();
    // The caller merged: the new plan carries the drop and a later change.
    let merged = table_plan(&["id", "note"], &["id", "old"]);
    assert_eq!(merged.changes.len(), 2, "{merged:#?}");
    let second = store.record_plan(&merged, &ctx(), at(5)).unwrap();
    let old = store.get(first).unwrap();
    assert_eq!(old.status, PlanStatus::Superseded);
    assert_eq!(old.superseded_by, Some(second));
    let new = store.get(second).unwrap();
    assert_eq!(new.supersedes, Some(first));
    assert_eq!(store.pending().unwrap().len(), 1);
    let err = store
        .approve(first, "alice", None, TargetCheck::Deferred, at(6))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("replaced by plan {second}")),
        "{err}"
    );
}

#[test]
fn stale_approval_is_refused_with_the_reason() {
    let store = Store::open_in_memory().unwrap();
    let p = table_plan(&["id"], &["id", "old"]);
    let id = store.record_plan(&p, &ctx(), at(0)).unwrap();
    let err = store
        .approve(
            id,
            "alice",
            Some("ok"),
            TargetCheck::Current(Some("sha256:feedbeef")),
            at(1),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Stale { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("is stale") && msg.contains("sha256:feedbeef"),
        "{msg}"
    );
    let rec = store.get(id).unwrap();
    assert_eq!(rec.status, PlanStatus::Stale);
    assert!(rec.approval.is_none());
    assert!(rec.status_reason.unwrap().contains("is stale"));
    // Still held until re-planned, and never taken for applying.
    assert!(matches!(
        store.gate_state(&orders()).unwrap(),
        GateState::Held { .. }
    ));
    assert!(store.take_approved(at(2)).unwrap().is_empty());
    let actions: Vec<String> = store
        .history(None)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["planned", "approval_refused"]);
}

#[test]
fn last_seen_target_is_checked_at_approval() {
    let store = Store::open_in_memory().unwrap();
    let p = table_plan(&["id"], &["id", "old"]);
    let id = store.record_plan(&p, &ctx(), at(0)).unwrap();
    store
        .record_target(&orders(), Some("sha256:0000"), at(1))
        .unwrap();
    let err = store
        .approve(id, "bob", None, TargetCheck::LastSeen, at(2))
        .unwrap_err();
    assert!(matches!(err, Error::Stale { .. }), "{err:?}");
}

#[test]
fn approve_take_verify_apply() {
    let store = Store::open_in_memory().unwrap();
    let p = table_plan(&["id"], &["id", "old"]);
    let id = store.record_plan(&p, &ctx(), at(0)).unwrap();
    let rec = store
        .approve(id, "alice", Some("drop it"), TargetCheck::Deferred, at(1))
        .unwrap();
    assert_eq!(rec.status, PlanStatus::Approved);
    let approval = rec.approval.unwrap();
    assert_eq!(
        (approval.by.as_str(), approval.verification.as_str()),
        ("alice", "to_verify")
    );
    assert!(store.pending().unwrap().is_empty());
    let taken = store.take_approved(at(2)).unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].status, PlanStatus::Applying);
    assert!(store.take_approved(at(2)).unwrap().is_empty());
    store
        .verify_target(id, p.from_fingerprint.as_deref(), at(3))
        .unwrap();
    let step = store
        .start_step(id, 0, "ALTER TABLE x DROP COLUMN old", at(3))
        .unwrap();
    store.set_step_job(step, "10042").unwrap();
    // A restart re-records the start and keeps the job id.
    let again = store
        .start_step(id, 0, "ALTER TABLE x DROP COLUMN old", at(4))
        .unwrap();
    assert_eq!(again, step);
    store
        .finish_step(step, StepOutcome::Finished, None, at(5))
        .unwrap();
    let steps = store.steps(id).unwrap();
    assert_eq!(steps[0].job_id.as_deref(), Some("10042"));
    assert_eq!(steps[0].outcome, StepOutcome::Finished);
    store.mark_applied(id, at(6)).unwrap();
    assert_eq!(store.get(id).unwrap().status, PlanStatus::Applied);
    assert_eq!(store.gate_state(&orders()).unwrap(), GateState::Open);
}

#[test]
fn agent_marks_a_changed_target_stale() {
    let store = Store::open_in_memory().unwrap();
    let p = table_plan(&["id"], &["id", "old"]);
    let id = store.record_plan(&p, &ctx(), at(0)).unwrap();
    store
        .approve(id, "alice", None, TargetCheck::Deferred, at(1))
        .unwrap();
    store.take_approved(at(2)).unwrap();
    let err = store
        .verify_target(id, Some("sha256:changed"), at(3))
        .unwrap_err();
    assert!(matches!(err, Error::Stale { .. }));
    assert_eq!(store.get(id).unwrap().status, PlanStatus::Stale);
    // Re-planning supersedes the stale plan.
    let next = store.record_plan(&p, &ctx(), at(4)).unwrap();
    assert_eq!(store.get(id).unwrap().superseded_by, Some(next));
}

#[test]
fn rejected_plan_is_never_applied() {
    let store = Store::open_in_memory().unwrap();
    let id = store
        .record_plan(&table_plan(&["id"], &["id", "old"]), &ctx(), at(0))
        .unwrap();
    let rec = store
        .reject(id, "carol", "we still read that column", at(1))
        .unwrap();
    assert_eq!(rec.status, PlanStatus::Rejected);
    assert_eq!(rec.rejection.unwrap().reason, "we still read that column");
    assert!(store.take_approved(at(2)).unwrap().is_empty());
    let err = store
        .approve(id, "alice", None, TargetCheck::Deferred, at(3))
        .unwrap_err();
    assert!(err.to_string().contains("rejected by carol"), "{err}");
    assert!(store.mark_applied(id, at(4)).is_err());
    assert_eq!(store.gate_state(&orders()).unwrap(), GateState::Open);
}

#[test]
fn apply_only_plans_are_approved_by_policy() {
    let store = Store::open_in_memory().unwrap();
    let id = store
        .record_plan(&table_plan(&["id", "note"], &["id"]), &ctx(), at(0))
        .unwrap();
    let rec = store.get(id).unwrap();
    assert_eq!(rec.status, PlanStatus::Approved);
    assert_eq!(rec.approval.unwrap().verification, "policy");
    assert_eq!(store.take_approved(at(1)).unwrap().len(), 1);
}

#[test]
fn history_filters_by_table() {
    let store = Store::open_in_memory().unwrap();
    let id = store
        .record_plan(&table_plan(&["id"], &["id", "old"]), &ctx(), at(0))
        .unwrap();
    store
        .approve(id, "alice", Some("ok"), TargetCheck::Deferred, at(1))
        .unwrap();
    let h = store.history(Some(&orders())).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].actor, "alice");
    assert_eq!(h[1].plan, Some(id));
    assert!(store
        .history(Some(&TableId::new("shop", "other")))
        .unwrap()
        .is_empty());
    assert_eq!(store.plans(Some(&orders())).unwrap().len(), 1);
}

#[test]
fn seen_positions_survive_a_reopen() {
    let dir = tempdir("seen");
    let path = dir.join("sub").join("store.db");
    let pos = crate::model::SourcePosition {
        topic: Some("dbz".into()),
        partition: Some(0),
        offset: Some(41),
        ..Default::default()
    };
    Store::open(&path)
        .unwrap()
        .record_seen(&orders(), "abc", &pos, at(0))
        .unwrap();
    let seen = Store::open(&path)
        .unwrap()
        .seen(&orders())
        .unwrap()
        .unwrap();
    assert_eq!(
        (seen.fingerprint.as_str(), seen.position.offset),
        ("abc", Some(41))
    );
}

#[test]
fn two_handles_share_the_file() {
    let dir = tempdir("shared");
    let path = dir.join("store.db");
    let agent = Store::open(&path).unwrap();
    let desk = Store::open(&path).unwrap();
    let id = agent
        .record_plan(&table_plan(&["id"], &["id", "old"]), &ctx(), at(0))
        .unwrap();
    desk.approve(id, "alice", None, TargetCheck::Deferred, at(1))
        .unwrap();
    assert_eq!(agent.take_approved(at(2)).unwrap()[0].id, id);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ddlsync-store-{}-{name}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
