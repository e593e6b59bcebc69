//! `ddlsync run --config FILE`: the long-running agent (and the loader beside
//! it), the HTTP server, and the one shutdown path.
//!
//! SIGTERM or SIGINT cancels one token; every task sees it, finishes or
//! checkpoints what it is doing, and the process exits within the grace
//! period (`--grace-seconds`), after which it exits anyway — what was not
//! finished is resumed at the next start (plans left `applying`, offsets not
//! committed). `--dry-run` plans continuously against a store in memory and
//! never writes to StarRocks (the loader does not run).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use ddlsync::agent::{self, Deps, Options};
use ddlsync::capabilities::StarRocksVersion;
use ddlsync::config::Config;
use ddlsync::gate::Gates;
use ddlsync::http::{self, ApiAuth, AppState, BoxFuture, Readiness, TargetVerifier};
use ddlsync::metrics::Metrics;
use ddlsync::model::TableId;
use ddlsync::plan::{fingerprint, show_create};
use ddlsync::starrocks::Client;
use ddlsync::store::{resolve_path, Store};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::inputs;

/// Arguments of `ddlsync run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Configuration file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Watch and plan continuously, log and list every plan; write nothing to
    /// StarRocks and nothing to the store (plans are kept in memory).
    #[arg(long)]
    dry_run: bool,
    /// Directory of policy rule files (default: the config's `rules_dir`, else the shipped rules).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// StarRocks version to plan for instead of the server's.
    #[arg(long, value_name = "X.Y.Z")]
    target_version: Option<String>,
    /// Run only the loader (no planning, no DDL): the gates follow the target
    /// tables as they are, read from StarRocks every 2 s.
    #[arg(long, conflicts_with = "dry_run")]
    loader_only: bool,
    /// Seconds to finish the work in flight after SIGTERM/SIGINT.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    grace_seconds: u64,
}

/// Checks the live target for API approvals.
struct LiveTarget(Client);

impl TargetVerifier for LiveTarget {
    fn current_fingerprint<'a>(
        &'a self,
        table: &'a TableId,
    ) -> BoxFuture<'a, std::result::Result<Option<String>, String>> {
        Box::pin(async move {
            let catalog = self
                .0
                .introspect(std::slice::from_ref(table))
                .await
                .map_err(|e| e.to_string())?;
            Ok(catalog
                .tables
                .get(table)
                .map(|t| fingerprint(&show_create(t))))
        })
    }
}

