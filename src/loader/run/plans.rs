//! Reproducible batch boundaries across crashes and rebalances (pure).
//!
//! A batch's label is derived from its `(first, last)` offsets, and where a
//! batch ends depends on timing (the age flush). So that a batch read again
//! after a crash (or by the next owner of its partition) gets the label it had
//! and meets `Label Already Exists` instead of loading its rows twice, every
//! batch is *planned* before it is loaded:
//!
//! * When a batch is sealed, its `(target table, kind, first, last)` joins the
//!   partition's [`Plans`]. Before its load starts, the partition's plans
//!   whose `last` is at or past its current commit position are written
//!   ([`Plans::encode`]) to the plans topic ([`super::planlog`]) and
//!   acknowledged; a batch whose plan is not recorded yet does not load. (Offset
//!   commits carry the same text as metadata, for operators.)
//! * After an assignment, the runtime reads the committed offset `C` and the
//!   partition's latest plans ([`Forced::from_metadata`]) before taking its
//!   first record. For each planned range of a target: if `first < C`, the
//!   batch was durable when `C` was committed (a batch pins its first offset
//!   from its first record on, and no commit passes a pin; a batch opened
//!   after that commit starts at or past `C`), so its rows for that target
//!   are not loaded again ([`Cut::Durable`]); if `first >= C`, the re-read
//!   batch is cut at exactly `first` and `last` ([`Cut::Range`]), whatever the
//!   timing. The latest record lists every batch that may have loaded past
//!   `C`: each was recorded before it loaded, and every later record keeps it
//!   until the position passes its `last`.
//!
//! A re-cut batch waits for its `last` offset to be read before it is sealed
//! (age does not cut it; a gate hold or a drain leaves it open and pinned).
//! The text is `ddlsync1;<m|r><first>-<last>@<db.table>;...`, kept under
//! [`MAX_METADATA`] bytes: a plan that does not fit waits until older ones
//! are passed, and its batch does not load until then.

use std::collections::HashMap;

use crate::metrics::LoadTarget;

/// Metadata budget per partition commit.
pub const MAX_METADATA: usize = 3_500;

const VERSION: &str = "ddlsync1";

/// One planned batch.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Planned {
    table: String,
    kind: LoadTarget,
    first: i64,
    last: i64,
    recorded: bool,
}

fn kind_char(kind: LoadTarget) -> char {
    match kind {
        LoadTarget::Mirror => 'm',
        LoadTarget::Raw => 'r',
    }
}

/// Planned batches of every assigned partition.
#[derive(Debug, Default)]
pub struct Plans {
    parts: HashMap<(String, i32), Vec<Planned>>,
}

impl Plans {
    /// A sealed batch is planned (not yet recorded).
    pub fn add(
        &mut self,
        topic: &str,
        partition: i32,
        table: &str,
        kind: LoadTarget,
        first: i64,
        last: i64,
    ) {
        self.parts
            .entry((topic.to_string(), partition))
            .or_default()
            .push(Planned {
                table: table.to_string(),
                kind,
                first,
                last,
                recorded: false,
            });
    }

    /// Whether the batch's plan is in committed metadata (it may load).
    pub fn is_recorded(
        &self,
        topic: &str,
        partition: i32,
        table: &str,
        kind: LoadTarget,
        first: i64,
    ) -> bool {
        self.parts
            .get(&(topic.to_string(), partition))
            .and_then(|v| {
                v.iter()
                    .find(|p| p.kind == kind && p.first == first && p.table == table)
            })
            .is_some_and(|p| p.recorded)
    }

    /// Partitions with a plan not yet recorded.
    pub fn unrecorded(&self) -> Vec<(String, i32)> {
        let mut v: Vec<_> = self
            .parts
            .iter()
            .filter(|(_, v)| v.iter().any(|p| !p.recorded))
            .map(|(k, _)| k.clone())
            .collect();
        v.sort();
        v
    }

    /// The metadata to commit with `position` (plans ending before it are
    /// dropped), and how many plans it holds (the oldest ones, in order).
    pub fn encode(&mut self, topic: &str, partition: i32, position: i64) -> (String, usize) {
        let mut text = String::from(VERSION);
        let Some(v) = self.parts.get_mut(&(topic.to_string(), partition)) else {
            return (text, 0);
        };
        v.retain(|p| p.last >= position);
        let mut n = 0;
        for p in v.iter() {
            let entry = format!(";{}{}-{}@{}", kind_char(p.kind), p.first, p.last, p.table);
            if text.len() + entry.len() > MAX_METADATA {
                break;
            }
            text.push_str(&entry);
            n += 1;
        }
        (text, n)
    }

    /// The first `n` plans of the partition are in committed metadata.
    pub fn mark_recorded(&mut self, topic: &str, partition: i32, n: usize) {
        if let Some(v) = self.parts.get_mut(&(topic.to_string(), partition)) {
            for p in v.iter_mut().take(n) {
                p.recorded = true;
            }
        }
    }

