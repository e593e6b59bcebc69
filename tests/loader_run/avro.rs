//! `format = "avro"`: the stack's Debezium Avro connector writes the records,
//! the loader decodes them through the Schema Registry, waiting (partition
//! held, backoff) while the registry is unreachable.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_records_of_the_stack_load_through_the_registry() {
    let Some(env) = env("avro").await else {
        return;
    };
    let (Some(registry), Some(prefix)) = (
        harness::stack_var("STACK_REGISTRY"),
        harness::stack_var("STACK_AVRO_PG_PREFIX"),
    ) else {
        return;
    };
    // Debezium's Avro connector captures the table: Confluent-framed values and keys.
    let t = format!("av_{}", env.id);
    env.create_tables(&t, "").await;
    harness::pg(&format!(
        "CREATE TABLE public.{t} (id integer PRIMARY KEY, name text, note text); \
         INSERT INTO public.{t} VALUES (1, 'a', 'x'), (2, 'b', 'x'), (3, 'c', 'x'); \
         UPDATE public.{t} SET name = 'b2' WHERE id = 2; DELETE FROM public.{t} WHERE id = 3;"
    ))
    .await;
    let topic = format!("{prefix}.public.{t}");
    let gates = Arc::new(Gates::new());
    open_gates(&gates, &[&t], &[]);
    // The registry is unreachable at first (nothing listens on the port the
    // loader is given): the partition waits and retries with backoff.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let cfg = env.config(
        &format!("{}-g", env.id),
        &[&topic],
        &[&t],
        &format!("format = \"avro\"\n[registry]\nurl = \"http://127.0.0.1:{port}\""),
    );
    let loader = Loader::start(cfg, gates);
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(env.mirror(&t).await.is_empty(), "loaded without a registry");
    let upstream = registry.trim_start_matches("http://").to_string();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the registry port");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(&upstream).await {
                    let _copied = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    wait_mirror(&env, &t, &[row(1, "a", "x"), row(2, "b2", "x")]).await;
    // c, c, c, u, d (the tombstone after the delete is skipped).
    eventually("five raw events", || async {
        let got = env.raw(&t).await;
        let mut offs: Vec<i64> = got.iter().map(|r| r.1).collect();
        offs.dedup();
        if got.len() == 5 && offs.len() == 5 {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
    let s = loader.stop().await;
    assert_eq!(s.quarantined, 0, "{s:?}");
    assert_eq!(s.mirror_rows, 5, "{s:?}");
    assert!(s.holds >= 1, "the partition waited for the registry: {s:?}");
}
