//! Routine Load bookkeeping (fact sheet §5.3): state machine, ALTER only when PAUSED,
//! column validation, and a job mapping a dropped column pauses.

mod starrocks_support;

use starrocks_support::*;

const CREATE: &str = r#"CREATE ROUTINE LOAD d.job_orders ON orders
COLUMNS (id, name, score, temp, __op = temp)
PROPERTIES (
  "format" = "json",
  "jsonpaths" = "[\"$.id\",\"$.name\",\"$.score\",\"$.op\"]",
  "strip_outer_array" = "false",
  "desired_concurrent_number" = "3"
)
FROM KAFKA (
  "kafka_broker_list" = "127.0.0.1:9092",
  "kafka_topic" = "orders",
  "property.kafka_default_offsets" = "OFFSET_BEGINNING"
)"#;

async fn setup(sr: &Sr) -> mysql_async::Conn {
    let mut c = sr.conn().await;
    exec(&mut c, "CREATE DATABASE d").await;
    exec(&mut c, "USE d").await;
    exec(&mut c, "CREATE TABLE orders (id INT NOT NULL, name VARCHAR(20), score INT) PRIMARY KEY(id) DISTRIBUTED BY HASH(id)").await;
    exec(&mut c, CREATE).await;
    c
}

async fn state(c: &mut mysql_async::Conn) -> (String, String) {
    let (cols, r) = rows_named(c, "SHOW ROUTINE LOAD FOR d.job_orders").await;
    let st = cols.iter().position(|x| x == "State").unwrap();
    let rs = cols
        .iter()
        .position(|x| x == "ReasonOfStateChanged")
        .unwrap();
    (
        r[0][st].clone().unwrap(),
        r[0][rs].clone().unwrap_or_default(),
    )
}

#[tokio::test]
async fn pause_alter_resume_stop() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    assert_eq!(state(&mut c).await.0, "RUNNING");
    let (code, msg) = err(
        &mut c,
        "ALTER ROUTINE LOAD FOR d.job_orders COLUMNS(id, name)",
    )
    .await;
    assert_eq!(code, 1064);
    assert_eq!(msg, "Only supports modification of PAUSED jobs");
    exec(&mut c, "PAUSE ROUTINE LOAD FOR d.job_orders").await;
    assert_eq!(state(&mut c).await.0, "PAUSED");
    let (_, msg) = err(
        &mut c,
        "ALTER ROUTINE LOAD FOR d.job_orders COLUMNS(id, nope)",
    )
    .await;
    assert!(msg.contains("nope"), "{msg}");
    exec(
        &mut c,
        r#"ALTER ROUTINE LOAD FOR d.job_orders COLUMNS(id, name) PROPERTIES ("jsonpaths" = "[\"$.id\",\"$.name\"]")"#,
    )
    .await;
    let r = rows(&mut c, "SHOW ROUTINE LOAD FOR job_orders").await;
    let jp = r[0][10].clone().unwrap();
    assert!(jp.contains(r#""columnToColumnExpr":"id,name""#), "{jp}");
    exec(&mut c, "RESUME ROUTINE LOAD FOR d.job_orders").await;
    assert_eq!(state(&mut c).await.0, "RUNNING");
    exec(&mut c, "STOP ROUTINE LOAD FOR d.job_orders").await;
    assert_eq!(state(&mut c).await.0, "STOPPED");
    assert!(rows(&mut c, "SHOW ROUTINE LOAD").await.is_empty());
    assert_eq!(rows(&mut c, "SHOW ALL ROUTINE LOAD").await.len(), 1);
    assert_eq!(
        err(&mut c, "RESUME ROUTINE LOAD FOR d.job_orders").await.0,
        1064
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn create_validates_columns() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    let bad = CREATE
        .replace("job_orders", "job2")
        .replace("score, temp", "missing_col, temp");
    let (_, msg) = err(&mut c, &bad).await;
    assert!(msg.contains("missing_col"), "{msg}");
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn dropping_a_mapped_column_pauses_the_job() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    assert_eq!(state(&mut c).await.0, "RUNNING");
    exec(&mut c, "ALTER TABLE orders DROP COLUMN score").await;
    wait_job(&mut c, "orders").await;
    let (st, reason) = state(&mut c).await;
    assert_eq!(st, "PAUSED");
    assert!(reason.contains("score"), "{reason}");
    sr.handle.shutdown().await;
}
