//! Schema Registry emulator: placeholder until the testkit issue fills it in.

/// Command-line arguments of `testkit registry`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// HTTP port.
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
}

/// Runs the emulator until interrupted.
pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
