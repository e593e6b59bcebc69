//! The `ddlsync` binary as users run it: exit codes, one-line errors naming
//! file and line, `--help` pinned with insta.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ddlsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ddlsync"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn scenario(name: &str, file: &str) -> String {
    format!("fixtures/scenarios/{name}/{file}")
}

/// A scratch directory unique to one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ddlsync-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn plan_with_changes_exits_2() {
    let out = ddlsync(&[
        "plan",
        "--events",
        &scenario("mariadb-members", "events.jsonl"),
        "--target-ddl",
        &scenario("mariadb-members", "starrocks.sql"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("rename_column"), "{text}");
}

#[test]
fn plan_json_is_one_document() {
    let out = ddlsync(&[
        "plan",
        "--events",
        &scenario("mariadb-tables", "events.jsonl"),
        "--target-ddl",
        &scenario("mariadb-tables", "starrocks.sql"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for change in doc["changes"].as_array().unwrap() {
        for key in [
            "source_table",
            "target_table",
            "kind",
            "decision",
            "rule",
            "reason",
            "statements",
        ] {
            assert!(change.get(key).is_some(), "{key} missing in {change}");
        }
    }
}

#[test]
fn plan_in_sync_exits_0() {
    // Plan the members scenario, then use the planned end state as the target.
    let dir = scratch("in-sync");
    let out = ddlsync(&[
        "plan",
        "--events",
        &scenario("mariadb-members", "events.jsonl"),
        "--target-ddl",
        &scenario("mariadb-members", "starrocks.sql"),
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let after: String = doc["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["show_create"]["after"].as_str())
        .map(|s| format!("USE inventory;\n{s};\n"))
        .collect();
    let target = write(&dir, "after.sql", &after);
    let out = ddlsync(&[
        "plan",
        "--events",
        &scenario("mariadb-members", "events.jsonl"),
        "--target-ddl",
        &target,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
}

#[test]
fn truncated_json_line_names_file_and_line() {
    let dir = scratch("truncated");
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(scenario("mariadb-members", "events.jsonl")),
    )
    .unwrap();
    let first = good.lines().next().unwrap();
    let events = write(
        &dir,
        "events.jsonl",
        &format!("{first}\n{}\n", &first[..first.len() / 2]),
    );
    let out = ddlsync(&[
        "plan",
        "--events",
        &events,
        "--target-ddl",
        &scenario("mariadb-members", "starrocks.sql"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains(&format!("{events}:")) && err.contains("line 2"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

#[test]
fn a_message_that_is_not_debezium_is_refused() {
    let dir = scratch("not-debezium");
    let events = write(&dir, "events.jsonl", "{\"hello\": \"world\"}\n");
    let out = ddlsync(&[
        "plan",
        "--events",
        &events,
        "--target-ddl",
        &scenario("mariadb-members", "starrocks.sql"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn a_ddl_file_that_is_not_starrocks_names_its_line() {
    let dir = scratch("not-starrocks");
    let ddl = write(&dir, "target.sql", "USE inventory;\nSELECT 1;\n");
    let out = ddlsync(&[
        "plan",
        "--events",
        &scenario("mariadb-members", "events.jsonl"),
        "--target-ddl",
        &ddl,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("target.sql") && err.contains("line 2"),
        "{err}"
    );
}

#[test]
fn unknown_rule_key_names_file_and_line() {
    let dir = scratch("bad-rules");
    write(
        &dir,
        "bad.toml",
        "[[rule]]\nname = \"x\"\ncode = \"SR901\"\nkind = \"add_column\"\ndecision = \"apply\"\nreason = \"r\"\ncolour = \"red\"\n",
    );
    for cmd in ["check", "test"] {
        let out = ddlsync(&["rules", cmd, "--rules", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "rules {cmd}");
        let err = stderr(&out);
        assert!(err.contains("bad.toml:7"), "rules {cmd}: {err}");
    }
}

#[test]
fn shipped_rules_check_and_pass_their_tests() {
    let out = ddlsync(&["rules", "check", "--rules", "rules"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = ddlsync(&["rules", "test", "--rules", "rules"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(" 0 failed"));
}

#[test]
fn config_check_hides_secrets() {
    let dir = scratch("config");
    let cfg = write(
        &dir,
        "ddlsync.toml",
        "[starrocks]\nquery = \"127.0.0.1:9030\"\npassword = \"${DDLSYNC_TEST_PW}\"\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ddlsync"))
        .args(["config", "check", "--config", &cfg])
        .env("DDLSYNC_TEST_PW", "hunter2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!all.contains("hunter2"), "{all}");
    let out = ddlsync(&["config", "check", "--config", &cfg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("DDLSYNC_TEST_PW is not set"));
}

#[test]
fn help_is_pinned() {
    for args in [
        vec!["--help"],
        vec!["plan", "--help"],
        vec!["rules", "check", "--help"],
        vec!["rules", "test", "--help"],
        vec!["config", "check", "--help"],
    ] {
        let out = ddlsync(&args);
        assert_eq!(out.status.code(), Some(0));
        insta::assert_snapshot!(
            format!("help-{}", args.join("-").trim_start_matches("--")),
            String::from_utf8(out.stdout).unwrap()
        );
    }
}
