//! Command-line interface: the clap definitions and the dispatch to one module
//! per command. This is the binary's edge: it reads files, prints, and uses
//! `anyhow` for context; everything it calls in the library is pure.

mod config_check;
mod desk;
mod inputs;
mod plan;
mod rules;
mod run;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// ddlsync keeps StarRocks in step with the databases that feed it through
/// Debezium and Kafka.
#[derive(Debug, Parser)]
#[command(name = "ddlsync", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "DDLSYNC_LOG_FORMAT")]
    pub(crate) log_format: LogFormat,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `ddlsync=debug`
    /// (default: `info` for `run`, `warn` otherwise).
    #[arg(long, global = true, env = "DDLSYNC_LOG")]
    pub(crate) log: Option<String>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent (and the loader): follow, plan, apply or queue, serve the desk.
    Run(run::RunArgs),
    /// Plan what StarRocks needs to match the source; changes nothing.
    ///
    /// Exit code 0 when the target is in sync, 2 when changes are planned, 1 on error.
    Plan(plan::PlanArgs),
    /// Validate or test policy rule files.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Work with the configuration file.
    #[command(subcommand)]
    Config(config_check::ConfigCommand),
    /// List the changes waiting for approval (the approval desk).
    Pending(desk::PendingArgs),
    /// Show one plan in full: changes, decisions, SQL, status, approval.
    Show(desk::ShowArgs),
    /// Approve a pending plan; the running agent verifies the target and applies it.
    Approve(desk::ApproveArgs),
    /// Reject a pending plan: it is recorded and never applied.
    Reject(desk::RejectArgs),
    /// The audit trail: plans, decisions, approvals, rejections, applied steps.
    History(desk::HistoryArgs),
}

/// Sets up `tracing` on stderr.
pub(crate) fn init_logging(cli: &Cli) {
    let global = &cli.global;
    let default = if matches!(cli.command, Command::Run(_)) {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_new(global.log.as_deref().unwrap_or(default))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match global.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the command; `Ok(code)` is the process exit code.
pub(crate) fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Rules(cmd) => rules::run(cmd),
        Command::Config(cmd) => config_check::run(cmd),
        Command::Pending(args) => desk::pending(args),
        Command::Show(args) => desk::show(args),
        Command::Approve(args) => desk::approve(args),
        Command::Reject(args) => desk::reject(args),
        Command::History(args) => desk::history(args),
    }
}
