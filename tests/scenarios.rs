//! Scenario snapshots: each `fixtures/scenarios/<name>/` holds real Debezium
//! messages and the StarRocks target before them; the planner's text and JSON
//! plans are pinned with insta. Review changes with `cargo insta review`.

use std::path::Path;

use ddlsync::capabilities::StarRocksVersion;
use ddlsync::catalog::parse_catalog;
use ddlsync::config::Config;
use ddlsync::model::history::Histories;
use ddlsync::pipeline::{self, Inputs, Outcome};
use ddlsync::plan::{render_json, render_text};
use ddlsync::policy::RuleSet;
use ddlsync::source::decode_file;

fn plan_scenario(dir: &Path, version: &str) -> Outcome {
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let (events, errors) = decode_file(&events);
    assert!(errors.is_empty(), "{}: {errors:?}", dir.display());
    let mut histories = Histories::new();
    for e in &events {
        histories.apply(e);
    }
    let ddl = std::fs::read_to_string(dir.join("starrocks.sql")).unwrap();
    let catalog = parse_catalog(&ddl, None).unwrap();
    let version: StarRocksVersion = version.parse().unwrap();
    pipeline::run(Inputs {
        histories: &histories,
        catalog: &catalog,
        rules: &RuleSet::defaults().unwrap(),
        config: &Config::default(),
        version: &version,
    })
}

fn snapshot(name: &str, version: &str) -> Outcome {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/scenarios")
        .join(name);
    let outcome = plan_scenario(&dir, version);
    insta::assert_snapshot!(format!("{name}@{version}.text"), render_text(&outcome.plan));
    insta::assert_json_snapshot!(format!("{name}@{version}.json"), render_json(&outcome.plan));
    outcome
}

#[test]
fn mariadb_members_on_3_3() {
    let outcome = snapshot("mariadb-members", "3.3.5");
    let json = render_json(&outcome.plan);
    let changes = json["changes"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap(),
                c["column"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // Two renames (CHANGE, then RENAME COLUMN) are one rename, never drop + add.
    assert!(
        kinds.contains(&("rename_column", "family_name")),
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|(k, _)| *k == "drop_column"), "{kinds:?}");
    assert!(
        !kinds.iter().any(|(_, c)| *c == "phone"),
        "added then dropped: {kinds:?}"
    );
    // The view reading last_name is re-created reading family_name; the others are untouched.
    let text = render_text(&outcome.plan);
    assert!(text.contains("GROUP BY `members`.`family_name`"), "{text}");
    assert!(
        !text.contains("member_emails") && !text.contains("member_notes"),
        "{text}"
    );
}

#[test]
fn mariadb_members_on_3_2_rebuilds_for_the_rename() {
    let outcome = snapshot("mariadb-members", "3.2.0");
    let text = render_text(&outcome.plan);
    assert!(
        !text.contains("RENAME COLUMN `"),
        "no RENAME COLUMN statement: {text}"
    );
    assert!(
        text.contains("SWAP WITH"),
        "a shadow rebuild instead: {text}"
    );
}

#[test]
fn mariadb_table_events() {
    let outcome = snapshot("mariadb-tables", "3.3.5");
    let json = render_json(&outcome.plan);
    let kinds: Vec<&str> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"rename_table"), "{kinds:?}");
    assert!(kinds.contains(&"drop_table"), "{kinds:?}");
}

#[test]
fn postgres_inline_schemas() {
    snapshot("postgres-customers", "3.3.5");
}

#[test]
fn a_target_built_from_the_latest_source_is_in_sync() {
    // Plan once, then feed the planned "after" state back as the target: no changes.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios/mariadb-members");
    let outcome = plan_scenario(&dir, "3.3.5");
    let after: String = outcome
        .plan
        .tables
        .iter()
        .filter_map(|t| t.after.clone())
        .map(|s| s + ";\n")
        .collect();
    assert!(!after.is_empty());
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let (events, _) = decode_file(&events);
    let mut histories = Histories::new();
    for e in &events {
        histories.apply(e);
    }
    let catalog = parse_catalog(&after, Some("inventory")).unwrap();
    let version: StarRocksVersion = "3.3.5".parse().unwrap();
    let again = pipeline::run(Inputs {
        histories: &histories,
        catalog: &catalog,
        rules: &RuleSet::defaults().unwrap(),
        config: &Config::default(),
        version: &version,
    });
    let remaining: Vec<String> = again
        .plan
        .tables
        .iter()
        .flat_map(|t| t.changes.iter())
        .filter(|c| c.decision.verdict != ddlsync::policy::Verdict::Ignore)
        .map(|c| c.id.clone())
        .collect();
    assert!(remaining.is_empty(), "{remaining:?}");
}
