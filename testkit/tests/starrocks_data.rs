//! Rows and queries (issue 3 "Data" and "Introspection"): INSERT, SELECT with WHERE, GROUP BY,
//! window functions, JSON functions, CAST, INSERT ... SELECT, and information_schema.

mod starrocks_support;

use starrocks_support::*;

async fn setup(sr: &Sr) -> mysql_async::Conn {
    let mut c = sr.conn().await;
    exec(&mut c, "CREATE DATABASE a").await;
    exec(&mut c, "CREATE DATABASE b").await;
    exec(&mut c, "USE a").await;
    exec(
        &mut c,
        "CREATE TABLE raw (id BIGINT NOT NULL, ts DATETIME NOT NULL, payload JSON) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id)",
    )
    .await;
    exec(
        &mut c,
        r#"INSERT INTO raw VALUES (1, '2024-01-01 00:00:00', '{"name":"x","n":1,"f":1.5}'),
           (1, '2024-01-02 00:00:00', '{"name":"y","n":2,"f":2.5}'),
           (2, '2024-01-01 00:00:00', '{"name":"z","n":3,"f":3.5}')"#,
    )
    .await;
    c
}

#[tokio::test]
async fn select_where_group_by_and_aggregates() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    assert_eq!(
        rows(
            &mut c,
            "SELECT id, COUNT(*) AS n FROM raw GROUP BY id ORDER BY id"
        )
        .await,
        vec![
            vec![Some("1".into()), Some("2".into())],
            vec![Some("2".into()), Some("1".into())]
        ]
    );
    assert_eq!(
        scalar(
            &mut c,
            "SELECT COUNT(*) FROM a.raw WHERE id = 1 AND ts > '2024-01-01 12:00:00'"
        )
        .await
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        scalar(&mut c, "SELECT SUM(id) FROM raw").await.as_deref(),
        Some("4")
    );
    assert_eq!(
        scalar(
            &mut c,
            "SELECT `raw`.`id` FROM `a`.`raw` ORDER BY ts DESC LIMIT 1"
        )
        .await
        .as_deref(),
        Some("1")
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn json_functions_and_cast() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    let r = rows(
        &mut c,
        "SELECT get_json_string(payload, '$.name'), get_json_int(payload, '$.n'), get_json_double(payload, '$.f'), \
         CAST(get_json_int(payload, '$.n') AS VARCHAR(10)), json_query(payload, '$.n') FROM raw WHERE id = 2",
    )
    .await;
    assert_eq!(
        r,
        vec![vec![
            Some("z".into()),
            Some("3".into()),
            Some("3.5".into()),
            Some("3".into()),
            Some("3".into())
        ]]
    );
    assert_eq!(
        scalar(&mut c, "SELECT CAST('42' AS BIGINT) + 1")
            .await
            .as_deref(),
        Some("43")
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn row_number_current_state_query() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    let r = rows(
        &mut c,
        "SELECT id, name FROM (SELECT id, get_json_string(payload, '$.name') AS name, \
         ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts DESC) AS rn FROM raw) t WHERE rn = 1 ORDER BY id",
    )
    .await;
    assert_eq!(
        r,
        vec![
            vec![Some("1".into()), Some("y".into())],
            vec![Some("2".into()), Some("z".into())]
        ]
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn insert_select_rebuild_and_primary_key_upsert() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, "CREATE TABLE cur (id BIGINT NOT NULL, name VARCHAR(20)) PRIMARY KEY(id) DISTRIBUTED BY HASH(id)").await;
    exec(&mut c, "INSERT INTO cur (id, name) SELECT id, get_json_string(payload, '$.name') FROM raw ORDER BY ts").await;
    // PRIMARY KEY: the newest row per key wins
    assert_eq!(
        rows(&mut c, "SELECT id, name FROM cur ORDER BY id").await,
        vec![
            vec![Some("1".into()), Some("y".into())],
            vec![Some("2".into()), Some("z".into())]
        ]
    );
    exec(&mut c, "INSERT INTO cur VALUES (1, 'again')").await;
    assert_eq!(
        scalar(&mut c, "SELECT name FROM cur WHERE id = 1")
            .await
            .as_deref(),
        Some("again")
    );
    let (code, msg) = err(&mut c, "INSERT INTO cur (id, nope) VALUES (3, 'x')").await;
    assert_eq!(code, 1064);
    assert!(msg.contains("nope"), "{msg}");
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn information_schema_columns_in_one_round_trip() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, "CREATE TABLE b.t (k INT NOT NULL COMMENT 'key', s VARCHAR(30) DEFAULT 'd') PRIMARY KEY(k) DISTRIBUTED BY HASH(k)").await;
    let r = rows(
        &mut c,
        "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, \
         COLUMN_TYPE, COLUMN_KEY, COLUMN_COMMENT FROM information_schema.columns WHERE TABLE_SCHEMA IN ('a','b') \
         ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
    )
    .await;
    let s = |x: &str| Some(x.to_string());
    assert_eq!(r.len(), 5);
    assert_eq!(
        r[0],
        vec![
            s("a"),
            s("raw"),
            s("id"),
            s("1"),
            None,
            s("NO"),
            s("bigint"),
            s("bigint(20)"),
            s("DUP"),
            s("")
        ]
    );
    assert_eq!(
        r[3],
        vec![
            s("b"),
            s("t"),
            s("k"),
            s("1"),
            None,
            s("NO"),
            s("int"),
            s("int(11)"),
            s("PRI"),
            s("key")
        ]
    );
    assert_eq!(
        r[4],
        vec![
            s("b"),
            s("t"),
            s("s"),
            s("2"),
            s("d"),
            s("YES"),
            s("varchar"),
            s("varchar(30)"),
            s(""),
            s("")
        ]
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn information_schema_tables_and_tables_config() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, "CREATE TABLE b.pk (k INT NOT NULL, v INT) PRIMARY KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 4 COMMENT 'pk table'").await;
    let r = rows(
        &mut c,
        "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_ROWS, TABLE_COMMENT FROM information_schema.tables \
         WHERE TABLE_SCHEMA = 'b'",
    )
    .await;
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        r,
        vec![vec![
            s("pk"),
            s("BASE TABLE"),
            s("StarRocks"),
            s("0"),
            s("pk table")
        ]]
    );
    let r = rows(
        &mut c,
        "SELECT TABLE_MODEL, PRIMARY_KEY, DISTRIBUTE_KEY, DISTRIBUTE_TYPE, DISTRIBUTE_BUCKET FROM information_schema.tables_config \
         WHERE TABLE_SCHEMA = 'b' AND TABLE_NAME = 'pk'",
    )
    .await;
    assert_eq!(
        r,
        vec![vec![
            s("PRIMARY_KEYS"),
            s("`k`"),
            s("`k`"),
            s("HASH"),
            s("4")
        ]]
    );
    let full = rows(&mut c, "SHOW FULL COLUMNS FROM pk FROM b").await;
    assert_eq!(full[0][0].as_deref(), Some("k"));
    assert_eq!(full[0].len(), 9);
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn decimals_print_with_their_scale() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, "CREATE TABLE money (id INT NOT NULL, amount DECIMAL(10,2)) PRIMARY KEY(id) DISTRIBUTED BY HASH(id)").await;
    exec(
        &mut c,
        "INSERT INTO money VALUES (1, 1.5), (2, 2), (3, 10.25)",
    )
    .await;
    assert_eq!(
        rows(
            &mut c,
            "SELECT amount FROM money WHERE amount > 1.9 ORDER BY id"
        )
        .await,
        vec![vec![Some("2.00".into())], vec![Some("10.25".into())]]
    );
    assert_eq!(
        scalar(&mut c, "SELECT amount FROM money WHERE id = 1")
            .await
            .as_deref(),
        Some("1.50")
    );
    sr.handle.shutdown().await;
}
