//! The loader under trouble: `kill -9` at random moments of a workload,
//! StarRocks refusing connections and failing Stream Loads, and a malformed
//! message in a data topic. Each ends exact: mirror equal to the source,
//! raw events exactly once where the raw target is on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::super::agent::harness::{emulator, scratch, wait_until, Agent};
use super::super::stack::{stack, table, Result, Stack};
use super::support::{
    check_raw_exactly_once, config, group_id, loader_section, metric, wait_topic, Kind, Lcg, Src,
    CONVERGE,
};
use super::{create_maria, create_pg, maria_insert, pg_insert};

/// One round of changes on `src` around ids `base..base + 100`: a multi-row
/// insert, an update and a delete of earlier rows. Returns the rows changed.
async fn round(s: &Stack, src: &Src, base: u32) -> Result<u64> {
    let mut n = match src.kind {
        Kind::Pg => pg_insert(s, src, base, base + 100).await?,
        Kind::Maria => maria_insert(s, src, base, base + 100, 100).await?,
    };
    let t = src.source();
    if base >= 200 {
        let (lo, hi) = (base - 200, base - 100);
        n += src
            .exec_count(
                s,
                &format!(
                    "UPDATE {t} SET qty = qty + 1 WHERE id >= {lo} AND id < {hi} AND id % 2 = 0"
                ),
            )
            .await?;
        n += src
            .exec_count(
                s,
                &format!("DELETE FROM {t} WHERE id >= {lo} AND id < {hi} AND id % 10 = 3"),
            )
            .await?;
    }
    Ok(n)
}

