//! What each StarRocks version can do, as methods: the planner asks these and
//! never compares versions itself.
//!
//! Owns [`StarRocksVersion`] (parsed from `SELECT current_version()` or
//! `--target-version`, e.g. `3.3.5`, `3.3.5-abc123`, `v3.2.1`) and its
//! capability methods, each citing starrocks-facts. When the version is
//! unknown, [`StarRocksVersion::DEFAULT`] (3.3.5) is assumed: the oldest
//! release that has every feature the shipped rules rely on (RENAME COLUMN
//! since 3.3.2, ORDER BY on all key models since 3.3). Pure: no I/O.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::types::{classify_conversion, MappingOptions, SrType, MAX_DECIMAL_PRECISION};

/// A StarRocks release number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StarRocksVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

/// A version string that is not `X.Y[.Z]` with an optional `v` prefix and suffix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid StarRocks version {input:?}: expected X.Y.Z (e.g. 3.3.5, v3.2.1, 3.3.5-abc123)")]
pub struct VersionError {
    /// The text that failed to parse.
    pub input: String,
}

impl StarRocksVersion {
    /// The version assumed when the target's version is unknown.
    pub const DEFAULT: StarRocksVersion = StarRocksVersion::new(3, 3, 5);

    /// Builds a version.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        *self >= StarRocksVersion::new(major, minor, patch)
    }

    /// `ALTER TABLE t RENAME COLUMN a TO b` (v3.3.2+, facts §1.5).
    pub fn supports_rename_column(&self) -> bool {
        self.at_least(3, 3, 2)
    }

    /// `fast_schema_evolution` table property (v3.2.0+, facts §1.7).
    pub fn supports_fast_schema_evolution(&self) -> bool {
        self.at_least(3, 2, 0)
    }

    /// `ALTER TABLE t COMMENT = "..."` (v3.1+, facts §1.5).
    pub fn supports_table_comment_alter(&self) -> bool {
        self.at_least(3, 1, 0)
    }

    /// `ORDER BY` sort keys on DUPLICATE/AGGREGATE/UNIQUE tables (v3.3.0+;
    /// PRIMARY KEY tables since 3.0, facts §1.1 and §1.6).
    pub fn supports_order_by_on_non_pk(&self) -> bool {
        self.at_least(3, 3, 0)
    }

    /// `ALTER TABLE t ORDER BY (...)` on PRIMARY KEY tables (v3.0+, facts §1.6).
    pub fn supports_order_by_on_pk(&self) -> bool {
        self.at_least(3, 0, 0)
    }

    /// `ALTER MATERIALIZED VIEW a SWAP WITH b` (v3.1+, facts §1.9).
    pub fn supports_mv_swap(&self) -> bool {
        self.at_least(3, 1, 0)
    }

    /// `ALTER MATERIALIZED VIEW mv ACTIVE` (v2.5.7 / v3.0.1 / v3.1+, facts §3.2).
    pub fn supports_mv_activate(&self) -> bool {
        match (self.major, self.minor) {
            (2, 5) => self.patch >= 7,
            (3, 0) => self.patch >= 1,
            _ => self.at_least(3, 1, 0),
        }
    }

    /// `ALTER TABLE t DISTRIBUTED BY ...` (v3.2+, facts §1.6).
    pub fn supports_alter_distribution(&self) -> bool {
        self.at_least(3, 2, 0)
    }

    /// `DISTRIBUTED BY RANDOM` on DUPLICATE KEY tables (v3.1+, facts §1.1).
    pub fn supports_random_distribution(&self) -> bool {
        self.at_least(3, 1, 0)
    }

    /// VARBINARY / BINARY columns (v3.0+, facts §2.1).
    pub fn supports_varbinary(&self) -> bool {
        self.at_least(3, 0, 0)
    }

    /// Largest VARCHAR length in bytes: 65533 before 2.1, 1048576 in 2.1–4.1,
    /// 2147482624 from 4.2 (facts §2.1).
    pub fn max_varchar_bytes(&self) -> u32 {
        if !self.at_least(2, 1, 0) {
            65_533
        } else if !self.at_least(4, 2, 0) {
            1_048_576
        } else {
            2_147_482_624
        }
    }

    /// DECIMAL with precision 39..=76 (DECIMAL256, v4.0+, facts §2.1).
    pub fn supports_decimal256(&self) -> bool {
        self.at_least(4, 0, 0)
    }

    /// Whether `MODIFY COLUMN` can turn `from` into `to` on this version
    /// (the conversion matrix, plus this version's type limits).
    pub fn can_modify_in_place(&self, from: &SrType, to: &SrType) -> bool {
        if !self.supports_type(to) {
            return false;
        }
        classify_conversion(from, to).in_place()
    }

    /// Whether this version can create a column of type `ty`.
    pub fn supports_type(&self, ty: &SrType) -> bool {
        match ty {
            SrType::Varchar { len } => *len >= 1 && *len <= self.max_varchar_bytes(),
            SrType::Decimal { precision, .. } => {
                *precision <= MAX_DECIMAL_PRECISION || self.supports_decimal256()
            }
            SrType::Varbinary { .. } => self.supports_varbinary(),
            SrType::Array { element } => self.supports_type(element),
            _ => true,
        }
    }

    /// `base` with this version's limits applied (the VARCHAR cap).
    pub fn mapping_options(&self, base: &MappingOptions) -> MappingOptions {
        MappingOptions {
            max_varchar_bytes: self.max_varchar_bytes(),
            ..base.clone()
        }
    }
}

