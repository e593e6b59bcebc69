//! The approval desk: `ddlsync pending`, `show`, `approve`, `reject` and
//! `history`. Each reads the configuration for the store path (`[store]
//! path`, relative to the config file) and needs nothing else; they work while
//! the agent runs (the store is shared). `approve` has no StarRocks
//! connection: it checks the target fingerprint the agent last recorded and
//! records the approval "to be verified" — the agent re-checks the live target
//! before applying and marks the plan stale if it changed.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use ddlsync::model::TableId;
use ddlsync::store::{short_fingerprint, AuditEvent, PlanRecord, Store, TargetCheck};

use super::inputs;

/// The configuration file every desk command reads.
#[derive(Debug, Args)]
pub(crate) struct ConfigArg {
    /// Configuration file; the store is its `[store] path` (relative to the file).
    #[arg(long, value_name = "FILE", default_value = "ddlsync.toml")]
    config: PathBuf,
}

/// Output format of the desk.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DeskFormat {
    /// Human-readable text.
    Text,
    /// One JSON document.
    Json,
}

/// `ddlsync pending`
#[derive(Debug, Args)]
pub(crate) struct PendingArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DeskFormat::Text)]
    format: DeskFormat,
}

/// `ddlsync show`
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Plan id (from `ddlsync pending`), or a change id `db.table/kind[/column]`.
    id: String,
    #[command(flatten)]
    config: ConfigArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DeskFormat::Text)]
    format: DeskFormat,
}

/// `ddlsync approve`
#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    /// Plan id (from `ddlsync pending`), or a change id `db.table/kind[/column]`.
    id: String,
    /// Who approves (recorded in the audit log).
    #[arg(long, value_name = "NAME")]
    by: String,
    /// A comment, recorded with the approval.
    #[arg(long, value_name = "TEXT")]
    comment: Option<String>,
    #[command(flatten)]
    config: ConfigArg,
}

/// `ddlsync reject`
#[derive(Debug, Args)]
pub(crate) struct RejectArgs {
    /// Plan id (from `ddlsync pending`), or a change id `db.table/kind[/column]`.
    id: String,
    /// Who rejects (recorded in the audit log).
    #[arg(long, value_name = "NAME")]
    by: String,
    /// Why (recorded with the rejection).
    #[arg(long, value_name = "TEXT")]
    reason: String,
    #[command(flatten)]
    config: ConfigArg,
}

/// `ddlsync history`
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Only this table (`db.table`, source or target); default: every table.
    table: Option<String>,
    #[command(flatten)]
    config: ConfigArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DeskFormat::Text)]
    format: DeskFormat,
}

fn open_store(config: &Path) -> Result<Store> {
    let cfg = inputs::read_config(config)?;
    let Some(path) = cfg.store_path.as_deref() else {
        anyhow::bail!(
            "{}: no [store] path configured; the desk reads the agent's store",
            config.display()
        );
    };
    let path = ddlsync::store::resolve_path(config, path);
    Store::open(&path).with_context(|| format!("{}: [store] path", config.display()))
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn nonempty(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        anyhow::bail!("--{field} must not be empty");
    }
    Ok(())
}

/// `ddlsync pending`: the plans waiting for approval.
pub(crate) fn pending(args: PendingArgs) -> Result<u8> {
    let store = open_store(&args.config.config)?;
    let plans = store.pending()?;
    match args.format {
        DeskFormat::Json => print_json(&serde_json::json!({ "plans": plans }))?,
        DeskFormat::Text => {
            if plans.is_empty() {
                println!("No changes are waiting for approval.");
            }
            for p in &plans {
                print!("{}", summary(p));
            }
        }
    }
    Ok(0)
}

/// `ddlsync show ID`: one plan in full.
pub(crate) fn show(args: ShowArgs) -> Result<u8> {
    let store = open_store(&args.config.config)?;
    let plan = store.get(store.resolve(&args.id)?)?;
    match args.format {
        DeskFormat::Json => print_json(&plan)?,
        DeskFormat::Text => {
            print!("{}", summary(&plan));
            println!("{}", status_lines(&plan));
            println!();
            print!("{}", plan.text);
        }
    }
    Ok(0)
}

