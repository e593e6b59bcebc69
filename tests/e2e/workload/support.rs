//! Helpers of the loader workload tests: source tables on PostgreSQL and
//! MariaDB, configs with the `raw` target, reading both sides sorted, the
//! records of a data topic, the raw table's Kafka coordinates, and a seeded
//! LCG for the random moments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use testkit::starrocks::Handle;

use super::super::agent::harness::{sr_columns, sr_rows, wait_until, write_config, Agent};
use super::super::stack::{is_row, Result, Stack};

/// Id of the row each workload inserts last.
pub const SENTINEL: i64 = 2_000_000_000;

/// Convergence timeout (generous: CI on 2 cores).
pub const CONVERGE: Duration = Duration::from_secs(120);

/// Rows as text cells, sorted.
pub type Rows = Vec<Vec<Option<String>>>;

/// Which database a source table lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PostgreSQL, schema `public`.
    Pg,
    /// MariaDB, database `inventory`.
    Maria,
}

/// One source table, its topic and its mirror.
#[derive(Debug, Clone)]
pub struct Src {
    /// Where it lives.
    pub kind: Kind,
    /// Table name (same on the source and the target).
    pub name: String,
    /// Data topic.
    pub topic: String,
    /// Columns compared between source and mirror, in order.
    pub cols: Vec<&'static str>,
}

impl Src {
    /// A table `name` on `kind` with the compared columns `cols`.
    pub fn new(stack: &Stack, kind: Kind, name: &str, cols: &[&'static str]) -> Src {
        let topic = match kind {
            Kind::Pg => format!("{}.public.{name}", stack.var("STACK_PG_PREFIX")),
            Kind::Maria => format!("{}.inventory.{name}", stack.var("STACK_MARIADB_PREFIX")),
        };
        Src {
            kind,
            name: name.to_owned(),
            topic,
            cols: cols.to_vec(),
        }
    }

    /// The source database (and target database).
    pub fn db(&self) -> &'static str {
        match self.kind {
            Kind::Pg => "public",
            Kind::Maria => "inventory",
        }
    }

    /// `db.table`: the `[[tables]] source` and the desk's table name.
    pub fn source(&self) -> String {
        format!("{}.{}", self.db(), self.name)
    }

    /// The raw change-log table.
    pub fn raw(&self) -> String {
        format!("{}.{}_cdc_raw", self.db(), self.name)
    }

    /// Runs `sql` (one or more statements) on the table's source database.
    pub async fn exec(&self, stack: &Stack, sql: &str) -> Result {
        match self.kind {
            Kind::Pg => {
                let pg = stack.postgres().await?;
                pg.batch_execute(sql).await?;
            }
            Kind::Maria => {
                let mut c = stack.mariadb().await?;
                c.query_drop(sql).await?;
                c.disconnect().await?;
            }
        }
        Ok(())
    }

    /// Runs one statement and returns how many rows it changed (the number
    /// of Debezium events it makes, tombstones aside).
    pub async fn exec_count(&self, stack: &Stack, sql: &str) -> Result<u64> {
        Ok(match self.kind {
            Kind::Pg => stack.postgres().await?.execute(sql, &[]).await?,
            Kind::Maria => {
                let mut c = stack.mariadb().await?;
                c.query_drop(sql).await?;
                let n = c.affected_rows();
                c.disconnect().await?;
                n
            }
        })
    }

    /// Inserts the sentinel row, the table's last change: the raw check reads
    /// the topic up to its event.
    pub async fn sentinel(&self, stack: &Stack) -> Result<u64> {
        self.exec_count(
            stack,
            &format!(
                "INSERT INTO {} (id, qty, name) VALUES ({SENTINEL}, 0, 'end')",
                self.source()
            ),
        )
        .await
    }

