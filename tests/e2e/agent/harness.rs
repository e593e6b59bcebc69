//! Running the real `ddlsync run` binary against the stack's Kafka and
//! sources and a StarRocks emulator of the test's own (so each test picks its
//! version and job duration), with a config, a store and an HTTP port of its
//! own. The agent is a child process: tests can kill it with SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use testkit::starrocks::{Config as SrConfig, Handle, Server};

use super::super::stack::{Result, Stack};

/// The API token the test configs use.
pub const TOKEN: &str = "e2e-token";

/// A StarRocks emulator of `version` whose schema-change jobs take `job_ms`.
pub async fn emulator(version: &str, job_ms: u64) -> Result<Handle> {
    Ok(Server::start(SrConfig {
        version: version.into(),
        job_ms,
        ..SrConfig::default()
    })
    .await?)
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ddlsync-e2e-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Writes `ddlsync.toml` for the stack's MariaDB schema-change topic, the
/// emulator `sr`, and `sources` (one `[[tables]]` each, mirror target).
/// `extra` is appended verbatim (more sections).
pub fn write_config(
    dir: &Path,
    stack: &Stack,
    sr: &Handle,
    sources: &[String],
    extra: &str,
) -> PathBuf {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    write_config_with_rules(dir, stack, sr, sources, extra, &rules)
}

/// As [`write_config`] with another rules directory.
pub fn write_config_with_rules(
    dir: &Path,
    stack: &Stack,
    sr: &Handle,
    sources: &[String],
    extra: &str,
    rules: &Path,
) -> PathBuf {
    let mut text = format!(
        "rules_dir = {rules:?}\n\n[starrocks]\nquery = \"{query}\"\nhttp = \"{http}\"\nuser = \"root\"\nreplication_num = 1\n\n\
         [kafka]\nbootstrap_servers = \"{kafka}\"\ngroup_id = \"e2e-{port}\"\nschema_change_topics = [\"{prefix}\"]\n\n\
         [store]\npath = \"ddlsync.db\"\n\n[http]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"{TOKEN}\"\n\n",
        rules = rules.display().to_string(),
        query = sr.query_addr(),
        http = sr.fe_url().trim_start_matches("http://"),
        kafka = stack.kafka(),
        port = free_port(),
        prefix = stack.var("STACK_MARIADB_PREFIX"),
    );
    text.push_str(extra);
    text.push('\n');
    for s in sources {
        text.push_str(&format!(
            "[[tables]]\nsource = \"{s}\"\ntargets = [\"mirror\"]\n\n"
        ));
    }
    let path = dir.join("ddlsync.toml");
    std::fs::write(&path, text).expect("config written");
    path
}

/// The HTTP base URL a config listens on.
pub fn http_base(config: &Path) -> String {
    let text = std::fs::read_to_string(config).expect("config");
    let listen = text
        .lines()
        .find_map(|l| l.strip_prefix("listen = "))
        .expect("[http] listen")
        .trim_matches('"');
    format!("http://{listen}")
}

/// A running `ddlsync run`.
pub struct Agent {
    child: Option<Child>,
    /// Its config file.
    pub config: PathBuf,
    /// Its log file (stderr).
    pub log: PathBuf,
    /// Its HTTP base URL.
    pub http: String,
    starts: u32,
    args: Vec<String>,
}

impl Agent {
    /// Starts `ddlsync run --config config` and waits until `/readyz` says ready.
    pub async fn start(config: &Path) -> Result<Agent> {
        Agent::start_with(config, &[]).await
    }

    /// As [`Agent::start`] with more arguments (`--dry-run`, ...).
    pub async fn start_with(config: &Path, args: &[&str]) -> Result<Agent> {
        let mut agent = Agent {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            child: None,
            config: config.to_path_buf(),
            log: config.with_extension("log"),
            http: http_base(config),
            starts: 0,
        };
        agent.restart().await?;
        Ok(agent)
    }

    /// Starts the process again (after [`Agent::kill9`]) and waits until ready.
    pub async fn restart(&mut self) -> Result {
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(env!("CARGO_BIN_EXE_ddlsync"))
            .args(["run", "--config"])
            .arg(&self.config)
            .args(&self.args)
            .env("DDLSYNC_LOG", "info,ddlsync=debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = reqwest::Client::new();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(
                    format!("ddlsync run exited with {status}:\n{}", self.log_tail(40)).into(),
                );
            }
            if let Ok(r) = http.get(format!("{}/readyz", self.http)).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(
                    format!("ddlsync run not ready within 60 s:\n{}", self.log_tail(40)).into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    /// SIGTERM, then waits for the exit; returns the exit status and the time it took.
    pub fn terminate(&mut self) -> Result<(std::process::ExitStatus, Duration)> {
        let mut c = self.child.take().ok_or("not running")?;
        let started = Instant::now();
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()?;
        let status = c.wait()?;
        Ok((status, started.elapsed()))
    }

    /// Runs a desk command (`pending`, `approve ID --by x`, ...) with this config.
    pub fn desk(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ddlsync"))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .output()
            .expect("ddlsync desk command runs")
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The whole log.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `/metrics`.
    pub async fn metrics(&self) -> Result<String> {
        Ok(reqwest::get(format!("{}/metrics", self.http))
            .await?
            .text()
            .await?)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Rows of a query on the emulator, as text cells.
pub async fn sr_rows(sr: &Handle, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    let mut conn = mysql_async::Conn::from_url(sr.mysql_url()).await?;
    let rows: Vec<mysql_async::Row> = conn.query(sql).await?;
    let out = rows
        .into_iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.get_opt::<Option<String>, _>(i)
                        .and_then(|v| v.ok())
                        .flatten()
                })
                .collect()
        })
        .collect();
    conn.disconnect().await?;
    Ok(out)
}

/// Runs statements on the emulator.
pub async fn sr_exec(sr: &Handle, sql: &str) -> Result {
    let mut conn = mysql_async::Conn::from_url(sr.mysql_url()).await?;
    conn.query_drop(sql).await?;
    conn.disconnect().await?;
    Ok(())
}

/// Column names of a table on the emulator (empty when it does not exist).
pub async fn sr_columns(sr: &Handle, db: &str, table: &str) -> Result<Vec<String>> {
    let rows = sr_rows(
        sr,
        &format!(
            "SELECT COLUMN_NAME FROM information_schema.columns WHERE TABLE_SCHEMA = '{db}' \
             AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION"
        ),
    )
    .await?;
    Ok(rows.into_iter().filter_map(|r| r[0].clone()).collect())
}

/// Polls `check` every 100 ms until it returns `Some`, or fails after `timeout`
/// with `what` and the agent's log.
pub async fn wait_until<T, F, Fut>(
    agent: &Agent,
    what: &str,
    timeout: Duration,
    mut check: F,
) -> Result<(T, Duration)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await? {
            return Ok((v, started.elapsed()));
        }
        if started.elapsed() > timeout {
            return Err(format!(
                "{what}: not within {timeout:?}. Agent log (tail):\n{}",
                agent.log_tail(60)
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
