//! `ddlsync plan`: what StarRocks needs to match the source, changing nothing.
//!
//! Offline: `--events FILE` (Debezium messages) and `--target-ddl FILE`
//! (StarRocks `SHOW CREATE` output). Online (`--config` naming `[kafka]` and
//! `[starrocks]`, without `--events`/`--target-ddl`): the schema-change topics
//! are read from the beginning and StarRocks is introspected, then the very
//! same pipeline plans; nothing is written anywhere. Exit codes follow
//! `terraform plan -detailed-exitcode`: 0 in sync, 2 changes planned, 1 error.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use ddlsync::capabilities::StarRocksVersion;
use ddlsync::catalog::parse_catalog;
use ddlsync::config::Config;
use ddlsync::model::history::Histories;
use ddlsync::pipeline::{self, Inputs};
use ddlsync::plan::{render_json, render_text};
use ddlsync::policy::RuleSet;
use ddlsync::source::decode_file;

use super::inputs;

mod online;

/// Arguments of `ddlsync plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// Debezium messages, one per line: raw message values or `kcat -J` output
    /// (without it: read the config's Kafka schema-change topics).
    #[arg(long, value_name = "FILE", requires = "target_ddl")]
    events: Option<PathBuf>,
    /// StarRocks `SHOW CREATE TABLE` / `SHOW CREATE MATERIALIZED VIEW` output
    /// (without it: introspect the config's StarRocks).
    #[arg(long, value_name = "FILE", requires = "events")]
    target_ddl: Option<PathBuf>,
    /// Directory of policy rule files (default: the config's `rules_dir`, else the shipped rules).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Configuration file (table mapping, type-mapping options).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// StarRocks version to plan for (default: the config's, else 3.3.5).
    #[arg(long, value_name = "X.Y.Z")]
    target_version: Option<String>,
    /// Database of target tables whose `SHOW CREATE` output names none and follows no `USE db;`.
    #[arg(long, value_name = "DB")]
    target_database: Option<String>,
    /// Show only tables whose source or target name (`db.table`) matches this glob.
    #[arg(long, value_name = "GLOB")]
    table: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Plan output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// Terraform-like text with SQL and unified diffs.
    Text,
    /// One JSON document (`changes[]` per design.md).
    Json,
}

/// StarRocks version assumed when neither the flag nor the config gives one.
const DEFAULT_TARGET_VERSION: &str = "3.3.5";

pub(crate) fn run(args: PlanArgs) -> Result<u8> {
    let config = match &args.config {
        Some(path) => inputs::read_config(path)?,
        None => Config::default(),
    };
    let rules_dir = inputs::rules_dir(args.rules.as_deref(), Some(&config), args.config.as_deref());
    let rules = RuleSet::load(&inputs::read_rules(rules_dir.as_deref())?)?;
    let version_text = args
        .target_version
        .clone()
        .or_else(|| config.starrocks.as_ref().and_then(|s| s.version.clone()))
        .unwrap_or_else(|| DEFAULT_TARGET_VERSION.to_owned());
    let version: StarRocksVersion = version_text
        .parse()
        .with_context(|| format!("--target-version {version_text:?}"))?;

    let (histories, catalog, version) = match (&args.events, &args.target_ddl) {
        (Some(events), Some(target_ddl)) => {
            let histories = offline_histories(events)?;
            let ddl_text = inputs::read_text(target_ddl)?;
            let catalog = parse_catalog(&ddl_text, args.target_database.as_deref())
                .with_context(|| target_ddl.display().to_string())?;
            (histories, catalog, version)
        }
        _ => online::inputs(&config, args.target_version.is_some().then_some(version))?,
    };

    let mut outcome = pipeline::run(Inputs {
        histories: &histories,
        catalog: &catalog,
        rules: &rules,
        config: &config,
        version: &version,
    });
    for id in &outcome.unmapped {
        tracing::info!(table = %id, "Source table is not mapped by the configuration; skipped.");
    }
    if let Some(glob) = &args.table {
        let matcher = globset::Glob::new(glob)
            .with_context(|| format!("--table {glob:?}"))?
            .compile_matcher();
        outcome.plan.tables.retain(|t| {
            matcher.is_match(t.target_table.to_string())
                || matcher.is_match(t.source_table.to_string())
        });
    }
    match args.format {
        Format::Text => print!("{}", render_text(&outcome.plan)),
        Format::Json => println!("{:#}", render_json(&outcome.plan)),
    }
    Ok(if outcome.plan.is_in_sync() { 0 } else { 2 })
}

/// Decodes an events file and folds it into histories; any bad line is an error.
fn offline_histories(path: &std::path::Path) -> Result<Histories> {
    let text = inputs::read_text(path)?;
    let (events, errors) = decode_file(&text);
    if let Some(first) = errors.first() {
        bail!(
            "{}:{first}{}",
            path.display(),
            if errors.len() > 1 {
                format!(" (and {} more bad lines)", errors.len() - 1)
            } else {
                String::new()
            }
        );
    }
    if events.is_empty() {
        bail!("{}: no Debezium messages", path.display());
    }
    let mut histories = Histories::new();
    for event in &events {
        for note in histories.apply(event) {
            tracing::debug!(%note, "History note.");
        }
    }
    Ok(histories)
}
