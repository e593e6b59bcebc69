//! Unit tests of rule parsing, validation and precedence.

use super::*;

fn file(text: &str) -> Vec<(String, String)> {
    vec![("r.toml".to_string(), text.to_string())]
}

fn t() -> TableId {
    TableId::new("shop", "orders")
}

#[test]
fn shipped_defaults_load_and_their_tests_pass() {
    let set = RuleSet::defaults().expect("defaults are valid");
    let results = set.run_tests();
    assert!(!results.is_empty());
    for r in &results {
        assert!(r.passed, "{r}");
    }
}

#[test]
fn unknown_key_names_file_and_line() {
    let text = "[[rule]]\nname = \"a\"\ncode = \"SR101\"\ndecison = \"apply\"\nreason = \"x\"\n";
    let err = RuleSet::load(&file(text)).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!(err.0[0].file, "r.toml");
    assert_eq!(err.0[0].line, 4, "{}", err);
    assert!(err.0[0].message.contains("decison"), "{}", err);
}

#[test]
fn validation_errors_carry_lines() {
    let text = "[[rule]]\nname = \"Bad_Name\"\ncode = \"SR1\"\nkind = \"drop_columns\"\n\
                decision = \"maybe\"\nreason = \"x\"\n[rule.match]\ntable = \"[\"\n";
    let err = RuleSet::load(&file(text)).unwrap_err();
    let lines: Vec<usize> = err.0.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3, 8, 4, 5], "{err}");
}

#[test]
fn duplicate_codes_across_files() {
    let a = "[[rule]]\nname = \"a\"\ncode = \"SR101\"\ndecision = \"apply\"\nreason = \"x\"\n";
    let b = "\n[[rule]]\nname = \"b\"\ncode = \"SR101\"\ndecision = \"queue\"\nreason = \"x\"\n";
    let err =
        RuleSet::load(&[("a.toml".into(), a.into()), ("b.toml".into(), b.into())]).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!((err.0[0].file.as_str(), err.0[0].line), ("b.toml", 2));
}

#[test]
fn precedence_scope_then_priority_then_severity() {
    let text = r#"
[[rule]]
name = "any-apply"
code = "SR401"
kind = "drop_column"
decision = "apply"
reason = "wildcard"
priority = 100

[[rule]]
name = "db-ignore"
code = "SR402"
decision = "ignore"
reason = "database"
[rule.match]
database = "shop"

[[rule]]
name = "table-halt"
code = "SR101"
decision = "halt"
reason = "table"
[rule.match]
table = "orders"

[[rule]]
name = "table-queue"
code = "SR102"
decision = "queue"
reason = "table, same scope, less severe"
[rule.match]
table = "ord*"
"#;
    let set = RuleSet::load(&file(text)).unwrap();
    // Explicit table glob beats database glob and a higher-priority wildcard.
    let d = set.decide_kind(&t(), ChangeKind::DropColumn, None);
    assert_eq!(
        (d.verdict, d.rule_name.as_str()),
        (Verdict::Halt, "table-halt")
    );
    // Another table of the database: the database rule wins over the wildcard.
    let d = set.decide_kind(&TableId::new("shop", "items"), ChangeKind::DropColumn, None);
    assert_eq!(d.rule_name, "db-ignore");
    // Another database: only the wildcard.
    let d = set.decide_kind(&TableId::new("crm", "items"), ChangeKind::DropColumn, None);
    assert_eq!(d.rule_name, "any-apply");
    // Nothing matches: builtin default.
    let d = set.decide_kind(&TableId::new("crm", "items"), ChangeKind::AddColumn, None);
    assert_eq!((d.verdict, d.rule_code.as_str()), (Verdict::Queue, "SR000"));
}

#[test]
fn priority_and_conditions_break_ties() {
    let text = r#"
[[rule]]
name = "low"
code = "SR201"
kind = "modify_column_type"
decision = "halt"
reason = "x"

[[rule]]
name = "specific"
code = "SR202"
kind = "modify_column_type"
type_change = ["widening", "narrowing"]
decision = "apply"
reason = "x"

[[rule]]
name = "high"
code = "SR203"
kind = "modify_column_type"
type_change = "incompatible"
decision = "ignore"
priority = 5
reason = "x"
"#;
    let set = RuleSet::load(&file(text)).unwrap();
    let k = ChangeKind::ModifyColumnType;
    let w = set.decide_kind(&t(), k, Some(TypeChangeClass::Widening));
    assert_eq!(w.rule_name, "specific");
    let i = set.decide_kind(&t(), k, Some(TypeChangeClass::Incompatible));
    assert_eq!(i.rule_name, "high");
}

#[test]
fn inline_tests_report_failures() {
    let text = r#"
[[rule]]
name = "a"
code = "SR101"
kind = "drop_column"
decision = "apply"
reason = "x"

[[test]]
table = "shop.orders"
kind = "drop_column"
expect = "queue"
"#;
    let results = run_rule_tests(&file(text)).unwrap();
    assert_eq!(results.len(), 1);
    assert!(!results[0].passed);
    assert_eq!(results[0].test.line, 9);
    assert!(results[0].to_string().contains("FAILED"), "{}", results[0]);
    let summary = check_rules(&file(text)).unwrap();
    assert_eq!((summary.rules, summary.tests), (1, 1));
}
