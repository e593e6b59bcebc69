//! The StarRocks type-conversion matrix (starrocks-facts §1.4) and the
//! "already holds" relation used by the diff.
//!
//! Conservative by design: a conversion the facts sheet does not list as
//! supported is classified as not in place, so the planner rebuilds instead
//! of submitting an ALTER that StarRocks would refuse.

use super::{Conversion, SrType, MAX_VARCHAR_BYTES, STRING_BYTES};

/// Rank of an integer type (BOOLEAN is not an integer here).
fn int_rank(t: &SrType) -> Option<u8> {
    match t {
        SrType::TinyInt => Some(1),
        SrType::SmallInt => Some(2),
        SrType::Int => Some(3),
        SrType::BigInt => Some(4),
        SrType::LargeInt => Some(5),
        _ => None,
    }
}

/// Decimal digits needed for every value of an integer type.
fn int_digits(rank: u8) -> u32 {
    match rank {
        1 => 3,
        2 => 5,
        3 => 10,
        4 => 19,
        _ => 39,
    }
}

/// Longest text rendering in bytes of every value of `t`, when bounded.
fn text_len(t: &SrType) -> Option<u32> {
    Some(match t {
        SrType::TinyInt => 4,
        SrType::SmallInt => 6,
        SrType::Int => 11,
        SrType::BigInt => 20,
        SrType::LargeInt => 40,
        SrType::Float | SrType::Double => 24,
        SrType::Decimal { precision, .. } => u32::from(*precision) + 2,
        SrType::Date => 10,
        SrType::Datetime => 26,
        SrType::Char { len } | SrType::Varchar { len } => *len,
        SrType::String => STRING_BYTES,
        _ => return None,
    })
}

/// Byte capacity of a string type.
fn capacity(t: &SrType) -> Option<u32> {
    match t {
        SrType::Char { len } | SrType::Varchar { len } => Some(*len),
        SrType::String => Some(STRING_BYTES),
        _ => None,
    }
}

/// `STRING`, or `VARCHAR(65533)` which is how StarRocks shows a `STRING` column.
fn is_string_like_catch_all(t: &SrType) -> bool {
    matches!(t, SrType::String | SrType::Varchar { len: STRING_BYTES })
}

/// Whether `DECIMAL(tp, ts)` holds every `DECIMAL(fp, fs)`.
fn decimal_holds(tp: u8, ts: u8, fp: u8, fs: u8) -> bool {
    ts >= fs && tp.saturating_sub(ts) >= fp.saturating_sub(fs)
}

pub(super) fn can_hold(target: &SrType, desired: &SrType) -> bool {
    if target == desired {
        return true;
    }
    match target {
        SrType::Other { .. } | SrType::Boolean | SrType::Date => false,
        SrType::TinyInt | SrType::SmallInt | SrType::Int | SrType::BigInt | SrType::LargeInt => {
            let tr = int_rank(target).unwrap_or(0);
            match desired {
                SrType::Boolean => true,
                d => int_rank(d).is_some_and(|dr| dr <= tr),
            }
        }
        SrType::Float => matches!(
            desired,
            SrType::Boolean | SrType::TinyInt | SrType::SmallInt
        ),
        SrType::Double => matches!(
            desired,
            SrType::Boolean | SrType::TinyInt | SrType::SmallInt | SrType::Int | SrType::Float
        ),
        SrType::Decimal { precision, scale } => match desired {
            SrType::Decimal {
                precision: dp,
                scale: ds,
            } => decimal_holds(*precision, *scale, *dp, *ds),
            SrType::Boolean => precision > scale,
            d => int_rank(d)
                .is_some_and(|r| u32::from(precision.saturating_sub(*scale)) >= int_digits(r)),
        },
        SrType::Datetime => matches!(desired, SrType::Date),
        SrType::Json => false,
        SrType::Array { element } => match desired {
            SrType::Array { element: de } => can_hold(element, de),
            _ => false,
        },
        SrType::Varbinary { len } => match desired {
            SrType::Varbinary { len: dl } => {
                len.unwrap_or(MAX_VARCHAR_BYTES) >= dl.unwrap_or(MAX_VARCHAR_BYTES)
            }
            _ => false,
        },
        SrType::Char { .. } | SrType::Varchar { .. } | SrType::String => {
            if is_string_like_catch_all(target) {
                // A hand-made STRING column holds anything that loads as text.
                return desired.is_string()
                    || matches!(desired, SrType::Json)
                    || text_len(desired).is_some();
            }
            let cap = capacity(target).unwrap_or(0);
            match desired {
                SrType::Json => cap >= MAX_VARCHAR_BYTES,
                SrType::Boolean | SrType::Array { .. } | SrType::Varbinary { .. } => false,
                SrType::Other { .. } => false,
                // CHAR pads; only CHAR holds CHAR values of other lengths exactly.
                d if matches!(target, SrType::Char { .. }) => {
                    matches!(d, SrType::Char { len } if *len <= cap)
                }
                d => text_len(d).is_some_and(|n| n <= cap),
            }
        }
    }
}

