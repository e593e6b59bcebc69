//! The Stream Load client against the testkit StarRocks emulator over real HTTP: FE → BE
//! redirect with auth re-sent, labels and `Label Already Exists`, `__op` deletes, filtered
//! rows and ErrorURL, gzip, injected faults (Fail, Publish Timeout, refused connections),
//! and captured Debezium events converted, batched and loaded into a mirror and a raw table.

use std::time::{Duration, Instant};

use ddlsync::loader::batch::{Batch, Limits, Position};
use ddlsync::loader::convert::{Decoded, Decoder, TableOptions, OP_COLUMN};
use ddlsync::loader::retry::{Backoff, Outcome, RetryReason};
use ddlsync::loader::stream_load::{Client, ClientConfig, LoadRequest};
use mysql_async::prelude::Queryable;
use serde_json::{json, Value};
use testkit::starrocks::{Config, Handle, Server};

async fn start() -> Handle {
    Server::start(Config::default())
        .await
        .expect("emulator starts")
}

async fn sql(h: &Handle, stmts: &[&str]) -> Vec<Vec<Option<String>>> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(h.query_addr().port())
        .user(Some("root"))
        .pass(Some(""))
        .prefer_socket(false);
    let mut c = mysql_async::Conn::new(opts).await.expect("connects");
    let mut last = Vec::new();
    for s in stmts {
        let rows: Vec<mysql_async::Row> = c.query(*s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
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
    last
}

async fn setup(h: &Handle) {
    sql(
        h,
        &[
            "CREATE DATABASE d",
            "CREATE TABLE d.pk (id INT NOT NULL, name VARCHAR(5), score INT) PRIMARY KEY(id) DISTRIBUTED BY HASH(id)",
        ],
    )
    .await;
}

fn client(h: &Handle) -> Client {
    Client::new(ClientConfig {
        fe_url: format!("http://{}", h.http_addr()),
        timeout: Duration::from_secs(10),
        gzip_min_bytes: None,
        ..ClientConfig::default()
    })
    .expect("client")
}

fn fast() -> Backoff {
    Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
        max_attempts: Some(50),
        ..Backoff::default()
    }
}

fn req<'a>(table: &'a str, label: &'a str, body: &'a [u8]) -> LoadRequest<'a> {
    LoadRequest {
        db: "d",
        table,
        label,
        columns: None,
        partial_update: false,
        max_filter_ratio: None,
        body: bytes::Bytes::copy_from_slice(body),
    }
}

async fn faults(h: &Handle, body: &str) {
    let r = reqwest::Client::new()
        .post(format!("http://{}/_testkit/faults", h.http_addr()))
        .body(body.to_string())
        .send()
        .await
        .expect("faults endpoint");
    assert_eq!(r.status().as_u16(), 200);
}

async fn count(h: &Handle, table: &str) -> String {
    sql(h, &[&format!("SELECT COUNT(*) FROM d.{table}")]).await[0][0]
        .clone()
        .unwrap_or_default()
}

#[tokio::test]
async fn loads_through_the_redirect_and_never_twice_under_one_label() {
    let h = start().await;
    setup(&h).await;
    let c = client(&h);
    let body = br#"[{"id": 1, "name": "a", "score": 1, "__op": 0}, {"id": 2, "name": "b", "score": 2, "__op": 0}]"#;
    let cols: Vec<String> = ["id", "name", "score", OP_COLUMN]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let r = LoadRequest {
        columns: Some(&cols),
        ..req("pk", "l_one", body)
    };
    let a = c.load(&r).await.expect("attempt");
    assert_eq!(
        a.outcome,
        Outcome::Loaded {
            rows: 2,
            publish_pending: false
        },
        "{a:?}"
    );
    assert_eq!(a.response.as_ref().map(|r| r.label.as_str()), Some("l_one"));
    let again = c.load(&r).await.expect("attempt");
    assert!(
        matches!(again.outcome, Outcome::AlreadyLoaded { .. }),
        "{again:?}"
    );
    assert_eq!(count(&h, "pk").await, "2");
    // Delete through __op = 1.
    let del = br#"[{"id": 1, "__op": 1}]"#;
    let a = c
        .load(&LoadRequest {
            columns: Some(&cols),
            ..req("pk", "l_del", del)
        })
        .await
        .expect("attempt");
    assert!(a.outcome.is_durable(), "{a:?}");
    assert_eq!(
        sql(&h, &["SELECT id FROM d.pk"]).await,
        vec![vec![Some("2".to_string())]]
    );
    h.shutdown().await;
}

/// The FE redirects after the request head and never reads a body: a body
/// far larger than the socket buffers must go to the BE only.
#[tokio::test]
async fn a_large_body_goes_to_the_be_only() {
    let h = start().await;
    setup(&h).await;
    let c = client(&h);
    let rows: Vec<String> = (0..200_000)
        .map(|i| {
            format!(
                r#"{{"id": {i}, "name": "n{}", "score": {i}, "__op": 0}}"#,
                i % 1000
            )
        })
        .collect();
    let body = format!("[{}]", rows.join(","));
    assert!(body.len() > 8 << 20, "{}", body.len());
    let a = c
        .load(&req("pk", "l_large", body.as_bytes()))
        .await
        .expect("attempt");
    assert_eq!(
        a.outcome,
        Outcome::Loaded {
            rows: 200_000,
            publish_pending: false
        },
        "{a:?}"
    );
    assert_eq!(count(&h, "pk").await, "200000");
    h.shutdown().await;
}

