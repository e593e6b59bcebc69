//! The raw table and the current-state view against the StarRocks emulator:
//! planned by `plan::derived` from the introspected target, carried out by
//! the executor (a second run issues no CREATE), loaded with raw rows by
//! Stream Load (insert, update, delete, key change), refreshed and read back;
//! then regenerated after an added column.

use std::time::Duration;

use ddlsync::capabilities::StarRocksVersion;
use ddlsync::catalog::Catalog;
use ddlsync::config::{Secret, StarRocksConfig};
use ddlsync::executor::{Executor, Options, RecordingObserver};
use ddlsync::loader::stream_load::{Client as LoadClient, ClientConfig, LoadRequest};
use ddlsync::model::{ColumnId, SourceColumn, SourceDialect, SourceTable, SourceType, TableId};
use ddlsync::plan::derived::{current_mv_id, diff_current_mv, diff_raw, raw_table_id};
use ddlsync::plan::{plan, Plan, PlanOptions};
use ddlsync::policy::RuleSet;
use ddlsync::starrocks::Client;
use ddlsync::types::MappingOptions;
use mysql_async::prelude::Queryable;
use serde_json::{json, Value};
use testkit::starrocks::{Config, Handle, Server};
use tokio_util::sync::CancellationToken;

fn target() -> TableId {
    TableId::new("shop", "orders")
}

fn col(id: u32, name: &str, ty: SourceType, nullable: bool) -> SourceColumn {
    SourceColumn {
        id: ColumnId(id),
        name: name.into(),
        former_names: vec![],
        position: id,
        ty,
        nullable,
        default: None,
        comment: None,
        auto_increment: false,
    }
}

fn orders(extra: bool) -> SourceTable {
    let mut columns = vec![
        col(1, "id", SourceType::named("BIGINT"), false),
        col(
            2,
            "name",
            SourceType {
                length: Some(20),
                ..SourceType::named("VARCHAR")
            },
            true,
        ),
        col(3, "qty", SourceType::named("INT"), true),
        col(4, "weight", SourceType::named("DOUBLE"), true),
    ];
    if extra {
        columns.push(col(5, "note", SourceType::named("TEXT"), true));
    }
    SourceTable {
        id: TableId::new("shop", "orders"),
        dialect: SourceDialect::Mysql,
        columns,
        primary_key: vec!["id".into()],
        charset: None,
        comment: None,
    }
}

struct Env {
    sr: Handle,
    client: Client,
    exec: Executor,
}

async fn start() -> Env {
    let sr = Server::start(Config {
        version: "3.3.5".into(),
        ..Config::default()
    })
    .await
    .expect("emulator");
    let client = Client::new(&StarRocksConfig {
        query: sr.query_addr().to_string(),
        http: None,
        user: "root".into(),
        password: Secret::default(),
        version: None,
        replication_num: 1,
    })
    .expect("client");
    client.execute("CREATE DATABASE shop").await.expect("db");
    let exec = Executor::new(
        client.clone(),
        Options {
            poll_interval: Duration::from_millis(50),
            job_timeout: Duration::from_secs(60),
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_millis(500),
            retry_budget: Duration::from_secs(30),
        },
    );
    Env { sr, client, exec }
}

impl Env {
    async fn catalog(&self) -> Catalog {
        self.client
            .introspect_with_views(&[raw_table_id(&target())], &["shop".to_string()])
            .await
            .expect("introspect")
    }

    async fn plan(&self, source: &SourceTable) -> Plan {
        let cat = self.catalog().await;
        let options = PlanOptions { replication_num: 1 };
        let raw = raw_table_id(&target());
        let diffs = vec![
            diff_raw(&source.id, &raw, &cat, &options),
            diff_current_mv(
                source,
                &raw,
                &current_mv_id(&target()),
                &cat,
                &MappingOptions::default(),
                &options,
            ),
        ];
        plan(
            &diffs,
            &RuleSet::defaults().expect("rules"),
            &cat,
            &"3.3.5".parse::<StarRocksVersion>().expect("version"),
            &options,
        )
    }

    /// Runs every table plan; returns the statements sent.
    async fn apply(&self, p: &Plan) -> Vec<String> {
        let mut sent = Vec::new();
        for t in &p.tables {
            let out = self
                .exec
                .run_plan(t, &RecordingObserver::default(), &CancellationToken::new())
                .await
                .expect("run");
            for r in out.reports {
                sent.extend(r.statements.iter().map(ToString::to_string));
            }
        }
        sent
    }

