//! Policy rules: the shipped defaults (one per change kind, their inline
//! tests), precedence, and validation errors that name file and line.

use ddlsync::diff::{ChangeKind, TypeChangeClass};
use ddlsync::model::TableId;
use ddlsync::policy::{check_rules, run_rule_tests, RuleSet, Verdict};

fn rule_files() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let name = format!("rules/{}", p.file_name().unwrap().to_string_lossy());
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn shipped_rule_files_check_and_their_inline_tests_pass() {
    let files = rule_files();
    assert!(!files.is_empty());
    let summary = check_rules(&files).unwrap();
    assert!(summary.rules >= 13 && summary.tests >= 16, "{summary:?}");
    let results = run_rule_tests(&files).unwrap();
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.to_string())
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn compiled_in_defaults_are_the_shipped_file() {
    let files = rule_files();
    let default = files
        .iter()
        .find(|(n, _)| n == "rules/default.toml")
        .unwrap();
    assert_eq!(default.1, ddlsync::policy::DEFAULT_RULES);
}

#[test]
fn a_default_for_every_change_kind() {
    let set = RuleSet::defaults().unwrap();
    let t = TableId::new("anydb", "anytable");
    let expect = |kind: ChangeKind, class: Option<TypeChangeClass>| -> Verdict {
        use ChangeKind::*;
        match (kind, class) {
            (CreateTable | AddColumn | MakeNullable | ChangeComment | RenameColumn, _) => {
                Verdict::Apply
            }
            (ModifyColumnType, Some(TypeChangeClass::Widening)) => Verdict::Apply,
            (ModifyColumnType, _) => Verdict::Queue,
            (
                DropColumn | MakeNotNull | ChangePrimaryKey | DropTable | TruncateTable
                | RenameTable,
                _,
            ) => Verdict::Queue,
            (ChangeDefault | ReorderColumn, _) => Verdict::Ignore,
            (RegenerateMv, _) => Verdict::Apply,
        }
    };
    for kind in ChangeKind::ALL {
        let classes: Vec<Option<TypeChangeClass>> = if kind == ChangeKind::ModifyColumnType {
            vec![
                Some(TypeChangeClass::Widening),
                Some(TypeChangeClass::Narrowing),
                Some(TypeChangeClass::Incompatible),
            ]
        } else {
            vec![None]
        };
        for class in classes {
            let d = set.decide_kind(&t, kind, class);
            assert_ne!(
                d.rule_code, "SR000",
                "{kind} {class:?} falls to the built-in default"
            );
            assert_eq!(d.verdict, expect(kind, class), "{kind} {class:?}: {d:?}");
            assert!(!d.rule_name.is_empty() && !d.reason.is_empty());
        }
    }
}

#[test]
fn user_rules_override_defaults_by_specificity() {
    let mut files = vec![(
        ddlsync::policy::DEFAULT_RULES_FILE.to_string(),
        ddlsync::policy::DEFAULT_RULES.to_string(),
    )];
    files.push((
        "rules/shop.toml".into(),
        r#"
[[rule]]
name = "halt-orders-drops"
code = "SR150"
kind = ["drop_column", "drop_table"]
decision = "halt"
reason = "orders feeds billing"
[rule.match]
database = "shop"
table = "orders"

[[rule]]
name = "apply-scratch"
code = "SR151"
decision = "apply"
reason = "scratch databases may change freely"
[rule.match]
database = "scratch_*"

[[test]]
table = "shop.orders"
kind = "drop_column"
expect = "halt"
rule = "SR150"

[[test]]
table = "shop.customers"
kind = "drop_column"
expect = "queue"
rule = "queue-destructive"

[[test]]
table = "scratch_1.t"
kind = "drop_table"
expect = "apply"
rule = "apply-scratch"
"#
        .into(),
    ));
    let results = run_rule_tests(&files).unwrap();
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.to_string())
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn unknown_key_is_an_error_with_file_and_line() {
    let files = vec![(
        "rules/bad.toml".to_string(),
        "# comment\n[[rule]]\nname = \"x\"\ncode = \"SR101\"\ndecision = \"apply\"\nreason = \"r\"\nkinds = \"add_column\"\n"
            .to_string(),
    )];
    let err = check_rules(&files).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("rules/bad.toml:7: "), "{text}");
    assert!(text.contains("kinds"), "{text}");
}

#[test]
fn bad_values_are_errors_with_lines() {
    let files = vec![(
        "r.toml".to_string(),
        "[[rule]]\nname = \"x\"\ncode = \"SR101\"\nkind = [\"add_column\", \"add_colum\"]\ndecision = \"apply\"\nreason = \"r\"\n[rule.match]\ndatabase = \"a[\"\n\n[[test]]\ntable = \"nodot\"\nkind = \"add_column\"\nexpect = \"apply\"\n"
            .to_string(),
    )];
    let err = RuleSet::load(&files).unwrap_err();
    let got: Vec<(usize, bool)> = err
        .0
        .iter()
        .map(|e| {
            (
                e.line,
                e.message.contains("add_colum")
                    || e.message.contains("glob")
                    || e.message.contains("database.table"),
            )
        })
        .collect();
    assert_eq!(got, vec![(8, true), (4, true), (11, true)], "{err}");
}
