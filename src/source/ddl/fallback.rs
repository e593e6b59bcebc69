//! Token-level reader of the rename forms, for statements sqlparser cannot
//! parse. It recognises only these literal shapes and reports nothing else:
//!
//! * `RENAME TABLE|TABLES a TO b [, c TO d ...]`
//! * `ALTER [ONLINE|OFFLINE] [IGNORE] TABLE [IF EXISTS] t <clause>[, <clause> ...]`
//!   with clauses `RENAME COLUMN a TO b`, `CHANGE [COLUMN] [IF EXISTS] a b <type> ...`,
//!   `RENAME [TO|AS] n`; `RENAME INDEX|KEY` and every other clause are ignored.
//!
//! A name is a bare word or a back-tick / double-quote quoted identifier,
//! optionally qualified (`db.t`). Anything unexpected ends the match without a
//! result, so it never invents a rename.

use super::{ColumnRename, QualifiedName, TableRename};

/// Renames found by the fallback reader.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub(super) columns: Vec<ColumnRename>,
    pub(super) tables: Vec<TableRename>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A bare word (keyword or identifier).
    Word(String),
    /// A quoted identifier.
    Quoted(String),
    /// A string literal (skipped content).
    Str,
    /// Any other character.
    Punct(char),
}

fn tokenize(sql: &str) -> Vec<Tok> {
    let chars: Vec<char> = sql.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' || (c == '-' && chars.get(i + 1) == Some(&'-')) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '`' || c == '"' || c == '\'' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() {
                let d = chars[i];
                i += 1;
                if d == '\\' && c == '\'' {
                    i += 1;
                } else if d == c {
                    if chars.get(i) == Some(&c) {
                        s.push(c);
                        i += 1;
                    } else {
                        break;
                    }
                } else {
                    s.push(d);
                }
            }
            toks.push(if c == '\'' { Tok::Str } else { Tok::Quoted(s) });
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let mut s = String::new();
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                s.push(chars[i]);
                i += 1;
            }
            toks.push(Tok::Word(s));
        } else {
            toks.push(Tok::Punct(c));
            i += 1;
        }
    }
    toks
}

fn is_kw(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

/// An identifier at `toks[i]`: returns it and the next index.
fn ident(toks: &[Tok], i: usize) -> Option<(String, usize)> {
    match toks.get(i)? {
        Tok::Word(w) | Tok::Quoted(w) => Some((w.clone(), i + 1)),
        _ => None,
    }
}

/// A possibly qualified name at `toks[i]`.
fn name(toks: &[Tok], i: usize) -> Option<(QualifiedName, usize)> {
    let (first, mut j) = ident(toks, i)?;
    let mut parts = vec![first];
    while toks.get(j) == Some(&Tok::Punct('.')) {
        let (next, k) = ident(toks, j + 1)?;
        parts.push(next);
        j = k;
    }
    Some((QualifiedName::from_parts(parts), j))
}

/// Looks for the rename forms in one statement.
pub(super) fn renames(sql: &str) -> Found {
    let toks = tokenize(sql);
    let mut found = Found::default();
    if is_kw(toks.first(), "RENAME")
        && (is_kw(toks.get(1), "TABLE") || is_kw(toks.get(1), "TABLES"))
    {
        rename_table(&toks, 2, &mut found);
    } else if is_kw(toks.first(), "ALTER") {
        alter_table(&toks, &mut found);
    }
    found
}

fn rename_table(toks: &[Tok], mut i: usize, found: &mut Found) {
    let mut pairs = Vec::new();
    loop {
        let Some((from, j)) = name(toks, i) else {
            return;
        };
        if !is_kw(toks.get(j), "TO") {
            return;
        }
        let Some((to, k)) = name(toks, j + 1) else {
            return;
        };
        pairs.push(TableRename { from, to });
        match toks.get(k) {
            Some(Tok::Punct(',')) => i = k + 1,
            None | Some(Tok::Punct(';')) => break,
            _ => return,
        }
    }
    found.tables.extend(pairs);
}

fn alter_table(toks: &[Tok], found: &mut Found) {
    let mut i = 1;
    while is_kw(toks.get(i), "ONLINE")
        || is_kw(toks.get(i), "OFFLINE")
        || is_kw(toks.get(i), "IGNORE")
    {
        i += 1;
    }
    if !is_kw(toks.get(i), "TABLE") {
        return;
    }
    i += 1;
    if is_kw(toks.get(i), "IF") && is_kw(toks.get(i + 1), "EXISTS") {
        i += 2;
    }
    let Some((table, start)) = name(toks, i) else {
        return;
    };
    // Split the rest into top-level clauses.
    let mut clauses: Vec<&[Tok]> = Vec::new();
    let mut depth = 0i32;
    let mut from = start;
    for (k, t) in toks.iter().enumerate().skip(start) {
        match t {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Punct(',') | Tok::Punct(';') if depth == 0 => {
                clauses.push(&toks[from..k]);
                from = k + 1;
            }
            _ => {}
        }
    }
    clauses.push(&toks[from..]);
    for clause in clauses {
        clause_renames(clause, &table, found);
    }
}

fn clause_renames(c: &[Tok], table: &QualifiedName, found: &mut Found) {
    if is_kw(c.first(), "RENAME") {
        if is_kw(c.get(1), "COLUMN") {
            if let Some((from, j)) = ident(c, 2) {
                if is_kw(c.get(j), "TO") {
                    if let Some((to, k)) = ident(c, j + 1) {
                        if k == c.len() {
                            found.columns.push(ColumnRename {
                                table: table.clone(),
                                from,
                                to,
                            });
                        }
                    }
                }
            }
        } else if is_kw(c.get(1), "INDEX") || is_kw(c.get(1), "KEY") {
            // index renames are not schema changes of interest
        } else {
            let at = if is_kw(c.get(1), "TO") || is_kw(c.get(1), "AS") {
                2
            } else {
                1
            };
            if let Some((to, k)) = name(c, at) {
                if k == c.len() {
                    found.tables.push(TableRename {
                        from: table.clone(),
                        to,
                    });
                }
            }
        }
    } else if is_kw(c.first(), "CHANGE") {
        let mut i = 1;
        if is_kw(c.get(i), "COLUMN") {
            i += 1;
        }
        if is_kw(c.get(i), "IF") && is_kw(c.get(i + 1), "EXISTS") {
            i += 2;
        }
        if let Some((from, j)) = ident(c, i) {
            if let Some((to, k)) = ident(c, j) {
                // a type must follow the new name
                if matches!(c.get(k), Some(Tok::Word(_))) && !from.eq_ignore_ascii_case(&to) {
                    found.columns.push(ColumnRename {
                        table: table.clone(),
                        from,
                        to,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(sql: &str) -> Vec<(String, String)> {
        renames(sql)
            .columns
            .into_iter()
            .map(|r| (r.from, r.to))
            .collect()
    }

    #[test]
    fn reads_only_literal_forms() {
        assert_eq!(
            cols("ALTER TABLE t RENAME COLUMN `a` TO `b`, LOCK=NONE"),
            [("a".into(), "b".into())]
        );
        assert_eq!(
            cols("alter online table db.t change column a b int after c"),
            [("a".into(), "b".into())]
        );
        assert!(cols("ALTER TABLE t RENAME INDEX a TO b").is_empty());
        assert!(cols("ALTER TABLE t CHANGE a a INT").is_empty());
        assert!(cols("ALTER TABLE t CHANGE a").is_empty());
        assert!(cols("SELECT 'ALTER TABLE t RENAME COLUMN a TO b'").is_empty());
        assert!(cols("ALTER TABLE t ADD COLUMN x INT COMMENT 'RENAME COLUMN a TO b'").is_empty());
        let t = renames("RENAME TABLE a TO b, c.d TO c.e").tables;
        assert_eq!(t.len(), 2);
        assert!(renames("RENAME TABLE a TO").tables.is_empty());
        let t = renames("ALTER TABLE a RENAME TO b").tables;
        assert_eq!(t[0].to.name, "b");
        let t = renames("ALTER TABLE a RENAME b").tables;
        assert_eq!(t[0].to.name, "b");
    }
}
