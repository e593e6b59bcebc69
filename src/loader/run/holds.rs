//! Held partitions (pure): which topic-partitions are paused, from which
//! offset they must be read again, and what to do with the records that still
//! arrive from them.
//!
//! A partition is held when the gate holds one of its tables (the agent has a
//! change waiting) or when a target table has too many batches waiting to
//! load (backpressure). The records from the first unloaded one on are
//! discarded — librdkafka may still deliver some after the pause — and read
//! again after the release: the consumer seeks back to [`Held::from`]. Until
//! the record at `from` comes back, records after it are stale copies from
//! before the seek and are discarded too.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::TableId;

/// Why a partition is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The gate holds the mirror table (re-asked with these columns on every
    /// gate change).
    Gate {
        /// The mirror table.
        target: TableId,
        /// The row shape that was refused.
        columns: Vec<String>,
        /// The gate's reason.
        reason: String,
    },
    /// A target table has too many sealed batches waiting.
    Backpressure {
        /// The target table (`db.table`).
        target: String,
    },
    /// The record could not be decoded for now (schema registry unavailable):
    /// read it again at `until`.
    Retry {
        /// When to read it again.
        until: std::time::Instant,
        /// Why.
        error: String,
    },
}

/// One held partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The first record not loaded: read again from here.
    pub from: i64,
    /// Why.
    pub reason: Reason,
}

/// What to do with a record that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Process it.
    Take,
    /// Drop it: it will be read again.
    Discard,
    /// Drop it, and seek back to this offset again: more records past it came
    /// than can be stale copies from before the seek (the seek was lost).
    Reseek(i64),
}

/// Records past the rewind offset that may still be stale copies from before
/// the seek (librdkafka drops its own on a seek; these are the reader's
/// channel and what was in hand).
pub const STALE_MAX: u32 = (2 * super::reader::CHANNEL * super::reader::CHUNK) as u32 + 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Held(Held),
    /// Released and sought back to this offset; waiting for it to come back
    /// (with the count of later records discarded meanwhile).
    Rewinding(i64, u32),
}

/// Every held (or rewinding) partition.
#[derive(Debug, Clone, Default)]
pub struct Holds {
    parts: HashMap<String, BTreeMap<i32, State>>,
}

impl Holds {
    /// Nothing held.
    pub fn new() -> Holds {
        Holds::default()
    }

