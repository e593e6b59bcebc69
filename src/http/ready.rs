//! The readiness flag behind `/readyz`: ready once the source history is
//! rebuilt and StarRocks has answered. Set by the agent, read by the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Shared readiness; clones share the same state.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    history_rebuilt: AtomicBool,
    starrocks: Mutex<StarRocksState>,
}

#[derive(Debug, Default)]
enum StarRocksState {
    #[default]
    NotYet,
    Answered,
    Down(String),
}

impl Readiness {
    /// Not ready: history not rebuilt, StarRocks not answered.
    pub fn new() -> Self {
        Self::default()
    }

    /// The source history has been rebuilt from the schema topics.
    pub fn set_history_rebuilt(&self) {
        self.inner.history_rebuilt.store(true, Ordering::SeqCst);
    }

    /// StarRocks answered (introspection succeeded).
    pub fn set_starrocks_answered(&self) {
        *self.starrocks() = StarRocksState::Answered;
    }

    /// StarRocks stopped answering; `reason` is shown by `/readyz` (no secrets).
    pub fn set_starrocks_down(&self, reason: impl Into<String>) {
        *self.starrocks() = StarRocksState::Down(reason.into());
    }

    /// `Ok` when ready, else why not.
    pub fn check(&self) -> Result<(), String> {
        let mut why = Vec::new();
        if !self.inner.history_rebuilt.load(Ordering::SeqCst) {
            why.push("the source history is not rebuilt yet".to_owned());
        }
        match &*self.starrocks() {
            StarRocksState::Answered => {}
            StarRocksState::NotYet => why.push("StarRocks has not answered yet".to_owned()),
            StarRocksState::Down(r) => why.push(format!("StarRocks does not answer: {r}")),
        }
        if why.is_empty() {
            Ok(())
        } else {
            Err(why.join("; "))
        }
    }

    fn starrocks(&self) -> std::sync::MutexGuard<'_, StarRocksState> {
        self.inner
            .starrocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_needs_both() {
        let r = Readiness::new();
        assert!(r.check().unwrap_err().contains("history"));
        r.set_history_rebuilt();
        assert!(r
            .check()
            .unwrap_err()
            .contains("StarRocks has not answered"));
        r.clone().set_starrocks_answered();
        assert!(r.check().is_ok());
        r.set_starrocks_down("connection refused");
        assert!(r.check().unwrap_err().contains("connection refused"));
    }
}
