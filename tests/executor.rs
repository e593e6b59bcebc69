//! The executor against the in-process StarRocks emulator: plans come from a
//! source table diffed against the introspected target (`plan::plan_table`),
//! never from hand-written SQL; jobs are awaited, re-runs are no-ops, running
//! jobs are not doubled, busy refusals are retried, cancelled jobs fail with
//! StarRocks' message, and a shadow rebuild keeps the data and its views.

use std::time::Duration;

use ddlsync::capabilities::StarRocksVersion;
use ddlsync::config::{Secret, StarRocksConfig};
use ddlsync::diff::diff_table_into;
use ddlsync::executor::{Executor, Options, RecordingObserver, StepResult};
use ddlsync::model::{ColumnId, SourceColumn, SourceDialect, SourceTable, SourceType, TableId};
use ddlsync::plan::{plan_table, Action, PlanOptions, Step, TablePlan};
use ddlsync::policy::{Decision, Verdict};
use ddlsync::starrocks::{Client, JobState};
use ddlsync::types::{MappingOptions, SrType};
use mysql_async::prelude::Queryable;
use testkit::starrocks::{Config, Handle, Server};
use tokio_util::sync::CancellationToken;

fn table_id() -> TableId {
    TableId::new("shop", "t")
}

fn col(id: u32, name: &str, ty: SourceType, nullable: bool) -> SourceColumn {
    SourceColumn {
        id: ColumnId(id),
        name: name.into(),
        former_names: vec![],
        position: id,
        ty,
        nullable,
        default: None,
        comment: None,
        auto_increment: false,
    }
}

fn varchar(n: u64) -> SourceType {
    SourceType {
        length: Some(n),
        ..SourceType::named("VARCHAR")
    }
}

fn base_columns() -> Vec<SourceColumn> {
    vec![
        col(1, "id", SourceType::named("BIGINT"), false),
        col(2, "name", varchar(20), true),
        col(3, "qty", SourceType::named("BIGINT"), true),
    ]
}

fn source(columns: Vec<SourceColumn>) -> SourceTable {
    SourceTable {
        id: table_id(),
        dialect: SourceDialect::Mysql,
        columns,
        primary_key: vec!["id".into()],
        charset: None,
        comment: None,
    }
}

fn version() -> StarRocksVersion {
    "3.3.5".parse().expect("version")
}

fn options() -> Options {
    Options {
        poll_interval: Duration::from_millis(50),
        job_timeout: Duration::from_secs(180),
        retry_initial: Duration::from_millis(100),
        retry_max: Duration::from_millis(500),
        retry_budget: Duration::from_secs(120),
    }
}

struct Env {
    sr: Handle,
    client: Client,
    exec: Executor,
}

async fn start(job_ms: u64) -> Env {
    let sr = Server::start(Config {
        version: "3.3.5".into(),
        job_ms,
        ..Config::default()
    })
    .await
    .expect("emulator");
    let client = Client::new(&StarRocksConfig {
        query: sr.query_addr().to_string(),
        http: None,
        user: "root".into(),
        password: Secret::default(),
        version: None,
        replication_num: 1,
    })
    .expect("client");
    client.execute("CREATE DATABASE shop").await.expect("db");
    let exec = Executor::new(client.clone(), options());
    let env = Env { sr, client, exec };
    let plan = env.plan(&source(base_columns())).await;
    env.run(&plan.steps).await;
    let again = env.plan(&source(base_columns())).await;
    assert!(
        again.changes.is_empty(),
        "not in sync after create: {again:#?}"
    );
    env
}

impl Env {
    /// Plans `source` against the introspected target, every change decided `apply`.
    async fn plan(&self, source: &SourceTable) -> TablePlan {
        let id = table_id();
        let catalog = self
            .client
            .introspect(std::slice::from_ref(&id))
            .await
            .expect("introspect");
        let diff = diff_table_into(
            source,
            &id,
            catalog.tables.get(&id),
            &MappingOptions::default(),
        );
        let decisions: Vec<Decision> = diff
            .changes
            .iter()
            .map(|_| Decision {
                verdict: Verdict::Apply,
                rule_code: "T001".into(),
                rule_name: "test-apply".into(),
                reason: "test".into(),
            })
            .collect();
        plan_table(
            &diff,
            &decisions,
            &catalog,
            &version(),
            &PlanOptions { replication_num: 1 },
        )
    }

    async fn run(&self, steps: &[Step]) -> ddlsync::executor::Outcome {
        self.exec
            .run(
                &table_id(),
                steps,
                &RecordingObserver::default(),
                &CancellationToken::new(),
            )
            .await
            .expect("run")
    }

    async fn jobs(&self) -> Vec<ddlsync::starrocks::AlterJob> {
        self.client.alter_jobs(&table_id()).await.expect("jobs")
    }

