//! `ddlsync rules check` and `ddlsync rules test`: validate rule files and run
//! the `[[test]]` cases written beside the rules.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use ddlsync::policy::{check_rules, run_rule_tests};

use super::inputs;

/// `ddlsync rules ...`
#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Validate rule files: syntax, unknown keys, globs, kinds, duplicate codes.
    Check(RulesArgs),
    /// Run the `[[test]]` cases of the rule files against the whole rule set.
    Test(RulesArgs),
}

/// Where the rules are.
#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    /// Directory of `*.toml` rule files (default: the shipped rules built into the binary).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
}

pub(crate) fn run(cmd: RulesCommand) -> Result<u8> {
    match cmd {
        RulesCommand::Check(args) => {
            let files = inputs::read_rules(args.rules.as_deref())?;
            let summary = check_rules(&files)?;
            println!(
                "ok: {} file(s), {} rule(s), {} test(s)",
                summary.files, summary.rules, summary.tests
            );
            Ok(0)
        }
        RulesCommand::Test(args) => {
            let files = inputs::read_rules(args.rules.as_deref())?;
            let results = run_rule_tests(&files)?;
            let failed = results.iter().filter(|r| !r.passed).count();
            for r in &results {
                println!("{r}");
            }
            println!(
                "{} test(s): {} passed, {failed} failed",
                results.len(),
                results.len() - failed
            );
            if failed > 0 {
                anyhow::bail!("{failed} rule test(s) failed");
            }
            Ok(0)
        }
    }
}
