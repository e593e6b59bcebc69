//! The loader runtime end to end: Debezium-shaped records produced to the
//! local stack's Kafka, `ddlsync::loader::run` consuming them as a group
//! member, the StarRocks emulator in-process. Each test uses its own topics,
//! group and tables; the exact end state (mirror rows; every raw event
//! exactly once) is asserted.
//!
//! Without the stack the tests print a note and pass, unless `STACK_REQUIRED=1`.

#[path = "loader_run/harness.rs"]
mod harness;

#[path = "loader_run/avro.rs"]
mod avro;
#[path = "loader_run/crash.rs"]
mod crash;
#[path = "loader_run/gate_change.rs"]
mod gate_change;
#[path = "loader_run/rename.rs"]
mod rename;
#[path = "loader_run/revoke.rs"]
mod revoke;

use std::sync::Arc;
use std::time::Duration;

use ddlsync::gate::Gates;
use ddlsync::model::TableId;
use harness::{env, eventually, open_gates, Env, Ev, Loader};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use serde_json::json;

/// Expected raw rows: offsets `0..n` of partition `p`.
fn offsets(p: i64, n: i64) -> Vec<(i64, i64)> {
    (0..n).map(|o| (p, o)).collect()
}

async fn wait_mirror(env: &Env, table: &str, want: &[String]) {
    eventually(&format!("mirror d.{table}"), || async {
        let got = env.mirror(table).await;
        if got == want {
            Ok(())
        } else {
            Err(format!("got {got:?}, want {want:?}"))
        }
    })
    .await;
}

async fn wait_raw(env: &Env, table: &str, want: &[(i64, i64)]) {
    eventually(&format!("raw d.{table}_cdc_raw"), || async {
        let got = env.raw(table).await;
        if got == want {
            Ok(())
        } else {
            Err(format!("got {} rows {got:?}, want {want:?}", got.len()))
        }
    })
    .await;
}

fn row(id: i64, name: &str, note: &str) -> String {
    format!("{id}|{name}|{note}")
}

