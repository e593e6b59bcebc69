//! Commit positions from durable offsets, per topic-partition (pure).
//!
//! Every offset read is *observed*; an offset whose rows are not yet durable
//! in StarRocks is *pinned* (an open or loading batch pins its first offset, a
//! held partition pins the first record it did not load, a quarantine in
//! flight pins its record). The commit position of a partition is the lowest
//! pinned offset, or one past the highest observed offset when nothing is
//! pinned: Kafka never gets an offset past a row that could still be lost.

use std::collections::BTreeMap;

// Fast hashing: looked up for every record.
use rustc_hash::FxHashMap as HashMap;

/// One partition's bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Partition {
    /// One past the highest offset observed.
    high: Option<i64>,
    /// Pinned offsets with their pin counts.
    pins: BTreeMap<i64, u32>,
    /// The last position handed out for commit.
    committed: Option<i64>,
}

impl Partition {
    fn position(&self) -> Option<i64> {
        match (self.pins.keys().next(), self.high) {
            (Some(&p), Some(h)) => Some(p.min(h)),
            (Some(&p), None) => Some(p),
            (None, h) => h,
        }
    }
}

/// Offsets of every assigned partition.
#[derive(Debug, Clone, Default)]
pub struct Offsets {
    parts: HashMap<String, BTreeMap<i32, Partition>>,
}

impl Offsets {
    /// Nothing tracked.
    pub fn new() -> Offsets {
        Offsets::default()
    }

    fn part(&mut self, topic: &str, partition: i32) -> &mut Partition {
        if !self.parts.contains_key(topic) {
            self.parts.insert(topic.to_string(), BTreeMap::new());
        }
        self.parts
            .get_mut(topic)
            .map(|m| m.entry(partition).or_default())
            .unwrap_or_else(|| unreachable!("inserted above"))
    }

    /// `offset` was read (and is durable unless pinned).
    pub fn observe(&mut self, topic: &str, partition: i32, offset: i64) {
        let p = self.part(topic, partition);
        p.high = Some(p.high.map_or(offset + 1, |h| h.max(offset + 1)));
    }

    /// `offset` is not durable yet.
    pub fn pin(&mut self, topic: &str, partition: i32, offset: i64) {
        *self.part(topic, partition).pins.entry(offset).or_insert(0) += 1;
    }

