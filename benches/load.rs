//! Loader throughput: broker → `loader::run` → StarRocks emulator events/s,
//! against a plain rdkafka consumer reading the same topic to nowhere, and the
//! emulator's own Stream Load cost for the same rows measured alone.
//!
//! Needs the local stack's Kafka (`scripts/stack up`); without it the bench
//! prints a note and exits. `LOAD_BENCH_EVENTS` sets the event count (default
//! 50 000). Run: `cargo bench --bench load` (or `benches/load.sh`).

#[allow(dead_code)]
#[path = "../tests/loader_run/harness.rs"]
mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ddlsync::gate::Gates;
use ddlsync::loader::stream_load::{Client, ClientConfig, LoadRequest};
use harness::{Ev, Loader};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench());
}

async fn produce(env: &harness::Env, topic: &str, table: &str, n: i64) -> Duration {
    let producer: FutureProducer = rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", &env.kafka)
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "200000")
        .create()
        .expect("producer");
    let t0 = Instant::now();
    let mut pending = Vec::with_capacity(1000);
    for i in 0..n {
        let (k, v) = Ev::insert(table, i, &format!("name-{i}"), "note").render();
        let v = v.unwrap_or_default();
        let p = producer.clone();
        let topic = topic.to_string();
        pending.push(tokio::spawn(async move {
            p.send(
                FutureRecord::to(&topic).partition(0).key(&k).payload(&v),
                Duration::from_secs(60),
            )
            .await
            .map(|_| ())
            .map_err(|(e, _)| e.to_string())
        }));
        if pending.len() >= 1000 {
            for h in pending.drain(..) {
                h.await.expect("join").expect("produce");
            }
        }
    }
    for h in pending {
        h.await.expect("join").expect("produce");
    }
    t0.elapsed()
}

async fn plain_consume(env: &harness::Env, topic: &str, n: i64) -> Duration {
    let consumer: StreamConsumer = rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", &env.kafka)
        .set("group.id", format!("{}-plain", env.id))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("tpl");
    consumer.assign(&tpl).expect("assign");
    let t0 = Instant::now();
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
        bytes += rdkafka::message::Message::payload(&m).map_or(0, <[u8]>::len);
        seen += 1;
    }
    std::hint::black_box(bytes);
    t0.elapsed()
}

async fn bench() {
    let n: i64 = std::env::var("LOAD_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let Some(env) = harness::env("bench").await else {
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
    let plain = plain_consume(&env, &topic, n).await;
    println!(
        "plain rdkafka consumer (to nowhere): {:.2} s = {:.0} events/s",
        plain.as_secs_f64(),
        n as f64 / plain.as_secs_f64()
    );

    // Loader: mirror + raw.
    let gates = Arc::new(Gates::new());
    harness::open_gates(&gates, &[&table], &[]);
    let cfg = env.config(
        &format!("{}-g", env.id),
        &[&topic],
        &[&table],
        "batch_rows = 20000",
    );
    let t0 = Instant::now();
    let loader = Loader::start(cfg, gates);
    let count_sql = format!("SELECT count(*) FROM d.{table}_cdc_raw");
    let mut first_rows: Option<Duration> = None;
    loop {
        let c = env.sql(&[&count_sql]).await;
        let got: i64 = c
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if got > 0 && first_rows.is_none() {
            first_rows = Some(t0.elapsed());
        }
        if got >= n {
            break;
        }
        if t0.elapsed() > Duration::from_secs(600) {
            panic!("loader did not load {n} events in 600 s (got {got})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let loaded = t0.elapsed();
    let metrics = loader.metrics.encode();
    let s = loader.stop().await;
    let metric = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0.0)
    };
    let (sl_sum, sl_count) = (
        metric("ddlsync_loader_stream_load_seconds_sum"),
        metric("ddlsync_loader_stream_load_seconds_count"),
    );
    let first = first_rows.unwrap_or(loaded);
    println!(
        "loader: first rows visible after {:.2} s (group join + first batch); steady state {:.0} events/s after that",
        first.as_secs_f64(),
        n as f64 / (loaded - first).as_secs_f64().max(0.001)
    );
    println!(
        "loader Stream Load attempts: {sl_count} taking {sl_sum:.2} s in total ({:.0} ms each, mirror and raw batches)",
        1000.0 * sl_sum / sl_count.max(1.0)
    );
    println!(
        "loader broker -> emulator (mirror + raw, incl. group join): {:.2} s = {:.0} events/s ({} batches, {} mirror rows, {} raw rows)",
        loaded.as_secs_f64(),
        n as f64 / loaded.as_secs_f64(),
        s.batches,
        s.mirror_rows,
        s.raw_rows
    );

    // The emulator alone: the same mirror rows, 20 000 per Stream Load.
    env.sql(&[&format!(
        "CREATE TABLE d.{table}_direct (id INT NOT NULL, name VARCHAR(64), note VARCHAR(64)) PRIMARY KEY(id) DISTRIBUTED BY HASH(id)"
    )])
    .await;
    let client = Client::new(ClientConfig {
        fe_url: format!("http://{}", env.sr.http_addr()),
        ..ClientConfig::default()
    })
    .expect("client");
    let cols: Vec<String> = ["id", "name", "note", "__op"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let t0 = Instant::now();
    let mut start = 0i64;
    while start < n {
        let end = (start + 20_000).min(n);
        let rows: Vec<serde_json::Value> = (start..end)
            .map(|i| serde_json::json!({"id": i, "name": format!("name-{i}"), "note": "note", "__op": 0}))
            .collect();
        let body = serde_json::to_vec(&rows).expect("body");
        let label = format!("bench_direct_{}_{start}", env.id);
        let a = client
            .load(&LoadRequest {
                db: "d",
                table: &format!("{table}_direct"),
                label: &label,
                columns: Some(&cols),
                partial_update: false,
                max_filter_ratio: None,
                body: &body,
            })
            .await
            .expect("load");
        assert!(a.outcome.is_durable(), "{a:?}");
        start = end;
    }
    let direct = t0.elapsed();
    println!(
        "emulator Stream Load alone (mirror rows, 20k/batch): {:.2} s = {:.0} rows/s",
        direct.as_secs_f64(),
        n as f64 / direct.as_secs_f64()
    );
}
