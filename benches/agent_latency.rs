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
use rdkafka::producer::FutureProducer;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use testkit::starrocks::{Config as SrConfig, Handle, Server};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Source database of the synthetic events (and target database).
const DB: &str = "benchdb";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[path = "agent_latency/capture.rs"]
mod capture;
#[path = "agent_latency/events.rs"]
mod events;

#[path = "support/mod.rs"]
mod support;

use capture::{done_at, Capture, Seen, Submitted};
use events::{initial_columns, schema_change, send, Column};
use support::{knob, stack_env};

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
