//! DDL propagation latency of the agent (issue 5): the time from a schema
//! event's Kafka record timestamp to the ALTER being accepted by StarRocks.
//!
//! Everything runs in this process except Kafka (the local stack's broker):
//! a StarRocks emulator, the agent (`ddlsync::agent::run` with an in-memory
//! store), and an rdkafka producer writing synthetic MariaDB schema-change
//! events (Debezium's JSON shape, full `tableChanges` column lists) to a topic
//! of this run's own. First `TABLES` CREATE TABLE events (the bench waits until
//! the agent applied them all), then `CHANGES` `ALTER TABLE ... ADD COLUMN`
//! events round-robin over the tables, one every `PACE_MS`.
//!
//! Figures come from the agent's own log events, captured by an in-process
//! `tracing` layer:
//! - `event_to_submit_ms` of every "Statement submitted." of an ALTER (the
//!   agent's figure: Kafka timestamp of the newest event of the source table →
//!   statement accepted);
//! - per produced change, Kafka timestamp (set by the producer, CreateTime) →
//!   the "Statement submitted." carrying its column (emulator jobs excluded);
//! - per produced change, Kafka timestamp → "Schema-change job ended." with
//!   state FINISHED for the job its statement started (includes the emulator's
//!   job time and the executor's job polling; a statement that started no job
//!   counts as finished when accepted);
//! - splits: → "Change decided apply." (consumed and planned), decided →
//!   accepted, and a baseline: the same records at a plain consumer with
//!   ddlsync's consumer settings (what the broker and librdkafka add);
//! - the mean of `ddlsync_ddl_propagation_seconds` over the ALTER changes.
//!
//! Skips (exit 0) when the local stack is not up. Knobs (environment):
//! `AGENT_BENCH_TABLES` (20), `AGENT_BENCH_CHANGES` (120),
//! `AGENT_BENCH_PACE_MS` (75), `AGENT_BENCH_JOB_MS` (emulator ALTER job time,
//! 200), `AGENT_BENCH_FETCH_WAIT_MS` (librdkafka `fetch.wait.max.ms` for the
//! agent's and the baseline consumer; unset: librdkafka's default),
//! `AGENT_BENCH_LOG` (stderr log filter, `warn`).
//! Run with `cargo bench --bench agent_latency` or `benches/agent.sh`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ddlsync::agent::{self, Deps, Options};
use ddlsync::config::Config;
use ddlsync::gate::Gates;
use ddlsync::http::Readiness;
use ddlsync::metrics::Metrics;
use ddlsync::store::Store;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::Consumer as _;
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use testkit::starrocks::{Config as SrConfig, Handle, Server};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Source database of the synthetic events (and target database).
const DB: &str = "benchdb";

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

// ------------------------------------------------------------------ the stack

/// `KEY=value` lines of `target/stack/env` (or `$STACK_DIR/env`), when the
/// stack is up and its Kafka answers; otherwise why not.
fn stack_env() -> std::result::Result<HashMap<String, String>, String> {
    let path = match std::env::var_os("STACK_DIR") {
        Some(dir) => PathBuf::from(dir).join("env"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/stack/env"),
    };
    let text = std::fs::read_to_string(&path).map_err(|_| format!("no {}", path.display()))?;
    let vars: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let kafka = vars
        .get("STACK_KAFKA")
        .ok_or_else(|| format!("STACK_KAFKA missing from {}", path.display()))?;
    let addr: std::net::SocketAddr = kafka
        .parse()
        .map_err(|e| format!("STACK_KAFKA={kafka}: {e}"))?;
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| format!("Kafka at {kafka} does not answer ({e})"))?;
    Ok(vars)
}

// ------------------------------------------------------------------ synthetic events

/// One MariaDB column as Debezium writes it in `tableChanges`.
#[derive(Clone)]
struct Column {
    name: String,
    /// `INT`, `BIGINT` or `VARCHAR`.
    type_name: &'static str,
    length: Option<u32>,
    optional: bool,
}