/// Quarantine records with their `ddlsync.reason` header.
async fn quarantine(env: &Env, n: usize) -> Vec<(Option<Vec<u8>>, String)> {
    let consumer: StreamConsumer = rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", &env.kafka)
        .set("group.id", format!("{}-qreader", env.id))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let topic = format!("{}.quarantine", env.id);
    consumer.subscribe(&[&topic]).expect("subscribe");
    let mut out = Vec::new();
    let end = tokio::time::Instant::now() + harness::DEADLINE;
    while out.len() < n {
        let m = tokio::time::timeout_at(end, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("quarantine {topic}: {} of {n} records: {out:?}", out.len()))
            .expect("recv");
        let reason = m
            .headers()
            .and_then(|h| h.iter().find(|x| x.key == "ddlsync.reason"))
            .and_then(|x| x.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        out.push((m.payload().map(<[u8]>::to_vec), reason));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_table_waits_while_another_loads_then_catches_up_exactly() {
    let Some(env) = env("held").await else { return };
    let (a, b) = (format!("a_{}", env.id), format!("b_{}", env.id));
    env.create_tables(&a, "").await;
    env.create_tables(&b, "").await;
    let (ta, tb) = (format!("{}.a", env.id), format!("{}.b", env.id));
    env.topic(&ta, 2).await;
    env.topic(&tb, 1).await;
    let gates = Arc::new(Gates::new());
    open_gates(&gates, &[&a, &b], &[]);
    gates.hold(&TableId::new("d", &a), "plan 7 pending approval");
    let p = env.producer();
    for i in 0..10 {
        p.event(
            &ta,
            (i % 2) as i32,
            &Ev::insert(&a, i, &format!("a{i}"), "x"),
        )
        .await;
        p.event(&tb, 0, &Ev::insert(&b, i, &format!("b{i}"), "y"))
            .await;
    }
    // Updates and a delete on both.
    p.event(
        &ta,
        0,
        &Ev::update(
            &a,
            json!({"id": 0, "name": "a0", "note": "x"}),
            json!({"id": 0, "name": "a0u", "note": "x"}),
        ),
    )
    .await;
    p.event(
        &tb,
        0,
        &Ev::update(
            &b,
            json!({"id": 0, "name": "b0", "note": "y"}),
            json!({"id": 0, "name": "b0u", "note": "y"}),
        ),
    )
    .await;
    p.event(&ta, 1, &Ev::delete(&a, 9)).await;
    p.event(&tb, 0, &Ev::delete(&b, 9)).await;
    let cfg = env.config(&format!("{}-g", env.id), &[&ta, &tb], &[&a, &b], "");
    let loader = Loader::start(cfg, gates.clone());
    let mut want_b: Vec<String> = (0..9).map(|i| row(i, &format!("b{i}"), "y")).collect();
    want_b[0] = row(0, "b0u", "y");
    wait_mirror(&env, &b, &want_b).await;
    wait_raw(&env, &b, &offsets(0, 12)).await;
    // a is held: nothing loaded, its partitions paused; the metric says so.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(env.mirror(&a).await.is_empty(), "a held table loaded rows");
    assert!(
        env.raw(&a).await.is_empty(),
        "a held table's raw rows loaded"
    );
    let text = loader.metrics.encode();
    assert!(
        text.contains(&format!("ddlsync_loader_table_held{{table=\"d.{a}\"}} 1")),
        "{text}"
    );
    // b keeps loading while a is held.
    p.event(&tb, 0, &Ev::insert(&b, 100, "late", "y")).await;
    want_b.push(row(100, "late", "y"));
    wait_mirror(&env, &b, &want_b).await;
    gates.release(&TableId::new("d", &a));
    let mut want_a: Vec<String> = (0..9).map(|i| row(i, &format!("a{i}"), "x")).collect();
    want_a[0] = row(0, "a0u", "x");
    wait_mirror(&env, &a, &want_a).await;
    let mut want_raw: Vec<(i64, i64)> = offsets(0, 6);
    want_raw.extend(offsets(1, 6));
    wait_raw(&env, &a, &want_raw).await;
    let s = loader.stop().await;
    assert!(s.holds >= 1, "{s:?}");
    assert_eq!(s.quarantined, 0, "{s:?}");
    // Nothing more arrives after the stop.
    assert_eq!(env.raw(&a).await, want_raw);
    assert_eq!(env.raw(&b).await, offsets(0, 13));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_the_same_group_loses_nothing_and_loads_nothing_twice() {
    let Some(env) = env("restart").await else {
        return;
    };
    let t = format!("r_{}", env.id);
    env.create_tables(&t, "").await;
    let topic = format!("{}.r", env.id);
    env.topic(&topic, 1).await;
    let gates = Arc::new(Gates::new());
    open_gates(&gates, &[&t], &[]);
    let p = env.producer();
    for i in 0..40 {
        p.event(&topic, 0, &Ev::insert(&t, i, "n", "first")).await;
    }
    let cfg = env.config(&format!("{}-g", env.id), &[&topic], &[&t], "batch_rows = 7");
    let loader = Loader::start(cfg.clone(), gates.clone());
    eventually("some rows loaded", || async {
        let n = env.raw(&t).await.len();
        if n > 0 {
            Ok(())
        } else {
            Err("none yet".into())
        }
    })
    .await;
    let first = loader.stop().await;
    for i in 40..80 {
        p.event(&topic, 0, &Ev::insert(&t, i, "n", "second")).await;
    }
    let loader = Loader::start(cfg, gates);
    let want: Vec<String> = (0..80)
        .map(|i| row(i, "n", if i < 40 { "first" } else { "second" }))
        .collect();
    wait_mirror(&env, &t, &want).await;
    wait_raw(&env, &t, &offsets(0, 80)).await;
    let second = loader.stop().await;
    assert_eq!(
        first.raw_rows + second.raw_rows,
        80,
        "every raw row loaded once across both runs: {first:?} {second:?}"
    );
    assert_eq!(env.raw(&t).await, offsets(0, 80));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starrocks_failing_and_refusing_connections_loses_nothing() {
    let Some(env) = env("faults").await else {
        return;
    };
    let t = format!("f_{}", env.id);
    env.create_tables(&t, "").await;
    let topic = format!("{}.f", env.id);
    env.topic(&topic, 1).await;
    let gates = Arc::new(Gates::new());
    open_gates(&gates, &[&t], &[]);
    let refuse_ms: u64 = std::env::var("LOADER_REFUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    env.faults(&format!(
        r#"{{"fail_stream_loads": 3, "publish_timeout_stream_loads": 1, "refuse_connections_ms": {refuse_ms}}}"#
    ))
    .await;
    let p = env.producer();
    for i in 0..30 {
        p.event(&topic, 0, &Ev::insert(&t, i, "n", "x")).await;
    }
    let cfg = env.config(
        &format!("{}-g", env.id),
        &[&topic],
        &[&t],
        "batch_rows = 10",
    );
    let loader = Loader::start(cfg, gates);
    // The emulator refuses its query port too: look only once the window is over.
    tokio::time::sleep(Duration::from_millis(refuse_ms / 2)).await;
    for i in 30..40 {
        p.event(&topic, 0, &Ev::insert(&t, i, "n", "x")).await;
    }
    tokio::time::sleep(Duration::from_millis(refuse_ms / 2 + 500)).await;
    let text = loader.metrics.encode();
    assert!(
        !text.contains("ddlsync_loader_rows_total{"),
        "rows loaded while StarRocks refused connections: {text}"
    );
    let want: Vec<String> = (0..40).map(|i| row(i, "n", "x")).collect();
    wait_mirror(&env, &t, &want).await;
    wait_raw(&env, &t, &offsets(0, 40)).await;
    let text = loader.metrics.encode();
    let s = loader.stop().await;
    assert!(
        text.contains("ddlsync_loader_retries_total{reason=\"connection\"}")
            || text.contains("ddlsync_loader_retries_total{reason=\"load_failed\"}"),
        "no retry recorded: {text}"
    );
    assert_eq!(env.raw(&t).await, offsets(0, 40), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_go_to_quarantine_and_later_records_load() {
    let Some(env) = env("quarantine").await else {
        return;
    };
    let t = format!("q_{}", env.id);
    env.sql(&[
        "CREATE DATABASE IF NOT EXISTS d",
        &format!("CREATE TABLE d.{t} (id INT NOT NULL, name VARCHAR(64), note VARCHAR(4)) PRIMARY KEY(id) DISTRIBUTED BY HASH(id)"),
        &format!("CREATE TABLE d.{t}_cdc_raw (topic VARCHAR(255), `partition` INT, `offset` BIGINT, op VARCHAR(1), \
             `before` JSON, `after` JSON, source_position VARCHAR(64), event_time DATETIME) \
             DUPLICATE KEY(topic) DISTRIBUTED BY HASH(topic)"),
    ])
    .await;
    let topic = format!("{}.q", env.id);
    env.topic(&topic, 1).await;
    env.topic(&format!("{}.quarantine", env.id), 1).await;
    let gates = Arc::new(Gates::new());
    open_gates(&gates, &[&t], &[]);
    let p = env.producer();
    p.event(&topic, 0, &Ev::insert(&t, 1, "good", "ok")).await; // 0
    let (k, v) = Ev::insert(&t, 2, "cut", "ok").render();
    let v = v.unwrap_or_default();
    let truncated = &v[..v.len() / 2];
    p.send(&topic, 0, Some(&k), Some(truncated)).await; // 1: truncated JSON
    p.send(&topic, 0, None, None).await; // 2: tombstone, skipped
    p.event(&topic, 0, &Ev::insert(&t, 3, "long", "too long for four"))
        .await; // 3: filtered by StarRocks
    p.event(&topic, 0, &Ev::insert(&t, 4, "good", "ok")).await; // 4
    let cfg = env.config(&format!("{}-g", env.id), &[&topic], &[&t], "");
    let loader = Loader::start(cfg, gates);
    wait_mirror(&env, &t, &[row(1, "good", "ok"), row(4, "good", "ok")]).await;
    // The raw table takes the long note (VARCHAR JSON): offsets 0, 3, 4.
    wait_raw(&env, &t, &[(0, 0), (0, 3), (0, 4)]).await;
    let q = quarantine(&env, 2).await;
    let s = loader.stop().await;
    assert_eq!(s.quarantined, 2, "{s:?}");
    assert_eq!(
        q[0].0.as_deref(),
        Some(truncated.as_bytes()),
        "the original message"
    );
    assert!(q[0].1.contains("malformed"), "reason: {}", q[0].1);
    let (_, v3) = Ev::insert(&t, 3, "long", "too long for four").render();
    assert_eq!(q[1].0.as_deref(), v3.as_deref().map(str::as_bytes));
    assert!(q[1].1.contains("rejected"), "reason: {}", q[1].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toast_key_change_and_truncate_apply() {
    let Some(env) = env("ops").await else { return };
    let t = format!("o_{}", env.id);
    env.create_tables(&t, ", doc VARCHAR(64)").await;
    let topic = format!("{}.o", env.id);
    env.topic(&topic, 1).await;
    let gates = Arc::new(Gates::new());
    open_gates(&gates, &[&t], &["doc"]);
    let p = env.producer();
    let ex = ["doc"];
    let ins = |id: i64, doc: &str| Ev {
        after: Some(json!({"id": id, "name": "n", "note": "x", "doc": doc})),
        ..Ev::insert(&t, id, "n", "x").with_extra(&ex)
    };
    p.event(&topic, 0, &ins(1, "big-1")).await; // 0
    p.event(&topic, 0, &ins(2, "big-2")).await; // 1
                                                // TOAST: doc unchanged, not sent.
    p.event(
        &topic,
        0,
        &Ev::update(
            &t,
            json!({"id": 1, "name": "n", "note": "x", "doc": "__debezium_unavailable_value"}),
            json!({"id": 1, "name": "renamed", "note": "x", "doc": "__debezium_unavailable_value"}),
        )
        .with_extra(&ex),
    )
    .await; // 2
            // Key change 2 -> 20.
    p.event(
        &topic,
        0,
        &Ev::update(
            &t,
            json!({"id": 2, "name": "n", "note": "x", "doc": "big-2"}),
            json!({"id": 20, "name": "n", "note": "x", "doc": "big-2"}),
        )
        .with_extra(&ex),
    )
    .await; // 3
    let cfg = env.config(
        &format!("{}-g", env.id),
        &[&topic],
        &[&t],
        "truncate = \"apply\"",
    );
    let loader = Loader::start(cfg, gates);
    wait_mirror(&env, &t, &[row(1, "renamed", "x"), row(20, "n", "x")]).await;
    let docs = env
        .sql(&[&format!("SELECT id, doc FROM d.{t} ORDER BY id")])
        .await;
    assert_eq!(
        docs,
        vec![
            vec![Some("1".into()), Some("big-1".into())],
            vec![Some("20".into()), Some("big-2".into())]
        ],
        "the TOASTed doc kept its value"
    );
    p.event(&topic, 0, &Ev::truncate(&t).with_extra(&ex)).await; // 4
    p.event(&topic, 0, &ins(3, "after")).await; // 5
    wait_mirror(&env, &t, &[row(3, "n", "x")]).await;
    wait_raw(&env, &t, &offsets(0, 6)).await;
    let s = loader.stop().await;
    assert_eq!(s.truncates_applied, 1, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_column_signals_the_schema_holds_and_loads_after_the_agent_adds_it() {
    let Some(env) = env("schema").await else {
        return;
    };
    let t = format!("s_{}", env.id);
    env.create_tables(&t, "").await;
    let topic = format!("{}.s", env.id);
    env.topic(&topic, 1).await;
    let gates = Arc::new(Gates::new());
    open_gates(&gates, &[&t], &[]);
    let p = env.producer();
    p.event(&topic, 0, &Ev::insert(&t, 1, "n", "x")).await;
    p.event(&topic, 0, &Ev::insert(&t, 2, "n", "x")).await;
    let ex = ["email"];
    p.event(
        &topic,
        0,
        &Ev {
            after: Some(json!({"id": 3, "name": "n", "note": "x", "email": "e@x"})),
            ..Ev::insert(&t, 3, "n", "x").with_extra(&ex)
        },
    )
    .await;
    let cfg = env.config(&format!("{}-g", env.id), &[&topic], &[&t], "");
    let mut loader = Loader::start(cfg, gates.clone());
    wait_mirror(&env, &t, &[row(1, "n", "x"), row(2, "n", "x")]).await;
    let mut signals = Vec::new();
    while signals.len() < 2 {
        let ev = tokio::time::timeout(harness::DEADLINE, loader.schemas.recv())
            .await
            .expect("schema signal")
            .expect("channel open");
        signals.push(ev);
    }
    let cols = |i: usize| match &signals[i].value {
        ddlsync::source::Event::DataChange(d) => d
            .schema
            .as_ref()
            .map(|s| s.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
            .unwrap_or_default(),
        other => panic!("{other:?}"),
    };
    assert_eq!(cols(0), ["id", "name", "note"]);
    assert_eq!(cols(1), ["id", "name", "note", "email"]);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        env.mirror(&t).await.len(),
        2,
        "held until the target has email"
    );
    env.sql(&[&format!("ALTER TABLE d.{t} ADD COLUMN email VARCHAR(64)")])
        .await;
    open_gates(&gates, &[&t], &["email"]);
    wait_mirror(
        &env,
        &t,
        &[row(1, "n", "x"), row(2, "n", "x"), row(3, "n", "x")],
    )
    .await;
    wait_raw(&env, &t, &offsets(0, 3)).await;
    let s = loader.stop().await;
    assert_eq!(s.holds, 1, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_member_joining_and_the_first_leaving_loses_nothing() {
    let Some(env) = env("rebalance").await else {
        return;
    };
    let t = format!("g_{}", env.id);
    env.create_tables(&t, "").await;
    let topic = format!("{}.g", env.id);
    env.topic(&topic, 2).await;
    let gates = Arc::new(Gates::new());
    open_gates(&gates, &[&t], &[]);
    let p = env.producer();
    let cfg = env.config(&format!("{}-g", env.id), &[&topic], &[&t], "batch_rows = 5");
    let mut first = Some(Loader::start(cfg.clone(), gates.clone()));
    for i in 0..40 {
        p.event(&topic, (i % 2) as i32, &Ev::insert(&t, i, "n", "x"))
            .await;
    }
    eventually("first member loads", || async {
        let n = env.raw(&t).await.len();
        if n > 0 {
            Ok(())
        } else {
            Err("none yet".into())
        }
    })
    .await;
    let second = Loader::start(cfg, gates);
    // Let the group settle with two members before the first leaves.
    tokio::time::sleep(Duration::from_secs(8)).await;
    for i in 40..80 {
        p.event(&topic, (i % 2) as i32, &Ev::insert(&t, i, "n", "x"))
            .await;
        if i == 60 {
            if let Some(f) = first.take() {
                f.stop().await;
            }
        }
    }
    let want: Vec<String> = (0..80).map(|i| row(i, "n", "x")).collect();
    wait_mirror(&env, &t, &want).await;
    let mut want_raw = offsets(0, 40);
    want_raw.extend(offsets(1, 40));
    eventually("every raw event loaded", || async {
        let got = env.raw(&t).await;
        let missing: Vec<_> = want_raw.iter().filter(|o| !got.contains(o)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("missing {missing:?}"))
        }
    })
    .await;
    let s = second.stop().await;
    let mut got = env.raw(&t).await;
    got.sort_unstable();
    // A batch in flight when its partition was revoked is cut the same way
    // by the next owner (its plan), so it meets `Label Already Exists`.
    eprintln!("rebalance: second member {s:?}");
    assert_eq!(env.mirror(&t).await, want);
    let mut want_sorted = want_raw.clone();
    want_sorted.sort_unstable();
    assert_eq!(
        got, want_sorted,
        "every raw event exactly once across the rebalances"
    );
}
