//! MariaDB → Debezium MySQL connector (JSON converter, prefix `mdb1`): every
//! DDL statement arrives on the schema-change topic with `ddl` and
//! `tableChanges` (the full table after the change); data events follow.

use mysql_async::prelude::Queryable;
use serde_json::Value;

use super::stack::{is_row, payload, stack, table, Result, Stack};
use ddlsync::kafka::Record;

fn data_topic(s: &Stack, t: &str) -> String {
    format!("{}.inventory.{t}", s.var("STACK_MARIADB_PREFIX"))
}

fn schema_topic(s: &Stack) -> String {
    s.var("STACK_MARIADB_PREFIX").to_owned()
}

/// Schema-change payloads whose `ddl` mentions `table` and contains `needle` (case-insensitive).
fn changes<'a>(
    records: &'a [Record],
    table: &'a str,
    needle: &'a str,
) -> impl Iterator<Item = Value> + 'a {
    records.iter().filter_map(payload).filter(move |p| {
        let ddl = p["ddl"].as_str().unwrap_or("").to_ascii_lowercase();
        let table = table.to_ascii_lowercase();
        // The needle is looked for outside the table name (which may contain it).
        ddl.contains(&table)
            && ddl
                .replace(&table, "")
                .contains(&needle.to_ascii_lowercase())
    })
}

/// Columns (name, typeName) of the first table in a schema-change payload.
fn columns(change: &Value) -> Vec<(String, String)> {
    change["tableChanges"][0]["table"]["columns"]
        .as_array()
        .map(|cols| {
            cols.iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or("").to_owned(),
                        c["typeName"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn has_column(change: &Value, name: &str) -> Option<String> {
    columns(change)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
}

async fn create(db: &mut mysql_async::Conn, t: &str) -> Result {
    db.query_drop(format!(
        "CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, qty INT NULL); INSERT INTO {t} VALUES (1, 'one', 1)"
    ))
    .await?;
    Ok(())
}

/// Runs `alter` on a fresh table and returns the schema-change payload whose
/// ddl contains `needle`.
async fn alter_and_wait(
    s: &Stack,
    base: &str,
    alter: &str,
    needle: &str,
) -> Result<(String, Value)> {
    let mut db = s.mariadb().await?;
    let t = table(base);
    create(&mut db, &t).await?;
    db.query_drop(alter.replace("{t}", &t)).await?;
    let records = s
        .wait_for(
            &schema_topic(s),
            &format!("schema change `{needle}` on {t}"),
            |rs| changes(rs, &t, needle).next().is_some(),
        )
        .await?;
    let change = changes(&records, &t, needle).next().expect("waited for it");
    assert_eq!(change["databaseName"], "inventory");
    assert_eq!(change["tableChanges"][0]["type"], "ALTER", "{change}");
    assert!(
        change["tableChanges"][0]["id"]
            .as_str()
            .unwrap_or("")
            .contains(&t),
        "tableChanges id names the table: {change}"
    );
    Ok((t, change))
}

#[tokio::test]
async fn mdb_add_column() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let (t, change) = alter_and_wait(
        &s,
        "mdb_add",
        "ALTER TABLE {t} ADD COLUMN email VARCHAR(64) NULL",
        "add column",
    )
    .await?;
    assert_eq!(
        has_column(&change, "email").as_deref(),
        Some("VARCHAR"),
        "{change}"
    );
    // The next data event carries the new column.
    let mut db = s.mariadb().await?;
    db.query_drop(format!(
        "INSERT INTO {t} VALUES (2, 'two', 2, 'two@example.com')"
    ))
    .await?;
    let records = s
        .wait_for(&data_topic(&s, &t), "insert after ADD COLUMN", |rs| {
            rs.iter().any(|r| is_row(r, 2))
        })
        .await?;
    let p = records
        .iter()
        .filter_map(payload)
        .find(|p| p["after"]["id"] == 2)
        .unwrap();
    assert_eq!(p["after"]["email"], "two@example.com");
    Ok(())
}

#[tokio::test]
async fn mdb_drop_column() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let (_, change) = alter_and_wait(
        &s,
        "mdb_drop",
        "ALTER TABLE {t} DROP COLUMN qty",
        "drop column",
    )
    .await?;
    assert_eq!(has_column(&change, "qty"), None, "{change}");
    assert!(has_column(&change, "name").is_some());
    Ok(())
}

#[tokio::test]
async fn mdb_rename_column_with_change() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let (_, change) = alter_and_wait(
        &s,
        "mdb_change",
        "ALTER TABLE {t} CHANGE name full_name VARCHAR(50) NOT NULL",
        "change name",
    )
    .await?;
    assert_eq!(has_column(&change, "name"), None, "{change}");
    assert_eq!(has_column(&change, "full_name").as_deref(), Some("VARCHAR"));
    Ok(())
}

#[tokio::test]
async fn mdb_rename_column_with_rename_column() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let (_, change) = alter_and_wait(
        &s,
        "mdb_rencol",
        "ALTER TABLE {t} RENAME COLUMN name TO label",
        "rename column",
    )
    .await?;
    assert_eq!(has_column(&change, "name"), None, "{change}");
    assert_eq!(has_column(&change, "label").as_deref(), Some("VARCHAR"));
    Ok(())
}

