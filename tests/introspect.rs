//! Introspection over the StarRocks emulator: the `information_schema`
//! catalog equals what `parse_catalog` reads from the same tables' `SHOW
//! CREATE` output, so the online and offline planners see the same data.

use ddlsync::catalog::parse_catalog;
use ddlsync::config::{Secret, StarRocksConfig};
use ddlsync::model::TableId;
use ddlsync::starrocks::Client;
use testkit::starrocks::{Config, Server};

fn client_for(addr: std::net::SocketAddr, version: Option<&str>) -> Client {
    Client::new(&StarRocksConfig {
        query: addr.to_string(),
        http: None,
        user: "root".into(),
        password: Secret::default(),
        version: version.map(str::to_string),
        replication_num: 1,
    })
    .expect("client")
}

const SETUP: &[&str] = &[
    "CREATE DATABASE shop",
    "CREATE TABLE shop.orders (id BIGINT NOT NULL COMMENT \"order id\", \
       customer VARCHAR(64) NULL, amount DECIMAL(10, 2) NULL DEFAULT \"0\", \
       created DATETIME NULL DEFAULT CURRENT_TIMESTAMP, note STRING NULL) \
       PRIMARY KEY(id) COMMENT \"orders table\" DISTRIBUTED BY HASH(id) BUCKETS 4 \
       PROPERTIES (\"replication_num\" = \"1\")",
    "CREATE TABLE shop.events (ts DATETIME NOT NULL, kind VARCHAR(20) NOT NULL, payload JSON NULL, \
       flag BOOLEAN NULL) DUPLICATE KEY(ts, kind) ORDER BY(kind, ts) DISTRIBUTED BY RANDOM BUCKETS 2",
    "CREATE TABLE shop.totals (day DATE NOT NULL, region VARCHAR(10) NOT NULL, \
       total BIGINT SUM NULL, last_seen DATETIME REPLACE NULL) \
       AGGREGATE KEY(day, region) DISTRIBUTED BY HASH(day) BUCKETS 1",
    "CREATE TABLE shop.daily (dt DATE NOT NULL, k INT NOT NULL, v SMALLINT NULL) \
       UNIQUE KEY(dt, k) PARTITION BY RANGE(dt) (PARTITION p1 VALUES LESS THAN (\"2026-01-01\")) \
       DISTRIBUTED BY HASH(dt, k) BUCKETS 3",
    "CREATE MATERIALIZED VIEW shop.order_totals DISTRIBUTED BY HASH(customer) REFRESH MANUAL \
       AS SELECT customer, SUM(amount) AS total FROM shop.orders GROUP BY customer",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn information_schema_catalog_equals_show_create_catalog() {
    let sr = Server::start(Config {
        version: "3.3.5".into(),
        ..Config::default()
    })
    .await
    .expect("emulator");
    let client = client_for(sr.query_addr(), None);
    for sql in SETUP {
        client.execute(sql).await.expect(sql);
    }
    let ids: Vec<TableId> = ["orders", "events", "totals", "daily"]
        .iter()
        .map(|t| TableId::new("shop", *t))
        .collect();

    // Offline: SHOW CREATE output of the same objects.
    let mut text = String::from("USE shop;\n");
    for id in &ids {
        let rows = client
            .query(&format!("SHOW CREATE TABLE shop.{}", id.table))
            .await
            .expect("show create");
        text.push_str(rows.rows[0][1].as_deref().unwrap());
        text.push('\n');
    }
    let rows = client
        .query("SHOW CREATE MATERIALIZED VIEW shop.order_totals")
        .await
        .expect("show create mv");
    text.push_str(rows.rows[0][1].as_deref().unwrap());
    text.push('\n');
    let offline = parse_catalog(&text, Some("shop")).expect("parse");

    let online = client.introspect(&ids).await.expect("introspect");
    assert_eq!(online.tables.len(), 4);
    for id in &ids {
        assert_eq!(online.tables[id], offline.tables[id], "table {id}");
    }
    assert_eq!(online.views, offline.views);
    let orders = &online.tables[&ids[0]];
    assert_eq!(orders.comment.as_deref(), Some("orders table"));
    assert!(online.tables[&ids[3]]
        .partition_clause
        .as_deref()
        .is_some_and(|p| p.contains("RANGE")));
    let mv = &online.views[&TableId::new("shop", "order_totals")];
    assert!(mv.reads[&ids[0]].contains("amount"));

    // A table that does not exist is absent; nothing asked, nothing read.
    let missing = client
        .introspect(&[TableId::new("shop", "nope")])
        .await
        .expect("introspect missing");
    assert!(missing.tables.is_empty());
    assert!(client
        .introspect(&[])
        .await
        .expect("empty")
        .tables
        .is_empty());

    // Inactive views carry StarRocks' reason.
    client
        .execute("ALTER TABLE shop.orders MODIFY COLUMN amount DECIMAL(12, 2) NULL DEFAULT \"0\"")
        .await
        .expect("modify");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let cat = client.introspect(&ids[..1]).await.expect("introspect");
        let mv = &cat.views[&TableId::new("shop", "order_totals")];
        if !mv.is_active {
            assert!(mv
                .inactive_reason
                .as_deref()
                .is_some_and(|r| r.contains("amount")));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "view never inactive");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    client.disconnect().await;
    sr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_from_server_or_config() {
    let sr = Server::start(Config {
        version: "3.2.11".into(),
        ..Config::default()
    })
    .await
    .expect("emulator");
    let client = client_for(sr.query_addr(), None);
    assert_eq!(
        client.version().await.expect("version").to_string(),
        "3.2.11"
    );
    let overridden = client_for(sr.query_addr(), Some("3.3.5"));
    assert_eq!(
        overridden.version().await.expect("version").to_string(),
        "3.3.5"
    );
    let jobs = client
        .alter_jobs(&TableId::new("information_schema", "x"))
        .await;
    assert!(jobs.is_err() || jobs.is_ok_and(|j| j.is_empty()));
    client.disconnect().await;
    overridden.disconnect().await;
    sr.shutdown().await;
}
