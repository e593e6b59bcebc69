//! Matching a change against the rules, and the precedence between matches.

use std::cmp::{Ordering, Reverse};

use globset::GlobMatcher;
use serde::Serialize;

use super::Verdict;
use crate::diff::{ChangeKind, TypeChangeClass};
use crate::model::TableId;

/// A glob with its source text.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The glob as written.
    pub text: String,
    pub(crate) matcher: GlobMatcher,
}

impl Pattern {
    /// `*` (or absent) matches everything and is not specific.
    pub fn is_wildcard(&self) -> bool {
        self.text == "*"
    }
}

/// A validated rule.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// Kebab-case name.
    pub name: String,
    /// Code (`SR101`).
    pub code: String,
    /// Database glob (`None`: any).
    #[serde(skip)]
    pub database: Option<Pattern>,
    /// Table glob, on the table name (`None`: any).
    #[serde(skip)]
    pub table: Option<Pattern>,
    /// Kinds matched (empty: any).
    pub kinds: Vec<ChangeKind>,
    /// Type-change classes matched (empty: any).
    pub type_changes: Vec<TypeChangeClass>,
    /// Explicit priority (default 0).
    pub priority: i64,
    /// The decision.
    pub verdict: Verdict,
    /// Why.
    pub reason: String,
    /// File it comes from.
    pub file: String,
    /// Line of its `[[rule]]` header.
    pub line: usize,
}

impl Rule {
    /// Whether the rule applies to a change of this kind and class on `table`.
    pub fn matches(
        &self,
        table: &TableId,
        kind: ChangeKind,
        type_change: Option<TypeChangeClass>,
    ) -> bool {
        let glob_ok =
            |p: &Option<Pattern>, v: &str| p.as_ref().is_none_or(|p| p.matcher.is_match(v));
        glob_ok(&self.database, &table.database)
            && glob_ok(&self.table, &table.table)
            && (self.kinds.is_empty() || self.kinds.contains(&kind))
            && (self.type_changes.is_empty()
                || type_change.is_some_and(|c| self.type_changes.contains(&c)))
    }

    /// Scope specificity: explicit table glob (2) + explicit database glob (1).
    pub fn scope(&self) -> u8 {
        let explicit = |p: &Option<Pattern>| p.as_ref().is_some_and(|p| !p.is_wildcard());
        2 * u8::from(explicit(&self.table)) + u8::from(explicit(&self.database))
    }

    /// Number of change conditions (`kind`, `type_change`) the rule states.
    pub fn conditions(&self) -> u8 {
        u8::from(!self.kinds.is_empty()) + u8::from(!self.type_changes.is_empty())
    }

    /// Precedence: greater wins.
    fn precedence(&self) -> (u8, i64, u8, u8, Reverse<&str>) {
        (
            self.scope(),
            self.priority,
            self.conditions(),
            self.verdict.severity(),
            Reverse(self.code.as_str()),
        )
    }
}

/// Orders two matching rules: `Greater` when `a` wins over `b`.
pub(crate) fn compare(a: &Rule, b: &Rule) -> Ordering {
    a.precedence().cmp(&b.precedence())
}

/// The winning rule among those that match, if any.
pub(crate) fn best<'a>(
    rules: &'a [Rule],
    table: &TableId,
    kind: ChangeKind,
    type_change: Option<TypeChangeClass>,
) -> Option<&'a Rule> {
    rules
        .iter()
        .filter(|r| r.matches(table, kind, type_change))
        .max_by(|a, b| compare(a, b))
}
