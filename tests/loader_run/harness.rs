//! Test harness: the local stack's Kafka (skipped with a note when it is not
//! up, unless `STACK_REQUIRED=1`), the StarRocks emulator in-process,
//! Debezium-shaped PostgreSQL JSON events with inline schemas, and a loader
//! run in the background.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ddlsync::config::Config;
use ddlsync::gate::Gates;
use ddlsync::loader::run::{self, Deps, Summary};
use ddlsync::metrics::Metrics;
use ddlsync::model::TableId;
use mysql_async::prelude::Queryable;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{json, Value};
use testkit::starrocks::{Handle, Server};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[allow(dead_code)]
#[path = "../e2e/stack.rs"]
mod stack;

/// How long a test waits for the loader to converge.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A stack variable (`STACK_REGISTRY`, `STACK_AVRO_PG_PREFIX`, ...).
pub fn stack_var(key: &str) -> Option<String> {
    stack::stack().map(|s| s.var(key).to_owned())
}

/// Runs SQL on the stack's PostgreSQL (captured by its Debezium connectors).
pub async fn pg(sql: &str) {
    let s = stack::stack().expect("stack");
    let c = s.postgres().await.expect("postgres");
    c.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Kafka of the stack and an emulator.
pub struct Env {
    /// Bootstrap servers.
    pub kafka: String,
    /// The emulator.
    pub sr: Handle,
    /// A name part unique to this test.
    pub id: String,
}

/// The environment, or `None` (stack not up, test skipped with a note).
pub async fn env(name: &str) -> Option<Env> {
    stack::stack()?;
    let sr = Server::start(testkit::starrocks::Config::default())
        .await
        .expect("emulator starts");
    env_with(name, sr)
}

/// The environment with an emulator started elsewhere (a bench runs it on a runtime of its own).
pub fn env_with(name: &str, sr: Handle) -> Option<Env> {
    let stack = stack::stack()?;
    Some(Env {
        kafka: stack.kafka().to_owned(),
        sr,
        id: stack::table(name),
    })
}

impl Env {
    /// Runs statements on the emulator; the last one's rows as text.
    pub async fn sql(&self, stmts: &[&str]) -> Vec<Vec<Option<String>>> {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.sr.query_addr().port())
            .user(Some("root"))
            .pass(Some(""))
            .prefer_socket(false);
        let mut c = mysql_async::Conn::new(opts).await.expect("connects");
        let mut last = Vec::new();
        for s in stmts {
            let rows: Vec<mysql_async::Row> =
                c.query(*s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
            last = rows
                .into_iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| match r.as_ref(i) {
                            Some(mysql_async::Value::NULL) | None => None,
                            Some(mysql_async::Value::Bytes(b)) => {
                                Some(String::from_utf8_lossy(b).into_owned())
                            }
                            Some(v) => Some(v.as_sql(true).trim_matches('\'').to_string()),
                        })
                        .collect()
                })
                .collect();
        }
        c.disconnect().await.ok();
        last
    }

    /// Creates `d.<table>` (id INT key, name, note) and its raw table.
    pub async fn create_tables(&self, table: &str, extra: &str) {
        let mirror = format!(
            "CREATE TABLE d.{table} (id INT NOT NULL, name VARCHAR(64), note VARCHAR(64){extra}) \
             PRIMARY KEY(id) DISTRIBUTED BY HASH(id)"
        );
        let raw = format!(
            "CREATE TABLE d.{table}_cdc_raw (topic VARCHAR(255), `partition` INT, `offset` BIGINT, op VARCHAR(1), \
             `before` JSON, `after` JSON, source_position VARCHAR(64), event_time DATETIME) \
             DUPLICATE KEY(topic) DISTRIBUTED BY HASH(topic)"
        );
        self.sql(&["CREATE DATABASE IF NOT EXISTS d", &mirror, &raw])
            .await;
    }

    /// The mirror's rows `id|name|note`, sorted by id.
    pub async fn mirror(&self, table: &str) -> Vec<String> {
        self.rows(&format!("SELECT id, name, note FROM d.{table} ORDER BY id"))
            .await
    }

    /// The rows of a query, each as its values joined by `|` (`NULL` for null).
    pub async fn rows(&self, query: &str) -> Vec<String> {
        self.sql(&[query])
            .await
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|c| c.unwrap_or_else(|| "NULL".into()))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    /// The raw table's `(partition, offset)` pairs, sorted (duplicates kept).
    pub async fn raw(&self, table: &str) -> Vec<(i64, i64)> {
        let mut v: Vec<(i64, i64)> = self
            .sql(&[&format!(
                "SELECT `partition`, `offset` FROM d.{table}_cdc_raw"
            )])
            .await
            .into_iter()
            .map(|r| {
                let n = |i: usize| {
                    r.get(i)
                        .cloned()
                        .flatten()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(-1)
                };
                (n(0), n(1))
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// Sets emulator faults.
    pub async fn faults(&self, body: &str) {
        let r = reqwest::Client::new()
            .post(format!("http://{}/_testkit/faults", self.sr.http_addr()))
            .body(body.to_string())
            .send()
            .await
            .expect("faults endpoint");
        assert_eq!(r.status().as_u16(), 200, "faults {body}");
    }

    /// Creates a topic with `partitions` partitions.
    pub async fn topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.kafka)
            .create()
            .expect("admin client");
        let t = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        let r = admin
            .create_topics([&t], &AdminOptions::new())
            .await
            .expect("create topics");
        for x in r {
            if let Err((t, e)) = x {
                if e != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                    panic!("create topic {t}: {e}");
                }
            }
        }
    }

    /// A producer.
    pub fn producer(&self) -> Producer {
        Producer(
            ClientConfig::new()
                .set("bootstrap.servers", &self.kafka)
                .set("acks", "all")
                .create()
                .expect("producer"),
        )
    }

    /// The loader configuration for these topics and tables (`targets` as in
    /// `[[tables]]`), a fresh group per call unless `group` is given.
    pub fn config(
        &self,
        group: &str,
        topics: &[&str],
        tables: &[&str],
        extra_loader: &str,
    ) -> Arc<Config> {
        let topics: Vec<String> = topics.iter().map(|t| format!("\"{t}\"")).collect();
        // 200 ms batches unless the test sets its own.
        let age = if extra_loader.contains("batch_age_ms") {
            ""
        } else {
            "batch_age_ms = 200\n"
        };
        let mut text = format!(
            "[kafka]\nbootstrap_servers = \"{}\"\ngroup_id = \"{group}\"\n\
             [kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\"auto.offset.reset\" = \"earliest\"\n\
             [starrocks]\nquery = \"{}\"\nhttp = \"{}\"\n\
             [loader]\ntopics = [{}]\n{age}quarantine_topic = \"{}.quarantine\"\n{extra_loader}\n",
            self.kafka,
            self.sr.query_addr(),
            self.sr.http_addr(),
            topics.join(", "),
            self.id,
        );
        for t in tables {
            text.push_str(&format!(
                "[[tables]]\nsource = \"public.{t}\"\ntarget = \"d.{t}\"\ntargets = [\"mirror\", \"raw\"]\n"
            ));
        }
        Arc::new(
            Config::parse("test.toml", &text, &|_| None).unwrap_or_else(|e| panic!("{e}\n{text}")),
        )
    }
}

