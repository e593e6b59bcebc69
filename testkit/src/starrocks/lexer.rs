//! A small SQL tokenizer and cursor for the hand-written StarRocks DDL parser.

use super::error::{Result, SrError};

/// One token of StarRocks SQL.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Tok {
    /// Bare word (keyword or identifier).
    Word(String),
    /// Backquoted identifier.
    Quoted(String),
    /// String literal in single or double quotes (unescaped).
    Str(String),
    /// Numeric literal, as written.
    Num(String),
    /// Punctuation or operator.
    Sym(String),
}

impl Tok {
    /// Renders the token back as SQL.
    pub fn sql(&self) -> String {
        match self {
            Tok::Word(w) => w.clone(),
            Tok::Quoted(q) => format!("`{q}`"),
            Tok::Str(s) => format!("'{}'", s.replace('\'', "\\'")),
            Tok::Num(n) | Tok::Sym(n) => n.clone(),
        }
    }
}

/// Splits SQL into tokens; comments are skipped.
pub fn tokenize(sql: &str) -> Result<Vec<Tok>> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') || c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '`' {
            let start = i + 1;
            i += 1;
            while i < chars.len() && chars[i] != '`' {
                i += 1;
            }
            if i >= chars.len() {
                return Err(SrError::new(
                    "Getting syntax error: unterminated quoted identifier",
                ));
            }
            out.push(Tok::Quoted(chars[start..i].iter().collect()));
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(SrError::new(
                            "Getting syntax error: unterminated string literal",
                        ))
                    }
                    Some('\\') => {
                        let n = chars.get(i + 1).copied().unwrap_or('\\');
                        s.push(match n {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            '0' => '\0',
                            other => other,
                        });
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        if chars.get(i + 1) == Some(&c) {
                            s.push(c);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&o) => {
                        s.push(o);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c.is_alphanumeric() || c == '_' || c == '@' || c == '$' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || "_@$".contains(chars[i])) {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["<=", ">=", "!=", "<>", "||", "&&"].contains(&two.as_str()) {
                out.push(Tok::Sym(two));
                i += 2;
            } else {
                out.push(Tok::Sym(c.to_string()));
                i += 1;
            }
        }
    }
    Ok(out)
}

/// A cursor over tokens with keyword helpers.
#[derive(Debug)]
pub struct Cursor {
    toks: Vec<Tok>,
    pos: usize,
}

impl Cursor {
    /// Tokenizes `sql` (a trailing `;` is dropped).
    pub fn new(sql: &str) -> Result<Self> {
        let mut toks = tokenize(sql)?;
        while matches!(toks.last(), Some(Tok::Sym(s)) if s == ";") {
            toks.pop();
        }
        Ok(Self { toks, pos: 0 })
    }

