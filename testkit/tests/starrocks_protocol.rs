//! MySQL-protocol behaviour of the StarRocks emulator: authentication, version reporting,
//! session statements, USE, prepared statements, unsupported SQL and refused connections.

mod starrocks_support;

use mysql_async::prelude::Queryable;
use starrocks_support::*;
use testkit::starrocks::Config;

#[tokio::test]
async fn version_functions_report_the_configured_starrocks_version() {
    let sr = start_with(Config {
        version: "3.2.8".into(),
        ..Config::default()
    })
    .await;
    let mut c = sr.conn().await;
    let cv = scalar(&mut c, "SELECT current_version()").await.unwrap();
    assert!(cv.starts_with("3.2.8-"), "{cv}");
    assert_eq!(scalar(&mut c, "SELECT version()").await.unwrap(), "8.0.33");
    let vc = scalar(&mut c, "select @@version_comment limit 1")
        .await
        .unwrap();
    assert!(vc.starts_with("StarRocks version 3.2.8"), "{vc}");
    let (cols, _) = rows_named(&mut c, "SELECT current_version()").await;
    assert_eq!(cols, vec!["current_version()"]);
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn password_is_checked() {
    let sr = start_with(Config {
        password: "s3cret".into(),
        ..Config::default()
    })
    .await;
    assert!(sr.try_conn("wrong").await.is_err());
    let mut c = sr
        .try_conn("s3cret")
        .await
        .expect("right password connects");
    assert_eq!(scalar(&mut c, "SELECT 1 + 1").await.unwrap(), "2");
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn session_statements_and_use() {
    let sr = start().await;
    let mut c = sr.conn().await;
    exec(&mut c, "SET NAMES utf8mb4").await;
    exec(&mut c, "SET autocommit = 1").await;
    exec(&mut c, "set session query_timeout = 600").await;
    let packet = scalar(&mut c, "SELECT @@max_allowed_packet, @@wait_timeout")
        .await
        .unwrap();
    assert!(packet.parse::<u64>().unwrap() >= 16 << 20, "{packet}");
    let (code, msg) = err(&mut c, "USE nope").await;
    assert_eq!((code, msg.as_str()), (1049, "Unknown database 'nope'"));
    exec(&mut c, "CREATE DATABASE d").await;
    exec(&mut c, "USE d").await;
    assert_eq!(scalar(&mut c, "SELECT database()").await.unwrap(), "d");
    exec(
        &mut c,
        "CREATE TABLE t (id INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1",
    )
    .await;
    assert_eq!(
        rows(&mut c, "SHOW TABLES").await,
        vec![vec![Some("t".to_string())]]
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn unsupported_sql_answers_1064_naming_the_part_and_the_connection_survives() {
    let sr = start().await;
    let mut c = sr.conn().await;
    let (code, msg) = err(&mut c, "FROBNICATE THE TABLES").await;
    assert_eq!(code, 1064);
    assert!(msg.contains("FROBNICATE"), "{msg}");
    exec(&mut c, "CREATE DATABASE d").await;
    let (code, msg) = err(&mut c, "CREATE TABLE d.t (id INT) ENGINE=mysql").await;
    assert_eq!(code, 1064);
    assert!(msg.contains("ENGINE=mysql"), "{msg}");
    let (code, msg) = err(
        &mut c,
        "ALTER TABLE d.t ADD ROLLUP r1 (id), MODIFY COLUMN id BIGINT",
    )
    .await;
    assert_eq!(code, 1064, "{msg}");
    let (code, _) = err(&mut c, "SELECT * FROM d.missing").await;
    assert_eq!(code, 1064);
    assert_eq!(
        scalar(&mut c, "SELECT 'still alive'").await.unwrap(),
        "still alive"
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn prepared_statements_substitute_parameters() {
    let sr = start().await;
    let mut c = sr.conn().await;
    exec(&mut c, "CREATE DATABASE d").await;
    exec(&mut c, "CREATE TABLE d.t (id INT NOT NULL, name VARCHAR(20)) PRIMARY KEY(id) DISTRIBUTED BY HASH(id)").await;
    c.exec_drop("INSERT INTO d.t VALUES (?, ?)", (1, "it's"))
        .await
        .expect("insert with params");
    let name: Option<String> = c
        .exec_first("SELECT name FROM d.t WHERE id = ?", (1,))
        .await
        .expect("select with params");
    assert_eq!(name.as_deref(), Some("it's"));
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn refuse_connections_fault() {
    let sr = start().await;
    sr.faults(r#"{"refuse_connections_ms": 60000}"#).await;
    assert!(sr.try_conn("").await.is_err());
    sr.faults(r#"{"reset": true}"#).await;
    assert!(sr.try_conn("").await.is_ok());
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn mysql_async_pool_reuses_connections() {
    let sr = start().await;
    let url = sr.handle.mysql_url();
    let pool = mysql_async::Pool::new(url.as_str());
    for i in 0..3 {
        let mut c = pool.get_conn().await.expect("pooled connection");
        let v: Option<i64> = c
            .query_first(format!("SELECT {i} + 1"))
            .await
            .expect("query");
        assert_eq!(v, Some(i + 1));
        drop(c);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    pool.disconnect().await.expect("pool disconnects");
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn select_sleep_does_not_block_other_sessions() {
    let sr = start().await;
    let mut a = sr.conn().await;
    let mut b = sr.conn().await;
    let sleeper = tokio::spawn(async move {
        let v = scalar(&mut a, "SELECT SLEEP(1)").await;
        (a, v)
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    assert_eq!(scalar(&mut b, "SELECT 7").await.as_deref(), Some("7"));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let (_a, v) = sleeper.await.unwrap();
    assert_eq!(v.as_deref(), Some("0"));
    sr.handle.shutdown().await;
}
