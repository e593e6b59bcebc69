//! The `testkit` binary: starts one of the emulators in the foreground.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "testkit",
    about = "Emulators of StarRocks and the Schema Registry for ddlsync tests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the StarRocks emulator (MySQL protocol + Stream Load HTTP).
    Starrocks(testkit::starrocks::Args),
    /// Run the Confluent Schema Registry emulator.
    Registry(testkit::registry::Args),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Starrocks(args) => testkit::starrocks::run(args).await,
            Command::Registry(args) => testkit::registry::run(args).await,
        }
    })
}
