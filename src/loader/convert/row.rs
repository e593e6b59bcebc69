//! A `before`/`after` object's JSON text into its converted JSON text, value
//! by value, without building the row as a JSON tree (pure).
//!
//! The object is read once into (name, unparsed value text) pairs. A value
//! whose text already is its StarRocks form (integers, floats, booleans, plain
//! text, nulls: most of a typical row) is copied as it is; any other value is
//! parsed alone and converted by [`convert_value`]. The converted row then
//! writes the mirror's upsert and delete objects and the raw table's images.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::schema::{RowSchema, Semantic};
use super::value::{convert_value, Cell};
use super::{Config, Error};

/// One JSON value written by the converter (an object for rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value, parsed (for callers that edit rows, and for tests).
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// The members, when it is an object (else none).
    pub fn object(&self) -> Map<String, Value> {
        match self.value() {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The members of a JSON object, in order, their values unparsed.
#[derive(Debug, Default)]
pub(crate) struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Members<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Fields<'a>, A::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(16));
                while let Some(Name(k)) = m.next_key()? {
                    out.push((k, m.next_value()?));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(Members(PhantomData))
    }
}

/// A member name, borrowed from the text unless it has escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Name<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Text<'a> {
            type Value = Name<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Name<'a>, E> {
                Ok(Name(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Name<'a>, E> {
                Ok(Name(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Name<'a>, E> {
                Ok(Name(Cow::Owned(s)))
            }
        }
        d.deserialize_str(Text(PhantomData))
    }
}

/// What a value's text needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Nothing: the text is already the StarRocks form.
    Copy,
    /// It is the unavailable-value placeholder.
    Unavailable,
    /// Parsing and converting.
    Convert,
}

/// Decides from the text alone, exactly as [`convert_value`] would decide
/// (anything doubtful is converted).
fn need(sem: &Semantic, text: &str, cfg: &Config) -> Need {
    use Semantic as S;
    let Some(&first) = text.as_bytes().first() else {
        return Need::Convert;
    };
    match first {
        b'n' => Need::Copy,
        b'"' => {
            // Escapes could spell the placeholder: decide on the parsed text.
            if text.len() < 2 || text.contains('\\') {
                return Need::Convert;
            }
            if cfg.is_unavailable(&text[1..text.len() - 1]) {
                return Need::Unavailable;
            }
            match sem {
                S::String | S::Enum | S::EnumSet | S::Uuid | S::ZonedTime | S::Any => Need::Copy,
                // Bytes are decoded (hex) or at least checked (base64); the rest is converted.
                _ => Need::Convert,
            }
        }
        b'-' | b'0'..=b'9' => match sem {
            S::Float | S::Decimal { .. } | S::Any => Need::Copy,
            S::Int | S::Year | S::Duration if text.parse::<i64>().is_ok() => Need::Copy,
            _ => Need::Convert,
        },
        b't' | b'f' => match sem {
            S::Boolean | S::Bits { .. } | S::Any => Need::Copy,
            _ => Need::Convert,
        },
        _ => match sem {
            S::Any => Need::Copy,
            _ => Need::Convert,
        },
    }
}

/// A converted row: each column's converted value text, or unavailable.
#[derive(Debug)]
pub(crate) struct Cells<'a> {
    /// The converted value texts, one after another.
    buf: String,
    /// Column name and where its value is in `buf` (`None`: unavailable).
    cells: Vec<(Cow<'a, str>, Option<Range<usize>>)>,
}