    /// The source rows (compared columns, as text), sorted.
    pub async fn source_rows(&self, stack: &Stack) -> Result<Rows> {
        let mut rows: Rows = match self.kind {
            Kind::Pg => {
                let list: Vec<String> = self.cols.iter().map(|c| format!("{c}::text")).collect();
                let pg = stack.postgres().await?;
                pg.query(
                    &format!("SELECT {} FROM public.{}", list.join(", "), self.name),
                    &[],
                )
                .await?
                .iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| r.get::<_, Option<String>>(i))
                        .collect()
                })
                .collect()
            }
            Kind::Maria => {
                let mut c = stack.mariadb().await?;
                let got: Vec<mysql_async::Row> = c
                    .query(format!(
                        "SELECT {} FROM inventory.{}",
                        self.cols.join(", "),
                        self.name
                    ))
                    .await?;
                c.disconnect().await?;
                got.into_iter().map(text_cells).collect()
            }
        };
        rows.sort();
        Ok(rows)
    }

    /// The mirror's rows (compared columns), sorted.
    pub async fn mirror_rows(&self, sr: &Handle) -> Result<Rows> {
        let quoted: Vec<String> = self.cols.iter().map(|c| format!("`{c}`")).collect();
        let mut rows = sr_rows(
            sr,
            &format!(
                "SELECT {} FROM `{}`.`{}`",
                quoted.join(", "),
                self.db(),
                self.name
            ),
        )
        .await?;
        rows.sort();
        Ok(rows)
    }

    /// Waits until the mirror exists with the compared columns.
    pub async fn wait_mirror(&self, agent: &Agent, sr: &Handle) -> Result<Duration> {
        let (_, took) = wait_until(
            agent,
            &format!("mirror {} created", self.source()),
            CONVERGE,
            || async {
                let cols = sr_columns(sr, self.db(), &self.name).await?;
                Ok(self
                    .cols
                    .iter()
                    .all(|c| cols.iter().any(|x| x == c))
                    .then_some(()))
            },
        )
        .await?;
        Ok(took)
    }

    /// Waits until the mirror equals the source row by row; on timeout the
    /// error shows the first differences.
    pub async fn wait_equal(&self, agent: &Agent, sr: &Handle, stack: &Stack) -> Result<Duration> {
        let want = self.source_rows(stack).await?;
        let started = Instant::now();
        let mut last = Rows::new();
        loop {
            last = match self.mirror_rows(sr).await {
                Ok(rows) => rows,
                Err(_) => last,
            };
            if last == want {
                return Ok(started.elapsed());
            }
            if started.elapsed() > CONVERGE {
                return Err(format!(
                    "mirror {} != source after {CONVERGE:?}: {}\nAgent log (tail):\n{}",
                    self.source(),
                    diff(&want, &last),
                    agent.log_tail(60)
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Text cells of a MariaDB row (text protocol: every value is bytes).
fn text_cells(r: mysql_async::Row) -> Vec<Option<String>> {
    (0..r.len())
        .map(|i| match r.as_ref(i) {
            Some(mysql_async::Value::NULL) | None => None,
            Some(mysql_async::Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            Some(v) => Some(v.as_sql(true).trim_matches('\'').to_owned()),
        })
        .collect()
}

/// A short description of how `got` differs from `want`.
pub fn diff(want: &Rows, got: &Rows) -> String {
    let w: BTreeSet<&Vec<Option<String>>> = want.iter().collect();
    let g: BTreeSet<&Vec<Option<String>>> = got.iter().collect();
    let short = |r: &Vec<Option<String>>| -> String {
        let cells: Vec<String> = r
            .iter()
            .map(|c| match c {
                Some(s) if s.len() > 40 => format!("{}…({} chars)", &s[..40], s.len()),
                Some(s) => s.clone(),
                None => "NULL".into(),
            })
            .collect();
        format!("[{}]", cells.join(", "))
    };
    let missing: Vec<String> = w.difference(&g).take(5).map(|r| short(r)).collect();
    let extra: Vec<String> = g.difference(&w).take(5).map(|r| short(r)).collect();
    format!(
        "source {} rows, mirror {} rows; {} missing from the mirror (first: {}); {} not in the source (first: {}); duplicates in mirror: {}",
        want.len(),
        got.len(),
        w.difference(&g).count(),
        missing.join(" "),
        g.difference(&w).count(),
        extra.join(" "),
        got.len() - g.len()
    )
}

/// Writes the harness config with `targets = ["mirror", "raw"]` when `raw`.
pub fn config(
    dir: &Path,
    stack: &Stack,
    sr: &Handle,
    srcs: &[&Src],
    extra: &str,
    raw: bool,
) -> PathBuf {
    let sources: Vec<String> = srcs.iter().map(|s| s.source()).collect();
    let path = write_config(dir, stack, sr, &sources, extra);
    if raw {
        let text = std::fs::read_to_string(&path).expect("config");
        let text = text.replace("targets = [\"mirror\"]", "targets = [\"mirror\", \"raw\"]");
        std::fs::write(&path, text).expect("config written");
    }
    path
}

/// The `[loader]` section for `srcs`.
pub fn loader_section(srcs: &[&Src], more: &str) -> String {
    let topics: Vec<String> = srcs.iter().map(|s| format!("{:?}", s.topic)).collect();
    // Consumer groups on the stack's tansu join in about session.timeout.ms / 2
    // (docs/test-stack.md): the broker's minimum.
    format!(
        "[loader]\ntopics = [{}]\nbatch_age_ms = 300\n{more}\n\n[kafka.properties]\n\
         \"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"1000\"\n",
        topics.join(", ")
    )
}

/// The consumer group of a config (`[kafka] group_id`).
pub fn group_id(config: &Path) -> String {
    let text = std::fs::read_to_string(config).expect("config");
    text.lines()
        .find_map(|l| l.strip_prefix("group_id = "))
        .expect("group_id")
        .trim_matches('"')
        .to_owned()
}

/// Waits until `topic` exists with at least one record.
pub async fn wait_topic(stack: &Stack, topic: &str) -> Result {
    stack
        .wait_for(topic, "first record", |rs| !rs.is_empty())
        .await?;
    Ok(())
}

/// (partition, offset) of every record of `topic` that has a value (the
/// Debezium events; tombstones are left out), read up to the high watermarks.
pub async fn topic_events(stack: &Stack, topic: &str) -> Result<BTreeSet<(i32, i64)>> {
    Ok(topic_records(stack, topic)
        .await?
        .iter()
        .filter(|r| r.value.is_some())
        .map(|r| (r.partition, r.offset))
        .collect())
}

/// Every record of `topic` up to and including the sentinel row's insert
/// (see [`Src::sentinel`]; the stack's tansu broker reports end offsets
/// that lag, so the end of a topic is found by content, not by watermarks).
pub async fn topic_records(stack: &Stack, topic: &str) -> Result<Vec<ddlsync::kafka::Record>> {
    let mut looked = 0;
    let read = ddlsync::kafka::read_until(
        &stack.consumer_properties(),
        topic,
        Duration::from_secs(90),
        |rs| {
            let found = rs[looked..].iter().any(|r| is_row(r, SENTINEL));
            looked = rs.len();
            found
        },
    )
    .await?;
    if !read.satisfied {
        return Err(format!(
            "{topic}: the sentinel row {SENTINEL} not read within 90 s ({} records)",
            read.records.len()
        )
        .into());
    }
    let mut seen = BTreeSet::new();
    Ok(read
        .records
        .into_iter()
        .filter(|r| seen.insert((r.partition, r.offset)))
        .collect())
}

/// (partition, offset) of every row of the raw table, with repeats.
pub async fn raw_coords(sr: &Handle, src: &Src) -> Result<Vec<(i32, i64)>> {
    let rows = sr_rows(
        sr,
        &format!(
            "SELECT `topic`, `partition`, `offset` FROM `{}`.`{}_cdc_raw`",
            src.db(),
            src.name
        ),
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let topic = r[0].clone().unwrap_or_default();
        if topic != src.topic {
            return Err(format!("raw row of another topic: {r:?}").into());
        }
        let p: i32 = r[1].as_deref().unwrap_or("").parse()?;
        let o: i64 = r[2].as_deref().unwrap_or("").parse()?;
        out.push((p, o));
    }
    Ok(out)
}

/// Waits until the raw table holds as many rows as the topic has events,
/// then asserts each event is there exactly once (and nothing else).
pub async fn check_raw_exactly_once(
    agent: &Agent,
    sr: &Handle,
    stack: &Stack,
    src: &Src,
) -> Result<usize> {
    let events = topic_events(stack, &src.topic).await?;
    let want = events.len();
    let started = Instant::now();
    let coords = loop {
        let coords = raw_coords(sr, src).await.unwrap_or_default();
        if coords.len() >= want || started.elapsed() > CONVERGE {
            break coords;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // Let a late duplicate show up before judging.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let coords = match raw_coords(sr, src).await {
        Ok(c) if c.len() >= coords.len() => c,
        _ => coords,
    };
    let mut count: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    for c in &coords {
        *count.entry(*c).or_default() += 1;
    }
    let dups: Vec<_> = count.iter().filter(|(_, n)| **n > 1).take(10).collect();
    let distinct: BTreeSet<(i32, i64)> = count.keys().copied().collect();
    let missing: Vec<_> = events.difference(&distinct).take(10).collect();
    let foreign: Vec<_> = distinct.difference(&events).take(10).collect();
    if coords.len() != want || distinct.len() != want || !missing.is_empty() || !foreign.is_empty()
    {
        return Err(format!(
            "raw {}: {} rows, {} distinct (topic,partition,offset), {} events in {}; \
             duplicated (first): {dups:?}; missing (first): {missing:?}; not in the topic: {foreign:?}\n\
             Agent log (tail):\n{}",
            src.raw(),
            coords.len(),
            distinct.len(),
            want,
            src.topic,
            agent.log_tail(40)
        )
        .into());
    }
    Ok(want)
}

/// A metric's value (`name{labels} value` or `name value`), summed over matching lines.
pub fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A seeded linear congruential generator (Knuth's MMIX constants).
pub struct Lcg(u64);

impl Lcg {
    /// Seeded.
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    /// Next value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}
