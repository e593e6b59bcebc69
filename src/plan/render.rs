//! Rendering of plans: [`render_text`] (terraform-like, with a unified diff
//! of `SHOW CREATE TABLE` before and after) and [`render_json`] (the
//! design.md contract). Deterministic: no timestamps, no random ids.

use std::fmt::Write as _;

use serde_json::{json, Value};
use similar::TextDiff;

use super::{Action, Plan, PlannedChange, Step, TablePlan};
use crate::catalog::TargetTable;
use crate::ddl::CreateTable;
use crate::diff::{ChangeDetail, ChangeKind};

/// `SHOW CREATE TABLE`-style text of a modelled table (used for the
/// before/after diff and the fingerprints).
pub fn show_create(table: &TargetTable) -> String {
    format!("{};\n", CreateTable::from_target(table))
}

fn symbol(kind: ChangeKind) -> char {
    match kind {
        ChangeKind::CreateTable | ChangeKind::AddColumn => '+',
        ChangeKind::DropTable | ChangeKind::DropColumn | ChangeKind::TruncateTable => '-',
        ChangeKind::RenameTable | ChangeKind::RenameColumn => '>',
        _ => '~',
    }
}

fn indent(text: &str, pad: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn step_lines(step: &Step) -> Vec<String> {
    let mut out = Vec::new();
    let stmts = |out: &mut Vec<String>, list: Vec<&crate::ddl::Statement>| {
        for s in list {
            out.push(format!("{s};"));
        }
    };
    match step {
        Step::HoldGate { table } => out.push(format!("-- hold the loader for {table}")),
        Step::ReleaseGate { table } => out.push(format!("-- release the loader for {table}")),
        Step::Sql { statement, .. } => out.push(format!("{statement};")),
        Step::WaitForAlterJob { table } => out.push(format!(
            "-- wait until the schema-change job on {table} is FINISHED (SHOW ALTER TABLE COLUMN)"
        )),
        Step::ReactivateMv { mv, .. } => {
            out.push(format!("-- re-activate materialized view {mv}"));
            stmts(&mut out, step.statements());
        }
        Step::RebuildMv { mv, .. } => {
            out.push(format!("-- rebuild materialized view {mv}"));
            stmts(&mut out, step.statements());
        }
        Step::Rebuild { table, shadow, .. } => {
            out.push(format!(
                "-- shadow-table rebuild of {table} through {shadow}"
            ));
            stmts(&mut out, step.statements());
        }
    }
    out
}

fn write_steps(out: &mut String, steps: &[Step], pad: &str) {
    for s in steps {
        for l in step_lines(s) {
            let _ = writeln!(out, "{}", indent(&l, pad));
        }
    }
}

fn write_change(out: &mut String, c: &PlannedChange) {
    let kind = c.change.kind();
    let _ = writeln!(out, "  {} {}", symbol(kind), c.change.summary());
    let d = &c.decision;
    let pending = if c.pending { " [pending]" } else { "" };
    let _ = writeln!(
        out,
        "      decision: {}{pending} by {} {}: {}",
        d.verdict, d.rule_code, d.rule_name, d.reason
    );
    match &c.action {
        Action::None => {
            let _ = writeln!(out, "      no SQL: the target is left as it is");
        }
        Action::Rebuild(why) => {
            let _ = writeln!(out, "      via shadow-table rebuild: {why}");
        }
        Action::InPlace | Action::Impossible(_) => {}
    }
    for n in &c.notes {
        let _ = writeln!(out, "      note: {n}");
    }
    if c.pending && !c.steps.is_empty() {
        let _ = writeln!(out, "      after approval:");
        write_steps(out, &c.steps, "        ");
    }
}

fn unified_diff(t: &TablePlan) -> String {
    let before = t.before.clone().unwrap_or_default();
    let after = t.after.clone().unwrap_or_default();
    TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{} (before)", t.target_table),
            &format!("{} (after)", t.target_table),
        )
        .to_string()
}

/// The plan as text, like a terraform plan.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.is_in_sync() {
        return "No changes. StarRocks is in sync with the source.\n".to_string();
    }
    let _ = writeln!(out, "ddlsync plan for StarRocks {}\n", plan.target_version);
    for t in &plan.tables {
        if t.source_table == t.target_table {
            let _ = writeln!(out, "# {}", t.target_table);
        } else {
            let _ = writeln!(out, "# {} (source {})", t.target_table, t.source_table);
        }
        let _ = writeln!(
            out,
            "  fingerprint: {} → {}",
            t.from_fingerprint.as_deref().unwrap_or("(none)"),
            t.to_fingerprint.as_deref().unwrap_or("(none)")
        );
        for c in &t.changes {
            write_change(&mut out, c);
        }
        for n in &t.notes {
            let _ = writeln!(out, "  note ({}): {}", n.code, n.message);
        }
        if !t.steps.is_empty() {
            let _ = writeln!(out, "\n  steps to run now:");
            write_steps(&mut out, &t.steps, "    ");
        }
        let diff = unified_diff(t);
        if !diff.is_empty() {
            let _ = writeln!(
                out,
                "\n  SHOW CREATE TABLE, before → after (all changes not ignored):"
            );
            let _ = writeln!(out, "{}", indent(diff.trim_end(), "    "));
        }
        out.push('\n');
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
        "Plan: {} to apply, {} queued, {} ignored, {} halted.",
        s.apply, s.queue, s.ignore, s.halt
    );
    out
}