/// `ddlsync approve ID --by NAME [--comment TEXT]`.
pub(crate) fn approve(args: ApproveArgs) -> Result<u8> {
    nonempty("by", &args.by)?;
    let store = open_store(&args.config.config)?;
    let id = store.resolve(&args.id)?;
    let plan = store.approve(
        id,
        args.by.trim(),
        args.comment.as_deref(),
        TargetCheck::LastSeen,
        SystemTime::now(),
    )?;
    println!(
        "Approved plan {} ({}) by {}. The agent verifies that the target is still {} and applies it.",
        plan.id,
        plan.target_table,
        args.by.trim(),
        short_fingerprint(plan.from_fingerprint.as_deref())
    );
    Ok(0)
}

/// `ddlsync reject ID --by NAME --reason TEXT`.
pub(crate) fn reject(args: RejectArgs) -> Result<u8> {
    nonempty("by", &args.by)?;
    nonempty("reason", &args.reason)?;
    let store = open_store(&args.config.config)?;
    let id = store.resolve(&args.id)?;
    let plan = store.reject(id, args.by.trim(), args.reason.trim(), SystemTime::now())?;
    println!(
        "Rejected plan {} ({}) by {}: it will not be applied.",
        plan.id,
        plan.target_table,
        args.by.trim()
    );
    Ok(0)
}

/// `ddlsync history [TABLE]`: the audit trail.
pub(crate) fn history(args: HistoryArgs) -> Result<u8> {
    let table = args.table.as_deref().map(parse_table).transpose()?;
    let store = open_store(&args.config.config)?;
    let events = store.history(table.as_ref())?;
    match args.format {
        DeskFormat::Json => print_json(&serde_json::json!({ "events": events }))?,
        DeskFormat::Text => {
            if events.is_empty() {
                println!("No history recorded.");
            }
            for e in &events {
                println!("{}", event_line(e));
            }
        }
    }
    Ok(0)
}

fn parse_table(s: &str) -> Result<TableId> {
    match s.split_once('.') {
        Some((db, t)) if !db.is_empty() && !t.is_empty() => Ok(TableId::new(db, t)),
        _ => anyhow::bail!("{s:?}: a table is written db.table"),
    }
}

fn summary(p: &PlanRecord) -> String {
    let mut out = format!(
        "plan {}  {}  {}  recorded {}\n",
        p.id, p.target_table, p.status, p.created_at
    );
    for c in &p.changes {
        out.push_str(&format!(
            "  {} {}  {} {}: {}\n",
            if c.pending { "*" } else { "-" },
            c.change_id,
            c.decision,
            c.rule,
            c.reason
        ));
        if c.pending {
            for s in &c.statements {
                out.push_str(&format!("      {s}\n"));
            }
        }
    }
    out
}

fn status_lines(p: &PlanRecord) -> String {
    let mut lines = vec![format!(
        "status: {}{}",
        p.status,
        p.status_reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    )];
    lines.push(format!(
        "target: {} → {}",
        short_fingerprint(p.from_fingerprint.as_deref()),
        short_fingerprint(p.to_fingerprint.as_deref())
    ));
    if let Some(a) = &p.approval {
        lines.push(format!(
            "approved by {} at {} ({}){}",
            a.by,
            a.at,
            a.verification,
            a.comment
                .as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        ));
    }
    if let Some(r) = &p.rejection {
        lines.push(format!("rejected by {} at {}: {}", r.by, r.at, r.reason));
    }
    if let Some(s) = p.supersedes {
        lines.push(format!("replaces plan {s}"));
    }
    if let Some(s) = p.superseded_by {
        lines.push(format!("replaced by plan {s}"));
    }
    lines.join("\n")
}

fn event_line(e: &AuditEvent) -> String {
    format!(
        "{}  {}  {}  {}  {}  {}",
        e.at,
        e.plan
            .map(|p| format!("plan {p}"))
            .unwrap_or_else(|| "-".into()),
        e.table
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "-".into()),
        e.action,
        e.actor,
        e.detail
    )
}
