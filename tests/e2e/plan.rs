//! `ddlsync plan --config` on the stack: the schema-change topic Debezium
//! wrote for a MariaDB table and the StarRocks emulator's catalog, read online
//! (Kafka + MySQL protocol), give the same kind of plan as the offline files —
//! a rename stays a rename.

use mysql_async::prelude::Queryable;
use serde_json::Value;

use super::stack::{payload, stack, table, Result, Stack};

async fn starrocks(s: &Stack) -> Result<mysql_async::Conn> {
    let url = format!("mysql://root@{}/", s.var("STACK_STARROCKS"));
    Ok(mysql_async::Conn::new(mysql_async::Opts::from_url(&url)?).await?)
}

#[tokio::test]
async fn online_plan_reads_topics_and_starrocks() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let t = table("plan_members");
    let mut src = s.mariadb().await?;
    src.query_drop(format!(
        "CREATE TABLE {t} (id INT NOT NULL PRIMARY KEY, first_name VARCHAR(255) NOT NULL, \
         last_name VARCHAR(255) NOT NULL) DEFAULT CHARSET=utf8mb4"
    ))
    .await?;
    let mut sr = starrocks(&s).await?;
    sr.query_drop("CREATE DATABASE IF NOT EXISTS inventory")
        .await?;
    sr.query_drop(format!(
        "CREATE TABLE inventory.{t} (id INT NOT NULL, first_name VARCHAR(1020) NOT NULL, \
         last_name VARCHAR(1020) NOT NULL) PRIMARY KEY (id) DISTRIBUTED BY HASH(id) \
         PROPERTIES ('replication_num' = '1')"
    ))
    .await?;
    src.query_drop(format!("ALTER TABLE {t} ADD COLUMN loyalty INT NULL"))
        .await?;
    src.query_drop(format!(
        "ALTER TABLE {t} RENAME COLUMN last_name TO family_name"
    ))
    .await?;
    s.wait_for(
        s.var("STACK_MARIADB_PREFIX"),
        &format!("the rename on {t}"),
        |rs| {
            rs.iter().filter_map(payload).any(|p| {
                p["ddl"].as_str().is_some_and(|d| {
                    d.contains(&t) && d.to_ascii_lowercase().contains("rename column")
                })
            })
        },
    )
    .await?;

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ddlsync"))
        .args([
            "plan",
            "--config",
            s.var("STACK_DDLSYNC_CONFIG"),
            "--format",
            "json",
        ])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout)?;
    let target = format!("inventory.{t}");
    let mine: Vec<(String, String)> = doc["changes"]
        .as_array()
        .ok_or("no changes[]")?
        .iter()
        .filter(|c| c["target_table"] == target.as_str())
        .map(|c| {
            (
                c["kind"].as_str().unwrap_or("").to_owned(),
                c["column"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        mine.contains(&("rename_column".into(), "family_name".into())),
        "{mine:?}"
    );
    assert!(
        mine.contains(&("add_column".into(), "loyalty".into())),
        "{mine:?}"
    );
    assert_eq!(mine.len(), 2, "nothing else for {target}: {mine:?}");
    Ok(())
}
