//! The agent's policy rules: read from the rules directory at start and again
//! whenever a file changes. A file with an error is reported (log line and
//! `ddlsync_failures_total{cause="rule_file"}`) and its last good version is
//! kept — at start, without one, the file is left out — so a typo in one file
//! never stops the agent or the tables other files decide.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::metrics::{FailureCause, Metrics};
use crate::policy::{RuleSet, DEFAULT_RULES, DEFAULT_RULES_FILE};

/// One file as last read.
#[derive(Debug, Clone, PartialEq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

/// Watches the rule files and keeps the rule set of their last good versions.
#[derive(Debug)]
pub struct RuleWatcher {
    dir: Option<PathBuf>,
    stamps: BTreeMap<PathBuf, Stamp>,
    good: BTreeMap<String, String>,
    set: RuleSet,
}

impl RuleWatcher {
    /// Rules of `dir` (`None`: the defaults built into the binary).
    pub fn new(dir: Option<PathBuf>, metrics: &Metrics) -> RuleWatcher {
        let mut w = RuleWatcher {
            dir,
            stamps: BTreeMap::new(),
            good: BTreeMap::new(),
            set: RuleSet::default(),
        };
        w.reload(metrics);
        w
    }

    /// The rules in force.
    pub fn rules(&self) -> &RuleSet {
        &self.set
    }

    /// Re-reads the files when any changed; returns whether the rule set changed.
    pub fn reload(&mut self, metrics: &Metrics) -> bool {
        let Some(dir) = self.dir.clone() else {
            if self.good.is_empty() {
                self.good
                    .insert(DEFAULT_RULES_FILE.to_owned(), DEFAULT_RULES.to_owned());
                self.rebuild();
                return true;
            }
            return false;
        };
        let files = match list(&dir) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(dir = %dir.display(), error = %e, "Cannot read the rules directory; keeping the rules in force.");
                metrics.record_failure(FailureCause::RuleFile);
                return false;
            }
        };
        let stamps: BTreeMap<PathBuf, Stamp> = files.into_iter().collect();
        if stamps == self.stamps {
            return false;
        }
        self.stamps = stamps;
        let mut good = BTreeMap::new();
        for path in self.stamps.keys() {
            let name = path.display().to_string();
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(file = %name, error = %e, "Cannot read a rule file; keeping its last good version.");
                    metrics.record_failure(FailureCause::RuleFile);
                    if let Some(old) = self.good.get(&name) {
                        good.insert(name, old.clone());
                    }
                    continue;
                }
            };
            match RuleSet::load(&[(name.clone(), text.clone())]) {
                Ok(_) => {
                    good.insert(name, text);
                }
                Err(errors) => {
                    tracing::error!(file = %name, error = %errors, "Rule file has errors; keeping its last good version (none at start: left out).");
                    metrics.record_failure(FailureCause::RuleFile);
                    if let Some(old) = self.good.get(&name) {
                        good.insert(name, old.clone());
                    }
                }
            }
        }
        let changed = good != self.good;
        self.good = good;
        if changed {
            self.rebuild();
            tracing::info!(
                files = self.good.len(),
                rules = self.set.rules().len(),
                "Policy rules loaded."
            );
        }
        changed
    }

    fn rebuild(&mut self) {
        let files: Vec<(String, String)> = self
            .good
            .iter()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect();
        // Every file loaded alone; together they can only fail on cross-file
        // checks, in which case the built-in default (queue) decides.
        self.set = RuleSet::load(&files).unwrap_or_else(|errors| {
            tracing::error!(error = %errors, "Rule files conflict; every change is queued until fixed.");
            RuleSet::default()
        });
    }
}

fn list(dir: &Path) -> std::io::Result<Vec<(PathBuf, Stamp)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let meta = std::fs::metadata(&path)?;
            out.push((
                path,
                Stamp {
                    modified: meta.modified().ok(),
                    len: meta.len(),
                },
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_file_keeps_its_last_good_version_and_others_load() {
        let dir = std::env::temp_dir().join(format!("ddlsync-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = "[[rule]]\nname = \"apply-add\"\ncode = \"SR900\"\nkind = \"add_column\"\ndecision = \"apply\"\nreason = \"r\"\n";
        std::fs::write(dir.join("a.toml"), good).unwrap();
        std::fs::write(dir.join("b.toml"), "[[rule]]\nname = 1\n").unwrap();
        let metrics = Metrics::new();
        let mut w = RuleWatcher::new(Some(dir.clone()), &metrics);
        assert_eq!(w.rules().rules().len(), 1, "b.toml is left out at start");
        assert!(metrics.encode().contains("cause=\"rule_file\"} 1"));
        // a.toml breaks later: its last good version stays in force.
        std::fs::write(dir.join("a.toml"), "[[rule]]\nname = \"x\"\nbroken").unwrap();
        w.reload(&metrics);
        assert_eq!(w.rules().rules().len(), 1);
        assert_eq!(w.rules().rules()[0].name, "apply-add");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
