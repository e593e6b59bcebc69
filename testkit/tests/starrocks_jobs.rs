//! Asynchronous schema-change jobs (fact sheet §1.2, §1.8): state machine, one job per
//! table, SHOW ALTER TABLE COLUMN columns, CANCEL, injected failures, persistence.

mod starrocks_support;

use std::time::{Duration, Instant};

use starrocks_support::*;
use testkit::starrocks::Config;

async fn setup(sr: &Sr) -> mysql_async::Conn {
    let mut c = sr.conn().await;
    exec(&mut c, "CREATE DATABASE db1").await;
    exec(&mut c, "USE db1").await;
    exec(
        &mut c,
        "CREATE TABLE t (id INT NOT NULL, v INT) PRIMARY KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1",
    )
    .await;
    c
}

#[tokio::test]
async fn job_goes_through_states_and_schema_changes_at_finished() {
    let sr = start_with(Config {
        job_ms: 1500,
        ..Config::default()
    })
    .await;
    let mut c = setup(&sr).await;
    exec(&mut c, "ALTER TABLE t MODIFY COLUMN v BIGINT").await;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // read the schema first: if the job is still unfinished afterwards, it was then too
        let ddl = show_create(&mut c, "t").await;
        let st = last_job_state(&mut c, "t").await.unwrap();
        if seen.last() != Some(&st) {
            seen.push(st.clone());
        }
        if st == "FINISHED" {
            break;
        }
        assert!(
            ddl.contains("`v` int(11) NULL"),
            "schema changed before FINISHED"
        );
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen.len() >= 2, "saw only {seen:?}");
    let order = ["PENDING", "WAITING_TXN", "RUNNING", "FINISHED"];
    let idx: Vec<usize> = seen
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(
        idx.windows(2).all(|w| w[0] < w[1]),
        "states out of order: {seen:?}"
    );
    assert!(show_create(&mut c, "t")
        .await
        .contains("`v` bigint(20) NULL"));
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn show_alter_table_column_has_starrocks_columns() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, "ALTER TABLE t ADD COLUMN w INT").await;
    let row = wait_job(&mut c, "t").await;
    let (cols, _) = rows_named(&mut c, "SHOW ALTER TABLE COLUMN FROM db1").await;
    assert_eq!(
        cols,
        vec![
            "JobId",
            "TableName",
            "CreateTime",
            "FinishTime",
            "IndexName",
            "IndexId",
            "OriginIndexId",
            "SchemaVersion",
            "TransactionId",
            "State",
            "Msg",
            "Progress",
            "Timeout"
        ]
    );
    assert_eq!(row[1].as_deref(), Some("t"));
    assert_eq!(row[9].as_deref(), Some("FINISHED"));
    assert!(row[3].is_some(), "FinishTime set");
    let filtered = rows(
        &mut c,
        "SHOW ALTER TABLE COLUMN WHERE TableName = \"t\" AND State = \"FINISHED\"",
    )
    .await;
    assert_eq!(filtered.len(), 1);
    let none = rows(&mut c, "SHOW ALTER TABLE COLUMN WHERE State = \"RUNNING\"").await;
    assert!(none.is_empty());
    // no rollup / optimize jobs exist, but the statements answer with StarRocks' columns
    assert!(rows(&mut c, "SHOW ALTER TABLE ROLLUP FROM db1")
        .await
        .is_empty());
    assert!(rows(&mut c, "SHOW ALTER TABLE OPTIMIZE").await.is_empty());
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn second_alter_while_a_job_runs_is_refused() {
    let sr = start_with(Config {
        job_ms: 60_000,
        ..Config::default()
    })
    .await;
    let mut c = setup(&sr).await;
    exec(&mut c, "ALTER TABLE t MODIFY COLUMN v BIGINT").await;
    let (code, msg) = err(&mut c, "ALTER TABLE t ADD COLUMN w INT").await;
    assert_eq!(code, 1064);
    assert!(
        msg.starts_with("A schema change operation is in progress on the table \"t\". Please wait until the current operation completes.\nTo check the status"),
        "{msg}"
    );
    // CANCEL ALTER TABLE COLUMN → CANCELLED, and the schema stays
    exec(&mut c, "CANCEL ALTER TABLE COLUMN FROM db1.t").await;
    assert_eq!(
        last_job_state(&mut c, "t").await.as_deref(),
        Some("CANCELLED")
    );
    assert!(show_create(&mut c, "t").await.contains("`v` int(11) NULL"));
    exec(&mut c, "ALTER TABLE t ADD COLUMN w INT").await;
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn injected_job_failure_ends_cancelled_with_msg() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    sr.faults(
        r#"{"fail_next_alter_jobs": {"table": "db1.t", "count": 1, "msg": "boom from test"}}"#,
    )
    .await;
    exec(&mut c, "ALTER TABLE t ADD COLUMN w INT").await;
    let row = wait_job(&mut c, "t").await;
    assert_eq!(row[9].as_deref(), Some("CANCELLED"));
    assert_eq!(row[10].as_deref(), Some("boom from test"));
    assert!(!show_create(&mut c, "t").await.contains("`w`"));
    // only one failure was asked for
    exec(&mut c, "ALTER TABLE t ADD COLUMN w INT").await;
    assert_eq!(wait_job(&mut c, "t").await[9].as_deref(), Some("FINISHED"));
    // statement-level fault
    sr.faults(r#"{"fail_alter_statements": "Table[t]'s state is not NORMAL. Do not allow doing ALTER ops"}"#).await;
    let (_, msg) = err(&mut c, "ALTER TABLE t ADD COLUMN z INT").await;
    assert!(msg.contains("is not NORMAL"));
    sr.faults(r#"{"fail_alter_statements": ""}"#).await;
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn order_by_runs_as_a_job() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, "ALTER TABLE t ORDER BY (v)").await;
    assert_eq!(wait_job(&mut c, "t").await[9].as_deref(), Some("FINISHED"));
    assert!(show_create(&mut c, "t").await.contains("ORDER BY(`v`)"));
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn running_job_and_rows_survive_a_restart_with_data_dir() {
    let dir = std::env::temp_dir().join(format!("testkit-sr-{}-{}", std::process::id(), line!()));
    std::fs::remove_dir_all(&dir).ok();
    let cfg = Config {
        data_dir: Some(dir.clone()),
        job_ms: 5_000,
        ..Config::default()
    };
    let sr = start_with(cfg.clone()).await;
    let mut c = setup(&sr).await;
    exec(&mut c, "INSERT INTO t VALUES (1, 10), (2, 20)").await;
    exec(&mut c, "ALTER TABLE t MODIFY COLUMN v BIGINT").await;
    assert_ne!(
        last_job_state(&mut c, "t").await.as_deref(),
        Some("FINISHED")
    );
    drop(c);
    sr.handle.shutdown().await;
    let sr = start_with(cfg).await;
    let mut c = sr.conn().await;
    exec(&mut c, "USE db1").await;
    assert_eq!(wait_job(&mut c, "t").await[9].as_deref(), Some("FINISHED"));
    assert!(show_create(&mut c, "t")
        .await
        .contains("`v` bigint(20) NULL"));
    assert_eq!(
        scalar(&mut c, "SELECT SUM(v) FROM t").await.as_deref(),
        Some("30")
    );
    sr.handle.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn job_duration_can_be_changed_through_faults() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    sr.faults(r#"{"job_ms": 60000}"#).await;
    exec(&mut c, "ALTER TABLE t MODIFY COLUMN v BIGINT").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_ne!(
        last_job_state(&mut c, "t").await.as_deref(),
        Some("FINISHED")
    );
    sr.handle.shutdown().await;
}
