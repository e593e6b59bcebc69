//! `ddlsync run` end to end: real MariaDB DDL through Debezium and Kafka, the
//! agent as a child process, a StarRocks emulator per test. Covers apply,
//! queue → approve / reject, renames by version, a rebuild that keeps the
//! data and the views, kill -9 during a running job, the API's token and
//! stale checks, and bad input that must not stop the other tables.

pub mod harness;

use std::time::Duration;

use harness::{
    emulator, scratch, sr_columns, sr_exec, sr_rows, wait_until, write_config, Agent, TOKEN,
};
use mysql_async::prelude::Queryable;

use super::stack::{stack, table, Result};

const WAIT: Duration = Duration::from_secs(45);

/// Creates `inventory.<name>` on MariaDB with `columns` and a first row.
async fn maria(sql: &str) -> Result {
    let s = stack().expect("stack");
    let mut c = s.mariadb().await?;
    c.query_drop(sql).await?;
    c.disconnect().await?;
    Ok(())
}

/// The agent's view: mirror of `name` exists on the emulator with these columns.
async fn wait_columns(
    agent: &Agent,
    sr: &testkit::starrocks::Handle,
    name: &str,
    want: &[&str],
) -> Result<Duration> {
    let (_, took) = wait_until(
        agent,
        &format!("columns {want:?} on inventory.{name}"),
        WAIT,
        || async {
            let cols = sr_columns(sr, "inventory", name).await?;
            Ok((cols == want).then_some(()))
        },
    )
    .await?;
    Ok(took)
}

async fn setup(
    test: &str,
    version: &str,
    job_ms: u64,
    tables: &[&str],
) -> Result<Option<(testkit::starrocks::Handle, Agent, std::path::PathBuf)>> {
    let Some(s) = stack() else { return Ok(None) };
    // No database on the target: the first plan creates it.
    let sr = emulator(version, job_ms).await?;
    let dir = scratch(test);
    let sources: Vec<String> = tables.iter().map(|t| format!("inventory.{t}")).collect();
    let config = write_config(&dir, &s, &sr, &sources, "");
    let agent = Agent::start(&config).await?;
    Ok(Some((sr, agent, dir)))
}

