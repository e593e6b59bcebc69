//! Decode + transform throughput of `loader::convert` against parse-only `serde_json` on the
//! same messages (issue 6 goal: ≥ 0.5× parse-only, ≥ 150k events/s/core for ~1 KB events).
//!
//! Workloads, from the captured Debezium 3.6.3 events in `fixtures/debezium/captured`:
//! * `schemaless_1k`: the PostgreSQL `all_types` envelopes without the inline schema (~1.1 KB
//!   each: every Debezium type), with a column description;
//! * `inline_schema_7k`: the same events as captured, with the JsonConverter's inline schema
//!   (~7 KB each, schema cached by its text);
//! * `inline_schema_customers_3k`: the PostgreSQL customers events (~2.9 KB, small rows).
//!
//! "decode" builds both the mirror rows and the raw change-log row of each event, written as
//! the JSON text that goes into the Stream Load body.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ddlsync::loader::convert::{Decoded, Decoder, Record, RowSchema, TableOptions};
use serde_json::Value;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/debezium/captured/json/"
);

fn messages(file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("{DIR}{file}")).expect("fixture");
    text.lines()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).expect("line");
            Some((
                v["key"].as_str()?.to_string(),
                v["payload"].as_str()?.to_string(),
            ))
        })
        .collect()
}

fn run(c: &mut Criterion, name: &str, msgs: &[(String, String)], opts: &TableOptions) {
    let bytes: usize = msgs.iter().map(|(_, v)| v.len()).sum();
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(msgs.len() as u64));
    eprintln!(
        "{name}: {} messages, mean {} bytes",
        msgs.len(),
        bytes / msgs.len().max(1)
    );
    g.bench_function("parse_only_serde_json", |b| {
        b.iter(|| {
            for (_, v) in msgs {
                black_box(serde_json::from_str::<Value>(black_box(v)).expect("json"));
            }
        })
    });
    let mut dec = Decoder::default();
    let mut out = String::new();
    g.bench_function("decode_transform", |b| {
        b.iter(|| {
            for (i, (k, v)) in msgs.iter().enumerate() {
                let rec = Record {
                    topic: "t",
                    partition: 0,
                    offset: i as i64,
                    key: Some(k),
                    value: Some(v),
                };
                let decoded = dec.decode(black_box(&rec), opts).expect("decode");
                // The raw change-log row as the loader writes it into the body.
                if let Decoded::Event(ev) = &decoded {
                    if let Some(raw) = &ev.raw {
                        out.clear();
                        raw.write_json(&mut out);
                    }
                }
                black_box((decoded, &out));
            }
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let with_schema = messages("dbserver1.public.all_types.jsonl");
    let schema: Value =
        serde_json::from_str::<Value>(&with_schema[0].1).expect("json")["schema"].clone();
    let description = Arc::new(RowSchema::from_connect(&schema).expect("schema"));
    let bare: Vec<(String, String)> = with_schema
        .iter()
        .map(|(k, v)| {
            let v: Value = serde_json::from_str(v).expect("json");
            (k.clone(), v["payload"].to_string())
        })
        .collect();
    let schemaless = TableOptions {
        description: Some(description),
        key_columns: Some(vec!["id".into()]),
        ..TableOptions::default()
    };
    run(c, "schemaless_1k", &bare, &schemaless);
    run(
        c,
        "inline_schema_7k",
        &with_schema,
        &TableOptions::default(),
    );
    let customers = messages("dbserver1.public.customers.jsonl");
    run(
        c,
        "inline_schema_customers_3k",
        &customers,
        &TableOptions::default(),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
