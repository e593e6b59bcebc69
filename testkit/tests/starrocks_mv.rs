//! Async materialized views (fact sheet §3): creation, SELECT, refresh, inactivation reasons
//! after base-table changes, ALTER ... ACTIVE / INACTIVE, SHOW CREATE MATERIALIZED VIEW.

mod starrocks_support;

use starrocks_support::*;

const MV: &str = "CREATE MATERIALIZED VIEW cur DISTRIBUTED BY HASH(id) REFRESH ASYNC AS \
    SELECT id, name FROM (SELECT id, get_json_string(payload, '$.name') AS name, \
    ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts DESC) AS rn FROM raw) t WHERE rn = 1";

async fn setup(sr: &Sr) -> mysql_async::Conn {
    let mut c = sr.conn().await;
    exec(&mut c, "CREATE DATABASE d").await;
    exec(&mut c, "USE d").await;
    exec(
        &mut c,
        "CREATE TABLE raw (id BIGINT NOT NULL, ts DATETIME NOT NULL, payload JSON, other INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id)",
    )
    .await;
    exec(
        &mut c,
        r#"INSERT INTO raw VALUES (1, '2024-01-01 00:00:00', '{"name":"x"}', 0), (1, '2024-01-02 00:00:00', '{"name":"y"}', 0)"#,
    )
    .await;
    exec(&mut c, MV).await;
    c
}

async fn mv_state(c: &mut mysql_async::Conn) -> (String, String) {
    let r = rows(
        c,
        "SELECT IS_ACTIVE, INACTIVE_REASON FROM information_schema.materialized_views WHERE TABLE_SCHEMA = 'd' AND TABLE_NAME = 'cur'",
    )
    .await;
    (
        r[0][0].clone().unwrap(),
        r[0][1].clone().unwrap_or_default(),
    )
}

