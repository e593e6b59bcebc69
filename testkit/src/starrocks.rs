//! StarRocks emulator: an FE/BE pair that speaks StarRocks' real protocols — MySQL wire
//! protocol on the query port, Stream Load over HTTP (FE redirects to BE) — and follows the
//! behaviour in `docs/starrocks-facts.md`: DDL rules and error texts, async schema-change
//! jobs, introspection, materialized views, Routine Load bookkeeping and injected faults.
//!
//! Start it in-process with [`Server::start`], or as `testkit starrocks` from the CLI.

mod alter;
mod catalog;
mod ddl;
mod engine;
pub mod error;
pub mod faults;
mod functions;
mod http;
mod info_schema;
mod jobs;
mod lexer;
mod mv;
mod parser;
mod protocol;
mod query;
mod routine_load;
mod show;
mod storage;
mod stream_load;
mod types;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use engine::{Engine, EngineConfig};

/// Command-line arguments of `testkit starrocks`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// MySQL-protocol port (StarRocks FE query port); 0 = ephemeral.
    #[arg(long, default_value_t = 9030)]
    pub query_port: u16,
    /// FE HTTP port (Stream Load entry, answers 307; `/_testkit/faults`); 0 = ephemeral.
    #[arg(long, default_value_t = 8030)]
    pub http_port: u16,
    /// BE HTTP port (Stream Load execution); 0 = ephemeral.
    #[arg(long, default_value_t = 8040)]
    pub be_http_port: u16,
    /// StarRocks version to report and emulate (RENAME COLUMN needs 3.3.2+).
    #[arg(long, default_value = "3.3.5")]
    pub version: String,
    /// Directory that keeps catalog, jobs, labels and rows across restarts (in memory if absent).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Accepted user.
    #[arg(long, default_value = "root")]
    pub user: String,
    /// Accepted password (empty by default).
    #[arg(long, default_value = "")]
    pub password: String,
    /// Duration of a schema-change job, ms.
    #[arg(long, default_value_t = 300)]
    pub job_ms: u64,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
}

/// Settings of an in-process emulator.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Address to bind.
    pub host: String,
    /// Query port (0 = ephemeral).
    pub query_port: u16,
    /// FE HTTP port (0 = ephemeral).
    pub http_port: u16,
    /// BE HTTP port (0 = ephemeral).
    pub be_http_port: u16,
    /// StarRocks version.
    pub version: String,
    /// Persistence directory.
    pub data_dir: Option<PathBuf>,
    /// Accepted user.
    pub user: String,
    /// Accepted password.
    pub password: String,
    /// Schema-change job duration, ms.
    pub job_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            query_port: 0,
            http_port: 0,
            be_http_port: 0,
            version: "3.3.5".into(),
            data_dir: None,
            user: "root".into(),
            password: String::new(),
            job_ms: 300,
        }
    }
}

impl From<Args> for Config {
    fn from(a: Args) -> Self {
        Config {
            host: a.host,
            query_port: a.query_port,
            http_port: a.http_port,
            be_http_port: a.be_http_port,
            version: a.version,
            data_dir: a.data,
            user: a.user,
            password: a.password,
            job_ms: a.job_ms,
        }
    }
}

/// Starts emulators.
#[derive(Debug)]
pub struct Server;