    /// One pin of `offset` is durable now; `false` when there was none.
    pub fn unpin(&mut self, topic: &str, partition: i32, offset: i64) -> bool {
        let Some(p) = self
            .parts
            .get_mut(topic)
            .and_then(|m| m.get_mut(&partition))
        else {
            return false;
        };
        match p.pins.get_mut(&offset) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                p.pins.remove(&offset);
                true
            }
            None => false,
        }
    }

    /// The partition is read again from `offset` (seek back): what was
    /// observed from there on is forgotten.
    pub fn rewind(&mut self, topic: &str, partition: i32, offset: i64) {
        let p = self.part(topic, partition);
        p.high = Some(p.high.map_or(offset, |h| h.min(offset)));
    }

    /// One past the highest offset observed on the partition.
    pub fn high(&self, topic: &str, partition: i32) -> Option<i64> {
        self.parts.get(topic)?.get(&partition)?.high
    }

    /// Where a consumer may commit for the partition now (`None`: nothing read).
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.parts.get(topic)?.get(&partition)?.position()
    }

    /// Partitions whose position moved past what was last committed.
    pub fn ready(&self) -> Vec<(String, i32, i64)> {
        let mut out = Vec::new();
        for (topic, parts) in &self.parts {
            for (&partition, p) in parts {
                if let Some(pos) = p.position() {
                    if p.committed.is_none_or(|c| pos > c) {
                        out.push((topic.clone(), partition, pos));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Every partition's position (committed or not).
    pub fn positions(&self) -> Vec<(String, i32, i64)> {
        let mut out: Vec<_> = self
            .parts
            .iter()
            .flat_map(|(t, m)| {
                m.iter()
                    .filter_map(|(&p, s)| s.position().map(|pos| (t.clone(), p, pos)))
            })
            .collect();
        out.sort();
        out
    }

    /// `position` was committed for the partition.
    pub fn committed(&mut self, topic: &str, partition: i32, position: i64) {
        let p = self.part(topic, partition);
        p.committed = Some(p.committed.map_or(position, |c| c.max(position)));
    }

    /// The partition was revoked: everything about it is forgotten.
    pub fn forget(&mut self, topic: &str, partition: i32) {
        if let Some(m) = self.parts.get_mut(topic) {
            m.remove(&partition);
            if m.is_empty() {
                self.parts.remove(topic);
            }
        }
    }

    /// Pins left on the partition (for tests and logs).
    pub fn pinned(&self, topic: &str, partition: i32) -> usize {
        self.parts
            .get(topic)
            .and_then(|m| m.get(&partition))
            .map_or(0, |p| p.pins.values().map(|&n| n as usize).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_is_the_lowest_pin_or_one_past_the_last_read() {
        let mut o = Offsets::new();
        assert_eq!(o.position("t", 0), None);
        o.observe("t", 0, 0);
        o.observe("t", 0, 1);
        assert_eq!(o.position("t", 0), Some(2));
        o.pin("t", 0, 2);
        o.observe("t", 0, 2);
        o.observe("t", 0, 3);
        o.pin("t", 0, 4); // a second batch (another table) from 4
        o.observe("t", 0, 4);
        assert_eq!(o.position("t", 0), Some(2));
        // The later batch is durable first: the position stays at the first.
        assert!(o.unpin("t", 0, 4));
        assert_eq!(o.position("t", 0), Some(2));
        assert!(o.unpin("t", 0, 2));
        assert_eq!(o.position("t", 0), Some(5));
        assert!(!o.unpin("t", 0, 2), "a pin is released once");
        assert!(!o.unpin("x", 9, 0));
    }

    #[test]
    fn pins_count_and_partitions_are_independent() {
        let mut o = Offsets::new();
        o.pin("t", 0, 7); // mirror batch from 7
        o.pin("t", 0, 7); // raw batch from 7
        o.observe("t", 0, 7);
        o.observe("t", 1, 40);
        assert!(o.unpin("t", 0, 7));
        assert_eq!(o.position("t", 0), Some(7));
        assert_eq!(o.pinned("t", 0), 1);
        assert!(o.unpin("t", 0, 7));
        assert_eq!(o.position("t", 0), Some(8));
        assert_eq!(o.position("t", 1), Some(41));
    }

    #[test]
    fn ready_reports_only_moved_positions() {
        let mut o = Offsets::new();
        o.observe("a", 0, 0);
        o.observe("b", 2, 9);
        assert_eq!(
            o.ready(),
            vec![("a".to_string(), 0, 1), ("b".to_string(), 2, 10)]
        );
        o.committed("a", 0, 1);
        o.committed("b", 2, 10);
        assert!(o.ready().is_empty());
        o.pin("a", 0, 1);
        o.observe("a", 0, 1);
        assert!(o.ready().is_empty(), "a pinned offset is not committable");
        o.unpin("a", 0, 1);
        assert_eq!(o.ready(), vec![("a".to_string(), 0, 2)]);
        assert_eq!(o.positions().len(), 2);
    }

    #[test]
    fn hold_then_rewind_never_commits_past_the_held_record() {
        let mut o = Offsets::new();
        o.observe("t", 0, 9);
        // Held at 10: pinned, later records are discarded (not observed).
        o.pin("t", 0, 10);
        assert_eq!(o.position("t", 0), Some(10));
        // Released: seek back to 10, unpin.
        o.rewind("t", 0, 10);
        o.unpin("t", 0, 10);
        assert_eq!(o.position("t", 0), Some(10));
        o.observe("t", 0, 10);
        assert_eq!(o.position("t", 0), Some(11));
        // A rewind below what was observed forgets the rest.
        o.observe("t", 0, 20);
        o.rewind("t", 0, 15);
        assert_eq!(o.position("t", 0), Some(15));
    }

    #[test]
    fn forget_drops_a_revoked_partition() {
        let mut o = Offsets::new();
        o.pin("t", 0, 3);
        o.observe("t", 0, 3);
        o.forget("t", 0);
        assert_eq!(o.position("t", 0), None);
        assert!(o.ready().is_empty());
        o.forget("t", 0);
    }
}
