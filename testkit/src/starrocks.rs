//! StarRocks emulator: placeholder until the testkit issue fills it in.

/// Command-line arguments of `testkit starrocks`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// MySQL-protocol port (StarRocks FE query port).
    #[arg(long, default_value_t = 9030)]
    pub query_port: u16,
}

/// Runs the emulator until interrupted.
pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
