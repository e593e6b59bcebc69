//! Compatibility levels and the Avro compatibility check behind them.
//!
//! The check itself is `apache_avro::schema_compatibility` (the Avro
//! specification's schema-resolution rules). Like Confluent's registry, a
//! resolution that may fail for some data (`Compatibility::Partial`, e.g. a
//! union or enum the reader only partly covers) counts as incompatible.

use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use apache_avro::Schema;
use serde::{Deserialize, Serialize};

/// A Confluent compatibility level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    /// No check.
    None,
    /// The new schema reads data written with the latest one (default).
    Backward,
    /// ... with every earlier one.
    BackwardTransitive,
    /// The latest schema reads data written with the new one.
    Forward,
    /// ... every earlier one does.
    ForwardTransitive,
    /// Backward and forward against the latest.
    Full,
    /// Backward and forward against every earlier one.
    FullTransitive,
}

impl Level {
    /// Parses a level name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "NONE" => Self::None,
            "BACKWARD" => Self::Backward,
            "BACKWARD_TRANSITIVE" => Self::BackwardTransitive,
            "FORWARD" => Self::Forward,
            "FORWARD_TRANSITIVE" => Self::ForwardTransitive,
            "FULL" => Self::Full,
            "FULL_TRANSITIVE" => Self::FullTransitive,
            _ => return None,
        })
    }

    /// The level's name as Confluent writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether the level compares against every live version, not just the latest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }

    fn backward(self) -> bool {
        matches!(
            self,
            Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    fn forward(self) -> bool {
        matches!(
            self,
            Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive
        )
    }
}

/// Parses an Avro schema text.
pub fn parse(text: &str) -> Result<Schema, String> {
    Schema::parse_str(text).map_err(|e| e.to_string())
}

fn can_read(writer: &Schema, reader: &Schema) -> Result<(), String> {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => Ok(()),
        Ok(Compatibility::Partial) => {
            Err("the reader covers only part of the writer's union or enum values".to_owned())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Why `new` is not compatible with `old` under `level` (empty when it is).
pub fn check(level: Level, new: &Schema, old: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    if level.backward() {
        if let Err(e) = can_read(old, new) {
            out.push(format!(
                "BACKWARD: the new schema cannot read data written with the old one: {e}"
            ));
        }
    }
    if level.forward() {
        if let Err(e) = can_read(new, old) {
            out.push(format!(
                "FORWARD: the old schema cannot read data written with the new one: {e}"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fields: &str) -> Schema {
        parse(&format!(
            r#"{{"type":"record","name":"r","fields":[{fields}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn levels_round_trip() {
        for l in [
            Level::None,
            Level::Backward,
            Level::BackwardTransitive,
            Level::Forward,
            Level::ForwardTransitive,
            Level::Full,
            Level::FullTransitive,
        ] {
            assert_eq!(Level::parse(l.name()), Some(l));
        }
        assert_eq!(Level::parse("full_transitive"), Some(Level::FullTransitive));
        assert_eq!(Level::parse("sideways"), None);
    }

    #[test]
    fn widening_is_backward_not_forward() {
        let old = rec(r#"{"name":"a","type":"int"}"#);
        let new = rec(r#"{"name":"a","type":"long"}"#);
        assert!(check(Level::Backward, &new, &old).is_empty());
        assert_eq!(check(Level::Forward, &new, &old).len(), 1);
        assert_eq!(check(Level::Full, &new, &old).len(), 1);
        assert!(check(Level::None, &new, &old).is_empty());
    }
}