impl<'a> Cells<'a> {
    /// Converts the members of a `before`/`after` object with `schema`;
    /// columns the schema lacks (schemaless descriptions need not be
    /// complete) are kept as they are.
    pub(crate) fn convert(
        schema: &RowSchema,
        fields: Fields<'a>,
        cfg: &Config,
    ) -> Result<Cells<'a>, Error> {
        let size: usize = fields.0.iter().map(|(_, v)| v.get().len()).sum();
        let mut buf = String::with_capacity(size + size / 4);
        let mut cells = Vec::with_capacity(fields.0.len());
        for (i, (name, raw)) in fields.0.into_iter().enumerate() {
            let sem = schema
                .column(&name, i)
                .map_or(&Semantic::Any, |c| &c.semantic);
            let text = raw.get();
            let start = buf.len();
            let available = match need(sem, text, cfg) {
                Need::Copy => {
                    buf.push_str(text);
                    true
                }
                Need::Unavailable => false,
                Need::Convert => {
                    let v: Value = serde_json::from_str(text)
                        .map_err(|e| Error::invalid(&name, e.to_string()))?;
                    match convert_value(sem, &v, cfg, &name)? {
                        Cell::Value(c) => {
                            let out = serde_json::to_string(&c)
                                .map_err(|e| Error::invalid(&name, e.to_string()))?;
                            buf.push_str(&out);
                            true
                        }
                        Cell::Unavailable => false,
                    }
                }
            };
            cells.push((name, available.then_some(start..buf.len())));
        }
        Ok(Cells { buf, cells })
    }

    /// The converted value text of `column`: `None` when the row has no such
    /// column, `Some(None)` when its value was unavailable.
    pub(crate) fn get(&self, column: &str) -> Option<Option<&str>> {
        self.cells
            .iter()
            .find(|(n, _)| n == column)
            .map(|(_, r)| r.as_ref().map(|r| &self.buf[r.clone()]))
    }

    /// Names of the columns whose value was unavailable, in row order.
    pub(crate) fn unavailable(&self) -> Vec<String> {
        self.cells
            .iter()
            .filter(|(_, r)| r.is_none())
            .map(|(n, _)| n.to_string())
            .collect()
    }

    /// The mirror row: available columns, then `"<op_column>": op`.
    pub(crate) fn upsert(&self, op_column: &str, op: u8) -> JsonText {
        let mut out = String::with_capacity(self.buf.len() + self.cells.len() * 16 + 16);
        out.push('{');
        for (name, range) in &self.cells {
            if let Some(r) = range {
                push_member(&mut out, name, &self.buf[r.clone()]);
            }
        }
        push_member(&mut out, op_column, op_text(op));
        out.push('}');
        JsonText(out)
    }

    /// The raw table's image: every column, an unavailable one as the
    /// placeholder text.
    pub(crate) fn image(&self, placeholder: &str) -> JsonText {
        let mut out = String::with_capacity(self.buf.len() + self.cells.len() * 16 + 2);
        out.push('{');
        let mut quoted = None;
        for (name, range) in &self.cells {
            match range {
                Some(r) => push_member(&mut out, name, &self.buf[r.clone()]),
                None => {
                    let q = quoted.get_or_insert_with(|| quote(placeholder));
                    push_member(&mut out, name, q);
                }
            }
        }
        out.push('}');
        JsonText(out)
    }
}

/// A delete for the mirror: `members` (name, converted value text), then
/// `"<op_column>": op`.
pub(crate) fn object_of<'s>(
    members: impl IntoIterator<Item = (&'s str, &'s str)>,
    op_column: &str,
    op: u8,
) -> JsonText {
    let mut out = String::from("{");
    for (name, value) in members {
        push_member(&mut out, name, value);
    }
    push_member(&mut out, op_column, op_text(op));
    out.push('}');
    JsonText(out)
}

fn op_text(op: u8) -> &'static str {
    if op == 0 {
        "0"
    } else {
        "1"
    }
}

/// Appends `"name":value` to an object being written (after a comma unless
/// it is the first member).
fn push_member(out: &mut String, name: &str, value: &str) {
    if !out.ends_with('{') {
        out.push(',');
    }
    push_quoted(out, name);
    out.push(':');
    out.push_str(value);
}

/// `s` as a JSON string.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_quoted(&mut out, s);
    out
}

/// Appends `s` as a JSON string.
pub(crate) fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let b = c as u8;
                    out.push_str("\\u00");
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0xf)]));
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    //! The property that text conversion equals per-value conversion is in
    //! `tests/loader_convert/props.rs` (through the decoder).

    use super::*;
    use crate::loader::convert::schema::Column;
    use serde_json::json;

    fn fields(text: &str) -> Fields<'_> {
        serde_json::from_str(text).expect("object")
    }

    #[test]
    fn names_and_values_with_escapes() {
        let schema = RowSchema::new(vec![Column::new("a\"b", Semantic::String, true)]);
        let text = r#"{"a\"b":"x\ny","c\\d":"\u005f_debezium_unavailable_value","e":1}"#;
        let c = Cells::convert(&schema, fields(text), &Config::default()).unwrap();
        assert_eq!(c.unavailable(), vec!["c\\d".to_string()]);
        let up = c.upsert("__op", 0);
        assert_eq!(up.value(), json!({"a\"b": "x\ny", "e": 1, "__op": 0}));
        let image = c.image("__debezium_unavailable_value").value();
        assert_eq!(image["c\\d"], json!("__debezium_unavailable_value"));
        assert_eq!(c.get("e"), Some(Some("1")));
        assert_eq!(c.get("c\\d"), Some(None));
        assert_eq!(c.get("zz"), None);
        let del = object_of([("a\"b", "\"k\"")], "__op", 1);
        assert_eq!(del.value(), json!({"a\"b": "k", "__op": 1}));
    }

    #[test]
    fn an_empty_object_and_errors_naming_the_column() {
        let schema = RowSchema::new(vec![Column::new("d", Semantic::Date, true)]);
        let c = Cells::convert(&schema, fields("{}"), &Config::default()).unwrap();
        assert_eq!(c.upsert("__op", 0).as_str(), r#"{"__op":0}"#);
        assert_eq!(c.image("p").as_str(), "{}");
        let e = Cells::convert(&schema, fields(r#"{"d":"x"}"#), &Config::default()).unwrap_err();
        assert_eq!(e.to_string(), "field d: expected integer, found string");
    }
}