fn stdout(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_column_is_applied_and_its_job_finishes() -> Result {
    let t = table("ag_add");
    let Some((sr, agent, _dir)) = setup("add", "3.3.5", 300, &[&t]).await? else {
        return Ok(());
    };
    maria(&format!(
        "CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(20))"
    ))
    .await?;
    wait_columns(&agent, &sr, &t, &["id", "name"]).await?;
    let started = std::time::Instant::now();
    maria(&format!("ALTER TABLE {t} ADD COLUMN email VARCHAR(50)")).await?;
    wait_columns(&agent, &sr, &t, &["id", "name", "email"]).await?;
    let jobs = sr_rows(
        &sr,
        &format!("SHOW ALTER TABLE COLUMN FROM inventory WHERE TableName = '{t}'"),
    )
    .await?;
    assert_eq!(jobs.len(), 1, "one schema-change job: {jobs:?}");
    assert_eq!(jobs[0][9].as_deref(), Some("FINISHED"), "{jobs:?}");
    eprintln!(
        "add_column: source ALTER → column on the emulator in {:?}",
        started.elapsed()
    );
    // The job is FINISHED before the agent's next poll sees it: wait for the plan's end.
    let (metrics, _) = wait_until(
        &agent,
        "propagation of create + add observed",
        WAIT,
        || async {
            let m = agent.metrics().await?;
            Ok(m.contains("ddlsync_ddl_propagation_seconds_count 2")
                .then_some(m))
        },
    )
    .await?;
    assert!(
        metrics.contains("ddlsync_decisions_total{kind=\"add_column\",decision=\"apply\"} 1"),
        "{metrics}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_column_waits_for_approval_and_a_rejection_is_never_applied() -> Result {
    let (a, b) = (table("ag_drop_a"), table("ag_drop_b"));
    let Some((sr, agent, _dir)) = setup("drop", "3.3.5", 300, &[&a, &b]).await? else {
        return Ok(());
    };
    for t in [&a, &b] {
        maria(&format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(20), note VARCHAR(20))"
        ))
        .await?;
        wait_columns(&agent, &sr, t, &["id", "name", "note"]).await?;
        maria(&format!("ALTER TABLE {t} DROP COLUMN note")).await?;
    }
    for t in [&a, &b] {
        let id = format!("inventory.{t}/drop_column/note");
        wait_until(&agent, &format!("{id} pending"), WAIT, || async {
            Ok(stdout(&agent.desk(&["pending", "--format", "json"]))
                .contains(&id)
                .then_some(()))
        })
        .await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sr_columns(&sr, "inventory", &a).await?,
        ["id", "name", "note"],
        "queued: target unchanged"
    );
    let metrics = agent.metrics().await?;
    assert!(metrics.contains("ddlsync_pending_changes 2"), "{metrics}");
    assert!(metrics.contains("ddlsync_held_tables 2"), "{metrics}");

    let out = agent.desk(&[
        "approve",
        &format!("inventory.{a}/drop_column/note"),
        "--by",
        "alice",
    ]);
    assert!(out.status.success(), "{}", stdout(&out));
    let out = agent.desk(&[
        "reject",
        &format!("inventory.{b}/drop_column/note"),
        "--by",
        "bob",
        "--reason",
        "keep it",
    ]);
    assert!(out.status.success(), "{}", stdout(&out));
    let (_, took) = wait_until(&agent, "approved drop applied", WAIT, || async {
        Ok((sr_columns(&sr, "inventory", &a).await? == ["id", "name"]).then_some(()))
    })
    .await?;
    eprintln!("approval → applied in {took:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sr_columns(&sr, "inventory", &b).await?,
        ["id", "name", "note"],
        "rejected: never applied"
    );
    let history = stdout(&agent.desk(&["history", &format!("inventory.{b}")]));
    assert!(
        history.contains("rejected") && history.contains("bob"),
        "{history}"
    );
    // The rejection is not replayed: no new pending plan for b after a restart.
    let pending = stdout(&agent.desk(&["pending", "--format", "json"]));
    assert!(!pending.contains(b.as_str()), "{pending}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renames_follow_the_starrocks_version() -> Result {
    let t33 = table("ag_ren33");
    let Some((sr33, agent33, _d1)) = setup("ren33", "3.3.5", 300, &[&t33]).await? else {
        return Ok(());
    };
    let t32 = table("ag_ren32");
    let Some((sr32, agent32, _d2)) = setup("ren32", "3.2.9", 300, &[&t32]).await? else {
        return Ok(());
    };
    for (t, agent, sr) in [(&t33, &agent33, &sr33), (&t32, &agent32, &sr32)] {
        maria(&format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, last_name VARCHAR(20), city VARCHAR(20))"
        ))
        .await?;
        wait_columns(agent, sr, t, &["id", "last_name", "city"]).await?;
        maria(&format!(
            "ALTER TABLE {t} CHANGE last_name surname VARCHAR(20)"
        ))
        .await?;
        maria(&format!("ALTER TABLE {t} RENAME COLUMN city TO town")).await?;
    }
    wait_columns(&agent33, &sr33, &t33, &["id", "surname", "town"]).await?;
    let log = agent33.log_text();
    assert!(
        log.contains("RENAME COLUMN `last_name` TO `surname`"),
        "a rename, not drop + add"
    );
    assert!(!log.contains("DROP COLUMN `last_name`"));
    let id = format!("inventory.{t32}/rename_column/surname");
    wait_until(&agent32, "queued rebuild on 3.2", WAIT, || async {
        let out = stdout(&agent32.desk(&["show", &id]));
        Ok((out.contains("SR001") && out.contains("SWAP WITH")).then_some(()))
    })
    .await?;
    assert_eq!(
        sr_columns(&sr32, "inventory", &t32).await?,
        ["id", "last_name", "city"]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incompatible_type_change_rebuilds_with_the_data_and_the_views() -> Result {
    let t = table("ag_rebuild");
    let Some((sr, agent, _dir)) = setup("rebuild", "3.3.5", 300, &[&t]).await? else {
        return Ok(());
    };
    maria(&format!(
        "CREATE TABLE {t} (id INT PRIMARY KEY, code VARCHAR(10), qty INT, other INT)"
    ))
    .await?;
    wait_columns(&agent, &sr, &t, &["id", "code", "qty", "other"]).await?;
    sr_exec(
        &sr,
        &format!("INSERT INTO inventory.{t} VALUES (1,'7',10,1),(2,'42',20,2),(3,'5',30,3)"),
    )
    .await?;
    sr_exec(&sr, &format!("CREATE MATERIALIZED VIEW inventory.{t}_by_code REFRESH ASYNC AS SELECT code, sum(qty) AS q FROM inventory.{t} GROUP BY code")).await?;
    sr_exec(&sr, &format!("CREATE MATERIALIZED VIEW inventory.{t}_other REFRESH ASYNC AS SELECT other, count(*) AS n FROM inventory.{t} GROUP BY other")).await?;
    // A PRIMARY KEY column cannot be modified in place: a shadow-table rebuild.
    maria(&format!("ALTER TABLE {t} MODIFY id BIGINT")).await?;
    let id = format!("inventory.{t}/modify_column_type/id");
    wait_until(&agent, "rebuild queued", WAIT, || async {
        Ok(stdout(&agent.desk(&["pending"]))
            .contains(&id)
            .then_some(()))
    })
    .await?;
    let out = agent.desk(&["approve", &id, "--by", "carol"]);
    assert!(out.status.success(), "{}", stdout(&out));
    wait_until(&agent, "rebuilt table", WAIT, || async {
        let rows = sr_rows(&sr, &format!("SELECT DATA_TYPE FROM information_schema.columns WHERE TABLE_SCHEMA='inventory' AND TABLE_NAME='{t}' AND COLUMN_NAME='id'")).await?;
        Ok((rows.first().and_then(|r| r[0].as_deref()) == Some("bigint")).then_some(()))
    })
    .await?;
    let rows = sr_rows(
        &sr,
        &format!("SELECT id, code, qty FROM inventory.{t} ORDER BY id"),
    )
    .await?;
    let got: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.into_iter().map(|c| c.unwrap_or_default()).collect())
        .collect();
    assert_eq!(
        got,
        [["1", "7", "10"], ["2", "42", "20"], ["3", "5", "30"]],
        "data survives the rebuild"
    );
    wait_until(&agent, "views active", WAIT, || async {
        let rows = sr_rows(&sr, &format!("SELECT TABLE_NAME, IS_ACTIVE FROM information_schema.materialized_views WHERE TABLE_SCHEMA='inventory' AND TABLE_NAME LIKE '{t}%'")).await?;
        Ok((rows.len() == 2 && rows.iter().all(|r| r[1].as_deref() == Some("true"))).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_running_job_then_restart_awaits_it() -> Result {
    let t = table("ag_kill");
    let Some((sr, mut agent, _dir)) = setup("kill", "3.3.5", 4_000, &[&t]).await? else {
        return Ok(());
    };
    maria(&format!("CREATE TABLE {t} (id INT PRIMARY KEY, qty INT)")).await?;
    wait_columns(&agent, &sr, &t, &["id", "qty"]).await?;
    maria(&format!("ALTER TABLE {t} MODIFY qty BIGINT")).await?;
    wait_until(&agent, "job running", WAIT, || async {
        let jobs = sr_rows(
            &sr,
            &format!("SHOW ALTER TABLE COLUMN FROM inventory WHERE TableName = '{t}'"),
        )
        .await?;
        Ok(jobs
            .iter()
            .any(|j| j[9].as_deref() == Some("RUNNING"))
            .then_some(()))
    })
    .await?;
    agent.kill9();
    agent.restart().await?;
    wait_until(&agent, "qty is BIGINT", WAIT, || async {
        let rows = sr_rows(&sr, &format!("SELECT DATA_TYPE FROM information_schema.columns WHERE TABLE_SCHEMA='inventory' AND TABLE_NAME='{t}' AND COLUMN_NAME='qty'")).await?;
        Ok((rows.first().and_then(|r| r[0].as_deref()) == Some("bigint")).then_some(()))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let jobs = sr_rows(
        &sr,
        &format!("SHOW ALTER TABLE COLUMN FROM inventory WHERE TableName = '{t}'"),
    )
    .await?;
    assert_eq!(
        jobs.len(),
        1,
        "the job was awaited, not resubmitted: {jobs:?}"
    );
    let history = stdout(&agent.desk(&["history", &format!("inventory.{t}")]));
    assert!(history.contains("applied"), "{history}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_needs_the_token_and_refuses_a_stale_plan() -> Result {
    let t = table("ag_api");
    let Some((sr, agent, _dir)) = setup("api", "3.3.5", 300, &[&t]).await? else {
        return Ok(());
    };
    maria(&format!(
        "CREATE TABLE {t} (id INT PRIMARY KEY, a INT, b INT)"
    ))
    .await?;
    wait_columns(&agent, &sr, &t, &["id", "a", "b"]).await?;
    maria(&format!("ALTER TABLE {t} DROP COLUMN b")).await?;
    let id = format!("inventory.{t}/drop_column/b");
    let (plan, _) = wait_until(&agent, "pending plan", WAIT, || async {
        let v: serde_json::Value =
            serde_json::from_str(&stdout(&agent.desk(&["pending", "--format", "json"])))
                .unwrap_or_default();
        Ok(v["plans"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p.to_string().contains(&id)))
            .and_then(|p| p["id"].as_i64()))
    })
    .await?;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/changes/{plan}/approve", agent.http);
    let r = http
        .post(&url)
        .json(&serde_json::json!({"by": "mallory"}))
        .send()
        .await?;
    assert_eq!(r.status(), 401);
    // The target changes behind the plan's back: the approval is refused.
    sr_exec(&sr, &format!("ALTER TABLE inventory.{t} ADD COLUMN c INT")).await?;
    wait_until(&agent, "column c on the target", WAIT, || async {
        Ok(sr_columns(&sr, "inventory", &t)
            .await?
            .contains(&"c".to_owned())
            .then_some(()))
    })
    .await?;
    let r = http
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"by": "alice"}))
        .send()
        .await?;
    let status = r.status();
    let body = r.text().await?;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("stale") || body.contains("changed"), "{body}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        sr_columns(&sr, "inventory", &t)
            .await?
            .contains(&"b".to_owned()),
        "not applied"
    );
    Ok(())
}