/// Gates that admit `id, name, note` (+ `extra`) for these tables.
pub fn open_gates(gates: &Gates, tables: &[&str], extra: &[&str]) {
    for t in tables {
        let mut cols: BTreeSet<String> = ["id", "name", "note"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        cols.extend(extra.iter().map(|s| s.to_string()));
        gates.set_columns(&TableId::new("d", *t), Some(cols));
    }
}

/// A producer of Debezium-shaped records.
pub struct Producer(FutureProducer);

impl Producer {
    /// Sends one record (value `None`: tombstone) and awaits delivery.
    pub async fn send(&self, topic: &str, partition: i32, key: Option<&str>, value: Option<&str>) {
        let mut rec: FutureRecord<'_, str, str> = FutureRecord::to(topic).partition(partition);
        if let Some(k) = key {
            rec = rec.key(k);
        }
        if let Some(v) = value {
            rec = rec.payload(v);
        }
        self.0
            .send(rec, Duration::from_secs(30))
            .await
            .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
    }

    /// Sends a Debezium event of `public.<table>`.
    pub async fn event(&self, topic: &str, partition: i32, ev: &Ev) {
        let (k, v) = ev.render();
        self.send(topic, partition, Some(&k), v.as_deref()).await;
    }
}

/// One Debezium PostgreSQL change event of `public.<table>` with columns
/// `id int32, name string?, note string?` (+ `extra` string? columns).
#[derive(Debug, Clone)]
pub struct Ev {
    /// Source table name.
    pub table: String,
    /// c, u, d, r, t.
    pub op: &'static str,
    /// Before row.
    pub before: Option<Value>,
    /// After row.
    pub after: Option<Value>,
    /// Extra optional string columns.
    pub extra: Vec<String>,
    /// LSN.
    pub lsn: i64,
}

fn field(name: &str, ty: &str, optional: bool) -> Value {
    json!({"type": ty, "optional": optional, "field": name})
}

impl Ev {
    /// An insert.
    pub fn insert(table: &str, id: i64, name: &str, note: &str) -> Ev {
        Ev {
            table: table.into(),
            op: "c",
            before: None,
            after: Some(json!({"id": id, "name": name, "note": note})),
            extra: Vec::new(),
            lsn: id,
        }
    }

    /// An update from `before` to `after`.
    pub fn update(table: &str, before: Value, after: Value) -> Ev {
        Ev {
            table: table.into(),
            op: "u",
            before: Some(before),
            after: Some(after),
            extra: Vec::new(),
            lsn: 0,
        }
    }

    /// A delete.
    pub fn delete(table: &str, id: i64) -> Ev {
        Ev {
            table: table.into(),
            op: "d",
            before: Some(json!({"id": id, "name": null, "note": null})),
            after: None,
            extra: Vec::new(),
            lsn: 0,
        }
    }

    /// A truncate.
    pub fn truncate(table: &str) -> Ev {
        Ev {
            table: table.into(),
            op: "t",
            before: None,
            after: None,
            extra: Vec::new(),
            lsn: 0,
        }
    }

    /// With extra columns.
    pub fn with_extra(mut self, extra: &[&str]) -> Ev {
        self.extra = extra.iter().map(|s| s.to_string()).collect();
        self
    }

    /// (key text, value text).
    pub fn render(&self) -> (String, Option<String>) {
        let mut cols = vec![
            field("id", "int32", false),
            field("name", "string", true),
            field("note", "string", true),
        ];
        cols.extend(self.extra.iter().map(|c| field(c, "string", true)));
        let row = |f: &str| {
            json!({"type": "struct", "optional": true, "name": format!("dbserver1.public.{}.Value", self.table),
                   "field": f, "fields": cols})
        };
        let source_schema = json!({"type": "struct", "optional": false, "field": "source",
            "name": "io.debezium.connector.postgresql.Source", "fields": [
                field("version", "string", false), field("connector", "string", false),
                field("name", "string", false), field("ts_ms", "int64", false),
                field("db", "string", false), field("schema", "string", false),
                field("table", "string", false), field("lsn", "int64", true)]});
        let schema = json!({"type": "struct", "optional": false,
            "name": format!("dbserver1.public.{}.Envelope", self.table), "version": 2,
            "fields": [row("before"), row("after"), source_schema,
                       field("op", "string", false), field("ts_ms", "int64", true)]});
        let source = json!({"version": "3.6.3.Final", "connector": "postgresql", "name": "dbserver1",
            "ts_ms": 1_795_604_357_000i64, "db": "app", "schema": "public", "table": self.table, "lsn": self.lsn});
        let payload = json!({"before": self.before, "after": self.after, "source": source,
            "op": self.op, "ts_ms": 1_795_604_357_100i64});
        let value = json!({"schema": schema, "payload": payload}).to_string();
        let id = self
            .after
            .as_ref()
            .or(self.before.as_ref())
            .map(|r| r["id"].clone());
        let key = match id {
            Some(id) => json!({"schema": {"type": "struct", "optional": false,
                "name": format!("dbserver1.public.{}.Key", self.table),
                "fields": [field("id", "int32", false)]}, "payload": {"id": id}})
            .to_string(),
            None => "null".to_string(),
        };
        (key, Some(value))
    }
}

/// A loader running in the background.
pub struct Loader {
    task: JoinHandle<Result<Summary, run::Error>>,
    cancel: CancellationToken,
    /// Schema signals received.
    pub schemas:
        tokio::sync::mpsc::UnboundedReceiver<ddlsync::source::Located<ddlsync::source::Event>>,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
}

impl Loader {
    /// Starts `run`.
    pub fn start(config: Arc<Config>, gates: Arc<Gates>) -> Loader {
        // Logs with RUST_LOG (e.g. `ddlsync::loader=debug`), to the test's output.
        if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init()
                .ok();
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let metrics = Arc::new(Metrics::new());
        let deps = Deps {
            config,
            gates,
            metrics: metrics.clone(),
            schemas: tx,
            cancel: cancel.clone(),
        };
        Loader {
            task: tokio::spawn(run::run(deps)),
            cancel,
            schemas: rx,
            metrics,
        }
    }

    /// Kills the loader without a drain (a crash): the task is aborted, its
    /// in-flight loads with it; nothing is loaded or committed on the way out
    /// beyond what was already published as durable.
    pub async fn crash(self) -> String {
        let text = self.metrics.encode();
        self.task.abort();
        if let Ok(r) = self.task.await {
            eprintln!("the loader ended before the crash: {r:?}");
        }
        text
    }

    /// Cancels and returns the summary.
    pub async fn stop(self) -> Summary {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(90), self.task)
            .await
            .expect("loader stops within 90 s")
            .expect("loader task")
            .expect("loader ran")
    }
}

/// The sum of a metric's samples in Prometheus text (`name` exactly, any
/// label set whose line contains `filter`; "" for all).
pub fn metric(text: &str, name: &str, filter: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with([' ', '{']))
                && l.contains(filter)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Polls `check` until it returns `Ok`, or panics with its last `Err` at the deadline.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let end = Instant::now() + DEADLINE;
    loop {
        match check().await {
            Ok(()) => return,
            Err(e) if Instant::now() > end => {
                panic!("{what}: not reached within {DEADLINE:?}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
