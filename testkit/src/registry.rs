//! Confluent Schema Registry emulator: the REST API that Confluent's
//! `AvroConverter` (inside Kafka Connect) and the Rust
//! `schema_registry_converter` crate call, with real Avro compatibility
//! checks and Confluent's content type and error codes.
//!
//! It owns no Kafka state (the real registry keeps its data in a `_schemas`
//! topic; this one keeps it in memory and, with `--data FILE`, in a JSON file
//! rewritten after every change).
//!
//! # Layout
//! * `store`: subjects, versions, ids, config, the rules and the errors.
//! * `compat`: compatibility levels and the Avro check.
//! * `http`: the axum router (paths, query flags, response shapes).
//!
//! Contact points: `testkit registry` (the binary, used by `scripts/stack`)
//! and [`Server::start`] for in-process use by Rust tests.

mod compat;
mod http;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use compat::Level;
pub use http::CONTENT_TYPE;
pub use store::Error as ApiError;

/// Command-line arguments of `testkit registry`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// HTTP port (0 picks a free one; the ready line says which).
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// JSON file holding the registry's state; loaded at start when present,
    /// rewritten after every change. In memory only when absent.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// What [`Server::start`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address (port 0 picks a free one).
    pub addr: SocketAddr,
    /// Persistence file, see [`Args::data`].
    pub data: Option<PathBuf>,
}

impl Default for Config {
    /// Loopback, a free port, in memory.
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data: None,
        }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data file could not be read or parsed.
    #[error("registry data file {path}: {source}")]
    Data {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The listen address could not be bound.
    #[error("registry: cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The emulator as a server.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds, loads the data file if any, and serves in a background task
    /// until the returned [`Handle`] is shut down or dropped.
    pub async fn start(cfg: Config) -> Result<Handle, StartError> {
        let store = store::Store::open(cfg.data.as_deref()).map_err(|source| StartError::Data {
            path: cfg.data.clone().unwrap_or_default(),
            source,
        })?;
        let listener = tokio::net::TcpListener::bind(cfg.addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: cfg.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: cfg.addr,
            source,
        })?;
        let app = http::router(Arc::new(Mutex::new(store)));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    rx.await.ok();
                })
                .await
        });
        Ok(Handle {
            addr,
            stop: Some(tx),
            task: Some(task),
        })
    }
}

/// A running emulator. Dropping it stops the server (without waiting).
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Handle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`, what clients take as the registry URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests, and waits for the server task.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.stop.take() {
            tx.send(()).ok();
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            tx.send(()).ok();
        }
    }
}

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                tokio::signal::ctrl_c().await.ok();
            }
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.ok();
    }
}

/// Runs the emulator until SIGTERM or SIGINT. Prints one ready line on stdout:
/// `testkit registry: listening on http://ADDR`.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let handle = Server::start(Config {
        addr: SocketAddr::new(args.host, args.port),
        data: args.data,
    })
    .await?;
    println!("testkit registry: listening on {}", handle.url());
    tracing::info!(addr = %handle.addr(), "Registry emulator ready.");
    terminated().await;
    tracing::info!("Registry emulator stopping.");
    handle.shutdown().await?;
    Ok(())
}
