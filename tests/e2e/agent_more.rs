//! `ddlsync run` end to end, continued: views over a changed table, bad input
//! that must be reported without stopping the other tables, SIGTERM, and the
//! dry run that writes nothing.

use std::time::Duration;

use mysql_async::prelude::Queryable;

use super::agent::harness::{
    emulator, scratch, sr_columns, sr_exec, sr_rows, wait_until, write_config,
    write_config_with_rules, Agent,
};
use super::stack::{stack, table, Result};

const WAIT: Duration = Duration::from_secs(45);

async fn maria(sql: &str) -> Result {
    let s = stack().expect("stack");
    let mut c = s.mariadb().await?;
    c.query_drop(sql).await?;
    c.disconnect().await?;
    Ok(())
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn wait_columns(
    agent: &Agent,
    sr: &testkit::starrocks::Handle,
    name: &str,
    want: &[&str],
) -> Result {
    wait_until(
        agent,
        &format!("columns {want:?} on {name}"),
        WAIT,
        || async { Ok((sr_columns(sr, "inventory", name).await? == want).then_some(())) },
    )
    .await?;
    Ok(())
}

async fn metric_at_least(agent: &Agent, series: &str, n: u64) -> Result {
    wait_until(agent, &format!("{series} >= {n}"), WAIT, || async {
        let m = agent.metrics().await?;
        let v = m
            .lines()
            .find_map(|l| l.strip_prefix(series))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        Ok((v >= n as f64).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_reading_a_retyped_column_is_reactivated_and_another_is_untouched() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let t = table("ag_mv");
    let sr = emulator("3.3.5", 300).await?;
    sr_exec(&sr, "CREATE DATABASE inventory").await?;
    let dir = scratch("mv");
    let config = write_config(&dir, &s, &sr, &[format!("inventory.{t}")], "");
    let agent = Agent::start(&config).await?;
    maria(&format!(
        "CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(20), qty INT)"
    ))
    .await?;
    wait_columns(&agent, &sr, &t, &["id", "name", "qty"]).await?;
    sr_exec(
        &sr,
        &format!("INSERT INTO inventory.{t} VALUES (1,'a',5),(2,'b',7)"),
    )
    .await?;
    sr_exec(&sr, &format!("CREATE MATERIALIZED VIEW inventory.{t}_qty REFRESH ASYNC AS SELECT name, sum(qty) AS q FROM inventory.{t} GROUP BY name")).await?;
    sr_exec(&sr, &format!("CREATE MATERIALIZED VIEW inventory.{t}_names REFRESH ASYNC AS SELECT name, count(*) AS n FROM inventory.{t} GROUP BY name")).await?;
    // Widening: applied by policy; the view reading qty goes inactive and is re-activated.
    maria(&format!("ALTER TABLE {t} MODIFY qty BIGINT")).await?;
    let id = format!("inventory.{t}");
    wait_until(&agent, "plan applied", WAIT, || async {
        let h = text(&agent.desk(&["history", &id]));
        Ok(
            (h.contains("ALTER MATERIALIZED VIEW") && h.matches("applied  agent").count() >= 2)
                .then_some(()),
        )
    })
    .await?;
    let history = text(&agent.desk(&["history", &id]));
    assert!(
        history.contains(&format!("`{t}_qty` ACTIVE")),
        "the view reading qty is re-activated:\n{history}"
    );
    assert!(
        !history.contains(&format!("{t}_names")),
        "the view not reading qty is untouched:\n{history}"
    );
    let views = sr_rows(&sr, &format!("SELECT TABLE_NAME, IS_ACTIVE FROM information_schema.materialized_views WHERE TABLE_SCHEMA='inventory' AND TABLE_NAME LIKE '{t}%' ORDER BY TABLE_NAME")).await?;
    assert_eq!(views.len(), 2, "{views:?}");
    assert!(
        views.iter().all(|v| v[1].as_deref() == Some("true")),
        "{views:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_reported_and_the_other_tables_keep_moving() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let (a, b, unmapped) = (table("ag_bad_a"), table("ag_bad_b"), table("ag_bad_x"));
    let sr = emulator("3.3.5", 300).await?;
    sr_exec(&sr, "CREATE DATABASE inventory").await?;
    let dir = scratch("bad");
    // A rules directory with the shipped rules and a broken file beside them.
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules)?;
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/default.toml"),
        rules.join("default.toml"),
    )?;
    std::fs::write(
        rules.join("zz-broken.toml"),
        "[[rule]]\nname = \"oops\"\ndecision = \n",
    )?;
    // A registry that is down, polled for the subjects of a data topic.
    let extra = "[registry]\nurl = \"http://127.0.0.1:9\"\npoll_interval_ms = 200\n\n\
                 [loader]\nenabled = false\ntopics = [\"no.such.topic\"]\n";
    let config = write_config_with_rules(
        &dir,
        &s,
        &sr,
        &[format!("inventory.{a}"), format!("inventory.{b}")],
        extra,
        &rules,
    );
    let agent = Agent::start(&config).await?;
    metric_at_least(&agent, "ddlsync_failures_total{cause=\"rule_file\"}", 1).await?;
    metric_at_least(&agent, "ddlsync_failures_total{cause=\"registry\"}", 1).await?;

    // A table no [[tables]] entry maps.
    maria(&format!("CREATE TABLE {unmapped} (id INT PRIMARY KEY)")).await?;
    wait_until(&agent, "unmapped table reported", WAIT, || async {
        Ok(agent.log_text().contains(&unmapped).then_some(()))
    })
    .await?;

    maria(&format!("CREATE TABLE {a} (id INT PRIMARY KEY, x INT)")).await?;
    wait_columns(&agent, &sr, &a, &["id", "x"]).await?;
    // A DDL statement the parser does not know: its tableChanges still apply.
    maria(&format!("ALTER ONLINE TABLE {a} ADD COLUMN y INT")).await?;
    wait_columns(&agent, &sr, &a, &["id", "x", "y"]).await?;
    metric_at_least(
        &agent,
        "ddlsync_failures_total{cause=\"unparseable_ddl\"}",
        1,
    )
    .await?;

    // StarRocks refuses every ALTER: a's change fails, b is still created.
    let http = reqwest::Client::new();
    http.post(format!("{}/_testkit/faults", sr.fe_url()))
        .json(
            &serde_json::json!({"fail_alter_statements": "Unexpected exception: refused by test"}),
        )
        .send()
        .await?
        .error_for_status()?;
    maria(&format!("ALTER TABLE {a} ADD COLUMN z INT")).await?;
    metric_at_least(
        &agent,
        "ddlsync_failures_total{cause=\"starrocks_refused\"}",
        1,
    )
    .await?;
    maria(&format!("CREATE TABLE {b} (id INT PRIMARY KEY)")).await?;
    wait_columns(&agent, &sr, &b, &["id"]).await?;
    let history = text(&agent.desk(&["history", &format!("inventory.{a}")]));
    assert!(history.contains("refused by test"), "{history}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_a_dry_run_writes_nothing() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let t = table("ag_dry");
    let sr = emulator("3.3.5", 300).await?;
    sr_exec(&sr, "CREATE DATABASE inventory").await?;
    let dir = scratch("dry");
    let config = write_config(&dir, &s, &sr, &[format!("inventory.{t}")], "");
    let mut agent = Agent::start_with(&config, &["--dry-run"]).await?;
    maria(&format!("CREATE TABLE {t} (id INT PRIMARY KEY, v INT)")).await?;
    wait_until(&agent, "dry-run plan logged", WAIT, || async {
        let log = agent.log_text();
        Ok((log.contains("Dry run: plan") && log.contains(&t)).then_some(()))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        sr_columns(&sr, "inventory", &t).await?.is_empty(),
        "nothing written to StarRocks"
    );
    assert!(
        !dir.join("ddlsync.db").exists(),
        "nothing written to the store"
    );
    let (status, took) = agent.terminate()?;
    assert!(status.success(), "exit {status}:\n{}", agent.log_tail(20));
    assert!(
        took < Duration::from_secs(30),
        "stopped within the grace period: {took:?}"
    );
    assert!(
        agent.log_text().contains("Stopped cleanly."),
        "{}",
        agent.log_tail(20)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_add_column_and_insert_reach_the_mirror_through_the_loader() -> Result {
    let Some(s) = stack() else { return Ok(()) };
    let t = table("ag_pg");
    let sr = emulator("3.3.5", 300).await?;
    let dir = scratch("pg");
    let prefix = s.var("STACK_PG_PREFIX").to_owned();
    // PostgreSQL has no schema-change topic: the loader's inline schemas are the signal.
    let extra = format!("[loader]\ntopics = [\"{prefix}.public.{t}\"]\nbatch_age_ms = 200\n");
    let config = write_config(&dir, &s, &sr, &[format!("public.{t}")], &extra);
    let agent = Agent::start(&config).await?;
    let pg = s.postgres().await?;
    pg.batch_execute(&format!(
        "CREATE TABLE {t} (id INT PRIMARY KEY, name TEXT); INSERT INTO {t} VALUES (1, 'one');"
    ))
    .await?;
    let rows = |sql: String| {
        let sr = &sr;
        async move { sr_rows(sr, &sql).await }
    };
    wait_until(&agent, "first row in the mirror", WAIT, || async {
        Ok(rows(format!("SELECT id, name FROM public.{t}"))
            .await
            .ok()
            .filter(|r| r.len() == 1)
            .map(|_| ()))
    })
    .await?;
    let started = std::time::Instant::now();
    pg.batch_execute(&format!(
        "ALTER TABLE {t} ADD COLUMN email TEXT; INSERT INTO {t} VALUES (2, 'two', 'two@example.com');"
    ))
    .await?;
    let (_, took) = wait_until(&agent, "new column and its row", WAIT, || async {
        let r = rows(format!(
            "SELECT id, name, email FROM public.{t} ORDER BY id"
        ))
        .await
        .unwrap_or_default();
        Ok((r.len() == 2 && r[1][2].as_deref() == Some("two@example.com")).then_some(()))
    })
    .await?;
    eprintln!(
        "postgres ADD COLUMN + INSERT → column and row on the emulator in {:?} ({:?} after the column showed)",
        started.elapsed(),
        took
    );
    let jobs = sr_rows(
        &sr,
        &format!("SHOW ALTER TABLE COLUMN FROM public WHERE TableName = '{t}'"),
    )
    .await?;
    assert!(
        jobs.iter().all(|j| j[9].as_deref() == Some("FINISHED")) && !jobs.is_empty(),
        "{jobs:?}"
    );
    let r = rows(format!(
        "SELECT id, name, email FROM public.{t} ORDER BY id"
    ))
    .await?;
    assert_eq!(r[0], [Some("1".into()), Some("one".into()), None]);
    Ok(())
}
