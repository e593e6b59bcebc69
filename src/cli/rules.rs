//! `ddlsync rules`: placeholder until the core lands.

/// `ddlsync rules ...`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RulesCommand {
    /// Validate rule files.
    Check,
}

pub(crate) fn run(_cmd: RulesCommand) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
