//! DDL facts of the StarRocks emulator (fact sheet §1, §2, §4): SHOW CREATE TABLE format,
//! ALTER TABLE rules and their error texts, type rendering.

mod starrocks_support;

use starrocks_support::*;
use testkit::starrocks::Config;

const TAB1: &str = "CREATE TABLE tab1 (k1 INT NOT NULL, k2 VARCHAR(50) NOT NULL, v1 INT, v2 INT, v3 INT, \
    v6 VARCHAR(200) DEFAULT \"0\") PRIMARY KEY(k1, k2) DISTRIBUTED BY HASH(k1) BUCKETS 1 ORDER BY(v3) \
    PROPERTIES (\"replication_num\" = \"1\")";

async fn setup(sr: &Sr) -> mysql_async::Conn {
    let mut c = sr.conn().await;
    exec(&mut c, "CREATE DATABASE db1").await;
    exec(&mut c, "USE db1").await;
    c
}

#[tokio::test]
async fn show_create_table_matches_starrocks_format() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, TAB1).await;
    exec(&mut c, "ALTER TABLE tab1 ADD COLUMN v5 varchar(50)").await;
    assert_eq!(
        wait_job(&mut c, "tab1").await[9].as_deref(),
        Some("FINISHED")
    );
    let expected = "CREATE TABLE `tab1` (\n  `k1` int(11) NOT NULL COMMENT \"\",\n  `k2` varchar(50) NOT NULL COMMENT \"\",\n  `v1` int(11) NULL COMMENT \"\",\n  `v2` int(11) NULL COMMENT \"\",\n  `v3` int(11) NULL COMMENT \"\",\n  `v6` varchar(200) NULL DEFAULT \"0\" COMMENT \"\",\n  `v5` varchar(50) NULL COMMENT \"\"\n) ENGINE=OLAP \nPRIMARY KEY(`k1`, `k2`)\nDISTRIBUTED BY HASH(`k1`) BUCKETS 1 \nORDER BY(`v3`)\nPROPERTIES (\n\"compression\" = \"LZ4\",\n\"enable_persistent_index\" = \"true\",\n\"fast_schema_evolution\" = \"true\",\n\"replicated_storage\" = \"true\",\n\"replication_num\" = \"1\"\n);";
    assert_eq!(show_create(&mut c, "tab1").await, expected);
    let (cols, _) = rows_named(&mut c, "SHOW CREATE TABLE tab1").await;
    assert_eq!(cols, vec!["Table", "Create Table"]);
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn types_render_like_starrocks() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(
        &mut c,
        "CREATE TABLE ty (a TINYINT, b SMALLINT, c INT, d BIGINT, e LARGEINT, f DECIMAL(10,2), g STRING, \
         h DATETIME DEFAULT CURRENT_TIMESTAMP, i DATE, j BOOLEAN, k JSON, l FLOAT, m DOUBLE, n CHAR(3), o ARRAY<INT>) \
         DUPLICATE KEY(a) DISTRIBUTED BY HASH(a) COMMENT 'types'",
    )
    .await;
    let ddl = show_create(&mut c, "ty").await;
    for frag in [
        "`a` tinyint(4) NULL",
        "`b` smallint(6) NULL",
        "`c` int(11) NULL",
        "`d` bigint(20) NULL",
        "`e` largeint(40) NULL",
        "`f` decimal(10, 2) NULL",
        "`g` varchar(65533) NULL",
        "`h` datetime NULL DEFAULT CURRENT_TIMESTAMP COMMENT \"\"",
        "`i` date NULL",
        "`j` boolean NULL",
        "`k` json NULL",
        "`n` char(3) NULL",
        "`o` array<int(11)> NULL",
        "DUPLICATE KEY(`a`)\nCOMMENT \"types\"\nDISTRIBUTED BY HASH(`a`)\n",
    ] {
        assert!(ddl.contains(frag), "missing {frag:?} in\n{ddl}");
    }
    let desc = rows(&mut c, "DESC ty").await;
    assert_eq!(desc[2][1].as_deref(), Some("int"));
    assert_eq!(desc[5][1].as_deref(), Some("decimal(10,2)"));
    assert_eq!(desc[0][3].as_deref(), Some("true"));
    assert_eq!(desc[1][3].as_deref(), Some("false"));
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn adding_an_existing_column_fails_with_starrocks_text() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, TAB1).await;
    exec(&mut c, "ALTER TABLE tab1 ADD COLUMN v5 varchar(50)").await;
    wait_job(&mut c, "tab1").await;
    let (code, msg) = err(&mut c, "ALTER TABLE tab1 ADD COLUMN v5 varchar(50)").await;
    assert_eq!(code, 1064);
    assert_eq!(
        msg,
        "Can not add column which already exists in column id: v5, you can remove `v5` varchar(50) NULL COMMENT \"\" and try again."
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn partition_and_distribution_columns_cannot_be_dropped() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(
        &mut c,
        "CREATE TABLE t1 (id INT, k2 DATE, k3 INT, v INT) DUPLICATE KEY(id, k2, k3) \
         PARTITION BY RANGE(k2) (PARTITION p1 VALUES LESS THAN ('2024-01-01')) DISTRIBUTED BY HASH(id) BUCKETS 3",
    )
    .await;
    assert_eq!(
        err(&mut c, "ALTER TABLE t1 DROP COLUMN id").await,
        (
            1064,
            "Distribution column[id] cannot be dropped. index[t1]".to_string()
        )
    );
    assert_eq!(
        err(&mut c, "ALTER TABLE t1 DROP COLUMN k2").await,
        (
            1064,
            "Partition column[k2] cannot be dropped. index[t1]".to_string()
        )
    );
    let (_, msg) = err(&mut c, "ALTER TABLE t1 MODIFY COLUMN k2 DATETIME KEY").await;
    assert!(msg.contains("modify partition column[k2]"), "{msg}");
    let (_, msg) = err(&mut c, "ALTER TABLE t1 MODIFY COLUMN id BIGINT KEY").await;
    assert!(msg.contains("modify distribution column[id]"), "{msg}");
    // a plain DUPLICATE KEY key column can be dropped
    exec(&mut c, "ALTER TABLE t1 DROP COLUMN k3").await;
    assert_eq!(wait_job(&mut c, "t1").await[9].as_deref(), Some("FINISHED"));
    assert!(show_create(&mut c, "t1")
        .await
        .contains("PARTITION BY RANGE(`k2`)"));
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn type_conversion_matrix_and_modify_rules() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(
        &mut c,
        "CREATE TABLE m (id INT NOT NULL, b BIGINT, s VARCHAR(20), n INT NOT NULL, d VARCHAR(10) DEFAULT 'x', \
         f DOUBLE, dt DATETIME, dec1 DECIMAL(10,2)) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id)",
    )
    .await;
    assert_eq!(
        err(&mut c, "ALTER TABLE m MODIFY COLUMN b INT").await.1,
        "Can not change BIGINT to INT"
    );
    assert_eq!(
        err(&mut c, "ALTER TABLE m MODIFY COLUMN f FLOAT").await.1,
        "Can not change DOUBLE to FLOAT"
    );
    assert_eq!(
        err(&mut c, "ALTER TABLE m MODIFY COLUMN dt VARCHAR(30)")
            .await
            .1,
        "Can not change DATETIME to VARCHAR(30)"
    );
    assert_eq!(
        err(&mut c, "ALTER TABLE m MODIFY COLUMN s VARCHAR(10)")
            .await
            .1,
        "Cannot shorten string length"
    );
    assert_eq!(
        err(
            &mut c,
            "ALTER TABLE m MODIFY COLUMN n INT NOT NULL DEFAULT '1'"
        )
        .await
        .1,
        "Can not change default value"
    );
    assert_eq!(
        err(&mut c, "ALTER TABLE m MODIFY COLUMN s VARCHAR(30) NOT NULL")
            .await
            .1,
        "Can not change from nullable to non-nullable"
    );
    assert_eq!(
        err(&mut c, "ALTER TABLE m MODIFY COLUMN d VARCHAR(20)")
            .await
            .1,
        "Can not change default value"
    );
    assert_eq!(
        err(&mut c, "ALTER TABLE m MODIFY COLUMN dec1 DECIMAL(10,1)")
            .await
            .1,
        "Can not change DECIMAL(10,2) to DECIMAL(10,1)"
    );
    let (_, msg) = err(
        &mut c,
        "ALTER TABLE m MODIFY COLUMN b BIGINT, MODIFY COLUMN b LARGEINT",
    )
    .await;
    assert_eq!(msg, "Column[b] does not exists");
    // allowed: integer widening runs as a job
    exec(&mut c, "ALTER TABLE m MODIFY COLUMN b LARGEINT").await;
    assert_eq!(wait_job(&mut c, "m").await[9].as_deref(), Some("FINISHED"));
    assert!(show_create(&mut c, "m")
        .await
        .contains("`b` largeint(40) NULL"));
    exec(&mut c, "ALTER TABLE m MODIFY COLUMN dec1 DECIMAL(12,3)").await;
    assert_eq!(wait_job(&mut c, "m").await[9].as_deref(), Some("FINISHED"));
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn primary_key_columns_only_allow_varchar_widening() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, TAB1).await;
    assert_eq!(
        err(&mut c, "ALTER TABLE tab1 MODIFY COLUMN k1 BIGINT")
            .await
            .1,
        "Can not modify key column: k1 for primary key table except for increasing varchar length"
    );
    assert_eq!(
        err(&mut c, "ALTER TABLE tab1 MODIFY COLUMN v3 BIGINT").await.1,
        "Can not modify sort column in primary data model table except for increasing varchar length"
    );
    // VARCHAR widening of a PK column with fast schema evolution: synchronous, no job
    exec(
        &mut c,
        "ALTER TABLE tab1 MODIFY COLUMN k2 VARCHAR(100) NOT NULL",
    )
    .await;
    assert!(show_create(&mut c, "tab1")
        .await
        .contains("`k2` varchar(100) NOT NULL"));
    assert_eq!(rows(&mut c, "SHOW ALTER TABLE COLUMN").await.len(), 0);
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn comment_changes_are_metadata_only() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, TAB1).await;
    exec(
        &mut c,
        "ALTER TABLE tab1 MODIFY COLUMN v1 COMMENT 'first value'",
    )
    .await;
    exec(&mut c, "ALTER TABLE tab1 COMMENT = 'a table'").await;
    let ddl = show_create(&mut c, "tab1").await;
    assert!(
        ddl.contains("`v1` int(11) NULL COMMENT \"first value\""),
        "{ddl}"
    );
    assert!(ddl.contains("COMMENT \"a table\""), "{ddl}");
    assert_eq!(rows(&mut c, "SHOW ALTER TABLE COLUMN").await.len(), 0);
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn rename_column_rules() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, TAB1).await;
    assert_eq!(
        err(&mut c, "ALTER TABLE tab1 RENAME COLUMN v1 TO v2").await,
        (1060, "Duplicate column name 'v2'".to_string())
    );
    exec(&mut c, "ALTER TABLE tab1 RENAME COLUMN k1 TO id").await;
    let ddl = show_create(&mut c, "tab1").await;
    assert!(
        ddl.contains("PRIMARY KEY(`id`, `k2`)") && ddl.contains("HASH(`id`)"),
        "{ddl}"
    );
    assert_eq!(
        err(&mut c, "SELECT k1 FROM tab1").await,
        (
            1064,
            "Getting analyzing error. Detail message: Unknown column 'k1' in 'tab1'.".to_string()
        )
    );
    let (code, msg) = err(&mut c, "ALTER TABLE tab1 ADD COLUMN k1 INT").await;
    assert_eq!(code, 1064);
    assert!(msg.contains("k1") && msg.contains("renamed"), "{msg}");
    exec(&mut c, "ALTER TABLE tab1 RENAME COLUMN v1 v1_new").await;
    assert!(show_create(&mut c, "tab1")
        .await
        .contains("`v1_new` int(11)"));
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn rename_column_needs_3_3_2() {
    let sr = start_with(Config {
        version: "3.3.1".into(),
        ..Config::default()
    })
    .await;
    let mut c = setup(&sr).await;
    exec(&mut c, TAB1).await;
    let (code, msg) = err(&mut c, "ALTER TABLE tab1 RENAME COLUMN v1 TO v9").await;
    assert_eq!(code, 1064);
    assert!(
        msg.contains("RENAME COLUMN") && msg.contains("3.3.2"),
        "{msg}"
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn partition_and_column_clauses_cannot_be_combined() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(&mut c, TAB1).await;
    let (code, msg) = err(
        &mut c,
        "ALTER TABLE tab1 ADD PARTITION p2 VALUES LESS THAN ('2025-01-01'), ADD COLUMN z INT",
    )
    .await;
    assert_eq!(code, 1064);
    assert!(msg.contains("cannot be combined"), "{msg}");
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn add_columns_list_positions_and_aggregate_rule() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(
        &mut c,
        "CREATE TABLE d (k INT, a INT, b INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k)",
    )
    .await;
    exec(
        &mut c,
        "ALTER TABLE d ADD COLUMN (x INT DEFAULT '1' COMMENT 'x', y VARCHAR(10))",
    )
    .await;
    wait_job(&mut c, "d").await;
    exec(
        &mut c,
        "ALTER TABLE d ADD COLUMN f INT FIRST, ADD COLUMN g INT AFTER a",
    )
    .await;
    wait_job(&mut c, "d").await;
    let names: Vec<_> = rows(&mut c, "DESC d")
        .await
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(names, vec!["f", "k", "a", "g", "b", "x", "y"]);
    exec(
        &mut c,
        "CREATE TABLE agg (k INT, s BIGINT SUM) AGGREGATE KEY(k) DISTRIBUTED BY HASH(k)",
    )
    .await;
    let (code, msg) = err(&mut c, "ALTER TABLE agg ADD COLUMN plain INT").await;
    assert_eq!(code, 1064);
    assert!(msg.contains("plain"), "{msg}");
    exec(&mut c, "ALTER TABLE agg ADD COLUMN m INT MAX").await;
    assert_eq!(
        wait_job(&mut c, "agg").await[9].as_deref(),
        Some("FINISHED")
    );
    assert!(show_create(&mut c, "agg")
        .await
        .contains("`m` int(11) MAX NULL"));
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn databases_tables_drop_truncate_rename_swap() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    assert_eq!(err(&mut c, "CREATE DATABASE db1").await.0, 1007);
    exec(&mut c, "CREATE DATABASE IF NOT EXISTS db1").await;
    exec(
        &mut c,
        "CREATE TABLE a (id INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id)",
    )
    .await;
    assert_eq!(
        err(&mut c, "CREATE TABLE a (id INT) DUPLICATE KEY(id)")
            .await
            .0,
        1050
    );
    exec(
        &mut c,
        "CREATE TABLE IF NOT EXISTS a (id INT) DUPLICATE KEY(id)",
    )
    .await;
    exec(
        &mut c,
        "CREATE TABLE b (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id)",
    )
    .await;
    exec(&mut c, "INSERT INTO a VALUES (1), (2)").await;
    exec(&mut c, "ALTER TABLE a SWAP WITH b").await;
    assert_eq!(scalar(&mut c, "SELECT COUNT(*) FROM b").await.unwrap(), "2");
    assert_eq!(rows(&mut c, "DESC a").await.len(), 2);
    exec(&mut c, "TRUNCATE TABLE b").await;
    assert_eq!(scalar(&mut c, "SELECT COUNT(*) FROM b").await.unwrap(), "0");
    exec(&mut c, "ALTER TABLE b RENAME c").await;
    let tables: Vec<_> = rows(&mut c, "SHOW TABLES FROM db1")
        .await
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(tables, vec!["a", "c"]);
    exec(&mut c, "DROP TABLE c").await;
    exec(&mut c, "DROP TABLE IF EXISTS c").await;
    assert_eq!(err(&mut c, "DROP TABLE c").await.0, 1064);
    exec(&mut c, "DROP DATABASE db1").await;
    assert_eq!(err(&mut c, "DROP DATABASE db1").await.0, 1008);
    let dbs: Vec<_> = rows(&mut c, "SHOW DATABASES")
        .await
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(dbs, vec!["information_schema"]);
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn primary_key_rules_at_create() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    let (code, msg) = err(
        &mut c,
        "CREATE TABLE p (d DECIMAL(10,2) NOT NULL, v INT) PRIMARY KEY(d) DISTRIBUTED BY HASH(d)",
    )
    .await;
    assert_eq!(code, 1064);
    assert!(msg.contains("key column"), "{msg}");
    let (_, msg) = err(
        &mut c,
        "CREATE TABLE p (v INT, k INT NOT NULL) PRIMARY KEY(k) DISTRIBUTED BY HASH(k)",
    )
    .await;
    assert!(msg.contains("ordered prefix"), "{msg}");
    // PK columns are NOT NULL even when not written
    exec(
        &mut c,
        "CREATE TABLE p (k INT, v INT) PRIMARY KEY(k) DISTRIBUTED BY HASH(k)",
    )
    .await;
    assert!(show_create(&mut c, "p")
        .await
        .contains("`k` int(11) NOT NULL"));
    assert_eq!(
        err(&mut c, "ALTER TABLE p DROP COLUMN nope").await.1,
        "Column[nope] does not exists"
    );
    let (code, msg) = err(&mut c, "ALTER TABLE missing ADD COLUMN x INT").await;
    assert_eq!(code, 1064);
    assert!(msg.contains("missing"), "{msg}");
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn varchar_widening_is_a_job_without_fast_schema_evolution() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    exec(
        &mut c,
        "CREATE TABLE f (k INT, s VARCHAR(10)) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) \
         PROPERTIES (\"fast_schema_evolution\" = \"false\")",
    )
    .await;
    exec(&mut c, "ALTER TABLE f MODIFY COLUMN s VARCHAR(20)").await;
    assert_eq!(wait_job(&mut c, "f").await[9].as_deref(), Some("FINISHED"));
    assert!(show_create(&mut c, "f")
        .await
        .contains("`s` varchar(20) NULL"));
    exec(
        &mut c,
        "INSERT INTO f WITH LABEL ins_1 (k, s) VALUES (1, 'x')",
    )
    .await;
    assert_eq!(
        scalar(&mut c, "SELECT s FROM f").await.as_deref(),
        Some("x")
    );
    let (code, msg) = err(&mut c, "ALTER TABLE f ADD ROLLUP r1 (k)").await;
    assert_eq!(code, 1064);
    assert!(msg.contains("ROLLUP"), "{msg}");
    sr.handle.shutdown().await;
}