#[tokio::test]
async fn mdb_modify_column_type() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let (_, change) = alter_and_wait(
        &s,
        "mdb_modify",
        "ALTER TABLE {t} MODIFY COLUMN qty BIGINT NULL",
        "modify column",
    )
    .await?;
    assert_eq!(
        has_column(&change, "qty").as_deref(),
        Some("BIGINT"),
        "{change}"
    );
    Ok(())
}

#[tokio::test]
async fn mdb_create_rename_and_drop_table() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let mut db = s.mariadb().await?;
    let t = table("mdb_tbl");
    let renamed = format!("{t}_new");
    create(&mut db, &t).await?;
    db.query_drop(format!("RENAME TABLE {t} TO {renamed}"))
        .await?;
    db.query_drop(format!("INSERT INTO {renamed} VALUES (2, 'two', 2)"))
        .await?;
    db.query_drop(format!("DROP TABLE {renamed}")).await?;
    let records = s
        .wait_for(
            &schema_topic(&s),
            &format!("CREATE, RENAME and DROP of {t}"),
            |rs| {
                changes(rs, &t, "create table").next().is_some()
                    && changes(rs, &renamed, "rename table").next().is_some()
                    && changes(rs, &renamed, "drop table").next().is_some()
            },
        )
        .await?;
    let created = changes(&records, &t, "create table").next().unwrap();
    assert_eq!(created["tableChanges"][0]["type"], "CREATE");
    assert_eq!(columns(&created).len(), 3, "{created}");
    let ren = changes(&records, &renamed, "rename table").next().unwrap();
    assert!(
        ren["tableChanges"][0]["id"]
            .as_str()
            .unwrap_or("")
            .contains(&renamed),
        "{ren}"
    );
    let dropped = changes(&records, &renamed, "drop table").next().unwrap();
    assert_eq!(dropped["tableChanges"][0]["type"], "DROP", "{dropped}");
    // Data of the renamed table goes to the new table's topic.
    s.wait_for(
        &data_topic(&s, &renamed),
        "insert into the renamed table",
        |rs| rs.iter().any(|r| is_row(r, 2)),
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn mdb_truncate_emits_op_t() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let mut db = s.mariadb().await?;
    let t = table("mdb_trunc");
    create(&mut db, &t).await?;
    db.query_drop(format!("TRUNCATE TABLE {t}")).await?;
    db.query_drop(format!("INSERT INTO {t} VALUES (2, 'two', 2)"))
        .await?;
    let records = s
        .wait_for(
            &data_topic(&s, &t),
            "truncate event (op t) then insert",
            |rs| {
                rs.iter()
                    .any(|r| payload(r).is_some_and(|p| p["op"] == "t"))
                    && rs.iter().any(|r| is_row(r, 2))
            },
        )
        .await?;
    let ops: Vec<String> = records
        .iter()
        .filter_map(payload)
        .map(|p| p["op"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(ops, ["c", "t", "c"]);
    Ok(())
}
