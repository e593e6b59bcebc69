//! Rule files: the TOML format, its validation with file and line for every
//! problem, and the inline `[[test]]` cases.

use std::collections::BTreeMap;
use std::ops::Range;

use globset::GlobBuilder;
use serde::Deserialize;
use toml::Spanned;

use super::matcher::{Pattern, Rule};
use super::{RuleError, RuleTest, Verdict};
use crate::diff::{ChangeKind, TypeChangeClass};
use crate::model::TableId;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    test: Vec<Spanned<RawTest>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    database: Option<Spanned<String>>,
    table: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    code: Spanned<String>,
    #[serde(rename = "match")]
    matches: Option<RawMatch>,
    kind: Option<Spanned<OneOrMany>>,
    type_change: Option<Spanned<OneOrMany>>,
    priority: Option<i64>,
    decision: Spanned<String>,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    name: Option<String>,
    table: Spanned<String>,
    kind: Spanned<String>,
    type_change: Option<Spanned<String>>,
    expect: Spanned<String>,
    rule: Option<Spanned<String>>,
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<RuleError>,
}

impl Ctx<'_> {
    fn err(&mut self, span: Range<usize>, message: String) {
        self.errors.push(RuleError {
            file: self.file.to_string(),
            line: line_of(self.text, span.start),
            message,
        });
    }
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn is_code(s: &str) -> bool {
    s.len() == 5
        && s.starts_with("SR")
        && s[2..].chars().all(|c| c.is_ascii_digit())
        && !s[2..].starts_with('0')
}

fn pattern(ctx: &mut Ctx<'_>, what: &str, glob: Option<Spanned<String>>) -> Option<Pattern> {
    let glob = glob?;
    let span = glob.span();
    let text = glob.into_inner();
    match GlobBuilder::new(&text).literal_separator(false).build() {
        Ok(g) => Some(Pattern {
            matcher: g.compile_matcher(),
            text,
        }),
        Err(e) => {
            ctx.err(span, format!("bad {what} glob {text:?}: {e}"));
            None
        }
    }
}

fn kinds(ctx: &mut Ctx<'_>, raw: Option<Spanned<OneOrMany>>) -> Vec<ChangeKind> {
    let Some(raw) = raw else { return Vec::new() };
    let span = raw.span();
    let mut out = Vec::new();
    for k in raw.into_inner().into_vec() {
        match k.parse::<ChangeKind>() {
            Ok(k) => out.push(k),
            Err(_) => ctx.err(
                span.clone(),
                format!(
                    "unknown change kind {k:?}; expected one of: {}",
                    ChangeKind::ALL.map(ChangeKind::as_str).join(", ")
                ),
            ),
        }
    }
    out
}

fn class(s: &str) -> Option<TypeChangeClass> {
    [
        TypeChangeClass::Widening,
        TypeChangeClass::Narrowing,
        TypeChangeClass::Incompatible,
    ]
    .into_iter()
    .find(|c| c.as_str() == s)
}

const CLASSES: &str = "widening, narrowing, incompatible";
const VERDICTS: &str = "apply, queue, ignore, halt";

fn rule(ctx: &mut Ctx<'_>, raw: Spanned<RawRule>) -> Option<Rule> {
    let line = line_of(ctx.text, raw.span().start);
    let raw = raw.into_inner();
    let before = ctx.errors.len();
    if !is_kebab(raw.name.get_ref()) {
        ctx.err(
            raw.name.span(),
            format!("rule name {:?} is not kebab-case", raw.name.get_ref()),
        );
    }
    if !is_code(raw.code.get_ref()) {
        ctx.err(
            raw.code.span(),
            format!(
                "rule code {:?} is not of the form SRnnn (SR100-SR999; SR0xx is reserved)",
                raw.code.get_ref()
            ),
        );
    }
    let (database, table) = match raw.matches {
        Some(m) => (
            pattern(ctx, "database", m.database),
            pattern(ctx, "table", m.table),
        ),
        None => (None, None),
    };
    let kinds = kinds(ctx, raw.kind);
    let mut type_changes = Vec::new();
    if let Some(tc) = raw.type_change {
        let span = tc.span();
        for c in tc.into_inner().into_vec() {
            match class(&c) {
                Some(c) => type_changes.push(c),
                None => ctx.err(
                    span.clone(),
                    format!("unknown type_change {c:?}; expected one of: {CLASSES}"),
                ),
            }
        }
        if !kinds.is_empty() && !kinds.contains(&ChangeKind::ModifyColumnType) {
            ctx.err(
                span,
                "type_change only applies to kind \"modify_column_type\"".to_string(),
            );
        }
    }
    let verdict = Verdict::parse(raw.decision.get_ref());
    if verdict.is_none() {
        ctx.err(
            raw.decision.span(),
            format!(
                "unknown decision {:?}; expected one of: {VERDICTS}",
                raw.decision.get_ref()
            ),
        );
    }
    if ctx.errors.len() != before {
        return None;
    }
    Some(Rule {
        name: raw.name.into_inner(),
        code: raw.code.into_inner(),
        database,
        table,
        kinds,
        type_changes,
        priority: raw.priority.unwrap_or(0),
        verdict: verdict?,
        reason: raw.reason,
        file: ctx.file.to_string(),
        line,
    })
}

