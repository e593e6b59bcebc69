//! Rows written before a source column rename still carry the former name;
//! once the target has the new name, their values load into it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_written_before_a_rename_load_into_the_renamed_column() {
    let Some(env) = env("rename").await else {
        return;
    };
    let t = format!("n_{}", env.id);
    env.create_tables(&t, "").await;
    // The agent has already renamed the target's column.
    env.sql(&[&format!("ALTER TABLE d.{t} RENAME COLUMN note TO remark")])
        .await;
    let topic = format!("{}.n", env.id);
    env.topic(&topic, 1).await;
    let gates = Arc::new(Gates::new());
    let target = TableId::new("d", t.clone());
    gates.set_columns(
        &target,
        Some(
            ["id", "name", "remark"]
                .iter()
                .map(|c| c.to_string())
                .collect(),
        ),
    );
    gates.set_dropped_upstream(&target, ["note".to_string()].into());
    gates.set_renamed_upstream(&target, [("note".to_string(), "remark".to_string())].into());
    let p = env.producer();
    // Written before the rename: the events still say `note`.
    for i in 0..3 {
        p.event(&topic, 0, &Ev::insert(&t, i, "n", &format!("x{i}")))
            .await;
    }
    p.event(
        &topic,
        0,
        &Ev::update(
            &t,
            json!({"id": 1, "name": "n", "note": "x1"}),
            json!({"id": 1, "name": "n", "note": "y1"}),
        ),
    )
    .await;
    let cfg = env.config(&format!("{}-g", env.id), &[&topic], &[&t], "");
    let loader = Loader::start(cfg, gates);
    let want = vec!["0|n|x0".to_string(), "1|n|y1".into(), "2|n|x2".into()];
    let sql = format!("SELECT id, name, remark FROM d.{t} ORDER BY id");
    eventually("the mirror has the renamed column's values", || async {
        let got = env.rows(&sql).await;
        if got == want {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
    wait_raw(&env, &t, &offsets(0, 4)).await;
    let s = loader.stop().await;
    assert_eq!(s.dropped_columns, 0, "nothing dropped: {s:?}");
    assert_eq!(s.holds, 0, "nothing held: {s:?}");
}
