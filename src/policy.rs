//! Policy: rule files and the decision (apply, queue, ignore, halt) for each change.
//!
//! Owns [`RuleSet`] (loaded from `(file name, text)` pairs: this module does
//! no file I/O, the CLI reads the files), [`Decision`], [`Verdict`],
//! validation for `ddlsync rules check` ([`check_rules`]) and the inline
//! `[[test]]` cases for `ddlsync rules test` ([`run_rule_tests`]). Pure.
//!
//! Precedence (also in `docs/policy-rules.md`): among the rules that match a
//! change, the most specific scope wins (explicit table glob > explicit
//! database glob > wildcard); then the higher `priority`; then the rule with
//! more conditions (`kind`, `type_change`); then the more severe decision
//! (halt > queue > apply > ignore); then the lower code. A change no rule
//! matches is queued by the built-in rule `SR000 builtin-default`.
//!
//! ```
//! use ddlsync::diff::{ChangeKind, TypeChangeClass};
//! use ddlsync::model::TableId;
//! use ddlsync::policy::{RuleSet, Verdict};
//!
//! let rules = RuleSet::load(&[(
//!     "shop.toml".to_string(),
//!     r#"
//! [[rule]]
//! name = "apply-widening"
//! code = "SR201"
//! kind = "modify_column_type"
//! type_change = "widening"
//! decision = "apply"
//! reason = "lossless"
//! "#
//!     .to_string(),
//! )])
//! .unwrap();
//! let t = TableId::new("shop", "orders");
//! let d = rules.decide_kind(&t, ChangeKind::ModifyColumnType, Some(TypeChangeClass::Widening));
//! assert_eq!((d.verdict, d.rule_code.as_str()), (Verdict::Apply, "SR201"));
//! let d = rules.decide_kind(&t, ChangeKind::DropColumn, None);
//! assert_eq!((d.verdict, d.rule_name.as_str()), (Verdict::Queue, "builtin-default"));
//! ```

mod matcher;
mod rules;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::diff::{Change, ChangeKind, TypeChangeClass};
use crate::model::TableId;

pub use matcher::Rule;

/// The shipped default rules (`rules/default.toml`), compiled in.
pub const DEFAULT_RULES: &str = include_str!("../rules/default.toml");
/// The file name the shipped defaults are reported under.
pub const DEFAULT_RULES_FILE: &str = "rules/default.toml";
/// Code of the built-in fallback rule.
pub const BUILTIN_DEFAULT_CODE: &str = "SR000";
/// Name of the built-in fallback rule.
pub const BUILTIN_DEFAULT_NAME: &str = "builtin-default";

/// What policy says to do with a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Do it now.
    Apply,
    /// Hold it until a person approves.
    Queue,
    /// Leave the target as it is and keep loading.
    Ignore,
    /// Stop loading the table and alert.
    Halt,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 4] = [
        Verdict::Apply,
        Verdict::Queue,
        Verdict::Ignore,
        Verdict::Halt,
    ];

    /// The vocabulary name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Apply => "apply",
            Verdict::Queue => "queue",
            Verdict::Ignore => "ignore",
            Verdict::Halt => "halt",
        }
    }

    /// Tie-break rank: halt (3) > queue (2) > apply (1) > ignore (0).
    pub fn severity(self) -> u8 {
        match self {
            Verdict::Halt => 3,
            Verdict::Queue => 2,
            Verdict::Apply => 1,
            Verdict::Ignore => 0,
        }
    }

    /// Parses a vocabulary name.
    pub fn parse(s: &str) -> Option<Self> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decision and the rule that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// Code of the deciding rule (`SR101`, or `SR000` for the built-in default).
    pub rule_code: String,
    /// Name of the deciding rule.
    pub rule_name: String,
    /// Why.
    pub reason: String,
}

impl Decision {
    /// The built-in decision for a change no rule matches.
    pub fn builtin_default() -> Self {
        Self {
            verdict: Verdict::Queue,
            rule_code: BUILTIN_DEFAULT_CODE.into(),
            rule_name: BUILTIN_DEFAULT_NAME.into(),
            reason: "no rule matches this change, so it is queued for approval".into(),
        }
    }
}