/// A running emulator.
#[derive(Debug)]
pub struct Handle {
    query_addr: SocketAddr,
    http_addr: SocketAddr,
    be_addr: SocketAddr,
    user: String,
    password: String,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Handle {
    /// MySQL-protocol address.
    pub fn query_addr(&self) -> SocketAddr {
        self.query_addr
    }

    /// FE HTTP address (Stream Load entry, faults endpoint).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// BE HTTP address (redirect target).
    pub fn be_http_addr(&self) -> SocketAddr {
        self.be_addr
    }

    /// `mysql://user:password@host:port/` for mysql_async.
    pub fn mysql_url(&self) -> String {
        format!(
            "mysql://{}:{}@{}/",
            self.user, self.password, self.query_addr
        )
    }

    /// `http://host:port` of the FE (Stream Load entry, `/_testkit/faults`).
    pub fn fe_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// Stops accepting, stops the job runner and waits for the tasks.
    pub async fn shutdown(self) {
        if self.shutdown.send(true).is_err() {
            tracing::debug!("emulator tasks already stopped");
        }
        for t in self.tasks {
            if tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .is_err()
            {
                tracing::warn!("an emulator task did not stop within 5 s");
            }
        }
    }
}

impl Server {
    /// Binds the three ports, restores `--data` state and starts serving.
    pub async fn start(cfg: Config) -> std::io::Result<Handle> {
        let engine = Engine::open(EngineConfig {
            version: cfg.version.clone(),
            job_ms: cfg.job_ms,
            data_dir: cfg.data_dir.clone(),
        })?;
        let engine = Arc::new(Mutex::new(engine));
        let q = TcpListener::bind((cfg.host.as_str(), cfg.query_port)).await?;
        let fe = TcpListener::bind((cfg.host.as_str(), cfg.http_port)).await?;
        let be = TcpListener::bind((cfg.host.as_str(), cfg.be_http_port)).await?;
        let (query_addr, http_addr, be_addr) =
            (q.local_addr()?, fe.local_addr()?, be.local_addr()?);
        let (tx, rx) = watch::channel(false);
        let ctx = Arc::new(http::HttpCtx {
            engine: engine.clone(),
            user: cfg.user.clone(),
            password: cfg.password.clone(),
            be_addr,
        });
        let tasks = vec![
            tokio::spawn(http::serve(fe, ctx.clone(), http::fe, false, rx.clone())),
            tokio::spawn(http::serve(be, ctx, http::be, true, rx.clone())),
            tokio::spawn(mysql_loop(
                q,
                engine.clone(),
                cfg.user.clone(),
                cfg.password.clone(),
                rx.clone(),
            )),
            tokio::spawn(job_loop(engine, rx)),
        ];
        tracing::info!(%query_addr, %http_addr, %be_addr, version = %cfg.version, "starrocks emulator started");
        Ok(Handle {
            query_addr,
            http_addr,
            be_addr,
            user: cfg.user,
            password: cfg.password,
            shutdown: tx,
            tasks,
        })
    }
}

async fn mysql_loop(
    listener: TcpListener,
    engine: Arc<Mutex<Engine>>,
    user: String,
    password: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let ids = AtomicU32::new(1);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                if engine.lock().map(|e| e.faults.refusing()).unwrap_or(false) {
                    drop(stream);
                    continue;
                }
                // Like a real FE: small replies go out at once (no Nagle delay).
                stream.set_nodelay(true).ok();
                let id = ids.fetch_add(1, Ordering::Relaxed);
                let shim = protocol::Shim::new(engine.clone(), user.clone(), password.clone(), id);
                tokio::spawn(async move {
                    let (r, w) = stream.into_split();
                    if let Err(e) = opensrv_mysql::AsyncMysqlIntermediary::run_on(shim, r, w).await {
                        tracing::debug!(%peer, error = %e, "mysql connection ended");
                    }
                });
            }
        }
    }
}

async fn job_loop(engine: Arc<Mutex<Engine>>, mut shutdown: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(Duration::from_millis(20));
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = every.tick() => {
                if let Ok(mut e) = engine.lock() {
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.tick())).is_err() {
                        tracing::error!("schema-change job runner panicked");
                    }
                }
            }
        }
    }
}

/// Runs the emulator until SIGINT or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let handle = Server::start(args.into()).await?;
    println!(
        "starrocks emulator ready query={} http={} be={}",
        handle.query_addr(),
        handle.http_addr(),
        handle.be_http_addr()
    );
    use std::io::Write as _;
    std::io::stdout().flush()?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}
