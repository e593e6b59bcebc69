//! PostgreSQL → Debezium (JSON converter, prefix `dbserver1`): PostgreSQL has no
//! schema-change topic, so each ALTER must show in the inline schema of the
//! next data event; plus create, rename and drop table, and truncate.

use super::stack::{after_fields, is_row, payload, row, stack, table, Result, Stack};

fn topic(s: &Stack, table: &str) -> String {
    format!("{}.public.{table}", s.var("STACK_PG_PREFIX"))
}

fn field_type(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t.clone())
}

/// Creates `t` with columns (id int primary key, name text, qty int), inserts id 1.
async fn create(pg: &tokio_postgres::Client, t: &str) -> Result {
    pg.batch_execute(&format!(
        "CREATE TABLE public.{t} (id integer PRIMARY KEY, name text, qty integer); INSERT INTO public.{t} VALUES (1, 'one', 1);"
    ))
    .await?;
    Ok(())
}

#[tokio::test]
async fn pg_add_column_shows_in_the_inline_schema() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let pg = s.postgres().await?;
    let t = table("pg_add");
    create(&pg, &t).await?;
    pg.batch_execute(&format!(
        "ALTER TABLE public.{t} ADD COLUMN email varchar(64); INSERT INTO public.{t} VALUES (2, 'two', 2, 'two@example.com');"
    ))
    .await?;
    let records = s
        .wait_for(&topic(&s, &t), "insert of id 2 after ADD COLUMN", |rs| {
            rs.iter().any(|r| is_row(r, 2))
        })
        .await?;
    let before = after_fields(row(&records, 1)).expect("schema");
    assert_eq!(field_type(&before, "email"), None);
    let after = after_fields(row(&records, 2)).expect("schema");
    assert_eq!(field_type(&after, "email").as_deref(), Some("string"));
    assert_eq!(
        payload(row(&records, 2)).unwrap()["after"]["email"],
        "two@example.com"
    );
    Ok(())
}

#[tokio::test]
async fn pg_drop_column_shows_in_the_inline_schema() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let pg = s.postgres().await?;
    let t = table("pg_drop");
    create(&pg, &t).await?;
    pg.batch_execute(&format!(
        "ALTER TABLE public.{t} DROP COLUMN qty; INSERT INTO public.{t} VALUES (2, 'two');"
    ))
    .await?;
    let records = s
        .wait_for(&topic(&s, &t), "insert of id 2 after DROP COLUMN", |rs| {
            rs.iter().any(|r| is_row(r, 2))
        })
        .await?;
    assert!(field_type(&after_fields(row(&records, 1)).unwrap(), "qty").is_some());
    let after = after_fields(row(&records, 2)).unwrap();
    assert_eq!(field_type(&after, "qty"), None, "{after:?}");
    assert!(field_type(&after, "name").is_some());
    Ok(())
}

#[tokio::test]
async fn pg_rename_column_shows_in_the_inline_schema() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let pg = s.postgres().await?;
    let t = table("pg_rencol");
    create(&pg, &t).await?;
    pg.batch_execute(&format!(
        "ALTER TABLE public.{t} RENAME COLUMN name TO full_name; INSERT INTO public.{t} VALUES (2, 'two', 2);"
    ))
    .await?;
    let records = s
        .wait_for(&topic(&s, &t), "insert of id 2 after RENAME COLUMN", |rs| {
            rs.iter().any(|r| is_row(r, 2))
        })
        .await?;
    let after = after_fields(row(&records, 2)).unwrap();
    assert_eq!(field_type(&after, "name"), None, "{after:?}");
    assert_eq!(field_type(&after, "full_name").as_deref(), Some("string"));
    assert_eq!(
        payload(row(&records, 2)).unwrap()["after"]["full_name"],
        "two"
    );
    Ok(())
}

#[tokio::test]
async fn pg_alter_type_shows_in_the_inline_schema() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let pg = s.postgres().await?;
    let t = table("pg_type");
    create(&pg, &t).await?;
    pg.batch_execute(&format!(
        "ALTER TABLE public.{t} ALTER COLUMN qty TYPE bigint; INSERT INTO public.{t} VALUES (2, 'two', 9000000000);"
    ))
    .await?;
    let records = s
        .wait_for(&topic(&s, &t), "insert of id 2 after ALTER TYPE", |rs| {
            rs.iter().any(|r| is_row(r, 2))
        })
        .await?;
    assert_eq!(
        field_type(&after_fields(row(&records, 1)).unwrap(), "qty").as_deref(),
        Some("int32")
    );
    assert_eq!(
        field_type(&after_fields(row(&records, 2)).unwrap(), "qty").as_deref(),
        Some("int64")
    );
    assert_eq!(
        payload(row(&records, 2)).unwrap()["after"]["qty"],
        9_000_000_000_i64
    );
    Ok(())
}

#[tokio::test]
async fn pg_create_rename_and_drop_table() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let pg = s.postgres().await?;
    let t = table("pg_ren");
    let renamed = format!("{t}_new");
    // Created after the connector started: captured all the same (publication FOR ALL TABLES).
    create(&pg, &t).await?;
    s.wait_for(&topic(&s, &t), "insert into a newly created table", |rs| {
        rs.iter()
            .any(|r| is_row(r, 1) && payload(r).is_some_and(|p| p["op"] == "c"))
    })
    .await?;
    pg.batch_execute(&format!("ALTER TABLE public.{t} RENAME TO {renamed}; INSERT INTO public.{renamed} VALUES (2, 'two', 2);"))
        .await?;
    let records = s
        .wait_for(
            &topic(&s, &renamed),
            "insert into the renamed table",
            |rs| rs.iter().any(|r| is_row(r, 2)),
        )
        .await?;
    assert_eq!(
        payload(row(&records, 2)).unwrap()["source"]["table"],
        renamed.as_str()
    );
    // Dropping is silent in PostgreSQL's stream; the connector keeps going.
    pg.batch_execute(&format!("DROP TABLE public.{renamed};"))
        .await?;
    let after = table("pg_after_drop");
    create(&pg, &after).await?;
    s.wait_for(
        &topic(&s, &after),
        "insert into a table created after a drop",
        |rs| rs.iter().any(|r| is_row(r, 1)),
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn pg_truncate_emits_op_t() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let pg = s.postgres().await?;
    let t = table("pg_trunc");
    create(&pg, &t).await?;
    pg.batch_execute(&format!(
        "TRUNCATE public.{t}; INSERT INTO public.{t} VALUES (2, 'two', 2);"
    ))
    .await?;
    let records = s
        .wait_for(&topic(&s, &t), "truncate event (op t) then insert", |rs| {
            rs.iter()
                .any(|r| payload(r).is_some_and(|p| p["op"] == "t"))
                && rs.iter().any(|r| is_row(r, 2))
        })
        .await?;
    let ops: Vec<String> = records
        .iter()
        .filter_map(payload)
        .map(|p| p["op"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(ops, ["c", "t", "c"]);
    Ok(())
}
