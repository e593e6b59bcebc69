//! `ddlsync config check`: validates a configuration file without running
//! anything, and prints what it understood with every secret redacted.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use super::inputs;

/// `ddlsync config ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate the configuration (unknown keys, values, `${VAR}` references).
    Check(CheckArgs),
}

/// Arguments of `config check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The configuration file.
    #[arg(long, value_name = "FILE", default_value = "ddlsync.toml")]
    config: PathBuf,
}

pub(crate) fn run(cmd: ConfigCommand) -> Result<u8> {
    match cmd {
        ConfigCommand::Check(args) => {
            let config = inputs::read_config(&args.config)?;
            println!("{}: ok", args.config.display());
            if let Some(sr) = &config.starrocks {
                println!(
                    "starrocks: {} (user {}, password {:?})",
                    sr.query, sr.user, sr.password
                );
            }
            if let Some(k) = &config.kafka {
                println!(
                    "kafka: {} (group {}, {} extra properties)",
                    k.bootstrap_servers,
                    k.group_id,
                    k.properties.len()
                );
            }
            if let Some(r) = &config.registry {
                println!("registry: {}", r.url);
            }
            if let Some(h) = &config.http {
                println!(
                    "http: {} (token {})",
                    h.listen,
                    if h.token.is_some() { "set" } else { "not set" }
                );
            }
            if let Some(l) = &config.loader {
                println!(
                    "loader: {} ({:?}, topics {}, batches of {} rows / {} bytes / {:?}, truncate {:?})",
                    if l.enabled { "enabled" } else { "disabled" },
                    l.format,
                    l.topics.join(", "),
                    l.batch_rows,
                    l.batch_bytes,
                    l.batch_age,
                    l.truncate
                );
            }
            println!("tables: {} mapping entries", config.tables.len());
            for t in &config.tables {
                println!("  {} -> {:?}", t.source, t.targets);
            }
            Ok(0)
        }
    }
}