impl Column {
    fn json(&self, position: usize) -> serde_json::Value {
        let jdbc = match self.type_name {
            "BIGINT" => -5,
            "INT" => 4,
            _ => 12,
        };
        serde_json::json!({
            "name": self.name,
            "jdbcType": jdbc,
            "nativeType": null,
            "typeName": self.type_name,
            "typeExpression": self.type_name,
            "charsetName": self.length.map(|_| "utf8mb4"),
            "length": self.length,
            "scale": null,
            "position": position,
            "optional": self.optional,
            "autoIncremented": false,
            "generated": false,
            "comment": null,
            "defaultValueExpression": null,
            "enumValues": null,
        })
    }

    fn sql(&self) -> String {
        let ty = match self.length {
            Some(l) => format!("{}({l})", self.type_name),
            None => self.type_name.to_owned(),
        };
        let null = if self.optional { "NULL" } else { "NOT NULL" };
        format!("`{}` {ty} {null}", self.name)
    }
}

fn initial_columns() -> Vec<Column> {
    let mut cols = vec![Column {
        name: "id".into(),
        type_name: "BIGINT",
        length: None,
        optional: false,
    }];
    for i in 2..=8 {
        cols.push(Column {
            name: format!("c{i}"),
            type_name: if i % 2 == 0 { "VARCHAR" } else { "INT" },
            length: (i % 2 == 0).then_some(100),
            optional: true,
        });
    }
    cols
}

/// The value of a MariaDB schema-change record (JSON converter, schemas off).
fn schema_change(table: &str, kind: &str, ddl: &str, columns: &[Column], pos: u64) -> String {
    let ts = now_ms();
    let value = serde_json::json!({
        "source": {
            "version": "3.6.3.Final", "connector": "mysql", "name": "benchsrv",
            "ts_ms": ts, "snapshot": "false", "db": DB, "sequence": null,
            "ts_us": ts * 1000, "ts_ns": ts * 1_000_000, "table": table,
            "server_id": 223306, "gtid": null, "file": "mariadb-bin.000001",
            "pos": pos, "row": 0, "thread": null, "query": null,
        },
        "ts_ms": ts,
        "databaseName": DB,
        "schemaName": null,
        "ddl": ddl,
        "tableChanges": [{
            "type": kind,
            "id": format!("\"{DB}\".\"{table}\""),
            "table": {
                "defaultCharsetName": "utf8mb4",
                "primaryKeyColumnNames": ["id"],
                "columns": columns.iter().enumerate().map(|(i, c)| c.json(i + 1)).collect::<Vec<_>>(),
                "comment": null,
            },
        }],
    });
    value.to_string()
}

/// Sends one record whose Kafka timestamp is now; returns that timestamp.
async fn send(producer: &FutureProducer, topic: &str, value: &str) -> Result<i64> {
    let key = format!(r#"{{"databaseName":"{DB}"}}"#);
    let ts = now_ms();
    producer
        .send(
            FutureRecord::to(topic)
                .key(&key)
                .payload(value)
                .timestamp(ts),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| format!("producing to {topic}: {e}"))?;
    Ok(ts)
}

// ------------------------------------------------------------------ log capture

/// What the capture layer saw of the agent's log events.
#[derive(Default)]
struct Seen {
    submitted: Vec<Submitted>,
    /// (target table, statements, wall time ms) of every "Change decided apply.".
    decided: Vec<(String, String, i64)>,
    /// StarRocks job id → wall time (ms) of "Schema-change job ended." (FINISHED).
    jobs_done: HashMap<String, i64>,
    applied: Vec<String>,
    failed: Vec<String>,
    history_rebuilt: bool,
}

struct Submitted {
    at_ms: i64,
    table: String,
    /// `Some(id)` when the statement started an ALTER job.
    job_id: String,
    statement: String,
    event_to_submit_ms: Option<u64>,
}

#[derive(Default)]
struct Fields(BTreeMap<&'static str, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name(), value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name(), value.to_string());
    }
}

