//! The approval desk as users run it: `ddlsync pending|show|approve|reject|
//! history` against a store the agent wrote (here: the store API), with the
//! store path taken from `--config`; JSON output; stale and rejected plans
//! refused with the reason; `--help` of each command pinned with insta.

#[path = "support/desk_plans.rs"]
mod desk_plans;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ddlsync::model::TableId;
use ddlsync::store::{PlanStatus, Store};
use desk_plans::{at, context, queued_drop, scratch};

fn ddlsync(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ddlsync"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A directory with `ddlsync.toml` pointing at `state/store.db`, and that store.
fn desk(test: &str) -> (PathBuf, Store) {
    let dir = scratch(test);
    std::fs::write(
        dir.join("ddlsync.toml"),
        "[store]\npath = \"state/store.db\"\n",
    )
    .unwrap();
    let store = Store::open(dir.join("state/store.db")).unwrap();
    (dir, store)
}

#[test]
fn pending_approve_history() {
    let (dir, store) = desk("flow");
    let id = store
        .record_plan(&queued_drop(), &context(), at(0))
        .unwrap();

    let out = ddlsync(&dir, &["pending"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("plan {id}  shop.orders  pending")),
        "{text}"
    );
    assert!(text.contains("shop.orders/drop_column/old"), "{text}");
    assert!(text.contains("DROP COLUMN"), "{text}");

    let out = ddlsync(&dir, &["show", &id.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("status: pending"), "{}", stdout(&out));

    let out = ddlsync(
        &dir,
        &[
            "approve",
            "shop.orders/drop_column/old",
            "--by",
            "alice",
            "--comment",
            "nobody reads it",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("Approved plan {id} (shop.orders) by alice")));
    let rec = store.get(id).unwrap();
    assert_eq!(rec.status, PlanStatus::Approved);
    assert_eq!(rec.approval.unwrap().verification, "to_verify");
    // The agent picks it up.
    assert_eq!(store.take_approved(at(2)).unwrap().len(), 1);

    let out = ddlsync(&dir, &["pending"]);
    assert!(
        stdout(&out).contains("No changes are waiting"),
        "{}",
        stdout(&out)
    );

    let out = ddlsync(&dir, &["history", "shop.orders"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains("planned  agent"), "{text}");
    assert!(
        lines[1].contains("approved  alice") && lines[1].contains("nobody reads it"),
        "{text}"
    );
    assert!(lines[2].contains("taken  agent"), "{text}");
    let out = ddlsync(&dir, &["history", "shop.other"]);
    assert!(stdout(&out).contains("No history recorded."));
}

#[test]
fn json_output() {
    let (dir, store) = desk("json");
    let id = store
        .record_plan(&queued_drop(), &context(), at(0))
        .unwrap();
    let out = ddlsync(&dir, &["pending", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plan = &v["plans"][0];
    assert_eq!(plan["id"], id.0);
    assert_eq!(plan["status"], "pending");
    assert_eq!(plan["target_table"]["table"], "orders");
    assert_eq!(
        plan["changes"][0]["change_id"],
        "shop.orders/drop_column/old"
    );
    assert_eq!(plan["changes"][0]["decision"], "queue");
    assert!(plan["changes"][0]["statements"][0]
        .as_str()
        .unwrap()
        .contains("DROP COLUMN"));

    let out = ddlsync(&dir, &["show", &id.to_string(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["plan"]["target_table"]["table"], "orders");

    let out = ddlsync(&dir, &["history", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["events"][0]["action"], "planned");
}

#[test]
fn stale_approval_is_refused_with_the_reason() {
    let (dir, store) = desk("stale");
    let id = store
        .record_plan(&queued_drop(), &context(), at(0))
        .unwrap();
    // The agent has since seen the target change.
    store
        .record_target(
            &TableId::new("shop", "orders"),
            Some("sha256:0123456789abcdef0123"),
            at(1),
        )
        .unwrap();
    let out = ddlsync(&dir, &["approve", &id.to_string(), "--by", "alice"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(&format!("plan {id} is stale")), "{err}");
    assert!(err.contains("sha256:0123456789ab"), "{err}");
    assert!(err.contains("re-plans"), "{err}");
    assert_eq!(store.get(id).unwrap().status, PlanStatus::Stale);
    // A second try says why the plan cannot be approved.
    let out = ddlsync(&dir, &["approve", &id.to_string(), "--by", "alice"]);
    assert!(
        stderr(&out).contains("is stale, not pending"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn reject_is_recorded_and_final() {
    let (dir, store) = desk("reject");
    let id = store
        .record_plan(&queued_drop(), &context(), at(0))
        .unwrap();
    let out = ddlsync(
        &dir,
        &[
            "reject",
            &id.to_string(),
            "--by",
            "carol",
            "--reason",
            "still read by reports",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("it will not be applied"));
    assert!(store.take_approved(at(1)).unwrap().is_empty());
    let out = ddlsync(&dir, &["approve", &id.to_string(), "--by", "alice"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("rejected by carol"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_store_config_and_unknown_ids_are_errors() {
    let dir = scratch("nostore");
    std::fs::write(dir.join("ddlsync.toml"), "").unwrap();
    let out = ddlsync(&dir, &["pending"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no [store] path configured"),
        "{}",
        stderr(&out)
    );

    let (dir, _store) = desk("unknown");
    let out = ddlsync(&dir, &["show", "42"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("plan 42 not found"),
        "{}",
        stderr(&out)
    );
    let out = ddlsync(&dir, &["approve", "shop.x/drop_column/y", "--by", "a"]);
    assert!(
        stderr(&out).contains("no plan holds change"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn desk_help_is_pinned() {
    let dir = scratch("help");
    for cmd in ["pending", "show", "approve", "reject", "history"] {
        let out = ddlsync(&dir, &[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        insta::assert_snapshot!(format!("help-{cmd}"), stdout(&out));
    }
}
