//! Online `ddlsync plan --config` for 1,000 tables (issue 5): reading the
//! schema-change topic from Kafka, introspecting StarRocks, planning.
//!
//! Setup (not timed): a StarRocks emulator in this process; a topic of this
//! run's own on the local stack's broker holding 1,000 synthetic MariaDB
//! CREATE TABLE schema-change events of `COLUMNS` columns each; the 1,000
//! target tables created on the emulator from the same tables without their
//! last column (the statements come from ddlsync's own planner), so the plan
//! is 1,000 `add_column` changes.
//!
//! Timed:
//! 1. the real binary, `ddlsync plan --config FILE` (release build of this
//!    workspace, or `PLAN_BENCH_BIN`), wall time of the whole process;
//! 2. in this process, the steps `src/cli/plan/online.rs` takes, one by one:
//!    `watch::read_history` → fold → `Client::version` + `Client::introspect`
//!    → `pipeline::run` → `render_text`.
//!
//! `read_history` waits, by design, for 0.5 s of quiet after reaching the end
//! of the topic (`IDLE` in `online.rs`). Both are printed: with that idle wait
//! (what a user sees) and without it (the binary's time minus 0.5 s; in
//! process, `read_history` run again with a 10 ms idle).
//!
//! Skips (exit 0) when the local stack is not up. Knobs (environment):
//! `PLAN_BENCH_TABLES` (1000), `PLAN_BENCH_COLUMNS` (50), `PLAN_BENCH_RUNS`
//! (3), `PLAN_BENCH_BIN` (binary to run).
//! Run with `cargo bench --bench plan_online` or `benches/agent.sh`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ddlsync::capabilities::StarRocksVersion;
use ddlsync::catalog::Catalog;
use ddlsync::config::Config;
use ddlsync::model::history::Histories;
use ddlsync::model::TableId;
use ddlsync::pipeline::{self, Inputs};
use ddlsync::plan::render_text;
use ddlsync::policy::RuleSet;
use ddlsync::source::decode_value;
use ddlsync::starrocks::Client;
use ddlsync::watch;
use mysql_async::prelude::Queryable;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use testkit::starrocks::{Config as SrConfig, Handle, Server};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Source (and target) database of the synthetic tables.
const DB: &str = "benchplan";
/// The idle wait of `online.rs` (`IDLE`).
const IDLE: Duration = Duration::from_millis(500);

/// Column `i` (1-based) of every synthetic table: `id BIGINT` then
/// alternating `VARCHAR(100)` / `INT`, as Debezium writes it in `tableChanges`.
fn column(i: usize) -> serde_json::Value {
    let (name, type_name, jdbc, length) = match i {
        1 => ("id".to_owned(), "BIGINT", -5, None),
        _ if i % 2 == 0 => (format!("c{i}"), "VARCHAR", 12, Some(100)),
        _ => (format!("c{i}"), "INT", 4, None),
    };
    serde_json::json!({
        "name": name, "jdbcType": jdbc, "nativeType": null, "typeName": type_name,
        "typeExpression": type_name, "charsetName": length.map(|_| "utf8mb4"),
        "length": length, "scale": null, "position": i, "optional": i != 1,
        "autoIncremented": false, "generated": false, "comment": null,
        "defaultValueExpression": null, "enumValues": null,
    })
}

/// A MariaDB CREATE TABLE schema-change value for table `t` with `columns` columns.
fn create_event(t: usize, columns: usize, ts_ms: i64) -> serde_json::Value {
    let table = format!("t{t}");
    serde_json::json!({
        "source": {
            "version": "3.6.3.Final", "connector": "mysql", "name": "benchsrv",
            "ts_ms": ts_ms, "snapshot": "false", "db": DB, "sequence": null,
            "ts_us": ts_ms * 1000, "ts_ns": ts_ms * 1_000_000, "table": table,
            "server_id": 223306, "gtid": null, "file": "mariadb-bin.000001",
            "pos": 1000 + t * 100, "row": 0, "thread": null, "query": null,
        },
        "ts_ms": ts_ms,
        "databaseName": DB,
        "schemaName": null,
        "ddl": format!("CREATE TABLE `{table}` (...)"),
        "tableChanges": [{
            "type": "CREATE",
            "id": format!("\"{DB}\".\"{table}\""),
            "table": {
                "defaultCharsetName": "utf8mb4",
                "primaryKeyColumnNames": ["id"],
                "columns": (1..=columns).map(column).collect::<Vec<_>>(),
                "comment": null,
            },
        }],
    })
}

#[path = "support/mod.rs"]
mod support;

use support::{knob, stack_env};

