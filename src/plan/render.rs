//! Rendering of plans: [`render_text`] (terraform-like, with a unified diff
//! of `SHOW CREATE TABLE` before and after) and [`render_json`] (the
//! design.md contract). Deterministic: no timestamps, no random ids.

use serde_json::{json, Value};
use similar::TextDiff;

use super::{Action, Plan, PlannedChange, Step, TablePlan};
use crate::catalog::{render_show_create, TargetTable};
use crate::diff::{ChangeDetail, ChangeKind};

/// Appends one formatted line.
macro_rules! line_fmt {
    ($out:expr, $($arg:tt)*) => {{
        $out.push_str(&format!($($arg)*));
        $out.push('\n');
    }};
}

/// The table's `SHOW CREATE TABLE` text as StarRocks prints it (the
/// catalog's renderer), used for the before/after diff and the fingerprints,
/// so that a fingerprint can be compared with a live target's output.
pub fn show_create(table: &TargetTable) -> String {
    let mut text = render_show_create(table);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Escapes control characters (newlines in hostile names) in human-readable
/// lines, so that no name can break a line or end a `--` comment.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
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
        Step::HoldGate { table } => out.push(clean(&format!("-- hold the loader for {table}"))),
        Step::ReleaseGate { table } => {
            out.push(clean(&format!("-- release the loader for {table}")))
        }
        Step::Sql { statement, .. } => out.push(format!("{statement};")),
        Step::WaitForAlterJob { table } => out.push(clean(&format!(
            "-- wait until the schema-change job on {table} is FINISHED (SHOW ALTER TABLE COLUMN)"
        ))),
        Step::ReactivateMv { mv, .. } => {
            out.push(clean(&format!("-- re-activate materialized view {mv}")));
            stmts(&mut out, step.statements());
        }
        Step::RebuildMv { mv, .. } => {
            out.push(clean(&format!("-- rebuild materialized view {mv}")));
            stmts(&mut out, step.statements());
        }
        Step::Rebuild { table, shadow, .. } => {
            out.push(clean(&format!(
                "-- shadow-table rebuild of {table} through {shadow}"
            )));
            stmts(&mut out, step.statements());
        }
    }
    out
}

/// Whether a line break of `sql` falls inside a quoted identifier or string:
/// then indenting it would change the statement.
pub(super) fn breaks_inside_quotes(sql: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in sql.chars() {
        match quote {
            Some(q) => {
                if c == '\n' {
                    return true;
                }
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if matches!(c, '`' | '"' | '\'') => quote = Some(c),
            None => {}
        }
    }
    false
}

fn write_steps(out: &mut String, steps: &[Step], pad: &str) {
    for s in steps {
        for l in step_lines(s) {
            if breaks_inside_quotes(&l) {
                line_fmt!(out, "{l}");
            } else {
                line_fmt!(out, "{}", indent(&l, pad));
            }
        }
    }
}

fn write_change(out: &mut String, c: &PlannedChange) {
    let kind = c.change.kind();
    line_fmt!(out, "  {} {}", symbol(kind), clean(&c.change.summary()));
    let d = &c.decision;
    let pending = if c.pending { " [pending]" } else { "" };
    line_fmt!(
        out,
        "      decision: {}{pending} by {} {}: {}",
        d.verdict,
        d.rule_code,
        d.rule_name,
        d.reason
    );
    match &c.action {
        Action::None => {
            line_fmt!(out, "      no SQL: the target is left as it is");
        }
        Action::Rebuild(why) => {
            line_fmt!(out, "      via shadow-table rebuild: {why}");
        }
        Action::InPlace | Action::Impossible(_) => {}
    }
    for n in &c.notes {
        line_fmt!(out, "      note: {}", clean(n));
    }
    if c.pending && !c.steps.is_empty() {
        line_fmt!(out, "      after approval:");
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
            &clean(&format!("{} (before)", t.target_table)),
            &clean(&format!("{} (after)", t.target_table)),
        )
        .to_string()
}

/// The plan as text, like a terraform plan.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.is_in_sync() {
        return "No changes. StarRocks is in sync with the source.\n".to_string();
    }
    line_fmt!(out, "ddlsync plan for StarRocks {}\n", plan.target_version);
    for t in &plan.tables {
        if t.source_table == t.target_table {
            line_fmt!(out, "# {}", clean(&t.target_table.to_string()));
        } else {
            line_fmt!(
                out,
                "# {} (source {})",
                clean(&t.target_table.to_string()),
                clean(&t.source_table.to_string())
            );
        }
        line_fmt!(
            out,
            "  fingerprint: {} → {}",
            t.from_fingerprint.as_deref().unwrap_or("(none)"),
            t.to_fingerprint.as_deref().unwrap_or("(none)")
        );
        for c in &t.changes {
            write_change(&mut out, c);
        }
        for n in &t.notes {
            line_fmt!(out, "  note ({}): {}", n.code, clean(&n.message));
        }
        if !t.steps.is_empty() {
            line_fmt!(out, "\n  steps to run now:");
            write_steps(&mut out, &t.steps, "    ");
        }
        let diff = unified_diff(t);
        if !diff.is_empty() {
            line_fmt!(
                out,
                "\n  SHOW CREATE TABLE, before → after (all changes not ignored):"
            );
            line_fmt!(out, "{}", indent(diff.trim_end(), "    "));
        }
        out.push('\n');
    }
    let s = plan.summary();
    line_fmt!(
        out,
        "Plan: {} to apply, {} queued, {} ignored, {} halted.",
        s.apply,
        s.queue,
        s.ignore,
        s.halt
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