pub(super) fn classify(from: &SrType, to: &SrType) -> Conversion {
    use Conversion::{Identity, Incompatible, Narrowing, Widening};
    const LOSSY_IN_PLACE: Conversion = Narrowing { in_place: true };
    const LOSSY_REBUILD: Conversion = Narrowing { in_place: false };

    if from == to {
        return Identity;
    }
    match (from, to) {
        (SrType::Other { .. }, _) | (_, SrType::Other { .. }) => Incompatible,
        (SrType::Boolean, _) | (_, SrType::Boolean) => Incompatible,

        // Integers.
        (f, t) if int_rank(f).is_some() && int_rank(t).is_some() => {
            if int_rank(t) > int_rank(f) {
                Widening
            } else {
                LOSSY_REBUILD
            }
        }
        (f, SrType::Double) if int_rank(f).is_some() => match f {
            SrType::TinyInt | SrType::SmallInt | SrType::Int => Widening,
            SrType::BigInt => LOSSY_IN_PLACE,
            _ => LOSSY_REBUILD, // LARGEINT → DOUBLE is not in the matrix
        },
        // Not in the matrix: TINYINT/SMALLINT fit FLOAT exactly, wider integers do not.
        (SrType::TinyInt | SrType::SmallInt, SrType::Float) => Incompatible,
        (f, SrType::Float) if int_rank(f).is_some() => LOSSY_REBUILD,
        (SrType::Int, SrType::Date) => LOSSY_IN_PLACE,
        (f, SrType::Decimal { precision, scale }) if int_rank(f).is_some() => {
            // Not in the FE matrix: rebuild. Lossless when the integer digits fit.
            let r = int_rank(f).unwrap_or(5);
            if u32::from(precision.saturating_sub(*scale)) >= int_digits(r) {
                Incompatible
            } else {
                LOSSY_REBUILD
            }
        }

        // Floating point.
        (SrType::Float, SrType::Double) => Widening,
        (SrType::Double, SrType::Float) => LOSSY_REBUILD,
        (SrType::Float | SrType::Double, t) if int_rank(t).is_some() => LOSSY_REBUILD,
        (SrType::Float | SrType::Double, SrType::Decimal { .. }) => LOSSY_REBUILD,

        // Decimals.
        (
            SrType::Decimal {
                precision: fp,
                scale: fs,
            },
            SrType::Decimal {
                precision: tp,
                scale: ts,
            },
        ) => {
            if decimal_holds(*tp, *ts, *fp, *fs) {
                Widening
            } else {
                LOSSY_REBUILD
            }
        }
        (SrType::Decimal { .. }, t) if int_rank(t).is_some() => LOSSY_REBUILD,
        (SrType::Decimal { .. }, SrType::Float | SrType::Double) => LOSSY_REBUILD,

        // Anything numeric → VARCHAR: in place (decimal needs the full display length).
        (f, SrType::Varchar { .. } | SrType::String)
            if int_rank(f).is_some()
                || matches!(f, SrType::Float | SrType::Double | SrType::Decimal { .. }) =>
        {
            let need = text_len(f).unwrap_or(u32::MAX);
            let cap = capacity(to).unwrap_or(0);
            if cap >= need {
                Widening
            } else if matches!(f, SrType::Decimal { .. }) {
                LOSSY_REBUILD // "decimal → VARCHAR needs the display length"
            } else {
                LOSSY_IN_PLACE
            }
        }

        // Strings.
        (SrType::Char { len: f }, SrType::Char { len: t }) => {
            if t >= f {
                Widening
            } else {
                LOSSY_REBUILD
            }
        }
        (SrType::Char { .. } | SrType::Varchar { .. } | SrType::String, SrType::Varchar { .. })
        | (SrType::Char { .. } | SrType::Varchar { .. }, SrType::String) => {
            let (f, t) = (capacity(from).unwrap_or(0), capacity(to).unwrap_or(0));
            if t >= f {
                Widening
            } else {
                LOSSY_REBUILD // "Cannot shorten string length"
            }
        }
        (SrType::Varchar { .. } | SrType::String, SrType::Char { len }) => {
            if capacity(from).is_some_and(|f| *len >= f) {
                Incompatible // VARCHAR → CHAR is not in the matrix
            } else {
                LOSSY_REBUILD
            }
        }
        (SrType::Varchar { .. } | SrType::String, t)
            if int_rank(t).is_some()
                || matches!(
                    t,
                    SrType::Float
                        | SrType::Double
                        | SrType::Decimal { .. }
                        | SrType::Date
                        | SrType::Json
                ) =>
        {
            LOSSY_IN_PLACE // parsed from text: unparsable values are refused
        }
        (SrType::Char { .. }, _) => Incompatible,

        // JSON.
        (SrType::Json, SrType::Varchar { len }) => {
            if *len >= MAX_VARCHAR_BYTES {
                Widening
            } else {
                LOSSY_IN_PLACE // "JSON needs minimum length of <n>"
            }
        }
        (SrType::Json, SrType::Char { .. } | SrType::String) => LOSSY_IN_PLACE,

        // Dates.
        (SrType::Date, SrType::Datetime) => Widening,
        (SrType::Datetime, SrType::Date) => LOSSY_IN_PLACE,

        // Binary: widening of VARBINARY is not documented; stay conservative.
        (SrType::Varbinary { len: f }, SrType::Varbinary { len: t }) => {
            if t.unwrap_or(MAX_VARCHAR_BYTES) >= f.unwrap_or(MAX_VARCHAR_BYTES) {
                Incompatible
            } else {
                LOSSY_REBUILD
            }
        }
        (SrType::Array { element: f }, SrType::Array { element: t }) => match classify(f, t) {
            Identity => Identity,
            Narrowing { .. } => LOSSY_REBUILD,
            _ => Incompatible,
        },
        _ => Incompatible,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_ladder() {
        assert_eq!(
            classify(&SrType::Int, &SrType::BigInt),
            Conversion::Widening
        );
        assert_eq!(
            classify(&SrType::BigInt, &SrType::Int),
            Conversion::Narrowing { in_place: false }
        );
        assert_eq!(
            classify(&SrType::BigInt, &SrType::Double),
            Conversion::Narrowing { in_place: true }
        );
        assert!(can_hold(&SrType::BigInt, &SrType::Int));
        assert!(!can_hold(&SrType::Int, &SrType::BigInt));
    }

    #[test]
    fn strings() {
        let v10 = SrType::Varchar { len: 10 };
        let v20 = SrType::Varchar { len: 20 };
        assert_eq!(classify(&v10, &v20), Conversion::Widening);
        assert_eq!(
            classify(&v20, &v10),
            Conversion::Narrowing { in_place: false }
        );
        assert!(can_hold(
            &SrType::String,
            &SrType::Varchar { len: 1_048_576 }
        ));
        assert!(can_hold(&SrType::String, &SrType::Json));
        assert!(can_hold(
            &SrType::Varchar { len: 65533 },
            &SrType::Varchar { len: 400_000 }
        ));
        assert!(!can_hold(
            &SrType::Varchar { len: 65534 },
            &SrType::Varchar { len: 400_000 }
        ));
        assert_eq!(
            classify(&SrType::Datetime, &SrType::Varchar { len: 100 }),
            Conversion::Incompatible
        );
    }
}