struct Capture(Arc<Mutex<Seen>>);

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("ddlsync") {
            return;
        }
        let at_ms = now_ms();
        let mut f = Fields::default();
        event.record(&mut f);
        let mut get = |k: &str| f.0.remove(k).unwrap_or_default();
        let message = get("message");
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match message.as_str() {
            "Statement submitted." => {
                let submitted = Submitted {
                    at_ms,
                    table: get("table"),
                    job_id: get("job_id"),
                    statement: get("statement"),
                    event_to_submit_ms: get("event_to_submit_ms").parse().ok(),
                };
                seen.submitted.push(submitted);
            }
            "Schema-change job ended." if get("state") == "FINISHED" => {
                seen.jobs_done.insert(get("job_id"), at_ms);
            }
            "Change decided apply." => {
                let decided = (get("table"), get("statement"), at_ms);
                seen.decided.push(decided);
            }
            "Plan applied." => seen.applied.push(get("table")),
            "Plan failed." => {
                let line = format!("{}: {}", get("table"), get("error"));
                seen.failed.push(line);
            }
            "Source history rebuilt." => seen.history_rebuilt = true,
            _ => {}
        }
    }
}

/// When the ALTER behind `s` was FINISHED: its job's end, or the submission
/// itself when it started no job.
fn done_at(seen: &Seen, s: &Submitted) -> Option<i64> {
    match s
        .job_id
        .strip_prefix("Some(")
        .and_then(|r| r.strip_suffix(')'))
    {
        Some(id) => seen.jobs_done.get(id).copied(),
        None => Some(s.at_ms),
    }
}

// ------------------------------------------------------------------ figures

/// Nearest-rank percentile of sorted `v`.
fn pct(v: &[u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn summary(label: &str, mut v: Vec<u64>) -> String {
    v.sort_unstable();
    format!(
        "{label:<58} count {:>4}  p50 {:>5} ms  p90 {:>5} ms  p99 {:>5} ms  max {:>5} ms",
        v.len(),
        pct(&v, 50.0),
        pct(&v, 90.0),
        pct(&v, 99.0),
        v.last().copied().unwrap_or(0)
    )
}

/// `_sum` and `_count` of the propagation histogram in the metrics text.
fn propagation(metrics: &Metrics) -> (f64, f64) {
    let text = metrics.encode();
    let value = |suffix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("ddlsync_ddl_propagation_seconds_{suffix} ")))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (value("sum"), value("count"))
}

// ------------------------------------------------------------------ the run