fn main() -> ExitCode {
    let stack = match stack_env() {
        Ok(s) => s,
        Err(why) => {
            println!(
                "plan_online: skipped: the local stack is not up ({why}); run scripts/stack up"
            );
            return ExitCode::SUCCESS;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("plan_online: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench(&stack)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plan_online: failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(stack: &HashMap<String, String>) -> Result {
    let kafka = stack["STACK_KAFKA"].clone();
    let run_id = format!(
        "{}_{}",
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
        std::process::id()
    );
    let topic = format!("ddlsync_bench_plan_{run_id}");
    let mut client_config = ClientConfig::new();
    client_config.set("bootstrap.servers", &kafka);
    let admin: AdminClient<DefaultClientContext> = client_config.create()?;
    for r in admin
        .create_topics(
            &[NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await?
    {
        r.map_err(|(t, e)| format!("creating topic {t}: {e}"))?;
    }
    let sr = Server::start(SrConfig {
        version: "3.3.5".into(),
        ..SrConfig::default()
    })
    .await?;
    let dir = std::env::temp_dir().join(format!("ddlsync-bench-plan-{run_id}"));
    std::fs::create_dir_all(&dir)?;
    let outcome = measure(&sr, &client_config, &kafka, &topic, &run_id, &dir).await;
    sr.shutdown().await;
    if let Err(e) = admin
        .delete_topics(&[topic.as_str()], &AdminOptions::new())
        .await
    {
        eprintln!("plan_online: topic {topic} not deleted: {e}");
    }
    std::fs::remove_dir_all(&dir).ok();
    outcome
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:>6.0} ms", d.as_secs_f64() * 1000.0)
}

async fn measure(
    sr: &Handle,
    client_config: &ClientConfig,
    kafka: &str,
    topic: &str,
    run_id: &str,
    dir: &std::path::Path,
) -> Result {
    let tables = knob("PLAN_BENCH_TABLES", 1000).max(1) as usize;
    let columns = knob("PLAN_BENCH_COLUMNS", 50).max(2) as usize;
    let runs = knob("PLAN_BENCH_RUNS", 3).max(1) as usize;
    let text = format!(
        "[starrocks]\nquery = \"{query}\"\nhttp = \"{http}\"\nuser = \"root\"\nreplication_num = 1\n\n\
         [kafka]\nbootstrap_servers = \"{kafka}\"\ngroup_id = \"ddlsync-bench-{run_id}\"\n\
         schema_change_topics = [\"{topic}\"]\n\n[[tables]]\nsource = \"{DB}.*\"\n",
        query = sr.query_addr(),
        http = sr.fe_url().trim_start_matches("http://"),
    );
    let config_path = dir.join("ddlsync.toml");
    std::fs::write(&config_path, &text)?;
    let config = Config::parse(&config_path.display().to_string(), &text, &|k| {
        std::env::var(k).ok()
    })?;
    let rules = RuleSet::defaults().map_err(|e| format!("shipped rules: {e:?}"))?;
    let version: StarRocksVersion = "3.3.5".parse()?;

    // The targets: the source tables without their last column, created with
    // the statements ddlsync itself plans for them.
    let setup = Instant::now();
    let ts_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
    let mut base = Histories::new();
    for t in 0..tables {
        let value = create_event(t, columns - 1, ts_ms);
        let event = decode_value(&value, t + 1)?.ok_or("a create event decodes to nothing")?;
        base.apply(&event);
    }
    let creating = pipeline::run(Inputs {
        histories: &base,
        catalog: &Catalog::default(),
        rules: &rules,
        config: &config,
        version: &version,
    });
    let mut conn = mysql_async::Conn::from_url(sr.mysql_url()).await?;
    for plan in &creating.plan.tables {
        for step in &plan.steps {
            for statement in step.statements() {
                conn.query_drop(statement.to_string()).await?;
            }
        }
    }
    conn.disconnect().await?;

    // The topic: the source tables with every column.
    let producer: FutureProducer = client_config
        .clone()
        .set("message.timeout.ms", "30000")
        .create()?;
    let key = format!(r#"{{"databaseName":"{DB}"}}"#);
    let values: Vec<String> = (0..tables)
        .map(|t| create_event(t, columns, ts_ms).to_string())
        .collect();
    let mut deliveries = Vec::with_capacity(tables);
    for value in &values {
        let record = FutureRecord::to(topic).key(&key).payload(value);
        deliveries.push(
            producer
                .send_result(record)
                .map_err(|(e, _)| format!("producing to {topic}: {e}"))?,
        );
    }
    for d in deliveries {
        d.await
            .map_err(|_| "a delivery was cancelled")?
            .map_err(|(e, _)| format!("producing to {topic}: {e}"))?;
    }
    let bytes: usize = values.iter().map(String::len).sum();
    println!(
        "plan_online: {tables} tables x {columns} columns ({:.1} MB of events in topic {topic}; \
         targets lack the last column); setup {:.1} s",
        bytes as f64 / 1e6,
        setup.elapsed().as_secs_f64()
    );

    // 1. The real binary.
    let bin = std::env::var_os("PLAN_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ddlsync")));
    let mut walls = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let out = Command::new(&bin)
            .args(["plan", "--config"])
            .arg(&config_path)
            .stdin(Stdio::null())
            .output()?;
        let wall = started.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let adds = stdout.matches("ADD COLUMN").count();
        if out.status.code() != Some(2) || adds < tables {
            return Err(format!(
                "{} plan: exit {:?}, {adds} ADD COLUMN in the output (expected exit 2 and {tables}):\n{}",
                bin.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        walls.push(wall);
    }
    let wall = median(&mut walls);
    println!(
        "binary  `{} plan --config`, median of {runs}: {}  (without the 0.5 s idle wait: {}; runs: {})",
        bin.display(),
        ms(wall),
        ms(wall.saturating_sub(IDLE)),
        walls
            .iter()
            .map(|w| format!("{:.0}", w.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // 2. The same steps in this process, one by one.
    let kafka_cfg = config.kafka.as_ref().ok_or("[kafka]")?;
    let properties = kafka_cfg.client_properties("-plan");
    let topics = kafka_cfg.schema_change_topics.clone();
    let starrocks = config.starrocks.as_ref().ok_or("[starrocks]")?;
    let mut steps: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for _ in 0..runs {
        let t = Instant::now();
        let read =
            watch::read_history(&properties, &topics, IDLE, Duration::from_secs(120)).await?;
        steps
            .entry("a read_history (0.5 s idle)")
            .or_default()
            .push(t.elapsed());
        let t = Instant::now();
        let read_quick = watch::read_history(
            &properties,
            &topics,
            Duration::from_millis(10),
            Duration::from_secs(120),
        )
        .await?;
        steps
            .entry("b read_history (10 ms idle)")
            .or_default()
            .push(t.elapsed());
        if read.records != tables || read_quick.records != tables {
            return Err(format!(
                "read {} and {} records, expected {tables}",
                read.records, read_quick.records
            )
            .into());
        }
        let t = Instant::now();
        let mut histories = Histories::new();
        for event in &read.events {
            histories.apply(event);
        }
        steps
            .entry("c fold into histories")
            .or_default()
            .push(t.elapsed());
        let t = Instant::now();
        let client = Client::new(starrocks)?;
        let server_version = client.version().await?;
        steps
            .entry("d StarRocks version")
            .or_default()
            .push(t.elapsed());
        let t = Instant::now();
        let mut targets: BTreeSet<TableId> = BTreeSet::new();
        for (id, _) in histories.tables() {
            if let Some(route) = config.route(id) {
                targets.extend(pipeline::route_tables(&route));
            }
        }
        let catalog = client
            .introspect(&targets.into_iter().collect::<Vec<_>>())
            .await?;
        client.disconnect().await;
        steps.entry("e introspect").or_default().push(t.elapsed());
        let t = Instant::now();
        let outcome = pipeline::run(Inputs {
            histories: &histories,
            catalog: &catalog,
            rules: &rules,
            config: &config,
            version: &server_version,
        });
        steps
            .entry("f pipeline::run")
            .or_default()
            .push(t.elapsed());
        let t = Instant::now();
        let rendered = render_text(&outcome.plan);
        steps.entry("g render_text").or_default().push(t.elapsed());
        if outcome.plan.tables.len() != tables || rendered.is_empty() {
            return Err(format!(
                "planned {} tables, expected {tables}",
                outcome.plan.tables.len()
            )
            .into());
        }
    }
    println!("in-process steps of online.rs, median of {runs}:");
    let mut medians: BTreeMap<&str, Duration> = BTreeMap::new();
    for (name, v) in &mut steps {
        let m = median(v);
        medians.insert(name, m);
        println!("  {:<32} {}", &name[2..], ms(m));
    }
    let rest: Duration = medians
        .iter()
        .filter(|(k, _)| !k.starts_with('a') && !k.starts_with('b'))
        .map(|(_, d)| *d)
        .sum();
    let with_idle = medians["a read_history (0.5 s idle)"] + rest;
    let without = medians["b read_history (10 ms idle)"] + rest;
    println!(
        "  {:<32} {}  (with the 0.5 s idle wait)\n  {:<32} {}  (read_history with a 10 ms idle instead)",
        "total",
        ms(with_idle),
        "total without the idle wait",
        ms(without)
    );
    Ok(())
}
