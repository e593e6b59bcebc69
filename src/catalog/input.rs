//! Input handling for `SHOW CREATE` text: splits what the `mysql`/`mariadb`
//! CLI printed (plain statements, `\G` blocks, tabular `| t | CREATE ... |`
//! rows) into segments of SQL text, keeping original line numbers, and
//! tokenizes them.

/// A run of SQL text cut out of the input, with a map back to input lines.
#[derive(Debug, Default)]
pub(crate) struct Segment {
    /// The cleaned SQL text (lines joined with `\n`).
    pub text: String,
    /// (byte offset in `text`, 1-based input line) for every line start.
    starts: Vec<(usize, usize)>,
}

impl Segment {
    fn push_line(&mut self, line: &str, line_no: usize) {
        self.starts.push((self.text.len(), line_no));
        self.text.push_str(line);
        self.text.push('\n');
    }

    fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// Removes the tabular cell end (`... |`) from the last line.
    fn strip_cell_end(&mut self) {
        let trimmed = self.text.trim_end();
        if let Some(stripped) = trimmed.strip_suffix('|') {
            let new_len = stripped.trim_end().len();
            self.text.truncate(new_len);
            self.text.push('\n');
        }
    }

    /// The 1-based input line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search_by(|(o, _)| o.cmp(&offset)) {
            Ok(i) => self.starts[i].1,
            Err(0) => self.starts.first().map_or(1, |s| s.1),
            Err(i) => self.starts[i - 1].1,
        }
    }

    /// The line after the last one (for "unexpected end" errors).
    pub fn end_line(&self) -> usize {
        self.starts.last().map_or(1, |s| s.1)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
    {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// Splits the input into segments (see the module docs).
pub(crate) fn segments(input: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut cur = Segment::default();
    let mut tabular = false;
    let flush = |cur: &mut Segment, out: &mut Vec<Segment>, tabular: bool| {
        if tabular {
            cur.strip_cell_end();
        }
        let done = std::mem::take(cur);
        if !done.is_blank() {
            out.push(done);
        }
    };
    for (i, raw) in input.lines().enumerate() {
        let line_no = i + 1;
        let mut line = raw.trim_end_matches('\r');
        let t = line.trim_start();
        for prompt in [
            "mysql>",
            "MySQL >",
            "MySQL>",
            "MariaDB>",
            "MariaDB [",
            "StarRocks >",
        ] {
            if let Some(rest) = strip_prefix_ci(t, prompt) {
                let rest = if prompt == "MariaDB [" {
                    rest.split_once("]>").map_or(rest, |(_, r)| r)
                } else {
                    rest
                };
                line = rest;
            }
        }
        let t = line.trim();
        if t.starts_with("***") && t.contains("row") {
            flush(&mut cur, &mut out, tabular);
            tabular = false;
            continue;
        }
        if t.len() > 1 && t.starts_with('+') && t.chars().all(|c| c == '+' || c == '-') {
            flush(&mut cur, &mut out, tabular);
            continue;
        }
        if let Some(rest) = t.strip_prefix('|') {
            // `| name | CREATE ...` starts a row; a header row is skipped.
            if let Some((_, cell)) = rest.split_once('|') {
                let cell = cell.trim_start();
                let header = cell.trim_end().trim_end_matches('|').trim();
                let is_header = ["Create Table", "Create View", "Create Materialized View"]
                    .iter()
                    .any(|h| header.eq_ignore_ascii_case(h));
                if !is_header && strip_prefix_ci(cell, "CREATE").is_some() {
                    flush(&mut cur, &mut out, tabular);
                    tabular = true;
                    cur.push_line(cell, line_no);
                    continue;
                }
                if cur.is_blank() {
                    continue; // header row (`| Table | Create Table |`)
                }
            }
        }
        if cur.is_blank() {
            let lower = t.to_ascii_lowercase();
            let skip_prefixes = [
                "table:",
                "view:",
                "materialized view:",
                "character_set_client:",
                "collation_connection:",
                "show ",
                "empty set",
                "query ok",
            ];
            if skip_prefixes.iter().any(|p| lower.starts_with(p)) || lower.contains(" in set (") {
                continue;
            }
            let mut started = false;
            for p in ["create table:", "create view:", "create materialized view:"] {
                if let Some(rest) = strip_prefix_ci(t, p) {
                    flush(&mut cur, &mut out, tabular);
                    cur.push_line(rest.trim_start(), line_no);
                    started = true;
                    break;
                }
            }
            if started {
                continue;
            }
        } else {
            let lower = t.to_ascii_lowercase();
            if lower.contains(" in set (")
                && lower
                    .split_whitespace()
                    .next()
                    .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
            {
                continue;
            }
        }
        cur.push_line(line, line_no);
    }
    flush(&mut cur, &mut out, tabular);
    out
}

/// A token of StarRocks DDL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A bare word (keyword or unquoted identifier), as written.
    Word(String),
    /// A backquoted identifier, unescaped.
    Quoted(String),
    /// A string literal (`"..."` or `'...'`), unescaped.
    Str(String),
    /// A number.
    Num(String),
    /// Any other single character.
    Sym(char),
}

/// A token with its byte span in the segment.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// Whether the token is the word `kw` (case-insensitive).
    pub fn is_word(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    /// Whether the token is the symbol `c`.
    pub fn is_sym(&self, c: char) -> bool {
        self.tok == Tok::Sym(c)
    }

    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match &self.tok {
            Tok::Word(w) | Tok::Num(w) => format!("`{w}`"),
            Tok::Quoted(q) => format!("`{}`", q.replace('`', "``")),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Sym(c) => format!("`{c}`"),
        }
    }
}

/// An unterminated quote: (byte offset, what was open).
pub(crate) type LexError = (usize, &'static str);

/// Tokenizes a segment; `--`, `#` and `/* */` comments are skipped.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' || (c == b'-' && bytes.get(i + 1) == Some(&b'-')) {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let start = i;
            i += 2;
            while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                i += 1;
            }
            if i + 1 >= bytes.len() {
                return Err((start, "comment /*"));
            }
            i += 2;
        } else if c == b'`' || c == b'"' || c == b'\'' {
            let start = i;
            let mut value = String::new();
            i += 1;
            loop {
                let Some(ch) = text[i..].chars().next() else {
                    return Err((start, if c == b'`' { "identifier `" } else { "string" }));
                };
                let b = ch as u32;
                if b == u32::from(c) {
                    if bytes.get(i + 1) == Some(&c) {
                        value.push(ch);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                if ch == '\\' && c != b'`' {
                    let Some(next) = text[i + 1..].chars().next() else {
                        return Err((start, "string"));
                    };
                    value.push(match next {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        other => other,
                    });
                    i += 1 + next.len_utf8();
                    continue;
                }
                value.push(ch);
                i += ch.len_utf8();
            }
            let tok = if c == b'`' {
                Tok::Quoted(value)
            } else {
                Tok::Str(value)
            };
            out.push(Token { tok, start, end: i });
        } else if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Num(text[start..i].to_string()),
                start,
                end: i,
            });
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'_'
                    || bytes[i] == b'$'
                    || bytes[i] >= 0x80)
            {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Word(text[start..i].to_string()),
                start,
                end: i,
            });
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(Token {
                tok: Tok::Sym(ch),
                start: i,
                end: i + ch.len_utf8(),
            });
            i += ch.len_utf8();
        }
    }
    Ok(out)
}
