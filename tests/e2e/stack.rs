//! Finding the stack (the env file `scripts/stack up` writes), clients for its
//! sources, and waiting for Debezium records through `ddlsync::kafka`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::Duration;

use ddlsync::kafka::{self, Record};
use serde_json::Value;

/// How long a test waits for Debezium's records (they arrive within seconds).
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Test result.
pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The running stack, as `scripts/stack env` describes it.
#[derive(Debug, Clone)]
pub struct Stack {
    vars: HashMap<String, String>,
}

impl Stack {
    /// `KEY` from the env file.
    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{key} missing from the stack env file"))
    }

    /// Kafka bootstrap servers.
    pub fn kafka(&self) -> &str {
        self.var("STACK_KAFKA")
    }

    /// Consumer properties for `ddlsync::kafka`.
    pub fn consumer_properties(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                kafka::property::BOOTSTRAP_SERVERS.to_owned(),
                self.kafka().to_owned(),
            ),
            (
                kafka::property::SESSION_TIMEOUT_MS.to_owned(),
                "6000".to_owned(),
            ),
        ])
    }

    /// A PostgreSQL connection (database `postgres`, schema `public`).
    pub async fn postgres(&self) -> Result<tokio_postgres::Client> {
        let (client, conn) = tokio_postgres::connect(
            &pg_conn_string(self.var("STACK_PG_URL")),
            tokio_postgres::NoTls,
        )
        .await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                eprintln!("postgres connection: {e}");
            }
        });
        Ok(client)
    }

    /// A MariaDB connection to database `inventory`.
    pub async fn mariadb(&self) -> Result<mysql_async::Conn> {
        let opts = mysql_async::Opts::from_url(self.var("STACK_MARIADB_URL"))?;
        Ok(mysql_async::Conn::new(opts).await?)
    }

    /// Reads `topic` from the beginning until `done` holds; fails with what was
    /// read when the deadline passes.
    pub async fn wait_for<F>(&self, topic: &str, what: &str, done: F) -> Result<Vec<Record>>
    where
        F: FnMut(&[Record]) -> bool,
    {
        let read = kafka::read_until(&self.consumer_properties(), topic, DEADLINE, done).await?;
        if read.satisfied {
            return Ok(read.records);
        }
        let dump: Vec<String> = read
            .records
            .iter()
            .rev()
            .take(5)
            .map(|r| {
                String::from_utf8_lossy(r.value.as_deref().unwrap_or_default())
                    .chars()
                    .take(600)
                    .collect()
            })
            .collect();
        Err(format!(
            "{what}: not seen in topic {topic} within {DEADLINE:?} (topic exists: {}, {} records read; last ones, newest first:\n{})",
            read.topic_seen,
            read.records.len(),
            dump.join("\n")
        )
        .into())
    }
}

/// `postgres://user:pass@host:port/db` as a key=value string tokio-postgres accepts.
fn pg_conn_string(url: &str) -> String {
    let rest = url
        .trim_start_matches("postgres://")
        .trim_start_matches("postgresql://");
    let (auth, hostpart) = rest.split_once('@').unwrap_or(("postgres", rest));
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (hostport, db) = hostpart.split_once('/').unwrap_or((hostpart, "postgres"));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    format!("host={host} port={port} user={user} password={password} dbname={db}")
}

fn env_file() -> PathBuf {
    match std::env::var_os("STACK_DIR") {
        Some(dir) => PathBuf::from(dir).join("env"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/stack/env"),
    }
}

static SKIP_NOTICE: Once = Once::new();

/// The stack, or `None` (after a notice on stderr) when it is not up.
/// Panics when `STACK_REQUIRED=1` and the stack is not up, and when the env
/// file exists but the broker does not answer (a stale or broken stack must
/// not make the tests pass).
pub fn stack() -> Option<Stack> {
    let path = env_file();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => {
            if std::env::var("STACK_REQUIRED").is_ok_and(|v| v == "1") {
                panic!(
                    "STACK_REQUIRED=1 but the stack is not up (no {}); run scripts/stack up",
                    path.display()
                );
            }
            SKIP_NOTICE.call_once(|| {
                // Written to the process's stderr directly, past the test harness's capture.
                writeln!(
                    std::io::stderr(),
                    "e2e: SKIPPED — the local stack is not up (no {}). Run `scripts/stack up` to run these tests.",
                    path.display()
                )
                .ok();
            });
            return None;
        }
    };
    let vars: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let stack = Stack { vars };
    let kafka = stack.kafka().to_owned();
    let addr: std::net::SocketAddr = kafka
        .parse()
        .unwrap_or_else(|e| panic!("STACK_KAFKA={kafka}: {e}"));
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_err() {
        panic!(
            "{} says the stack is up, but Kafka at {kafka} does not answer; run scripts/stack down, then scripts/stack up",
            path.display()
        );
    }
    Some(stack)
}

/// A table name unique to this test run: `{base}_{run}_{n}`.
pub fn table(base: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{base}_{}_{}",
        (secs % 1_000_000) * 100 + u64::from(std::process::id() % 100),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------- Debezium JSON accessors

/// The `payload` of a JSON-converter record (schemas enabled).
pub fn payload(r: &Record) -> Option<Value> {
    r.value_json().map(|mut v| v["payload"].take())
}

/// The inline schema of the `after` struct: field name -> Connect type.
pub fn after_fields(r: &Record) -> Option<Vec<(String, String)>> {
    let v = r.value_json()?;
    let fields = v["schema"]["fields"].as_array()?;
    let after = fields.iter().find(|f| f["field"] == "after")?;
    Some(
        after["fields"]
            .as_array()?
            .iter()
            .map(|f| {
                (
                    f["field"].as_str().unwrap_or("").to_owned(),
                    f["type"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect(),
    )
}

/// Whether `r` is a data event whose `after.id` is `id`.
pub fn is_row(r: &Record, id: i64) -> bool {
    payload(r).is_some_and(|p| p["after"]["id"].as_i64() == Some(id))
}

/// The first record of `records` that is the row `id`.
pub fn row(records: &[Record], id: i64) -> &Record {
    records
        .iter()
        .find(|r| is_row(r, id))
        .expect("waited for it")
}
