//! A gate change while a mirror batch is open: rows admitted under the new
//! gate must not go into the batch opened under the old one (its columns
//! header would leave their new columns out).

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_after_a_gate_change_load_with_the_new_columns() {
    let Some(env) = env("gatechg").await else {
        return;
    };
    let t = format!("g_{}", env.id);
    env.create_tables(&t, "").await;
    // The target left `note` out on purpose (an ignored change): rows are projected.
    env.sql(&[&format!("ALTER TABLE d.{t} DROP COLUMN note")])
        .await;
    let topic = format!("{}.g", env.id);
    env.topic(&topic, 1).await;
    let gates = Arc::new(Gates::new());
    let target = TableId::new("d", t.clone());
    let cols = |c: &[&str]| Some(c.iter().map(|c| c.to_string()).collect());
    gates.set_columns(&target, cols(&["id", "name"]));
    gates.set_project(&target, true);
    // Batches stay open for 4 s: the gate changes while the first one is open.
    let cfg = env.config(
        &format!("{}-g", env.id),
        &[&topic],
        &[&t],
        "batch_age_ms = 4000",
    );
    let loader = Loader::start(cfg, gates.clone());
    let p = env.producer();
    for i in 0..3 {
        p.event(&topic, 0, &Ev::insert(&t, i, "n", &format!("x{i}")))
            .await;
    }
    eventually("the first rows read", || async {
        let records = harness::metric(&loader.metrics.encode(), "ddlsync_loader_records_total", "");
        if records >= 3.0 {
            Ok(())
        } else {
            Err(format!("records {records}"))
        }
    })
    .await;
    // The agent adds the column and stops projecting.
    env.sql(&[&format!("ALTER TABLE d.{t} ADD COLUMN note VARCHAR(64)")])
        .await;
    // ALTER is asynchronous: the gate opens once the table has the column.
    eventually("the column added", || async {
        let text = env
            .sql(&[&format!("SHOW CREATE TABLE d.{t}")])
            .await
            .concat()
            .into_iter()
            .flatten()
            .collect::<String>();
        if text.contains("`note`") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    gates.set_columns(&target, cols(&["id", "name", "note"]));
    gates.set_project(&target, false);
    for i in 3..6 {
        p.event(&topic, 0, &Ev::insert(&t, i, "n", &format!("x{i}")))
            .await;
    }
    let want: Vec<String> = (0..6)
        .map(|i| {
            format!(
                "{i}|n|{}",
                if i < 3 {
                    "NULL".into()
                } else {
                    format!("x{i}")
                }
            )
        })
        .collect();
    let sql = format!("SELECT id, name, note FROM d.{t} ORDER BY id");
    eventually("rows after the change have their note", || async {
        let got = env.rows(&sql).await;
        if got == want {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
    let s = loader.stop().await;
    assert_eq!(s.dropped_columns, 3, "the first three notes dropped: {s:?}");
}
