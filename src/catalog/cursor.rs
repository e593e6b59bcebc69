//! A cursor over the tokens of one input segment, with the error helpers
//! that name the input line.

use super::input::{Segment, Tok, Token};
use super::CatalogError;

pub(crate) struct Cursor<'a> {
    pub seg: &'a Segment,
    pub toks: &'a [Token],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos)
    }

    pub fn peek_at(&self, n: usize) -> Option<&'a Token> {
        self.toks.get(self.pos + n)
    }

    pub fn next(&mut self) -> Option<&'a Token> {
        let t = self.toks.get(self.pos);
        self.pos += 1;
        t
    }

    pub(crate) fn line(&self) -> usize {
        match self.peek() {
            Some(t) => self.seg.line_of(t.start),
            None => self.seg.end_line(),
        }
    }

    pub fn err(&self, expected: &str) -> CatalogError {
        let found = self
            .peek()
            .map_or_else(|| "end of input".to_string(), Token::describe);
        CatalogError::Syntax {
            line: self.line(),
            message: format!("expected {expected}, found {found}"),
        }
    }

    pub(crate) fn eat_word(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_word(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn eat_sym(&mut self, c: char) -> bool {
        if self.peek().is_some_and(|t| t.is_sym(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect_word(&mut self, kw: &str, after: &str) -> Result<(), CatalogError> {
        if self.eat_word(kw) {
            Ok(())
        } else {
            Err(self.err(&format!("{kw} after {after}")))
        }
    }

    pub(crate) fn expect_sym(&mut self, c: char, what: &str) -> Result<(), CatalogError> {
        if self.eat_sym(c) {
            Ok(())
        } else {
            Err(self.err(&format!("`{c}` {what}")))
        }
    }

    pub(crate) fn ident(&mut self, what: &str) -> Result<String, CatalogError> {
        match self.peek().map(|t| &t.tok) {
            Some(Tok::Quoted(s) | Tok::Word(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.err(what)),
        }
    }

    pub(crate) fn string(&mut self, what: &str) -> Result<String, CatalogError> {
        match self.peek().map(|t| &t.tok) {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.err(what)),
        }
    }

    pub(crate) fn number(&mut self, what: &str) -> Result<u64, CatalogError> {
        match self.peek().map(|t| &t.tok) {
            Some(Tok::Num(n)) => {
                let v = n.parse().map_err(|_| self.err(what))?;
                self.pos += 1;
                Ok(v)
            }
            _ => Err(self.err(what)),
        }
    }

    /// `(` ident {, ident} `)`
    pub(crate) fn ident_list(&mut self, what: &str) -> Result<Vec<String>, CatalogError> {
        self.expect_sym('(', &format!("before {what}"))?;
        let mut out = Vec::new();
        if self.eat_sym(')') {
            return Ok(out);
        }
        loop {
            out.push(self.ident(what)?);
            if self.eat_sym(')') {
                return Ok(out);
            }
            self.expect_sym(',', &format!("or `)` in {what}"))?;
        }
    }

    /// Skips a balanced `(...)` (or `<...>`) group starting at the cursor.
    pub fn skip_group(&mut self) -> Result<(), CatalogError> {
        let (open, close) = match self.peek().map(|t| &t.tok) {
            Some(Tok::Sym('<')) => ('<', '>'),
            _ => ('(', ')'),
        };
        let mut depth = 0usize;
        while let Some(t) = self.next() {
            if t.is_sym(open) {
                depth += 1;
            } else if t.is_sym(close) {
                depth = depth.saturating_sub(1);
            }
            if depth == 0 {
                return Ok(());
            }
        }
        Err(self.err(&format!("`{close}`")))
    }

    /// Whether the cursor is at the end of a statement.
    pub fn at_end(&self) -> bool {
        self.peek().is_none_or(|t| t.is_sym(';'))
    }

    /// Text of the segment between two token indexes (inclusive start, exclusive end).
    pub fn text(&self, from: usize, to: usize) -> &'a str {
        let (Some(a), Some(b)) = (
            self.toks.get(from),
            to.checked_sub(1).and_then(|i| self.toks.get(i)),
        ) else {
            return "";
        };
        self.seg.text.get(a.start..b.end).unwrap_or("")
    }
}