    /// Whether any partition is held or rewinding (fast path).
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Holds the partition from `from`; `false` when it was already held (the
    /// first hold stays).
    pub fn hold(&mut self, topic: &str, partition: i32, from: i64, reason: Reason) -> bool {
        let parts = self.parts.entry(topic.to_string()).or_default();
        if matches!(parts.get(&partition), Some(State::Held(_))) {
            return false;
        }
        parts.insert(partition, State::Held(Held { from, reason }));
        true
    }

    /// What to do with the record at `offset`.
    pub fn check(&mut self, topic: &str, partition: i32, offset: i64) -> Verdict {
        let Some(parts) = self.parts.get_mut(topic) else {
            return Verdict::Take;
        };
        match parts.get_mut(&partition) {
            None => Verdict::Take,
            Some(State::Held(_)) => Verdict::Discard,
            Some(State::Rewinding(from, stale)) if offset > *from => {
                *stale += 1;
                if *stale > STALE_MAX {
                    *stale = 0;
                    Verdict::Reseek(*from)
                } else {
                    Verdict::Discard
                }
            }
            Some(State::Rewinding(..)) => {
                parts.remove(&partition);
                if parts.is_empty() {
                    self.parts.remove(topic);
                }
                Verdict::Take
            }
        }
    }

    /// The partition's hold, if it is held.
    pub fn get(&self, topic: &str, partition: i32) -> Option<&Held> {
        match self.parts.get(topic)?.get(&partition)? {
            State::Held(h) => Some(h),
            State::Rewinding(..) => None,
        }
    }

    /// Releases the partition: the caller seeks back to the returned hold's
    /// `from` and resumes; records after `from` are discarded until it comes.
    pub fn release(&mut self, topic: &str, partition: i32) -> Option<Held> {
        let state = self.parts.get_mut(topic)?.get_mut(&partition)?;
        let State::Held(h) = state else {
            return None;
        };
        let h = h.clone();
        *state = State::Rewinding(h.from, 0);
        Some(h)
    }

    /// Every held partition with its hold.
    pub fn held(&self) -> Vec<(String, i32, Held)> {
        let mut out = Vec::new();
        for (topic, parts) in &self.parts {
            for (&p, s) in parts {
                if let State::Held(h) = s {
                    out.push((topic.clone(), p, h.clone()));
                }
            }
        }
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        out
    }

    /// Tables held by the gate (for the held-tables gauge).
    pub fn gated_tables(&self) -> BTreeSet<TableId> {
        self.parts
            .values()
            .flat_map(BTreeMap::values)
            .filter_map(|s| match s {
                State::Held(Held {
                    reason: Reason::Gate { target, .. },
                    ..
                }) => Some(target.clone()),
                _ => None,
            })
            .collect()
    }

    /// The partition was revoked.
    pub fn forget(&mut self, topic: &str, partition: i32) {
        if let Some(parts) = self.parts.get_mut(topic) {
            parts.remove(&partition);
            if parts.is_empty() {
                self.parts.remove(topic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_seek_is_seen_and_asked_again() {
        let mut h = Holds::new();
        assert!(h.hold("t", 0, 10, Reason::Backpressure { target: "x".into() }));
        h.release("t", 0);
        // Stale copies past the rewind offset are dropped ...
        for o in 11..11 + i64::from(STALE_MAX) {
            assert_eq!(h.check("t", 0, o), Verdict::Discard);
        }
        // ... but more of them than can be stale means the seek did not happen.
        assert_eq!(h.check("t", 0, 5000), Verdict::Reseek(10));
        assert_eq!(h.check("t", 0, 5001), Verdict::Discard);
        // The record at the rewind offset ends the rewind.
        assert_eq!(h.check("t", 0, 10), Verdict::Take);
        assert_eq!(h.check("t", 0, 11), Verdict::Take);
    }

    fn gate(t: &str) -> Reason {
        Reason::Gate {
            target: TableId::new("d", t),
            columns: vec!["id".into(), "email".into()],
            reason: "plan pending".into(),
        }
    }

    #[test]
    fn held_partitions_discard_until_the_held_record_comes_back() {
        let mut h = Holds::new();
        assert_eq!(h.check("t", 0, 5), Verdict::Take);
        assert!(h.hold("t", 0, 6, gate("a")));
        assert!(!h.hold("t", 0, 9, gate("a")), "the first hold stays");
        assert_eq!(h.get("t", 0).map(|x| x.from), Some(6));
        // Records fetched before the pause took effect.
        assert_eq!(h.check("t", 0, 7), Verdict::Discard);
        assert_eq!(h.check("t", 1, 7), Verdict::Take, "other partitions flow");
        let released = h.release("t", 0).unwrap();
        assert_eq!(released.from, 6);
        assert!(h.release("t", 0).is_none());
        // Stale copies from before the seek.
        assert_eq!(h.check("t", 0, 8), Verdict::Discard);
        assert_eq!(h.check("t", 0, 6), Verdict::Take);
        assert_eq!(h.check("t", 0, 7), Verdict::Take);
        assert!(h.is_empty());
    }

    #[test]
    fn gated_tables_and_forget() {
        let mut h = Holds::new();
        h.hold("t", 0, 1, gate("a"));
        h.hold("t", 1, 4, gate("a"));
        h.hold(
            "u",
            0,
            2,
            Reason::Backpressure {
                target: "d.b".into(),
            },
        );
        assert_eq!(
            h.gated_tables().into_iter().collect::<Vec<_>>(),
            vec![TableId::new("d", "a")]
        );
        assert_eq!(h.held().len(), 3);
        h.forget("t", 0);
        h.forget("t", 1);
        h.forget("u", 0);
        assert!(h.is_empty());
        assert_eq!(h.check("t", 0, 2), Verdict::Take);
    }
}