#[tokio::test]
async fn partial_update_keeps_the_columns_not_sent() {
    let h = start().await;
    setup(&h).await;
    let c = client(&h);
    let a = c
        .load(&req("pk", "p1", br#"[{"id": 5, "name": "x", "score": 7}]"#))
        .await
        .expect("attempt");
    assert!(a.outcome.is_durable(), "{a:?}");
    let cols: Vec<String> = ["id", "name"].iter().map(|s| s.to_string()).collect();
    let r = LoadRequest {
        columns: Some(&cols),
        partial_update: true,
        ..req("pk", "p2", br#"[{"id": 5, "name": "y"}]"#)
    };
    assert!(c.load(&r).await.expect("attempt").outcome.is_durable());
    let rows = sql(&h, &["SELECT name, score FROM d.pk WHERE id = 5"]).await;
    assert_eq!(
        rows,
        vec![vec![Some("y".to_string()), Some("7".to_string())]]
    );
    h.shutdown().await;
}

#[tokio::test]
async fn filtered_rows_come_with_their_reason() {
    let h = start().await;
    setup(&h).await;
    let c = client(&h);
    let body = br#"[{"id": 1, "name": "ok"}, {"id": 2, "name": "much too long"}]"#;
    let a = c.load(&req("pk", "f1", body)).await.expect("attempt");
    let Outcome::Filtered {
        committed: false,
        filtered: 1,
        error_url: Some(url),
        ..
    } = &a.outcome
    else {
        panic!("{a:?}");
    };
    let log = c.fetch_error_log(url).await.expect("error log");
    assert!(!log.is_empty());
    let r = LoadRequest {
        max_filter_ratio: Some(0.9),
        ..req("pk", "f2", body)
    };
    let a = c.load(&r).await.expect("attempt");
    assert!(
        matches!(
            a.outcome,
            Outcome::Filtered {
                committed: true,
                loaded: 1,
                filtered: 1,
                ..
            }
        ),
        "{a:?}"
    );
    assert_eq!(count(&h, "pk").await, "1");
    h.shutdown().await;
}

#[tokio::test]
async fn gzip_bodies_and_bad_credentials() {
    let h = start().await;
    setup(&h).await;
    let gz = Client::new(ClientConfig {
        fe_url: format!("http://{}", h.http_addr()),
        gzip_min_bytes: Some(0),
        ..ClientConfig::default()
    })
    .expect("client");
    let a = gz
        .load(&req("pk", "g1", br#"[{"id": 9, "name": "z"}]"#))
        .await
        .expect("attempt");
    assert!(
        matches!(a.outcome, Outcome::Loaded { rows: 1, .. }),
        "{a:?}"
    );
    let bad = Client::new(ClientConfig {
        fe_url: format!("http://{}", h.http_addr()),
        password: "wrong".into(),
        ..ClientConfig::default()
    })
    .expect("client");
    let a = bad.load(&req("pk", "g2", b"[]")).await.expect("attempt");
    assert!(matches!(a.outcome, Outcome::Fatal { .. }), "{a:?}");
    h.shutdown().await;
}

#[tokio::test]
async fn injected_faults_are_retried_with_the_same_label_or_not_at_all() {
    let h = start().await;
    setup(&h).await;
    let c = client(&h);
    faults(&h, r#"{"fail_stream_loads": 2}"#).await;
    let body = br#"[{"id": 1, "name": "a"}]"#;
    let first = c.load(&req("pk", "r1", body)).await.expect("attempt");
    assert!(
        matches!(
            first.outcome,
            Outcome::Retry {
                reason: RetryReason::LoadFailed,
                ..
            }
        ),
        "{first:?}"
    );
    let a = c
        .load_with_retry(&req("pk", "r1", body), &fast())
        .await
        .expect("attempt");
    assert!(matches!(a.outcome, Outcome::Loaded { .. }), "{a:?}");
    faults(&h, r#"{"publish_timeout_stream_loads": 1}"#).await;
    let a = c
        .load_with_retry(&req("pk", "r2", br#"[{"id": 2}]"#), &fast())
        .await
        .expect("attempt");
    assert_eq!(
        a.outcome,
        Outcome::Loaded {
            rows: 1,
            publish_pending: true
        }
    );
    faults(&h, r#"{"refuse_connections_ms": 400}"#).await;
    // A fresh client: pooled keep-alive connections were accepted before the fault.
    let c = client(&h);
    let refused = c
        .load(&req("pk", "r3", br#"[{"id": 3}]"#))
        .await
        .expect("attempt");
    assert!(
        matches!(
            refused.outcome,
            Outcome::Retry {
                reason: RetryReason::Connection,
                ..
            }
        ),
        "{refused:?}"
    );
    let a = c
        .load_with_retry(&req("pk", "r3", br#"[{"id": 3}]"#), &fast())
        .await
        .expect("attempt");
    assert!(a.outcome.is_durable(), "{a:?}");
    assert_eq!(count(&h, "pk").await, "3");
    h.shutdown().await;
}

#[tokio::test]
async fn captured_events_converted_batched_and_loaded() {
    let h = start().await;
    sql(
        &h,
        &[
            "CREATE DATABASE d",
            "CREATE TABLE d.customers (id INT NOT NULL, first_name VARCHAR(255), last_name VARCHAR(255), \
             email VARCHAR(255)) PRIMARY KEY(id) DISTRIBUTED BY HASH(id)",
            "CREATE TABLE d.customers_cdc_raw (topic VARCHAR(255), `partition` INT, `offset` BIGINT, op VARCHAR(1), \
             `before` JSON, `after` JSON, source_position VARCHAR(64), event_time DATETIME) \
             DUPLICATE KEY(topic) DISTRIBUTED BY HASH(topic)",
        ],
    )
    .await;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/debezium/captured/json/dbserver1.public.customers.jsonl"
    ))
    .expect("fixture");
    let mut dec = Decoder::default();
    let now = Instant::now();
    let mut mirror = Batch::new("d.customers", Limits::default());
    let mut raw = Batch::new("d.customers_cdc_raw", Limits::default());
    // Offsets 0-7: snapshot, insert, update, delete of 1004 and its tombstone (one schema).
    for line in text.lines().take(8) {
        let v: Value = serde_json::from_str(line).expect("line");
        let rec = ddlsync::loader::convert::Record {
            topic: v["topic"].as_str().expect("topic"),
            partition: 0,
            offset: v["offset"].as_i64().expect("offset"),
            key: v["key"].as_str(),
            value: v["payload"].as_str(),
        };
        let pos = Position {
            topic: rec.topic,
            partition: 0,
            offset: rec.offset,
        };
        match dec.decode(&rec, &TableOptions::default()).expect("decode") {
            Decoded::Tombstone => {
                let fp = mirror.fingerprint().unwrap_or_default().to_string();
                mirror.add(pos, &fp, &[] as &[Value], now).expect("add");
                raw.add(pos, &fp, &[] as &[Value], now).expect("add");
            }
            Decoded::Event(e) => {
                let rows: Vec<&str> = e.mirror.iter().map(|m| m.json.as_str()).collect();
                mirror
                    .add_json(pos, e.schema.fingerprint(), &rows, now)
                    .expect("add");
                let mut raw_row = String::new();
                if let Some(r) = &e.raw {
                    r.write_json(&mut raw_row);
                }
                let raw_rows: Vec<&str> = e.raw.iter().map(|_| raw_row.as_str()).collect();
                raw.add_json(pos, e.schema.fingerprint(), &raw_rows, now)
                    .expect("add");
            }
        }
    }
    let c = client(&h);
    let cols: Vec<String> = ["id", "first_name", "last_name", "email", OP_COLUMN]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let sealed = mirror.take().expect("batch");
    assert_eq!(
        (sealed.first_offset, sealed.last_offset, sealed.rows),
        (0, 7, 7)
    );
    let label = sealed.label();
    let r = LoadRequest {
        db: "d",
        table: "customers",
        columns: Some(&cols),
        ..req("customers", &label, &sealed.body)
    };
    let a = c.load_with_retry(&r, &fast()).await.expect("attempt");
    assert!(a.outcome.is_durable(), "{a:?}");
    let rows = sql(&h, &["SELECT id, email FROM d.customers ORDER BY id"]).await;
    let got: Vec<(String, String)> = rows
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap_or_default(),
                r[1].clone().unwrap_or_default(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("1001", "sally@new.example"),
        ("1002", "gbailey@foobar.com"),
        ("1003", "ed@walker.com"),
        ("1005", "kander@acme.com"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    // A replay of the same batch (crash before the offset commit) is not loaded twice.
    let again = c.load(&r).await.expect("attempt");
    assert!(
        matches!(again.outcome, Outcome::AlreadyLoaded { .. }),
        "{again:?}"
    );
    let sealed = raw.take().expect("raw batch");
    let label = sealed.label();
    let a = c
        .load_with_retry(&req("customers_cdc_raw", &label, &sealed.body), &fast())
        .await
        .expect("attempt");
    assert!(a.outcome.is_durable(), "{a:?}");
    assert_eq!(count(&h, "customers_cdc_raw").await, "7");
    let ops = sql(
        &h,
        &["SELECT op, COUNT(*) FROM d.customers_cdc_raw GROUP BY op ORDER BY op"],
    )
    .await;
    assert_eq!(ops.len(), 4, "{ops:?}");
    assert_eq!(json!(ops[0]), json!(["c", "1"]));
    h.shutdown().await;
}
