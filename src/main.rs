//! The `ddlsync` binary: parses the command line, sets up logging, runs the
//! command and maps its outcome to an exit code.
//!
//! Exit codes: 0 success (for `plan`: target in sync), 2 changes planned
//! (`plan` only, like `terraform plan -detailed-exitcode`), 1 error — printed
//! as one line `error: <cause>` naming the file and line where it applies.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator: the loader allocates rows on its
/// reader thread and frees them on the runtime's, which glibc's per-thread
/// arenas answer with heap growing and trimming (`mprotect`) on every batch.
/// Measured in `benches/load.rs`: about a quarter more events per second.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(&args);
    match cli::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line.
fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
