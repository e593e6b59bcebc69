//! Loader throughput: broker → `loader::run` → StarRocks emulator, against a
//! plain rdkafka consumer reading the same topic to nowhere, with the
//! emulator's own cost measured apart (its threads' CPU time, and its Stream
//! Load of the same rows alone).
//!
//! Both consumers join a consumer group of their own (`subscribe`), as the
//! loader does, and each figure is given with and without the group join
//! (from the subscription, and from the first record on). The emulator runs
//! in this process on a runtime of its own whose threads are named
//! `emulator`, so CPU time splits into ddlsync's (everything else: the
//! loader's runtime, its reader thread, librdkafka) and the emulator's
//! (`/proc/self/task/*/stat`).
//!
//! Needs the local stack's Kafka (`scripts/stack up`); without it the bench
//! prints a note and exits. Knobs: `LOAD_BENCH_EVENTS` (default 100 000),
//! `LOAD_BENCH_RUNS` (3; medians are reported). Run: `cargo bench --bench
//! load` (or `benches/load.sh`).

#[allow(dead_code)]
#[path = "../tests/loader_run/harness.rs"]
mod harness;

/// The allocator the `ddlsync` binary uses (see `src/main.rs`), so the loader
/// here allocates as it does there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ddlsync::config::Config;
use ddlsync::gate::Gates;
use ddlsync::loader::stream_load::{Client, ClientConfig, LoadRequest};
use harness::{Ev, Loader};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Thread-name prefix of the emulator's runtime.
const EMULATOR: &str = "emulator";
/// Thread-name prefix of the null Stream Load sink's runtime.
const SINK: &str = "nullsink";

fn main() {
    let emu = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(EMULATOR)
        .enable_all()
        .build()
        .expect("emulator runtime");
    let sr = emu
        .block_on(testkit::starrocks::Server::start(
            testkit::starrocks::Config::default(),
        ))
        .expect("emulator starts");
    let sink_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(SINK)
        .enable_all()
        .build()
        .expect("sink runtime");
    let sink = sink_rt.block_on(null_sink());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ddlsync")
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench(sr, sink));
}

/// A Stream Load endpoint that takes every body, counts its rows and stores
/// nothing: what ddlsync costs without a StarRocks behind it.
async fn null_sink() -> std::net::SocketAddr {
    use axum::routing::put;
    async fn stream_load(
        axum::extract::Path((_db, _table)): axum::extract::Path<(String, String)>,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> axum::Json<serde_json::Value> {
        let rows = serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(&body)
            .map_or(0, |r| r.len());
        let label = headers
            .get("label")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        axum::Json(
            serde_json::json!({"TxnId": 1, "Label": label, "Status": "Success",
            "Message": "OK", "NumberTotalRows": rows, "NumberLoadedRows": rows,
            "NumberFilteredRows": 0}),
        )
    }
    let app = axum::Router::new()
        .route("/api/{db}/{table}/_stream_load", put(stream_load))
        .layer(axum::extract::DefaultBodyLimit::max(200 << 20));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// CPU seconds of this process, of its emulator threads, and per thread group.
#[derive(Debug, Clone, Default)]
struct Cpu {
    process: f64,
    emulator: f64,
    groups: std::collections::BTreeMap<&'static str, f64>,
}

/// utime + stime of one `/proc/.../stat` text, in seconds, and its thread name.
fn stat_cpu(text: &str) -> Option<(String, f64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text[open + 1..close].to_string();
    let fields: Vec<&str> = text[close + 2..].split(' ').collect();
    // After the name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux.
    Some((name, (utime + stime) / 100.0))
}

fn group(thread: &str) -> &'static str {
    if thread.starts_with(EMULATOR) {
        "emulator"
    } else if thread.starts_with(SINK) {
        "null sink"
    } else if thread == "ddlsync-reader" {
        "reader thread"
    } else if thread.starts_with("ddlsync") {
        "runtime (engine, Stream Load)"
    } else if thread.starts_with("rdk:") {
        "librdkafka"
    } else if thread.starts_with("load-") {
        "bench main thread"
    } else {
        "other"
    }
}

fn cpu() -> Cpu {
    let process = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|t| stat_cpu(&t))
        .map_or(0.0, |(_, s)| s);
    let mut c = Cpu {
        process,
        ..Cpu::default()
    };
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for e in dir.flatten() {
            let Ok(t) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            if let Some((name, s)) = stat_cpu(&t) {
                let g = group(&name);
                *c.groups.entry(g).or_insert(0.0) += s;
                if g == "emulator" {
                    c.emulator += s;
                }
            }
        }
    }
    c
}