/// A rule-file problem, with the file and line it applies to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RuleError {
    /// File name as given to [`RuleSet::load`].
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Every problem found in a set of rule files (at least one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct RuleErrors(pub Vec<RuleError>);

/// An inline test case of a rule file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleTest {
    /// File it is written in.
    pub file: String,
    /// Line of its `[[test]]` header.
    pub line: usize,
    /// Optional description.
    pub name: Option<String>,
    /// Table the change is on.
    pub table: TableId,
    /// Change kind.
    pub kind: ChangeKind,
    /// Type-change class, for `modify_column_type`.
    pub type_change: Option<TypeChangeClass>,
    /// Expected verdict.
    pub expect: Verdict,
    /// Expected deciding rule (name or code), if given.
    pub rule: Option<String>,
}

/// Outcome of one inline test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleTestResult {
    /// The test.
    pub test: RuleTest,
    /// What the rules decided.
    pub actual: Decision,
    /// Whether it matched the expectation.
    pub passed: bool,
}

impl fmt::Display for RuleTestResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.test;
        let what = match t.type_change {
            Some(c) => format!("{} {} ({c})", t.table, t.kind),
            None => format!("{} {}", t.table, t.kind),
        };
        let status = if self.passed { "ok" } else { "FAILED" };
        write!(
            f,
            "{}:{}: {what}: {status}: expected {}{}, got {} by {} {}",
            t.file,
            t.line,
            t.expect,
            t.rule
                .as_ref()
                .map(|r| format!(" by {r}"))
                .unwrap_or_default(),
            self.actual.verdict,
            self.actual.rule_code,
            self.actual.rule_name
        )
    }
}

/// What `rules check` found in valid files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckSummary {
    /// Files read.
    pub files: usize,
    /// Rules defined.
    pub rules: usize,
    /// Inline tests defined.
    pub tests: usize,
}

/// A validated set of rules, from one or more files.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    tests: Vec<RuleTest>,
    files: usize,
}

impl RuleSet {
    /// Parses and validates rule files given as `(file name, text)` pairs.
    /// Every problem is reported, each with its file and line.
    pub fn load(files: &[(String, String)]) -> Result<Self, RuleErrors> {
        let mut errors = Vec::new();
        let mut set = RuleSet {
            files: files.len(),
            ..RuleSet::default()
        };
        for (name, text) in files {
            match rules::parse_file(name, text) {
                Ok((r, t)) => {
                    set.rules.extend(r);
                    set.tests.extend(t);
                }
                Err(e) => errors.extend(e),
            }
        }
        errors.extend(rules::check_set(&set.rules, &set.tests));
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(RuleErrors(errors))
        }
    }

    /// The shipped defaults (`rules/default.toml`).
    pub fn defaults() -> Result<Self, RuleErrors> {
        Self::load(&[(DEFAULT_RULES_FILE.to_string(), DEFAULT_RULES.to_string())])
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The inline tests, in file order.
    pub fn tests(&self) -> &[RuleTest] {
        &self.tests
    }

    /// The decision for `change` of the (source) table `table`.
    pub fn decide(&self, table: &TableId, change: &Change) -> Decision {
        self.decide_kind(table, change.kind(), change.type_change())
    }

    /// The decision for a change described by kind and type-change class.
    pub fn decide_kind(
        &self,
        table: &TableId,
        kind: ChangeKind,
        type_change: Option<TypeChangeClass>,
    ) -> Decision {
        matcher::best(&self.rules, table, kind, type_change).map_or_else(
            Decision::builtin_default,
            |r| Decision {
                verdict: r.verdict,
                rule_code: r.code.clone(),
                rule_name: r.name.clone(),
                reason: r.reason.clone(),
            },
        )
    }

    /// Runs the inline `[[test]]` cases against the whole set.
    pub fn run_tests(&self) -> Vec<RuleTestResult> {
        self.tests
            .iter()
            .map(|t| {
                let actual = self.decide_kind(&t.table, t.kind, t.type_change);
                let rule_ok = t
                    .rule
                    .as_ref()
                    .is_none_or(|r| *r == actual.rule_name || *r == actual.rule_code);
                RuleTestResult {
                    test: t.clone(),
                    passed: actual.verdict == t.expect && rule_ok,
                    actual,
                }
            })
            .collect()
    }
}

/// `ddlsync rules check`: validates the files; a summary when they are valid.
pub fn check_rules(files: &[(String, String)]) -> Result<CheckSummary, RuleErrors> {
    let set = RuleSet::load(files)?;
    Ok(CheckSummary {
        files: set.files,
        rules: set.rules.len(),
        tests: set.tests.len(),
    })
}

/// `ddlsync rules test`: loads the files and runs every inline test.
pub fn run_rule_tests(files: &[(String, String)]) -> Result<Vec<RuleTestResult>, RuleErrors> {
    Ok(RuleSet::load(files)?.run_tests())
}

#[cfg(test)]
mod tests;
