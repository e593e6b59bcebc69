//! `CREATE MATERIALIZED VIEW`: the statement's parts and the view's query text.

use super::*;

/// Finds the defining query of CREATE MATERIALIZED VIEW: text after the top-level `AS`.
fn mv_query(sql: &str) -> Option<String> {
    let lower = sql.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    for i in 0..b.len() {
        let ch = b[i];
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            b'\'' | b'"' | b'`' => quote = Some(ch),
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'a' if depth == 0
                && lower[i..].starts_with("as")
                && (i == 0 || b[i - 1].is_ascii_whitespace() || b[i - 1] == b')')
                && b.get(i + 2)
                    .is_some_and(|c| c.is_ascii_whitespace() || *c == b'(') =>
            {
                let rest = lower[i + 2..].trim_start();
                if rest.starts_with("select") || rest.starts_with("with") || rest.starts_with('(') {
                    let q = sql[i + 2..].trim().trim_end_matches(';').trim().to_string();
                    return Some(q);
                }
            }
            _ => {}
        }
    }
    None
}

pub(super) fn create_mv(c: &mut Cursor, sql: &str) -> Result<CreateMv> {
    let if_not_exists = c.eat_kws(&["IF", "NOT", "EXISTS"]);
    let (db, name) = c.qualified()?;
    let query = mv_query(sql).ok_or_else(|| c.syntax("expecting AS SELECT"))?;
    let mut mv = CreateMv {
        db,
        name,
        if_not_exists,
        distribution: None,
        comment: None,
        refresh: "ASYNC".into(),
        properties: Vec::new(),
        query,
    };
    while !c.at_end() && !c.is_kw("AS") {
        if c.eat_kw("COMMENT") {
            mv.comment = Some(c.string()?);
        } else if c.eat_kws(&["DISTRIBUTED", "BY"]) {
            let d = distribution(c)?;
            let mut text = if d.cols.is_empty() {
                "RANDOM".to_string()
            } else {
                let cols: Vec<String> = d.cols.iter().map(|c| format!("`{c}`")).collect();
                format!("HASH({})", cols.join(", "))
            };
            if let Some(b) = d.buckets {
                text.push_str(&format!(" BUCKETS {b}"));
            }
            mv.distribution = Some(text);
        } else if c.eat_kws(&["PARTITION", "BY"]) || c.eat_kws(&["ORDER", "BY"]) {
            until_clause(c)?;
        } else if c.eat_kw("REFRESH") {
            let toks = until_clause(c)?;
            mv.refresh = render(&toks).to_ascii_uppercase();
        } else if c.eat_kw("PROPERTIES") {
            mv.properties = c.properties()?;
        } else if c.is_sym("(") {
            c.group()?;
        } else {
            return Err(SrError::unsupported(format!(
                "CREATE MATERIALIZED VIEW clause near '{}'",
                render(c.rest())
            )));
        }
    }
    Ok(mv)
}