fn test(ctx: &mut Ctx<'_>, raw: Spanned<RawTest>) -> Option<RuleTest> {
    let line = line_of(ctx.text, raw.span().start);
    let raw = raw.into_inner();
    let before = ctx.errors.len();
    let table = match raw.table.get_ref().split_once('.') {
        Some((d, t)) if !d.is_empty() && !t.is_empty() => Some(TableId::new(d, t)),
        _ => {
            ctx.err(
                raw.table.span(),
                format!(
                    "test table {:?} must be \"database.table\"",
                    raw.table.get_ref()
                ),
            );
            None
        }
    };
    let kind = raw.kind.get_ref().parse::<ChangeKind>().ok();
    if kind.is_none() {
        ctx.err(
            raw.kind.span(),
            format!("unknown change kind {:?}", raw.kind.get_ref()),
        );
    }
    let type_change = match raw.type_change {
        Some(tc) => {
            let c = class(tc.get_ref());
            if c.is_none() {
                ctx.err(
                    tc.span(),
                    format!(
                        "unknown type_change {:?}; expected one of: {CLASSES}",
                        tc.get_ref()
                    ),
                );
            }
            c
        }
        None => None,
    };
    let expect = Verdict::parse(raw.expect.get_ref());
    if expect.is_none() {
        ctx.err(
            raw.expect.span(),
            format!(
                "unknown expected decision {:?}; expected one of: {VERDICTS}",
                raw.expect.get_ref()
            ),
        );
    }
    if ctx.errors.len() != before {
        return None;
    }
    Some(RuleTest {
        file: ctx.file.to_string(),
        line,
        name: raw.name,
        table: table?,
        kind: kind?,
        type_change,
        expect: expect?,
        rule: raw.rule.map(Spanned::into_inner),
    })
}

/// Parses and validates one file.
pub(super) fn parse_file(
    file: &str,
    text: &str,
) -> Result<(Vec<Rule>, Vec<RuleTest>), Vec<RuleError>> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        vec![RuleError {
            file: file.to_string(),
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
        }]
    })?;
    let mut ctx = Ctx {
        file,
        text,
        errors: Vec::new(),
    };
    let rules: Vec<Rule> = raw
        .rule
        .into_iter()
        .filter_map(|r| rule(&mut ctx, r))
        .collect();
    let tests: Vec<RuleTest> = raw
        .test
        .into_iter()
        .filter_map(|t| test(&mut ctx, t))
        .collect();
    if ctx.errors.is_empty() {
        Ok((rules, tests))
    } else {
        Err(ctx.errors)
    }
}

/// Checks across files: duplicate codes and names, tests naming unknown rules.
pub(super) fn check_set(rules: &[Rule], tests: &[RuleTest]) -> Vec<RuleError> {
    let mut errors = Vec::new();
    let mut codes: BTreeMap<&str, &Rule> = BTreeMap::new();
    let mut names: BTreeMap<&str, &Rule> = BTreeMap::new();
    for r in rules {
        if let Some(first) = codes.insert(&r.code, r) {
            errors.push(RuleError {
                file: r.file.clone(),
                line: r.line,
                message: format!(
                    "duplicate rule code {} (first used by {} at {}:{})",
                    r.code, first.name, first.file, first.line
                ),
            });
        }
        if let Some(first) = names.insert(&r.name, r) {
            errors.push(RuleError {
                file: r.file.clone(),
                line: r.line,
                message: format!(
                    "duplicate rule name {} (first defined at {}:{})",
                    r.name, first.file, first.line
                ),
            });
        }
    }
    for t in tests {
        if let Some(want) = &t.rule {
            let known = want == super::BUILTIN_DEFAULT_NAME
                || want == super::BUILTIN_DEFAULT_CODE
                || codes.contains_key(want.as_str())
                || names.contains_key(want.as_str());
            if !known {
                errors.push(RuleError {
                    file: t.file.clone(),
                    line: t.line,
                    message: format!("test expects rule {want:?}, which no file defines"),
                });
            }
        }
    }
    errors
}