    async fn fault(&self, body: serde_json::Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/_testkit/faults", self.sr.fe_url()))
            .json(&body)
            .send()
            .await
            .expect("fault");
        assert!(r.status().is_success());
    }

    async fn column_type(&self, name: &str) -> Option<String> {
        let cat = self
            .client
            .introspect(&[table_id()])
            .await
            .expect("introspect");
        cat.tables[&table_id()]
            .column(name)
            .map(|c| c.ty.to_string())
    }

    async fn stop(self) {
        self.client.disconnect().await;
        self.sr.shutdown().await;
    }
}

fn with_extra() -> SourceTable {
    let mut cols = base_columns();
    cols.push(col(4, "extra", SourceType::named("INT"), true));
    source(cols)
}

fn alter_text(plan: &TablePlan) -> String {
    plan.steps
        .iter()
        .find_map(|s| match s {
            Step::Sql {
                statement,
                waits_for_job: true,
            } => Some(statement.to_string()),
            _ => None,
        })
        .expect("a job-starting statement")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_column_is_awaited_and_a_second_run_is_a_noop() {
    let env = start(300).await;
    let plan = env.plan(&with_extra()).await;
    let out = env.run(&plan.steps).await;
    let jobs = env.jobs().await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Finished);
    let applied: Vec<_> = out
        .reports
        .iter()
        .filter_map(|r| match &r.result {
            StepResult::Applied { job_id } => Some(*job_id),
            _ => None,
        })
        .collect();
    assert_eq!(
        applied,
        vec![Some(jobs[0].job_id), Some(jobs[0].job_id)],
        "{out:#?}"
    );
    assert_eq!(env.column_type("extra").await.as_deref(), Some("INT"));

    let again = env.run(&plan.steps).await;
    assert!(again.is_noop(), "{again:#?}");
    assert!(again
        .reports
        .iter()
        .all(|r| matches!(r.result, StepResult::Skipped { .. } | StepResult::Marker)));
    assert_eq!(env.jobs().await.len(), 1, "no second job");
    assert!(env.plan(&with_extra()).await.changes.is_empty());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_is_awaited_not_resubmitted() {
    let env = start(3000).await;
    let plan = env.plan(&with_extra()).await;
    // As if an earlier agent submitted the ALTER and then died.
    let mut conn =
        mysql_async::Conn::new(mysql_async::Opts::from_url(&env.sr.mysql_url()).expect("url"))
            .await
            .expect("conn");
    conn.query_drop(alter_text(&plan)).await.expect("alter");
    conn.disconnect().await.expect("disconnect");
    let running = env.jobs().await;
    assert_eq!(running.len(), 1);
    assert!(running[0].is_active());

    let out = env.run(&plan.steps).await;
    let jobs = env.jobs().await;
    assert_eq!(jobs.len(), 1, "resubmitted: {jobs:#?}");
    assert_eq!(jobs[0].state, JobState::Finished);
    assert!(out.is_noop(), "{out:#?}");
    assert!(out.reports.iter().any(|r| matches!(
        &r.result,
        StepResult::Skipped { awaited_job: Some(id), .. } if *id == jobs[0].job_id
    )));
    assert_eq!(env.column_type("extra").await.as_deref(), Some("INT"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_refusal_is_retried() {
    let env = start(300).await;
    let plan = env.plan(&with_extra()).await;
    env.fault(serde_json::json!({"fail_alter_statements":
        "A schema change operation is in progress on the table \"t\". Please wait until the current operation completes."}))
        .await;
    let clear = {
        let url = format!("{}/_testkit/faults", env.sr.fe_url());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({"fail_alter_statements": ""}))
                .send()
                .await
                .map(|r| r.status().is_success())
        })
    };
    let started = std::time::Instant::now();
    let out = env.run(&plan.steps).await;
    assert!(clear.await.expect("join").expect("clear"));
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert!(!out.is_noop());
    assert_eq!(env.jobs().await.len(), 1);
    assert_eq!(env.column_type("extra").await.as_deref(), Some("INT"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_job_is_an_error_with_its_msg() {
    let env = start(300).await;
    let plan = env.plan(&with_extra()).await;
    env.fault(serde_json::json!({"fail_next_alter_jobs":
        {"table": "shop.t", "count": 1, "msg": "injected: disk full"}}))
        .await;
    let observer = RecordingObserver::default();
    let err = env
        .exec
        .run(
            &table_id(),
            &plan.steps,
            &observer,
            &CancellationToken::new(),
        )
        .await
        .expect_err("cancelled job");
    assert!(err.to_string().contains("injected: disk full"), "{err}");
    assert!(matches!(
        err.error,
        ddlsync::executor::Error::JobCancelled { .. }
    ));
    assert!(observer.lines().iter().any(|l| l.contains("failed")));
    assert_eq!(env.column_type("extra").await, None);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_column_on_3_3_5() {
    let env = start(300).await;
    let mut cols = base_columns();
    cols[1].name = "title".into();
    cols[1].former_names = vec!["name".into()];
    let plan = env.plan(&source(cols.clone())).await;
    assert!(plan
        .steps
        .iter()
        .flat_map(|s| s.statements())
        .any(|s| s.to_string().contains("RENAME COLUMN")));
    let out = env.run(&plan.steps).await;
    assert!(!out.is_noop());
    assert!(env.column_type("title").await.is_some());
    assert!(env.column_type("name").await.is_none());
    assert!(env.run(&plan.steps).await.is_noop());
    assert!(env.jobs().await.is_empty(), "rename is synchronous");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incompatible_type_change_is_a_shadow_rebuild_that_keeps_data_and_views() {
    let env = start(300).await;
    let c = &env.client;
    c.execute("INSERT INTO shop.t (id, name, qty) VALUES (1, 'a', 10), (2, 'b', 20), (3, 'a', 5)")
        .await
        .expect("insert");
    c.execute(
        "CREATE MATERIALIZED VIEW shop.mv_qty REFRESH MANUAL \
         AS SELECT name, SUM(qty) AS q FROM shop.t GROUP BY name",
    )
    .await
    .expect("mv");
    let mut cols = base_columns();
    // BIGINT → DECIMAL(20, 2): StarRocks has no in-place conversion.
    cols[2].ty = SourceType {
        length: Some(20),
        scale: Some(2),
        ..SourceType::named("DECIMAL")
    };
    let plan = env.plan(&source(cols.clone())).await;
    let change = plan
        .changes
        .iter()
        .find(|c| matches!(c.action, Action::Rebuild(_)))
        .unwrap_or_else(|| panic!("no rebuild planned: {plan:#?}"));
    assert!(change.pending, "rebuilds wait for approval");
    assert!(change
        .steps
        .iter()
        .any(|s| matches!(s, Step::Rebuild { .. })));
    assert!(change
        .steps
        .iter()
        .any(|s| matches!(s, Step::ReactivateMv { .. })));

    // Approved: run the queued change's steps.
    let out = env.run(&change.steps).await;
    assert!(!out.is_noop());
    assert_eq!(
        env.column_type("qty").await,
        Some(
            SrType::Decimal {
                precision: 20,
                scale: 2
            }
            .to_string()
        )
    );
    let rows = c
        .query("SELECT id, name, qty FROM shop.t ORDER BY id")
        .await
        .expect("select");
    let got: Vec<Vec<Option<String>>> = rows.rows;
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        got,
        vec![
            vec![s("1"), s("a"), s("10.00")],
            vec![s("2"), s("b"), s("20.00")],
            vec![s("3"), s("a"), s("5.00")],
        ]
    );
    let cat = c
        .introspect(&[table_id(), TableId::new("shop", "t__ddlsync_new")])
        .await
        .expect("introspect");
    assert!(!cat
        .tables
        .contains_key(&TableId::new("shop", "t__ddlsync_new")));
    let mv = &cat.views[&TableId::new("shop", "mv_qty")];
    assert!(mv.is_active, "{mv:#?}");
    let mv_rows = c
        .query("SELECT name, q FROM shop.mv_qty ORDER BY name")
        .await
        .expect("mv rows");
    assert_eq!(
        mv_rows.rows,
        vec![vec![s("a"), s("15")], vec![s("b"), s("20")]]
    );

    // Re-running the approved steps changes nothing.
    assert!(env.run(&change.steps).await.is_noop());
    assert!(env.plan(&source(cols)).await.changes.is_empty());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_while_a_job_runs_then_restarted_converges_without_a_second_alter() {
    let env = start(2500).await;
    let plan = env.plan(&with_extra()).await;
    let cancel = CancellationToken::new();
    let trigger = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            cancel.cancel();
        })
    };
    let out = env
        .exec
        .run(
            &table_id(),
            &plan.steps,
            &RecordingObserver::default(),
            &cancel,
        )
        .await
        .expect("run");
    trigger.await.expect("join");
    assert!(out.cancelled, "{out:#?}");
    let jobs = env.jobs().await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(out.pending_job, Some((table_id(), jobs[0].job_id)));
    assert!(jobs[0].is_active(), "the submitted job is not cancelled");

    // A new run (as after a restart) awaits the same job and submits nothing.
    let again = env.run(&plan.steps).await;
    assert!(again.is_noop(), "{again:#?}");
    let jobs = env.jobs().await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Finished);
    assert_eq!(env.column_type("extra").await.as_deref(), Some("INT"));
    env.stop().await;
}