pub(crate) fn run(args: RunArgs) -> Result<u8> {
    let config = inputs::read_config(&args.config)?;
    let Some(sr) = &config.starrocks else {
        bail!("{}: `ddlsync run` needs [starrocks]", args.config.display());
    };
    if config.kafka.is_none() {
        bail!("{}: `ddlsync run` needs [kafka]", args.config.display());
    }
    let loader_enabled = config.loader.as_ref().is_some_and(|l| l.enabled);
    if args.loader_only && !loader_enabled {
        bail!(
            "{}: `--loader-only` needs an enabled [loader] section",
            args.config.display()
        );
    }
    let version: Option<StarRocksVersion> = args
        .target_version
        .as_deref()
        .or(sr.version.as_deref())
        .map(|v| v.parse().with_context(|| format!("target version {v:?}")))
        .transpose()?;
    let store = if args.dry_run {
        Store::open_in_memory()?
    } else {
        let Some(path) = &config.store_path else {
            bail!(
                "{}: `ddlsync run` needs [store] path (or --dry-run)",
                args.config.display()
            );
        };
        let path = resolve_path(&args.config, path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
        }
        Store::open(&path).with_context(|| format!("store {}", path.display()))?
    };
    let rules_dir = inputs::rules_dir(args.rules.as_deref(), Some(&config), Some(&args.config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(
        config,
        Arc::new(store),
        Options {
            dry_run: args.dry_run,
            version,
            rules_dir,
            ..Options::default()
        },
        Mode {
            grace: Duration::from_secs(args.grace_seconds),
            loader: loader_enabled && !args.dry_run,
            agent: !args.loader_only,
        },
    ))
}

/// What runs.
struct Mode {
    grace: Duration,
    loader: bool,
    agent: bool,
}

async fn serve(config: Config, store: Arc<Store>, options: Options, mode: Mode) -> Result<u8> {
    let grace = mode.grace;
    let config = Arc::new(config);
    let cancel = CancellationToken::new();
    let metrics = Arc::new(Metrics::new());
    let gates = Arc::new(Gates::new());
    let readiness = Readiness::new();
    let sr = config.starrocks.as_ref().context("[starrocks]")?;
    let state = AppState::new(
        store.clone(),
        metrics.clone(),
        readiness.clone(),
        ApiAuth::from_config(config.http.as_ref()),
    )
    .with_verifier(Arc::new(LiveTarget(Client::new(sr)?)));
    let approvals = state.approvals.clone();
    let mut tasks: JoinSet<Result<&'static str>> = JoinSet::new();
    if let Some(h) = &config.http {
        let listener = tokio::net::TcpListener::bind(&h.listen)
            .await
            .with_context(|| format!("http.listen {}: cannot listen", h.listen))?;
        let shutdown = cancel.clone();
        tasks.spawn(async move {
            http::serve(listener, state, shutdown).await?;
            Ok("http")
        });
    }
    let (schemas_tx, schemas_rx) = tokio::sync::mpsc::unbounded_channel();
    if mode.loader {
        let deps = ddlsync::loader::run::Deps {
            config: config.clone(),
            gates: gates.clone(),
            metrics: metrics.clone(),
            schemas: schemas_tx,
            cancel: cancel.clone(),
        };
        tasks.spawn(async move {
            let summary = ddlsync::loader::run::run(deps).await?;
            tracing::info!(?summary, "Loader stopped.");
            Ok("loader")
        });
    } else {
        drop(schemas_tx);
    }
    if mode.agent {
        let deps = Deps {
            config: config.clone(),
            store,
            metrics,
            gates,
            readiness,
            approvals,
            schemas: schemas_rx,
            cancel: cancel.clone(),
        };
        tasks.spawn(async move {
            agent::run(options, deps).await?;
            Ok("agent")
        });
    } else {
        // Loader only: ready at once; the gates follow the targets as they are.
        readiness.set_history_rebuilt();
        readiness.set_starrocks_answered();
        let cancel = cancel.clone();
        tasks.spawn(async move {
            agent::targets::refresh_gates(config, gates, metrics, schemas_rx, cancel).await?;
            Ok("gates")
        });
    }
    tracing::info!("ddlsync is running.");

    let signal = shutdown_signal();
    let mut code = 0u8;
    tokio::select! {
        _ = signal => tracing::info!("Shutdown requested; finishing the work in flight."),
        Some(first) = tasks.join_next() => {
            match first {
                Ok(Ok(name)) => tracing::warn!(task = name, "A task ended; shutting down."),
                Ok(Err(e)) => {
                    tracing::error!(error = %format!("{e:#}"), "A task failed; shutting down.");
                    eprintln!("error: {e:#}");
                    code = 1;
                }
                Err(e) => {
                    tracing::error!(error = %e, "A task panicked; shutting down.");
                    code = 1;
                }
            }
        }
    }
    cancel.cancel();
    let drained = tokio::time::timeout(grace, async {
        while let Some(r) = tasks.join_next().await {
            if let Ok(Err(e)) = r {
                tracing::error!(error = %format!("{e:#}"), "A task failed while stopping.");
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            grace_s = grace.as_secs(),
            "Grace period over; exiting with work in flight (it resumes at the next start)."
        );
    } else {
        tracing::info!("Stopped cleanly.");
    }
    Ok(code)
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                ctrl_c.await.ok();
            }
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c.await.ok();
    }
}