    /// The current token.
    pub fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    /// The token `n` ahead.
    pub fn peek_n(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n)
    }

    /// Consumes the current token.
    pub fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    /// Whether all tokens were consumed.
    pub fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// Current position (for slicing raw text).
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Tokens from `start` up to the current position.
    pub fn slice(&self, start: usize) -> &[Tok] {
        &self.toks[start..self.pos.min(self.toks.len())]
    }

    /// Remaining tokens.
    pub fn rest(&self) -> &[Tok] {
        &self.toks[self.pos.min(self.toks.len())..]
    }

    /// Whether the current token is keyword `kw`.
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    /// Whether the current token is symbol `s`.
    pub fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if x == s)
    }

    /// Consumes keyword `kw` if present.
    pub fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes the keyword sequence if all present.
    pub fn eat_kws(&mut self, kws: &[&str]) -> bool {
        let ok = kws.iter().enumerate().all(
            |(i, kw)| matches!(self.peek_n(i), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw)),
        );
        if ok {
            self.pos += kws.len();
        }
        ok
    }

    /// Consumes symbol `s` if present.
    pub fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Requires keyword `kw`.
    pub fn expect_kw(&mut self, kw: &str) -> Result<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.syntax(&format!("expecting {kw}")))
        }
    }

    /// Requires symbol `s`.
    pub fn expect_sym(&mut self, s: &str) -> Result<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.syntax(&format!("expecting '{s}'")))
        }
    }

    /// Reads an identifier (bare or backquoted).
    pub fn ident(&mut self) -> Result<String> {
        match self.peek() {
            Some(Tok::Word(w)) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            Some(Tok::Quoted(q)) => {
                let q = q.clone();
                self.pos += 1;
                Ok(q)
            }
            _ => Err(self.syntax("expecting an identifier")),
        }
    }

    /// Reads `[db.]name`.
    pub fn qualified(&mut self) -> Result<(Option<String>, String)> {
        let first = self.ident()?;
        if self.eat_sym(".") {
            Ok((Some(first), self.ident()?))
        } else {
            Ok((None, first))
        }
    }

    /// Reads a string literal.
    pub fn string(&mut self) -> Result<String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(s),
            _ => Err(self.syntax("expecting a string literal")),
        }
    }

    /// Reads an unsigned integer.
    pub fn number(&mut self) -> Result<u64> {
        match self.next() {
            Some(Tok::Num(n)) => n.parse().map_err(|_| self.syntax("expecting a number")),
            _ => Err(self.syntax("expecting a number")),
        }
    }

    /// Reads `( ident, ident, ... )`.
    pub fn ident_list(&mut self) -> Result<Vec<String>> {
        self.expect_sym("(")?;
        let mut v = vec![self.ident()?];
        while self.eat_sym(",") {
            v.push(self.ident()?);
        }
        self.expect_sym(")")?;
        Ok(v)
    }

    /// Reads a balanced `( ... )` group and returns its inner tokens.
    pub fn group(&mut self) -> Result<Vec<Tok>> {
        self.expect_sym("(")?;
        let start = self.pos;
        let mut depth = 1;
        while let Some(t) = self.next() {
            match t {
                Tok::Sym(s) if s == "(" => depth += 1,
                Tok::Sym(s) if s == ")" => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(self.toks[start..self.pos - 1].to_vec());
                    }
                }
                _ => {}
            }
        }
        Err(self.syntax("unbalanced parentheses"))
    }

    /// Reads `("k" = "v", ...)`.
    pub fn properties(&mut self) -> Result<Vec<(String, String)>> {
        self.expect_sym("(")?;
        let mut v = Vec::new();
        if self.eat_sym(")") {
            return Ok(v);
        }
        loop {
            let k = self.string()?;
            self.expect_sym("=")?;
            let val = match self.next() {
                Some(Tok::Str(s)) | Some(Tok::Num(s)) | Some(Tok::Word(s)) => s,
                _ => return Err(self.syntax("expecting a property value")),
            };
            v.push((k, val));
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        Ok(v)
    }

    /// A StarRocks-style syntax error naming the position.
    pub fn syntax(&self, what: &str) -> SrError {
        let near = self
            .peek()
            .map(Tok::sql)
            .unwrap_or_else(|| "<EOF>".to_string());
        SrError::new(format!("Getting syntax error at line 1, column {}. Detail message: Unexpected input '{near}', {what}.", self.pos))
    }

    /// Requires that all tokens were consumed.
    pub fn expect_end(&self) -> Result<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err(SrError::unsupported(format!(
                "unexpected input near '{}'",
                render(self.rest())
            )))
        }
    }
}

/// Renders tokens back to SQL text with single spaces, tight around `(`, `)`, `,` and `.`.
pub fn render(toks: &[Tok]) -> String {
    let mut s = String::new();
    let mut prev: Option<&Tok> = None;
    for t in toks {
        let tight = matches!(t, Tok::Sym(x) if x == ")" || x == "," || x == "." || x == "]")
            || matches!(prev, Some(Tok::Sym(x)) if x == "(" || x == "." || x == "[")
            || (matches!(t, Tok::Sym(x) if x == "(") && matches!(prev, Some(Tok::Word(_))));
        if !s.is_empty() && !tight {
            s.push(' ');
        }
        s.push_str(&t.sql());
        prev = Some(t);
    }
    s
}