impl Default for StarRocksVersion {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for StarRocksVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for StarRocksVersion {
    type Err = VersionError;

    /// Accepts `3.3.5`, `v3.3.5`, `3.3.5-abc123`, `3.3.5 RELEASE`, `3.3` (patch 0).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || VersionError {
            input: s.to_string(),
        };
        let t = s.trim();
        let t = t
            .strip_prefix('v')
            .or_else(|| t.strip_prefix('V'))
            .unwrap_or(t);
        let end = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let core = t[..end].trim_end_matches('.');
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(err());
        }
        let num = |p: &str| p.parse::<u32>().map_err(|_| err());
        Ok(StarRocksVersion {
            major: num(parts[0])?,
            minor: num(parts[1])?,
            patch: match parts.get(2) {
                Some(p) => num(p)?,
                None => 0,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::StarRocksVersion;
    use crate::types::SrType;

    fn v(s: &str) -> StarRocksVersion {
        s.parse().unwrap()
    }

    #[test]
    fn parses_common_spellings() {
        assert_eq!(v("3.3.5"), StarRocksVersion::new(3, 3, 5));
        assert_eq!(v("3.3.5-abc123"), StarRocksVersion::new(3, 3, 5));
        assert_eq!(v("v3.2.1"), StarRocksVersion::new(3, 2, 1));
        assert_eq!(v("3.1"), StarRocksVersion::new(3, 1, 0));
        assert_eq!(v(" 4.0.2 RELEASE "), StarRocksVersion::new(4, 0, 2));
        assert!("".parse::<StarRocksVersion>().is_err());
        assert!("three".parse::<StarRocksVersion>().is_err());
        assert!("3".parse::<StarRocksVersion>().is_err());
        assert!("99999999999.1.1".parse::<StarRocksVersion>().is_err());
        assert_eq!(v("3.3.5").to_string(), "3.3.5");
    }

    #[test]
    fn capabilities_follow_the_facts() {
        assert!(!v("3.3.1").supports_rename_column());
        assert!(v("3.3.2").supports_rename_column());
        assert!(!v("3.1.9").supports_fast_schema_evolution());
        assert!(v("3.2.0").supports_fast_schema_evolution());
        assert!(v("3.1.0").supports_table_comment_alter());
        assert!(!v("3.2.9").supports_order_by_on_non_pk());
        assert!(v("3.1.0").supports_mv_swap() && !v("3.0.9").supports_mv_swap());
        assert_eq!(v("2.0.0").max_varchar_bytes(), 65_533);
        assert_eq!(v("3.3.5").max_varchar_bytes(), 1_048_576);
        assert_eq!(v("4.2.0").max_varchar_bytes(), 2_147_482_624);
        assert!(v("4.0.0").supports_decimal256() && !v("3.5.0").supports_decimal256());
        assert_eq!(StarRocksVersion::default(), v("3.3.5"));
        assert!(v("3.3.5").can_modify_in_place(&SrType::Int, &SrType::BigInt));
        assert!(!v("3.3.5").can_modify_in_place(&SrType::BigInt, &SrType::Int));
        assert!(!v("3.3.5").can_modify_in_place(
            &SrType::Varchar { len: 10 },
            &SrType::Varchar { len: 2_000_000 }
        ));
        assert!(v("4.2.0").can_modify_in_place(
            &SrType::Varchar { len: 10 },
            &SrType::Varchar { len: 2_000_000 }
        ));
    }
}
