//! Deterministic Stream Load labels (pure).
//!
//! A label is derived from everything that identifies a batch — target
//! table, Kafka topic, partition, first and last offset, schema version — so
//! that a retried or replayed batch (after a crash, before the offset commit)
//! carries the same label and StarRocks answers `Label Already Exists`
//! instead of loading it twice.
//!
//! Form: `ddlsync_<table>_<partition>_<first>_<last>_<hash>`, where `<table>`
//! is the target table with every character outside `[A-Za-z0-9_]` replaced by
//! `_` (cut short when the label would exceed 128 characters), negative
//! numbers are written `n<abs>`, and `<hash>` is 16 hex digits of SHA-256 over
//! the exact inputs (so two inputs that sanitize alike still differ).

use sha2::{Digest, Sha256};

/// StarRocks' label length limit.
pub const MAX_LABEL_LEN: usize = 128;

const PREFIX: &str = "ddlsync";

/// What a batch's label is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LabelParts<'a> {
    /// Target table (`db.table` or `table`).
    pub table: &'a str,
    /// Kafka topic.
    pub topic: &'a str,
    /// Kafka partition.
    pub partition: i32,
    /// First offset in the batch.
    pub first_offset: i64,
    /// Last offset in the batch.
    pub last_offset: i64,
    /// Schema version (fingerprint) the batch was built with.
    pub schema_version: &'a str,
}

fn num(v: i64) -> String {
    if v < 0 {
        format!("n{}", v.unsigned_abs())
    } else {
        v.to_string()
    }
}

/// The label of a batch: only `[A-Za-z0-9_]`, at most [`MAX_LABEL_LEN`] chars.
pub fn make_label(p: &LabelParts<'_>) -> String {
    let mut h = Sha256::new();
    for part in [
        p.table.as_bytes(),
        p.topic.as_bytes(),
        &p.partition.to_be_bytes(),
        &p.first_offset.to_be_bytes(),
        &p.last_offset.to_be_bytes(),
        p.schema_version.as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    let digest = h.finalize();
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let tail = format!(
        "_{}_{}_{}_{hash}",
        num(i64::from(p.partition)),
        num(p.first_offset),
        num(p.last_offset)
    );
    let room = MAX_LABEL_LEN.saturating_sub(PREFIX.len() + 1 + tail.len());
    let table: String = p
        .table
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(room)
        .collect();
    format!("{PREFIX}_{table}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parts<'a>(t: &'a str, topic: &'a str, p: i32, f: i64, l: i64, s: &'a str) -> LabelParts<'a> {
        LabelParts {
            table: t,
            topic,
            partition: p,
            first_offset: f,
            last_offset: l,
            schema_version: s,
        }
    }

    #[test]
    fn readable_and_bounded() {
        let l = make_label(&parts(
            "shop.orders",
            "dbserver1.public.orders",
            0,
            10,
            20,
            "abc",
        ));
        assert!(l.starts_with("ddlsync_shop_orders_0_10_20_"), "{l}");
        let long = "t".repeat(300);
        let l = make_label(&parts(&long, "x", -1, i64::MIN, i64::MAX, "s"));
        assert!(l.len() <= MAX_LABEL_LEN, "{}", l.len());
        assert!(l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    proptest! {
        #[test]
        fn stable_valid_and_distinct(
            t1 in ".{0,200}", t2 in ".{0,200}", topic in ".{0,50}",
            p in any::<i32>(), f in any::<i64>(), l in any::<i64>(), s in "[a-f0-9]{0,16}",
            dp in 0i32..3, df in 0i64..3,
        ) {
            let a = make_label(&parts(&t1, &topic, p, f, l, &s));
            prop_assert_eq!(&a, &make_label(&parts(&t1, &topic, p, f, l, &s)));
            prop_assert!(a.len() <= MAX_LABEL_LEN);
            prop_assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            let b = make_label(&parts(&t2, &topic, p.wrapping_add(dp), f.wrapping_add(df), l, &s));
            if t1 != t2 || dp != 0 || df != 0 {
                prop_assert_ne!(a, b);
            }
            let c = make_label(&parts(&t1, &topic, p, f, l, &format!("{s}x")));
            prop_assert_ne!(make_label(&parts(&t1, &topic, p, f, l, &s)), c);
        }
    }
}
