//! `ddlsync plan`: placeholder until the core lands.

/// Arguments of `ddlsync plan`.
#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {}

pub(crate) fn run(_args: PlanArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
