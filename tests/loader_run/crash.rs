//! Crashes (the loader task killed, no drain) between a batch's load and
//! the commit past it: the re-read batches are cut where they were (their
//! plans), so every raw event is loaded exactly once.

use super::*;

/// Raw rows at or past the group's committed offset of their partition:
/// loaded, but not committed (what a crash now would read again).
async fn exposed(env: &Env, table: &str, group: &str, topic: &str) -> usize {
    let c: rdkafka::consumer::BaseConsumer = rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", &env.kafka)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    tpl.add_partition(topic, 1);
    let got = tokio::task::spawn_blocking(move || c.committed_offsets(tpl, Duration::from_secs(5)))
        .await
        .expect("join")
        .expect("committed offsets");
    let committed = |p: i64| match got.find_partition(topic, p as i32).map(|e| e.offset()) {
        Some(rdkafka::Offset::Offset(o)) => o,
        _ => 0,
    };
    let (c0, c1) = (committed(0), committed(1));
    env.raw(table)
        .await
        .into_iter()
        .filter(|&(p, o)| o >= if p == 0 { c0 } else { c1 })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_between_loads_and_commits_load_no_raw_row_twice() {
    let Some(env) = env("crash").await else {
        return;
    };
    let t = format!("c_{}", env.id);
    env.create_tables(&t, "").await;
    let topic = format!("{}.c", env.id);
    env.topic(&topic, 2).await;
    let gates = Arc::new(Gates::new());
    open_gates(&gates, &[&t], &[]);
    let group = format!("{}-g", env.id);
    // Records trickle in (the 200 ms age flush cuts small batches; a re-read
    // finds them all there and would cut by the row limit instead), and
    // failed loads are retried later: later batches of the partition load
    // while the committed offset stays behind them. The loader is killed as
    // soon as raw rows past the committed offset are seen.
    let cfg = env.config(&group, &[&topic], &[&t], "batch_rows = 6");
    let p = env.producer();
    const ROUNDS: i64 = 6;
    const PER_ROUND: i64 = 24;
    let (mut sent, mut crashes_exposed) = (0i64, 0usize);
    for round in 0..ROUNDS {
        let loader = Loader::start(cfg.clone(), gates.clone());
        // The (re)started member has joined and loads a new record (a member
        // killed while joining would stall the group's next rebalance).
        p.event(&topic, (sent % 2) as i32, &Ev::insert(&t, sent, "n", "x"))
            .await;
        let last = ((sent % 2), sent / 2);
        sent += 1;
        eventually(&format!("loader {round} loads {last:?}"), || async {
            if env.raw(&t).await.contains(&last) {
                Ok(())
            } else {
                Err("not yet".into())
            }
        })
        .await;
        env.faults(r#"{"fail_stream_loads": 3}"#).await;
        let mut seen = 0;
        for _ in 0..PER_ROUND {
            p.event(&topic, (sent % 2) as i32, &Ev::insert(&t, sent, "n", "x"))
                .await;
            sent += 1;
            tokio::time::sleep(Duration::from_millis(40)).await;
            seen = exposed(&env, &t, &group, &topic).await;
            if seen > 0 {
                break;
            }
        }
        let text = loader.crash().await;
        // The killed member is gone from the group before the next one joins.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        crashes_exposed += usize::from(seen > 0);
        eprintln!(
            "crash {round}: {sent} sent, {} raw rows, {seen} loaded past the committed offset, {} batches found loaded",
            env.raw(&t).await.len(),
            already_loaded(&text)
        );
    }
    let loader = Loader::start(cfg, gates);
    let want: Vec<String> = (0..sent).map(|i| row(i, "n", "x")).collect();
    wait_mirror(&env, &t, &want).await;
    let mut want_raw: Vec<(i64, i64)> = (0..sent).map(|i| (i % 2, i / 2)).collect();
    want_raw.sort_unstable();
    wait_raw(&env, &t, &want_raw).await;
    let s = loader.stop().await;
    eprintln!("{crashes_exposed} of {ROUNDS} crashes left loaded rows uncommitted; last run {s:?}");
    assert!(
        crashes_exposed > 0,
        "no crash hit the window between a load and its commit"
    );
    assert_eq!(env.raw(&t).await, want_raw, "every raw event exactly once");
}

/// `result="already_loaded"` batches in a metrics text.
fn already_loaded(text: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with("ddlsync_loader_batches_total") && l.contains("already_loaded"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}