#[tokio::test]
async fn mv_rows_follow_loads_and_refresh() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    assert_eq!(
        rows(&mut c, "SELECT id, name FROM cur").await,
        vec![vec![Some("1".into()), Some("y".into())]]
    );
    exec(
        &mut c,
        r#"INSERT INTO raw VALUES (2, '2024-01-03 00:00:00', '{"name":"z"}', 0)"#,
    )
    .await;
    exec(&mut c, "REFRESH MATERIALIZED VIEW cur WITH SYNC MODE").await;
    assert_eq!(
        scalar(&mut c, "SELECT COUNT(*) FROM cur").await.as_deref(),
        Some("2")
    );
    assert_eq!(mv_state(&mut c).await, ("true".into(), String::new()));
    let (cols, r) = rows_named(&mut c, "SHOW MATERIALIZED VIEWS FROM d LIKE 'cu%'").await;
    assert_eq!(
        &cols[..6],
        [
            "id",
            "database_name",
            "name",
            "refresh_type",
            "is_active",
            "inactive_reason"
        ]
    );
    assert_eq!(r[0][2].as_deref(), Some("cur"));
    assert_eq!(r[0][4].as_deref(), Some("true"));
    let (cols, r) = rows_named(&mut c, "SHOW CREATE MATERIALIZED VIEW cur").await;
    assert_eq!(cols, vec!["Materialized View", "Create Materialized View"]);
    let text = r[0][1].clone().unwrap();
    assert!(
        text.starts_with("CREATE MATERIALIZED VIEW `cur` (`id`, `name`)\n"),
        "{text}"
    );
    assert!(
        text.contains("REFRESH ASYNC") && text.contains("ROW_NUMBER()"),
        "{text}"
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn added_column_keeps_mv_active_and_dropped_column_inactivates_it() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, "ALTER TABLE raw ADD COLUMN extra INT").await;
    wait_job(&mut c, "raw").await;
    assert_eq!(mv_state(&mut c).await.0, "true");
    // a column the MV does not read
    exec(&mut c, "ALTER TABLE raw DROP COLUMN other").await;
    wait_job(&mut c, "raw").await;
    assert_eq!(mv_state(&mut c).await.0, "true");
    exec(&mut c, "ALTER TABLE raw DROP COLUMN payload").await;
    // inactive only once the job has finished
    wait_job(&mut c, "raw").await;
    assert_eq!(
        mv_state(&mut c).await,
        (
            "false".into(),
            "base table schema changed for columns: payload".into()
        )
    );
    // the inactive MV can still be queried
    assert_eq!(
        scalar(&mut c, "SELECT COUNT(*) FROM cur").await.as_deref(),
        Some("1")
    );
    let (code, msg) = err(&mut c, "ALTER MATERIALIZED VIEW cur ACTIVE").await;
    assert_eq!(code, 1064);
    assert!(
        msg.starts_with(
            "Can not active materialized view [cur] because analyze materialized view define sql"
        ),
        "{msg}"
    );
    let (_, msg) = err(&mut c, "REFRESH MATERIALIZED VIEW cur").await;
    assert!(msg.contains("not active"), "{msg}");
    // put the column back, then ACTIVE works and refreshes
    exec(&mut c, "ALTER TABLE raw ADD COLUMN payload JSON").await;
    wait_job(&mut c, "raw").await;
    exec(&mut c, "ALTER MATERIALIZED VIEW cur ACTIVE").await;
    assert_eq!(mv_state(&mut c).await, ("true".into(), String::new()));
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn modified_column_inactivates_mv() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, "ALTER TABLE raw MODIFY COLUMN ts DATE").await;
    wait_job(&mut c, "raw").await;
    assert_eq!(
        mv_state(&mut c).await,
        (
            "false".into(),
            "base table schema changed for columns: ts".into()
        )
    );
    exec(&mut c, "ALTER MATERIALIZED VIEW cur ACTIVE").await;
    assert_eq!(mv_state(&mut c).await.0, "true");
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn base_table_drop_rename_swap_reasons() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, "CREATE TABLE raw2 (id BIGINT NOT NULL, ts DATETIME NOT NULL, payload JSON, other INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id)").await;
    exec(&mut c, "ALTER TABLE raw SWAP WITH raw2").await;
    assert_eq!(
        mv_state(&mut c).await,
        ("false".into(), "base-table swapped: raw".into())
    );
    exec(&mut c, "ALTER MATERIALIZED VIEW cur ACTIVE").await;
    assert_eq!(mv_state(&mut c).await.0, "true");
    exec(&mut c, "ALTER TABLE raw RENAME raw3").await;
    assert_eq!(
        mv_state(&mut c).await,
        ("false".into(), "base-table renamed: raw".into())
    );
    exec(&mut c, "ALTER TABLE raw3 RENAME raw").await;
    exec(&mut c, "ALTER MATERIALIZED VIEW cur ACTIVE").await;
    exec(&mut c, "DROP TABLE raw").await;
    assert_eq!(
        mv_state(&mut c).await,
        ("false".into(), "base-table dropped: raw".into())
    );
    let (_, msg) = err(&mut c, "ALTER MATERIALIZED VIEW cur ACTIVE").await;
    assert!(
        msg.starts_with("Can not active materialized view [cur]"),
        "{msg}"
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn inactive_by_hand_manual_refresh_and_drop() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, "ALTER MATERIALIZED VIEW cur INACTIVE").await;
    assert_eq!(mv_state(&mut c).await.0, "false");
    exec(&mut c, "ALTER MATERIALIZED VIEW cur ACTIVE").await;
    exec(&mut c, "CREATE MATERIALIZED VIEW m2 REFRESH MANUAL AS SELECT id, COUNT(*) AS n FROM raw GROUP BY id").await;
    exec(
        &mut c,
        r#"INSERT INTO raw VALUES (5, '2024-01-01 00:00:00', '{}', 0)"#,
    )
    .await;
    assert_eq!(
        scalar(&mut c, "SELECT COUNT(*) FROM m2").await.as_deref(),
        Some("1")
    );
    exec(&mut c, "REFRESH MATERIALIZED VIEW m2").await;
    assert_eq!(
        scalar(&mut c, "SELECT COUNT(*) FROM m2").await.as_deref(),
        Some("2")
    );
    let r = rows(
        &mut c,
        "SELECT REFRESH_TYPE FROM information_schema.materialized_views WHERE TABLE_NAME = 'm2'",
    )
    .await;
    assert_eq!(r[0][0].as_deref(), Some("MANUAL"));
    exec(&mut c, "DROP MATERIALIZED VIEW m2").await;
    exec(&mut c, "DROP MATERIALIZED VIEW IF EXISTS m2").await;
    assert_eq!(err(&mut c, "DROP MATERIALIZED VIEW m2").await.0, 1064);
    sr.handle.shutdown().await;
}