    async fn sql(&self, q: &str) -> Vec<Vec<Option<String>>> {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.sr.query_addr().port())
            .user(Some("root"))
            .pass(Some(""))
            .prefer_socket(false);
        let mut c = mysql_async::Conn::new(opts).await.expect("connects");
        let rows: Vec<mysql_async::Row> = c.query(q).await.unwrap_or_else(|e| panic!("{q}: {e}"));
        let out = rows
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
        c.disconnect().await.ok();
        out
    }

    async fn load(&self, label: &str, rows: &[Value]) {
        let c = LoadClient::new(ClientConfig {
            fe_url: format!("http://{}", self.sr.http_addr()),
            timeout: Duration::from_secs(10),
            gzip_min_bytes: None,
            ..ClientConfig::default()
        })
        .expect("client");
        let body = serde_json::to_vec(&Value::Array(rows.to_vec())).expect("body");
        let a = c
            .load(&LoadRequest {
                db: "shop",
                table: "orders_cdc_raw",
                label,
                columns: None,
                partial_update: false,
                max_filter_ratio: None,
                body: body.into(),
            })
            .await
            .expect("load");
        assert!(a.outcome.is_durable(), "{a:?}");
    }

    async fn current(&self) -> Vec<Vec<Option<String>>> {
        self.sql("REFRESH MATERIALIZED VIEW shop.orders_current")
            .await;
        self.sql("SELECT * FROM shop.orders_current ORDER BY id")
            .await
    }
}

/// A raw row as the loader's `RawRow::to_json` writes it.
fn raw(op: &str, before: Value, after: Value, offset: i64) -> Value {
    json!({
        "op": op,
        "before": before,
        "after": after,
        "source_position": format!("mysql:bin.000001:{:020}:0000000000", offset * 100),
        "event_time": "2026-11-25 14:00:00",
        "topic": "shop.shop.orders",
        "partition": 0,
        "offset": offset,
    })
}

fn row(cells: &[Option<&str>]) -> Vec<Option<String>> {
    cells.iter().map(|c| c.map(str::to_string)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_rows_become_the_current_state() {
    let env = start().await;
    let p = env.plan(&orders(false)).await;
    let first = env.apply(&p).await;
    let creates = |sent: &[String]| {
        sent.iter()
            .filter(|s| s.starts_with("CREATE") && !s.starts_with("CREATE DATABASE"))
            .count()
    };
    assert_eq!(creates(&first), 2, "{first:#?}");
    // The same plan again: everything is there, nothing is sent.
    let second = env.apply(&p).await;
    assert!(second.is_empty(), "{second:#?}");
    // And a new plan finds the target in sync.
    let again = env.plan(&orders(false)).await;
    assert!(again.is_in_sync(), "{again:#?}");

    let a1 = json!({"id": 1, "name": "ann", "qty": 3, "weight": 1.5});
    let b1 = json!({"id": 2, "name": "bob", "qty": 1, "weight": 2.0});
    env.load(
        "l1",
        &[
            raw("r", Value::Null, a1.clone(), 0),
            raw("c", Value::Null, b1.clone(), 1),
        ],
    )
    .await;
    assert_eq!(
        env.current().await,
        vec![
            row(&[Some("1"), Some("ann"), Some("3"), Some("1.5")]),
            row(&[Some("2"), Some("bob"), Some("1"), Some("2")]),
        ]
    );
    // Update 1, delete 2, change the key of 1 to 10 (delete + create), insert 3.
    let a2 = json!({"id": 1, "name": "ann", "qty": 4, "weight": null});
    let a10 = json!({"id": 10, "name": "ann", "qty": 4, "weight": null});
    let c1 = json!({"id": 3, "name": "cy", "qty": null, "weight": 0.25});
    env.load(
        "l2",
        &[
            raw("u", a1, a2.clone(), 2),
            raw("d", b1, Value::Null, 3),
            raw("d", a2, Value::Null, 4),
            raw("c", Value::Null, a10, 5),
            raw("c", Value::Null, c1, 6),
            raw("t", Value::Null, Value::Null, 7),
        ],
    )
    .await;
    let now = env.current().await;
    assert_eq!(
        now,
        vec![
            row(&[Some("3"), Some("cy"), None, Some("0.25")]),
            row(&[Some("10"), Some("ann"), Some("4"), None]),
        ]
    );

    // A new column: the view is regenerated, once, and reads it.
    let p = env.plan(&orders(true)).await;
    let sent = env.apply(&p).await;
    assert_eq!(
        sent.iter()
            .filter(|s| s.starts_with("DROP MATERIALIZED VIEW"))
            .count(),
        1,
        "{sent:#?}"
    );
    assert_eq!(creates(&sent), 1, "{sent:#?}");
    assert!(env.apply(&p).await.is_empty());
    assert!(env.plan(&orders(true)).await.is_in_sync());
    env.load(
        "l3",
        &[raw(
            "u",
            json!({"id": 3}),
            json!({"id": 3, "name": "cy", "qty": 9, "weight": 0.25, "note": "hi"}),
            8,
        )],
    )
    .await;
    let now = env.current().await;
    assert_eq!(
        now,
        vec![
            row(&[Some("3"), Some("cy"), Some("9"), Some("0.25"), Some("hi")]),
            row(&[Some("10"), Some("ann"), Some("4"), None, None]),
        ]
    );
    env.client.disconnect().await;
    env.sr.shutdown().await;
}
