//! A rebalance while batches are loading: the member that gives partitions
//! up drains their in-flight batches and commits past them first, so the
//! next owner starts after them and loads nothing twice.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_partitions_drain_their_in_flight_batches_before_the_next_owner_reads() {
    let Some(env) = env("revoke").await else {
        return;
    };
    let t = format!("r_{}", env.id);
    env.create_tables(&t, "").await;
    let topic = format!("{}.r", env.id);
    env.topic(&topic, 2).await;
    let gates = Arc::new(Gates::new());
    open_gates(&gates, &[&t], &[]);
    let p = env.producer();
    let cfg = env.config(&format!("{}-g", env.id), &[&topic], &[&t], "batch_rows = 5");
    let first = Loader::start(cfg.clone(), gates.clone());
    for i in 0..10 {
        p.event(&topic, (i % 2) as i32, &Ev::insert(&t, i, "n", "x"))
            .await;
    }
    let early: Vec<String> = (0..10).map(|i| row(i, "n", "x")).collect();
    wait_mirror(&env, &t, &early).await;
    // Every Stream Load now takes 6 s: the next batches are still loading
    // when the second member joins and the first gives its partitions up.
    env.faults(r#"{"delay_stream_load_ms": 6000}"#).await;
    for i in 10..30 {
        p.event(&topic, (i % 2) as i32, &Ev::insert(&t, i, "n", "x"))
            .await;
    }
    eventually("batches loading on the first member", || async {
        let text = first.metrics.encode();
        let attempts = harness::metric(&text, "ddlsync_loader_stream_load_seconds_count", "");
        let records = harness::metric(&text, "ddlsync_loader_records_total", "");
        // 30 records read, and the 4 early batches (2 tables × 2 partitions at
        // least) answered: the later ones are in the slow loads now.
        if records >= 30.0 && attempts >= 4.0 {
            Ok(())
        } else {
            Err(format!("records {records}, attempts {attempts}"))
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = Loader::start(cfg, gates);
    env.faults(r#"{"reset": true}"#).await;
    // The group settles with two members (a join, the first member's drain
    // of up to 6 s, the assignment) before the last records are written.
    tokio::time::sleep(Duration::from_secs(12)).await;
    for i in 30..40 {
        p.event(&topic, (i % 2) as i32, &Ev::insert(&t, i, "n", "x"))
            .await;
    }
    let want: Vec<String> = (0..40).map(|i| row(i, "n", "x")).collect();
    wait_mirror(&env, &t, &want).await;
    let mut want_raw = offsets(0, 20);
    want_raw.extend(offsets(1, 20));
    want_raw.sort_unstable();
    eventually("every raw event loaded", || async {
        let got = env.raw(&t).await;
        if got.len() >= want_raw.len() {
            Ok(())
        } else {
            Err(format!("{} of {}", got.len(), want_raw.len()))
        }
    })
    .await;
    let a = first.stop().await;
    let b = second.stop().await;
    eprintln!("revoke: first {a:?}\nrevoke: second {b:?}");
    assert!(
        b.records > 0,
        "the second member took a partition over: {b:?}"
    );
    assert_eq!(env.raw(&t).await, want_raw, "every raw event exactly once");
    // Without the drain the next owner re-reads the batches that were in
    // flight and meets their labels again (`Label Already Exists`).
    assert_eq!(
        a.already_loaded + b.already_loaded,
        0,
        "no batch was loaded by one member and read again by the other"
    );
}