/// Runs rounds on `srcs` (new ids from `first`, `pause` between rounds)
/// until `stop` is set and at least `min_rounds` ran; returns the rows changed.
fn spawn_workload(
    s: Stack,
    srcs: Vec<Src>,
    first: u32,
    pause: Duration,
    stop: Arc<AtomicBool>,
    min_rounds: u32,
) -> tokio::task::JoinHandle<Result<u64>> {
    tokio::spawn(async move {
        let mut n = 0;
        let mut r = 0;
        while r < min_rounds || !stop.load(Ordering::SeqCst) {
            for src in &srcs {
                n += round(&s, src, first + r * 100).await?;
            }
            r += 1;
            tokio::time::sleep(pause).await;
        }
        Ok(n)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_at_random_moments_ends_exact() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let started = Instant::now();
    let pg = Src::new(
        &s,
        Kind::Pg,
        &table("wl_kill_pg"),
        &["id", "qty", "name", "big"],
    );
    let my = Src::new(
        &s,
        Kind::Maria,
        &table("wl_kill_my"),
        &["id", "qty", "name"],
    );
    create_pg(&s, &pg).await?;
    create_maria(&s, &my, "").await?;
    wait_topic(&s, &pg.topic).await?;
    wait_topic(&s, &my.topic).await?;
    let sr = emulator("3.3.5", 200).await?;
    let dir = scratch("wl-kill9");
    let extra = loader_section(&[&pg, &my], "");
    let cfg = config(&dir, &s, &sr, &[&pg, &my], &extra, true);
    let mut agent = Agent::start(&cfg).await?;
    pg.wait_mirror(&agent, &sr).await?;
    my.wait_mirror(&agent, &sr).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let work = spawn_workload(
        s.clone(),
        vec![pg.clone(), my.clone()],
        1,
        Duration::from_millis(2000),
        stop.clone(),
        10,
    );
    let seed = 0x6b69_6c6c_3921;
    let mut rng = Lcg::new(seed);
    let mut kills = Vec::new();
    let assigned = |a: &Agent| a.log_text().matches("partitions assigned").count();
    for i in 0..10 {
        // Each kill lands while the loader loads: after this start's
        // partitions are assigned, at a random moment.
        wait_until(&agent, "partitions assigned", CONVERGE, || async {
            Ok((assigned(&agent) > i).then_some(()))
        })
        .await?;
        let after = Duration::from_millis(100 + rng.below(2400));
        tokio::time::sleep(after).await;
        agent.kill9();
        let down = Duration::from_millis(rng.below(500));
        tokio::time::sleep(down).await;
        let t = Instant::now();
        agent.restart().await?;
        kills.push((after, down, t.elapsed()));
    }
    stop.store(true, Ordering::SeqCst);
    let ops = work.await?? + pg.sentinel(&s).await? + my.sentinel(&s).await?;
    let took_pg = pg.wait_equal(&agent, &sr, &s).await?;
    let took_my = my.wait_equal(&agent, &sr, &s).await?;
    let raw_my = check_raw_exactly_once(&agent, &sr, &s, &my).await;
    let raw_pg = check_raw_exactly_once(&agent, &sr, &s, &pg).await;
    eprintln!(
        "kill9 (seed {seed:#x}): {ops} source ops, 10 kills (after assignment, down, ready in): {kills:?}; \
         mirrors equal {took_pg:?} / {took_my:?} after the workload; raw: pg {:?}, mariadb {:?}; total {:?}",
        raw_pg.as_ref().map_err(first_line),
        raw_my.as_ref().map_err(first_line),
        started.elapsed()
    );
    raw_pg?;
    raw_my?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starrocks_refusing_and_failing_loads_loses_nothing() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let started = Instant::now();
    let my = Src::new(
        &s,
        Kind::Maria,
        &table("wl_fault_my"),
        &["id", "qty", "name"],
    );
    create_maria(&s, &my, "").await?;
    wait_topic(&s, &my.topic).await?;
    let sr = emulator("3.3.5", 200).await?;
    let dir = scratch("wl-faults");
    let cfg = config(&dir, &s, &sr, &[&my], &loader_section(&[&my], ""), true);
    let agent = Agent::start(&cfg).await?;
    my.wait_mirror(&agent, &sr).await?;
    maria_insert(&s, &my, 1, 201, 100).await?;
    my.wait_equal(&agent, &sr, &s).await?;

    let http = reqwest::Client::new();
    let url = format!("{}/_testkit/faults", sr.fe_url());
    let r = http
        .post(&url)
        .body(r#"{"refuse_connections_ms": 30000, "fail_stream_loads": 3}"#)
        .send()
        .await?;
    assert!(r.status().is_success(), "faults set: {}", r.text().await?);
    let faults_at = Instant::now();
    let stop = Arc::new(AtomicBool::new(true));
    let ops = spawn_workload(
        s.clone(),
        vec![my.clone()],
        1001,
        Duration::from_millis(150),
        stop,
        20,
    )
    .await??
        + my.sentinel(&s).await?;
    let workload = faults_at.elapsed();
    let took = my.wait_equal(&agent, &sr, &s).await?;
    let since_faults = faults_at.elapsed();
    assert!(
        since_faults >= Duration::from_secs(30),
        "converged {since_faults:?} after the faults: the refusal did not hold"
    );
    let raw = check_raw_exactly_once(&agent, &sr, &s, &my).await?;
    let left: serde_json::Value = http.get(&url).send().await?.json().await?;
    assert_eq!(
        left["fail_stream_loads"], 0,
        "the 3 failing Stream Loads were consumed: {left}"
    );
    let m = agent.metrics().await?;
    assert!(
        metric(&m, "ddlsync_loader_retries_total") >= 1.0,
        "retries counted:\n{m}"
    );
    eprintln!(
        "starrocks_faults: {ops} source ops in {workload:?} during the faults; mirror exact {took:?} \
         after the workload ({since_faults:?} after the faults); raw {raw} exactly once; total {:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_is_quarantined_and_its_partition_goes_on() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let started = Instant::now();
    let my = Src::new(&s, Kind::Maria, &table("wl_bad_my"), &["id", "qty", "name"]);
    create_maria(&s, &my, "").await?;
    maria_insert(&s, &my, 1, 11, 10).await?;
    wait_topic(&s, &my.topic).await?;
    let sr = emulator("3.3.5", 200).await?;
    let dir = scratch("wl-malformed");
    let cfg = config(&dir, &s, &sr, &[&my], &loader_section(&[&my], ""), false);
    let agent = Agent::start(&cfg).await?;
    my.wait_mirror(&agent, &sr).await?;
    my.wait_equal(&agent, &sr, &s).await?;

    let bad =
        br#"{"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int32","#;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", s.kafka())
        .create()?;
    let (partition, offset) = producer
        .send(
            FutureRecord::<(), [u8]>::to(&my.topic).payload(&bad[..]),
            Duration::from_secs(10),
        )
        .await
        .map(|d| (d.partition, d.offset))
        .map_err(|(e, _)| e)?;
    maria_insert(&s, &my, 11, 61, 25).await?;
    my.exec(
        &s,
        &format!("UPDATE inventory.{} SET qty = 99 WHERE id > 50", my.name),
    )
    .await?;
    let took = my.wait_equal(&agent, &sr, &s).await?;

    let quarantine = format!("{}.quarantine", group_id(&cfg));
    let headers = read_quarantined(&s, &quarantine, &bad[..]).await?;
    let get = |k: &str| {
        headers
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(!get("ddlsync.reason").is_empty(), "a reason: {headers:?}");
    assert_eq!(get("ddlsync.topic"), my.topic, "{headers:?}");
    assert_eq!(
        get("ddlsync.partition"),
        partition.to_string(),
        "{headers:?}"
    );
    assert_eq!(get("ddlsync.offset"), offset.to_string(), "{headers:?}");
    let m = agent.metrics().await?;
    assert!(
        metric(&m, "ddlsync_loader_quarantined_total") >= 1.0,
        "quarantine counted:\n{m}"
    );
    eprintln!(
        "malformed: offset {partition}/{offset} quarantined ({}); later rows exact {took:?} after \
         the source; total {:?}",
        get("ddlsync.reason"),
        started.elapsed()
    );
    Ok(())
}

/// Reads `topic` from the beginning until a message with value `value`;
/// returns its headers as text.
async fn read_quarantined(s: &Stack, topic: &str, value: &[u8]) -> Result<Vec<(String, String)>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let consumer = ddlsync::kafka::consumer(&s.consumer_properties())?;
    let parts = loop {
        let md = consumer.fetch_metadata(None, Duration::from_secs(5))?;
        if let Some(t) = md
            .topics()
            .iter()
            .find(|t| t.name() == topic && !t.partitions().is_empty())
        {
            break t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>();
        }
        if Instant::now() > deadline {
            return Err(format!("no quarantine topic {topic} within 60 s").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    {
        let mut tpl = TopicPartitionList::new();
        for p in parts {
            tpl.add_partition_offset(topic, p, Offset::Beginning)?;
        }
        consumer.assign(&tpl)?;
    }
    let mut seen = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = match tokio::time::timeout(left, consumer.recv()).await {
            Err(_) => {
                return Err(format!(
                    "the malformed message not in {topic} within 60 s ({seen} other messages)"
                )
                .into())
            }
            Ok(m) => m?,
        };
        if m.payload() == Some(value) {
            let mut out = Vec::new();
            if let Some(h) = m.headers() {
                for x in h.iter() {
                    out.push((
                        x.key.to_owned(),
                        String::from_utf8_lossy(x.value.unwrap_or_default()).into_owned(),
                    ));
                }
            }
            return Ok(out);
        }
        seen += 1;
    }
}

/// The first line of an error, for a summary.
fn first_line(e: &impl std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or("").to_owned()
}