fn step_json(step: &Step) -> Value {
    let sql: Vec<String> = step.statements().iter().map(|s| s.to_string()).collect();
    match step {
        Step::HoldGate { table } => json!({"step": "hold_gate", "table": table.to_string()}),
        Step::ReleaseGate { table } => json!({"step": "release_gate", "table": table.to_string()}),
        Step::Sql { waits_for_job, .. } => {
            json!({"step": "sql", "statements": sql, "waits_for_job": waits_for_job})
        }
        Step::WaitForAlterJob { table } => {
            json!({"step": "wait_for_alter_job", "table": table.to_string()})
        }
        Step::ReactivateMv { mv, .. } => {
            json!({"step": "reactivate_mv", "mv": mv.to_string(), "statements": sql})
        }
        Step::RebuildMv { mv, .. } => {
            json!({"step": "rebuild_mv", "mv": mv.to_string(), "statements": sql})
        }
        Step::Rebuild { table, shadow, .. } => json!({
            "step": "rebuild", "table": table.to_string(), "shadow": shadow.to_string(),
            "statements": sql,
        }),
    }
}

fn change_json(t: &TablePlan, c: &PlannedChange) -> Value {
    let mut v = json!({
        "id": c.id,
        "source_table": t.source_table.to_string(),
        "target_table": t.target_table.to_string(),
        "kind": c.change.kind().as_str(),
        "column": c.change.column(),
        "summary": c.change.summary(),
        "decision": c.decision.verdict.as_str(),
        "rule": c.decision.rule_name,
        "rule_code": c.decision.rule_code,
        "reason": c.decision.reason,
        "pending": c.pending,
        "action": match &c.action {
            Action::None => json!({"how": "none"}),
            Action::InPlace => json!({"how": "in_place"}),
            Action::Rebuild(why) => json!({"how": "rebuild", "why": why}),
            Action::Impossible(why) => json!({"how": "impossible", "why": why}),
        },
        "statements": c.statements(),
        "steps": c.steps.iter().map(step_json).collect::<Vec<_>>(),
        "losses": c.change.losses().iter().map(|l| json!({
            "column": l.column, "code": l.loss.code, "detail": l.loss.detail,
        })).collect::<Vec<_>>(),
        "notes": c.notes,
    });
    if let ChangeDetail::ModifyColumnType {
        from,
        to,
        class,
        source_type,
        ..
    } = &c.change.detail
    {
        v["type_change"] = json!(class.as_str());
        v["from_type"] = json!(from.to_string());
        v["to_type"] = json!(to.to_string());
        v["source_type"] = json!(source_type.to_string());
    }
    match &c.change.detail {
        ChangeDetail::AddColumn {
            column,
            source_type,
            ..
        } => {
            v["to_type"] = json!(column.ty.to_string());
            v["source_type"] = json!(source_type.to_string());
        }
        ChangeDetail::DropColumn { column } => v["from_type"] = json!(column.ty.to_string()),
        ChangeDetail::RenameColumn { from, to } => {
            v["from_column"] = json!(from);
            v["to_column"] = json!(to);
        }
        ChangeDetail::RenameTable { to } => v["to_table"] = json!(to.to_string()),
        _ => {}
    }
    v
}

/// The plan as one JSON document (design.md: `changes[]` with
/// `source_table`, `target_table`, `kind`, `column`, `decision`, `rule`,
/// `reason`, `statements`, and more).
pub fn render_json(plan: &Plan) -> Value {
    let s = plan.summary();
    let tables: Vec<Value> = plan
        .tables
        .iter()
        .map(|t| {
            json!({
                "source_table": t.source_table.to_string(),
                "target_table": t.target_table.to_string(),
                "fingerprint": {"from": t.from_fingerprint, "to": t.to_fingerprint},
                "steps": t.steps.iter().map(step_json).collect::<Vec<_>>(),
                "notes": t.notes.iter().map(|n| json!({
                    "code": n.code, "column": n.column, "message": n.message,
                })).collect::<Vec<_>>(),
                "show_create": {"before": t.before, "after": t.after},
                "diff": unified_diff(t),
            })
        })
        .collect();
    let changes: Vec<Value> = plan
        .tables
        .iter()
        .flat_map(|t| t.changes.iter().map(move |c| change_json(t, c)))
        .collect();
    json!({
        "format_version": 1,
        "target_version": plan.target_version,
        "in_sync": plan.is_in_sync(),
        "summary": {"apply": s.apply, "queue": s.queue, "ignore": s.ignore, "halt": s.halt},
        "changes": changes,
        "tables": tables,
    })
}