/// Per-group CPU seconds between two readings.
fn split(c0: &Cpu, c1: &Cpu) -> String {
    c1.groups
        .iter()
        .map(|(g, s)| (g, s - c0.groups.get(g).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d >= 0.005)
        .map(|(g, d)| format!("{g} {d:.2} s"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One measured phase.
#[derive(Debug, Clone, Copy)]
struct Phase {
    /// From the start (subscription) to the last record / row.
    wall: Duration,
    /// From the first record taken to the last.
    after_join: Duration,
    /// CPU seconds outside the emulator.
    cpu: f64,
    /// CPU seconds of the emulator.
    emulator_cpu: f64,
}

impl Phase {
    fn print(&self, run: usize, what: &str) {
        println!(
            "run {run}: {what} {:.2} s ({:.2} s after the join), cpu {:.2} s, emulator cpu {:.2} s",
            self.wall.as_secs_f64(),
            self.after_join.as_secs_f64(),
            self.cpu,
            self.emulator_cpu
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn produce(env: &harness::Env, topic: &str, table: &str, n: i64) -> Duration {
    let producer: FutureProducer = rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", &env.kafka)
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "200000")
        .create()
        .expect("producer");
    let t0 = Instant::now();
    let mut pending = Vec::with_capacity(5000);
    for i in 0..n {
        let (k, v) = Ev::insert(table, i, &format!("name-{i}"), "note").render();
        let v = v.unwrap_or_default();
        let queued = producer
            .send_result(FutureRecord::to(topic).partition(0).key(&k).payload(&v))
            .map_err(|(e, _)| e)
            .expect("queued");
        pending.push(queued);
        if pending.len() >= 5000 {
            for f in pending.drain(..) {
                f.await.expect("delivery").expect("produced");
            }
        }
    }
    for f in pending {
        f.await.expect("delivery").expect("produced");
    }
    t0.elapsed()
}

async fn plain_consume(env: &harness::Env, topic: &str, group: &str, n: i64) -> Phase {
    let c0 = cpu();
    let t0 = Instant::now();
    let consumer: StreamConsumer = rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", &env.kafka)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut first: Option<Instant> = None;
    let mut seen = 0i64;
    let mut bytes = 0usize;
    while seen < n {
        let m = match consumer.recv().await {
            Ok(m) => m,
            Err(e) => {
                eprintln!("plain consumer: {e} (transient, continuing)");
                continue;
            }
        };
        first.get_or_insert_with(Instant::now);
        bytes += rdkafka::message::Message::payload(&m).map_or(0, <[u8]>::len);
        seen += 1;
    }
    std::hint::black_box(bytes);
    let end = Instant::now();
    let c1 = cpu();
    Phase {
        wall: end - t0,
        after_join: end - first.unwrap_or(t0),
        cpu: (c1.process - c1.emulator) - (c0.process - c0.emulator),
        emulator_cpu: c1.emulator - c0.emulator,
    }
}

/// The loader's configuration: `public.<source>` into `d.<target>` (mirror
/// and raw), 20 000-row batches with the product's default 2 s age, no gzip
/// (StarRocks on the same host), Stream Load to `http`.
fn config(
    env: &harness::Env,
    group: &str,
    topic: &str,
    source: &str,
    target: &str,
    http: &str,
) -> Arc<Config> {
    let text = format!(
        "[kafka]\nbootstrap_servers = \"{kafka}\"\ngroup_id = \"{group}\"\n\
         [kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\"auto.offset.reset\" = \"earliest\"\n\
         [starrocks]\nquery = \"{query}\"\nhttp = \"{http}\"\n\
         [loader]\ntopics = [\"{topic}\"]\nbatch_rows = 20000\nbatch_age_ms = 2000\ngzip_min_bytes = 0\n\
         quarantine_topic = \"{group}.quarantine\"\n\
         [[tables]]\nsource = \"public.{source}\"\ntarget = \"d.{target}\"\ntargets = [\"mirror\", \"raw\"]\n",
        kafka = env.kafka,
        query = env.sr.query_addr(),
    );
    Arc::new(
        Config::parse("bench.toml", &text, &|_| None).unwrap_or_else(|e| panic!("{e}\n{text}")),
    )
}

/// One loader run of the topic into `d.<target>` (a table of its own per run:
/// Stream Load labels are per table, so a second run into the same table
/// would find every batch loaded already).
async fn load(
    env: &harness::Env,
    topic: &str,
    source: &str,
    target: &str,
    group: &str,
    n: i64,
    sink: Option<std::net::SocketAddr>,
) -> Phase {
    let gates = Arc::new(Gates::new());
    harness::open_gates(&gates, &[target], &[]);
    let http = sink.map_or_else(|| env.sr.http_addr().to_string(), |a| a.to_string());
    let cfg = config(env, group, topic, source, target, &http);
    let table = target;
    let c0 = cpu();
    let t0 = Instant::now();
    let loader = Loader::start(cfg, gates);
    let mut first: Option<Instant> = None;
    let raw_filter = format!("table=\"d.{table}_cdc_raw\"");
    loop {
        let text = loader.metrics.encode();
        if first.is_none() && harness::metric(&text, "ddlsync_loader_records_total", "") > 0.0 {
            first = Some(Instant::now());
        }
        if harness::metric(&text, "ddlsync_loader_rows_total", &raw_filter) >= n as f64 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "loader did not load {n} events in 600 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let end = Instant::now();
    let c1 = cpu();
    println!("  cpu by thread: {}", split(&c0, &c1));
    let s = loader.stop().await;
    assert_eq!(s.raw_rows as i64, n, "{s:?}");
    assert_eq!(s.mirror_rows as i64, n, "{s:?}");
    Phase {
        wall: end - t0,
        after_join: end - first.unwrap_or(t0),
        cpu: (c1.process - c1.emulator) - (c0.process - c0.emulator),
        emulator_cpu: c1.emulator - c0.emulator,
    }
}

/// The emulator alone: `n` mirror rows and `n` raw rows in 20 000-row Stream Loads.
async fn emulator_alone(env: &harness::Env, table: &str, n: i64) -> (Duration, f64) {
    env.sql(&[
        &format!("CREATE TABLE d.{table}_direct (id INT NOT NULL, name VARCHAR(64), note VARCHAR(64)) PRIMARY KEY(id) DISTRIBUTED BY HASH(id)"),
        &format!("CREATE TABLE d.{table}_direct_raw (topic VARCHAR(255), `partition` INT, `offset` BIGINT, op VARCHAR(1), \
             `before` JSON, `after` JSON, source_position VARCHAR(64), event_time DATETIME) \
             DUPLICATE KEY(topic) DISTRIBUTED BY HASH(topic)"),
    ])
    .await;
    let client = Client::new(ClientConfig {
        fe_url: format!("http://{}", env.sr.http_addr()),
        ..ClientConfig::default()
    })
    .expect("client");
    let mirror_cols: Vec<String> = ["id", "name", "note", "__op"]
        .iter()
        .map(ToString::to_string)
        .collect();
    let raw_cols: Vec<String> = ddlsync::loader::convert::RAW_COLUMNS
        .iter()
        .map(ToString::to_string)
        .collect();
    let c0 = cpu();
    let t0 = Instant::now();
    let mut start = 0i64;
    while start < n {
        let end = (start + 20_000).min(n);
        let mirror: Vec<serde_json::Value> = (start..end)
            .map(|i| serde_json::json!({"id": i, "name": format!("name-{i}"), "note": "note", "__op": 0}))
            .collect();
        let raw: Vec<serde_json::Value> = (start..end)
            .map(|i| {
                serde_json::json!({"op": "c", "before": null,
                "after": {"id": i, "name": format!("name-{i}"), "note": "note"},
                "source_position": format!("lsn={i}"), "event_time": "2026-11-25 10:19:17.100",
                "topic": "bench", "partition": 0, "offset": i})
            })
            .collect();
        for (t, cols, rows) in [
            (format!("{table}_direct"), &mirror_cols, mirror),
            (format!("{table}_direct_raw"), &raw_cols, raw),
        ] {
            let body = serde_json::to_vec(&rows).expect("body");
            let label = format!("bench_direct_{t}_{start}");
            let a = client
                .load(&LoadRequest {
                    db: "d",
                    table: &t,
                    label: &label,
                    columns: Some(cols),
                    partial_update: false,
                    max_filter_ratio: None,
                    body: body.into(),
                })
                .await
                .expect("load");
            assert!(a.outcome.is_durable(), "{a:?}");
        }
        start = end;
    }
    let took = t0.elapsed();
    (took, cpu().emulator - c0.emulator)
}

async fn bench(sr: testkit::starrocks::Handle, sink: std::net::SocketAddr) {
    let n: i64 = std::env::var("LOAD_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("LOAD_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let Some(env) = harness::env_with("bench", sr) else {
        println!("load bench: SKIPPED (the local stack is not up)");
        return;
    };
    let table = format!("bench_{}", env.id);
    env.create_tables(&table, "").await;
    let topic = format!("{}.bench", env.id);
    env.topic(&topic, 1).await;
    let produced = produce(&env, &topic, &table, n).await;
    let value_len = Ev::insert(&table, 1, "name-1", "note")
        .render()
        .1
        .map_or(0, |v| v.len());
    println!(
        "produce: {n} events ({value_len} B each) in {:.2} s = {:.0} events/s",
        produced.as_secs_f64(),
        n as f64 / produced.as_secs_f64()
    );
    let nf = n as f64;
    let mut plain = Vec::new();
    let mut loaded = Vec::new();
    let mut nulls = Vec::new();
    for r in 0..runs {
        let p = plain_consume(&env, &topic, &format!("{}-plain-{r}", env.id), n).await;
        p.print(r, "plain consumer");
        plain.push(p);
        let target = format!("{table}_r{r}");
        env.create_tables(&target, "").await;
        let l = load(
            &env,
            &topic,
            &table,
            &target,
            &format!("{}-g-{r}", env.id),
            n,
            None,
        )
        .await;
        l.print(r, "loader");
        loaded.push(l);
        let z = load(
            &env,
            &topic,
            &table,
            &target,
            &format!("{}-z-{r}", env.id),
            n,
            Some(sink),
        )
        .await;
        z.print(r, "loader into the null sink");
        nulls.push(z);
    }
    let rate = |v: &[Phase], f: fn(&Phase) -> Duration| {
        median(v.iter().map(|p| nf / f(p).as_secs_f64()).collect())
    };
    let per_event =
        |v: &[Phase], f: fn(&Phase) -> f64| median(v.iter().map(f).collect()) / nf * 1e6;
    let (pw, pj) = (rate(&plain, |p| p.wall), rate(&plain, |p| p.after_join));
    let (lw, lj) = (rate(&loaded, |p| p.wall), rate(&loaded, |p| p.after_join));
    let (zw, zj) = (rate(&nulls, |p| p.wall), rate(&nulls, |p| p.after_join));
    println!("--- medians of {runs} runs, {n} events, 1 partition ---");
    println!("plain rdkafka consumer: {pw:.0} events/s with the group join, {pj:.0} events/s after it; cpu {:.1} us/event",
        per_event(&plain, |p| p.cpu));
    println!("loader (mirror + raw):  {lw:.0} events/s with the group join, {lj:.0} events/s after it; ddlsync cpu {:.1} us/event, emulator cpu {:.1} us/event",
        per_event(&loaded, |p| p.cpu), per_event(&loaded, |p| p.emulator_cpu));
    println!(
        "ratio loader / plain: {:.2} with the join, {:.2} after it",
        lw / pw,
        lj / pj
    );
    println!("loader into the null sink: {zw:.0} events/s with the group join, {zj:.0} events/s after it; ddlsync cpu {:.1} us/event",
        per_event(&nulls, |p| p.cpu));
    println!(
        "ratio loader (null sink) / plain: {:.2} with the join, {:.2} after it",
        zw / pw,
        zj / pj
    );
    let (alone, alone_cpu) = emulator_alone(&env, &table, n).await;
    println!(
        "emulator Stream Load alone ({n} mirror + {n} raw rows, 20k/batch): {:.2} s = {:.0} events/s, cpu {:.1} us/event",
        alone.as_secs_f64(),
        nf / alone.as_secs_f64(),
        alone_cpu / nf * 1e6
    );
}