fn main() -> ExitCode {
    let stack = match stack_env() {
        Ok(s) => s,
        Err(why) => {
            println!(
                "agent_latency: skipped: the local stack is not up ({why}); run scripts/stack up"
            );
            return ExitCode::SUCCESS;
        }
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let log_filter =
        EnvFilter::try_new(std::env::var("AGENT_BENCH_LOG").unwrap_or_else(|_| "warn".into()))
            .unwrap_or_else(|_| EnvFilter::new("warn"));
    let capture_filter =
        tracing_subscriber::filter::Targets::new().with_target("ddlsync", tracing::Level::INFO);
    tracing_subscriber::registry()
        .with(Capture(seen.clone()).with_filter(capture_filter))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(log_filter),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("agent_latency: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench(&stack, seen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agent_latency: failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(stack: &HashMap<String, String>, seen: Arc<Mutex<Seen>>) -> Result {
    let tables = knob("AGENT_BENCH_TABLES", 20).max(1) as usize;
    let changes = knob("AGENT_BENCH_CHANGES", 120).max(1) as usize;
    let pace = Duration::from_millis(knob("AGENT_BENCH_PACE_MS", 75));
    let job_ms = knob("AGENT_BENCH_JOB_MS", 200);
    let kafka = stack["STACK_KAFKA"].clone();
    let run_id = format!(
        "{}_{}",
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
        std::process::id()
    );
    let topic = format!("ddlsync_bench_latency_{run_id}");

    let mut client_config = ClientConfig::new();
    client_config.set("bootstrap.servers", &kafka);
    let admin: AdminClient<DefaultClientContext> = client_config.create()?;
    let created = admin
        .create_topics(
            &[NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await?;
    for r in created {
        r.map_err(|(t, e)| format!("creating topic {t}: {e}"))?;
    }
    let producer: FutureProducer = client_config
        .clone()
        .set("linger.ms", "0")
        .set("message.timeout.ms", "10000")
        .create()?;

    let sr = Server::start(SrConfig {
        version: "3.3.5".into(),
        job_ms,
        ..SrConfig::default()
    })
    .await?;
    let outcome = measure(
        &sr, &kafka, &topic, &run_id, &producer, &seen, tables, changes, pace, job_ms,
    )
    .await;
    sr.shutdown().await;
    if let Err(e) = admin
        .delete_topics(&[topic.as_str()], &AdminOptions::new())
        .await
    {
        eprintln!("agent_latency: topic {topic} not deleted: {e}");
    }
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    sr: &Handle,
    kafka: &str,
    topic: &str,
    run_id: &str,
    producer: &FutureProducer,
    seen: &Arc<Mutex<Seen>>,
    tables: usize,
    changes: usize,
    pace: Duration,
    job_ms: u64,
) -> Result {
    // `AGENT_BENCH_FETCH_WAIT_MS`: librdkafka `fetch.wait.max.ms` for the
    // agent's consumer and the baseline consumer (default: librdkafka's).
    let fetch_wait = std::env::var("AGENT_BENCH_FETCH_WAIT_MS").ok();
    let mut text = format!(
        "[starrocks]\nquery = \"{query}\"\nhttp = \"{http}\"\nuser = \"root\"\nreplication_num = 1\n\n\
         [kafka]\nbootstrap_servers = \"{kafka}\"\ngroup_id = \"ddlsync-bench-{run_id}\"\n\
         schema_change_topics = [\"{topic}\"]\n\n[[tables]]\nsource = \"{DB}.*\"\n",
        query = sr.query_addr(),
        http = sr.fe_url().trim_start_matches("http://"),
    );
    if let Some(ms) = &fetch_wait {
        writeln!(
            text,
            "\n[kafka.properties]\n\"fetch.wait.max.ms\" = \"{ms}\""
        )?;
    }
    let config = Config::parse("agent_latency.toml", &text, &|k| std::env::var(k).ok())?;
    let metrics = Arc::new(Metrics::new());
    let readiness = Readiness::new();
    let cancel = CancellationToken::new();
    let (_schemas_tx, schemas_rx) = tokio::sync::mpsc::unbounded_channel();
    let deps = Deps {
        config: Arc::new(config),
        store: Arc::new(Store::open_in_memory()?),
        metrics: metrics.clone(),
        gates: Arc::new(Gates::new()),
        readiness: readiness.clone(),
        approvals: Arc::new(Notify::new()),
        schemas: schemas_rx,
        cancel: cancel.clone(),
    };
    let agent = tokio::spawn(agent::run(Options::default(), deps));
    let baseline = spawn_baseline(kafka, topic, run_id, fetch_wait.as_deref(), cancel.clone())?;

    let result = drive(
        producer, topic, seen, &baseline, &readiness, &metrics, tables, changes, pace, job_ms,
    )
    .await;
    cancel.cancel();
    match tokio::time::timeout(Duration::from_secs(15), agent).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => eprintln!("agent_latency: the agent stopped with: {e}"),
        Ok(Err(e)) => eprintln!("agent_latency: the agent task failed: {e}"),
        Err(_) => eprintln!("agent_latency: the agent did not stop within 15 s"),
    }
    result
}

/// Polls `done` every 20 ms until it holds or `timeout` passes.
async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Result {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > timeout {
            return Err(format!("{what}: not within {timeout:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// (Kafka timestamp, wall time received) of every record a plain consumer
/// (ddlsync's consumer settings, not the agent) read from the topic: what the
/// broker and librdkafka alone add.
type Baseline = Arc<Mutex<Vec<(i64, i64)>>>;

fn spawn_baseline(
    kafka: &str,
    topic: &str,
    run_id: &str,
    fetch_wait: Option<&str>,
    cancel: CancellationToken,
) -> Result<Baseline> {
    let mut properties = BTreeMap::from([
        ("bootstrap.servers".to_owned(), kafka.to_owned()),
        (
            "group.id".to_owned(),
            format!("ddlsync-bench-{run_id}-baseline"),
        ),
    ]);
    if let Some(ms) = fetch_wait {
        properties.insert("fetch.wait.max.ms".to_owned(), ms.to_owned());
    }
    let consumer = ddlsync::kafka::consumer(&properties)?;
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&list)?;
    let seen: Baseline = Arc::default();
    let out = seen.clone();
    tokio::spawn(async move {
        loop {
            let m = tokio::select! {
                _ = cancel.cancelled() => return,
                m = consumer.recv() => m,
            };
            if let Ok(m) = m {
                if let Some(ts) = m.timestamp().to_millis() {
                    out.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((ts, now_ms()));
                }
            }
        }
    });
    Ok(seen)
}

struct Change {
    table: String,
    column: String,
    kafka_ts_ms: i64,
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    producer: &FutureProducer,
    topic: &str,
    seen: &Arc<Mutex<Seen>>,
    baseline: &Baseline,
    readiness: &Readiness,
    metrics: &Metrics,
    tables: usize,
    changes: usize,
    pace: Duration,
    job_ms: u64,
) -> Result {
    let lock = || seen.lock().unwrap_or_else(|e| e.into_inner());
    wait_for(
        "the agent's history rebuilt",
        Duration::from_secs(60),
        || lock().history_rebuilt && readiness.check().is_ok(),
    )
    .await?;

    // Phase 1: the tables.
    let started = Instant::now();
    let mut schemas: Vec<(String, Vec<Column>)> = (0..tables)
        .map(|t| (format!("t{t}"), initial_columns()))
        .collect();
    let mut pos = 1_000u64;
    for (name, columns) in &schemas {
        let ddl = format!(
            "CREATE TABLE `{name}` ({}, PRIMARY KEY (`id`)) DEFAULT CHARSET=utf8mb4",
            columns
                .iter()
                .map(Column::sql)
                .collect::<Vec<_>>()
                .join(", ")
        );
        pos += 100;
        send(
            producer,
            topic,
            &schema_change(name, "CREATE", &ddl, columns, pos),
        )
        .await?;
    }
    wait_for(
        "the agent creating the tables",
        Duration::from_secs(60 + tables as u64),
        || lock().applied.len() >= tables,
    )
    .await?;
    println!(
        "agent_latency: {tables} tables created by the agent in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let submitted_before = lock().submitted.len();
    let phase2_ms = now_ms();
    let phase2 = Instant::now();
    let (sum_before, count_before) = propagation(metrics);

    // Phase 2: the ALTERs, paced.
    let mut produced: Vec<Change> = Vec::with_capacity(changes);
    let mut next = tokio::time::interval(pace);
    next.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for k in 0..changes {
        next.tick().await;
        let (name, columns) = &mut schemas[k % tables];
        let column = Column {
            name: format!("x{k}"),
            type_name: if k % 2 == 0 { "VARCHAR" } else { "INT" },
            length: (k % 2 == 0).then_some(64),
            optional: true,
        };
        let ddl = format!("ALTER TABLE `{name}` ADD COLUMN {}", column.sql());
        columns.push(column.clone());
        pos += 100;
        let value = schema_change(name, "ALTER", &ddl, columns, pos);
        let kafka_ts_ms = send(producer, topic, &value).await?;
        produced.push(Change {
            table: format!("{DB}.{name}"),
            column: column.name,
            kafka_ts_ms,
        });
    }
    let produce_s = phase2.elapsed().as_secs_f64();

    // Which submitted ALTER carries each change, and when its step finished.
    let carrier = |seen: &Seen, c: &Change| -> Option<usize> {
        let needle = format!("`{}`", c.column);
        seen.submitted[submitted_before..]
            .iter()
            .position(|s| {
                s.table == c.table
                    && s.statement.starts_with("ALTER TABLE")
                    && s.statement.contains(&needle)
            })
            .map(|i| i + submitted_before)
    };
    wait_for(
        "every ALTER submitted and finished",
        Duration::from_secs(120),
        || {
            let seen = lock();
            produced.iter().all(|c| {
                carrier(&seen, c).is_some_and(|i| done_at(&seen, &seen.submitted[i]).is_some())
            })
        },
    )
    .await?;
    // The histogram is observed once per change when its plan is marked
    // applied, which the agent's loop does between planning cycles: wait for it.
    wait_for("the plans marked applied", Duration::from_secs(30), || {
        propagation(metrics).1 - count_before >= changes as f64
    })
    .await
    .unwrap_or_else(|e| eprintln!("agent_latency: {e}"));

    let seen = lock();
    let alters: Vec<&Submitted> = seen.submitted[submitted_before..]
        .iter()
        .filter(|s| s.statement.starts_with("ALTER TABLE"))
        .collect();
    let field: Vec<u64> = alters.iter().filter_map(|s| s.event_to_submit_ms).collect();
    let mut to_decided = Vec::new();
    let mut decided_to_submit = Vec::new();
    let mut to_submit = Vec::new();
    let mut to_finished = Vec::new();
    for c in &produced {
        let Some(i) = carrier(&seen, c) else { continue };
        let s = &seen.submitted[i];
        to_submit.push((s.at_ms - c.kafka_ts_ms).max(0) as u64);
        let needle = format!("`{}`", c.column);
        if let Some((_, _, at)) = seen
            .decided
            .iter()
            .find(|(t, st, _)| *t == c.table && st.contains(&needle))
        {
            to_decided.push((at - c.kafka_ts_ms).max(0) as u64);
            decided_to_submit.push((s.at_ms - at).max(0) as u64);
        }
        if let Some(done) = done_at(&seen, s) {
            to_finished.push((done - c.kafka_ts_ms).max(0) as u64);
        }
    }
    let delivered: Vec<u64> = baseline
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(ts, _)| *ts >= phase2_ms)
        .map(|(ts, at)| (at - ts).max(0) as u64)
        .collect();
    let (sum_after, count_after) = propagation(metrics);
    let observed = count_after - count_before;

    let mut out = String::new();
    writeln!(
        out,
        "agent_latency: {changes} ADD COLUMN events over {tables} tables, one every {} ms ({produce_s:.1} s); \
         emulator ALTER job time {job_ms} ms; {} ALTER statements submitted",
        pace.as_millis(),
        alters.len()
    )?;
    writeln!(
        out,
        "{}",
        summary(
            "Kafka ts -> ALTER accepted (agent's event_to_submit_ms)",
            field
        )
    )?;
    writeln!(
        out,
        "{}",
        summary(
            "Kafka ts -> ALTER accepted (per change, bench clock)",
            to_submit
        )
    )?;
    writeln!(
        out,
        "{}",
        summary(
            "  split: Kafka ts -> change decided apply (planned)",
            to_decided
        )
    )?;
    writeln!(
        out,
        "{}",
        summary(
            "  baseline: Kafka ts -> record at a plain consumer",
            delivered
        )
    )?;
    writeln!(
        out,
        "{}",
        summary(
            "  split: decided -> ALTER accepted (apply path)",
            decided_to_submit
        )
    )?;
    writeln!(
        out,
        "{}",
        summary(
            "Kafka ts -> ALTER job FINISHED (per change, incl. job)",
            to_finished
        )
    )?;
    if observed > 0.0 {
        writeln!(
            out,
            "ddlsync_ddl_propagation_seconds (source ts_ms -> plan applied): {observed} changes, mean {:.0} ms",
            (sum_after - sum_before) / observed * 1000.0
        )?;
    }
    if !seen.failed.is_empty() {
        writeln!(out, "plans failed: {}", seen.failed.len())?;
        for f in seen.failed.iter().take(5) {
            writeln!(out, "  {f}")?;
        }
    }
    print!("{out}");
    Ok(())
}