    /// The partition was revoked.
    pub fn forget(&mut self, topic: &str, partition: i32) {
        self.parts.remove(&(topic.to_string(), partition));
    }
}

/// Where the runtime must cut a re-read record's batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// No plan covers it: the usual limits apply.
    Free,
    /// A batch that was durable at the committed offset covers it: skip.
    Durable,
    /// A planned batch covers it: the batch starts at `first`, ends at `last`.
    Range {
        /// First offset of the planned batch.
        first: i64,
        /// Last offset of the planned batch.
        last: i64,
    },
}

/// The plans read back from a partition's committed metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forced {
    committed: i64,
    ranges: HashMap<(String, LoadTarget), Vec<(i64, i64)>>,
}

impl Forced {
    /// Parses the metadata committed with offset `committed`; `None` when it
    /// is not ours (empty, another format).
    pub fn from_metadata(committed: i64, text: &str) -> Option<Forced> {
        let mut parts = text.split(';');
        if parts.next() != Some(VERSION) {
            return None;
        }
        let mut f = Forced {
            committed,
            ranges: HashMap::new(),
        };
        for e in parts {
            let mut chars = e.chars();
            let kind = match chars.next() {
                Some('m') => LoadTarget::Mirror,
                Some('r') => LoadTarget::Raw,
                _ => return None,
            };
            let (range, table) = chars.as_str().split_once('@')?;
            let (first, last) = range.split_once('-')?;
            let (first, last) = (first.parse().ok()?, last.parse().ok()?);
            f.ranges
                .entry((table.to_string(), kind))
                .or_default()
                .push((first, last));
        }
        Some(f)
    }

    /// How the record at `offset` must be batched for `table`/`kind`.
    pub fn cut(&self, table: &str, kind: LoadTarget, offset: i64) -> Cut {
        let Some(v) = self.ranges.get(&(table.to_string(), kind)) else {
            return Cut::Free;
        };
        match v.iter().find(|(f, l)| (*f..=*l).contains(&offset)) {
            None => Cut::Free,
            Some(&(first, _)) if first < self.committed => Cut::Durable,
            Some(&(first, last)) => Cut::Range { first, last },
        }
    }

    /// Whether any plan is left to honour.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_round_trip_through_metadata() {
        let mut p = Plans::default();
        p.add("t", 0, "d.a", LoadTarget::Mirror, 10, 19);
        p.add("t", 0, "d.a_cdc_raw", LoadTarget::Raw, 10, 24);
        p.add("t", 0, "d.a", LoadTarget::Mirror, 20, 24);
        assert!(!p.is_recorded("t", 0, "d.a", LoadTarget::Mirror, 10));
        assert_eq!(p.unrecorded(), vec![("t".to_string(), 0)]);
        let (text, n) = p.encode("t", 0, 10);
        assert_eq!(n, 3);
        assert_eq!(text, "ddlsync1;m10-19@d.a;r10-24@d.a_cdc_raw;m20-24@d.a");
        p.mark_recorded("t", 0, n);
        assert!(p.is_recorded("t", 0, "d.a", LoadTarget::Mirror, 20));
        assert!(p.unrecorded().is_empty());
        // Committed at 20: the mirror batch 10-19 was durable.
        let f = Forced::from_metadata(20, &text).unwrap();
        assert_eq!(f.cut("d.a", LoadTarget::Mirror, 15), Cut::Durable);
        assert_eq!(
            f.cut("d.a", LoadTarget::Mirror, 21),
            Cut::Range {
                first: 20,
                last: 24
            }
        );
        assert_eq!(f.cut("d.a", LoadTarget::Mirror, 25), Cut::Free);
        assert_eq!(f.cut("d.a_cdc_raw", LoadTarget::Raw, 22), Cut::Durable);
        assert_eq!(f.cut("d.b", LoadTarget::Raw, 22), Cut::Free);
        // Plans ending before the position are dropped.
        let (text, n) = p.encode("t", 0, 20);
        assert_eq!(
            (text.as_str(), n),
            ("ddlsync1;r10-24@d.a_cdc_raw;m20-24@d.a", 2)
        );
        assert_eq!(Forced::from_metadata(0, ""), None);
        assert_eq!(Forced::from_metadata(0, "ddlsync1;x1-2@t"), None);
        assert!(Forced::from_metadata(0, "ddlsync1").unwrap().is_empty());
    }

    #[test]
    fn metadata_stays_under_the_budget() {
        let mut p = Plans::default();
        let table = "d.".to_string() + &"x".repeat(200);
        for i in 0..40 {
            p.add("t", 1, &table, LoadTarget::Raw, i * 10, i * 10 + 9);
        }
        let (text, n) = p.encode("t", 1, 0);
        assert!(text.len() <= MAX_METADATA && n > 0 && n < 40, "{n}");
        p.mark_recorded("t", 1, n);
        assert!(!p.is_recorded("t", 1, &table, LoadTarget::Raw, 390));
        p.forget("t", 1);
        assert!(p.unrecorded().is_empty());
    }
}
