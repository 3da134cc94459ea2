//! Caching a cycle's reports and files by what they are built from (issue 20).
//!
//! Submitted snapshots never change, so every figure of a cycle is a function of its set of
//! current snapshots. A report's **key** is the SHA-256 of: the cycle's snapshot-set fingerprint
//! (the one stamped on exports) and generation, the previous cycle's (a comparison shows its
//! figures), what is asked (the kind: comparison, focused section, distribution, file format and
//! language) and this build's version. Both come from `cycle_report_state` (migration 0018),
//! which triggers keep in the transaction that adds or supersedes a snapshot, changes a state, a
//! participant's code or name, a cycle or a mapping: the key read in a transaction names
//! exactly what that transaction would build, so a cached entry is never stale, and an entry
//! under an older key is simply not served (the next build replaces it).
//!
//! Two layers, both checked against the key read in the request's own transaction:
//! - PostgreSQL (`storage::report_cache`, table `report_cache`): shared by every process;
//! - this process's memory ([`Memo`]): the built report itself, a few entries, so a hit decodes
//!   nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::storage::report_cache::CycleInputs;

/// Whether the cache is used: always, unless `PLEDGE_REPORT_CACHE=off` is set (the benchmark's
/// uncached runs measure the build itself that way; nothing is read from or written to the
/// cache then).
pub fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var("PLEDGE_REPORT_CACHE").map_or(true, |v| v != "off"))
}

/// Changes whenever what the cache holds is written differently.
const FORMAT: &str = "report-cache/1";

/// The key of `kind` for a cycle with these inputs.
pub fn key(current: &CycleInputs, previous: Option<&CycleInputs>, kind: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "{FORMAT} {} {kind}\n{} {} {}\n",
        env!("CARGO_PKG_VERSION"),
        current.fingerprint,
        current.generation,
        current.submitted
    ));
    if let Some(previous) = previous {
        hasher.update(format!(
            "{} {} {}\n",
            previous.fingerprint, previous.generation, previous.submitted
        ));
    }
    hex::encode(hasher.finalize())
}

/// One value of a [`Memo`]: its cycle, kind and key.
type MemoEntry<T> = (Uuid, String, String, Arc<T>);

/// A few built values of this process, by cycle, kind and key (the oldest goes first).
pub struct Memo<T> {
    entries: Mutex<VecDeque<MemoEntry<T>>>,
    capacity: usize,
}

impl<T> Memo<T> {
    pub const fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(VecDeque::new()),
            capacity,
        }
    }

    /// The value of `kind` for `cycle` when it was built under `key`.
    pub fn get(&self, cycle: Uuid, kind: &str, key: &str) -> Option<Arc<T>> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|(c, k, stored, _)| *c == cycle && k == kind && stored == key)
            .map(|(_, _, _, value)| Arc::clone(value))
    }

    /// Keeps `value` as the one of `kind` for `cycle`, replacing an older one.
    pub fn put(&self, cycle: Uuid, kind: &str, key: &str, value: Arc<T>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        entries.retain(|(c, k, _, _)| !(*c == cycle && k == kind));
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((cycle, kind.to_owned(), key.to_owned(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(fingerprint: &str, generation: i64) -> CycleInputs {
        CycleInputs {
            fingerprint: fingerprint.into(),
            submitted: 3,
            generation,
        }
    }

    #[test]
    fn the_key_moves_with_the_snapshots_the_generation_the_previous_cycle_and_the_kind() {
        let base = key(&inputs("a", 1), Some(&inputs("p", 1)), "comparison");
        assert_eq!(
            base,
            key(&inputs("a", 1), Some(&inputs("p", 1)), "comparison")
        );
        for other in [
            key(&inputs("b", 1), Some(&inputs("p", 1)), "comparison"),
            key(&inputs("a", 2), Some(&inputs("p", 1)), "comparison"),
            key(&inputs("a", 1), Some(&inputs("q", 1)), "comparison"),
            key(&inputs("a", 1), None, "comparison"),
            key(&inputs("a", 1), Some(&inputs("p", 1)), "distribution"),
        ] {
            assert_ne!(other, base);
        }
    }

    #[test]
    fn the_memo_serves_only_the_key_it_was_given_and_keeps_a_few() {
        let memo: Memo<u32> = Memo::new(2);
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        memo.put(a, "comparison", "k1", Arc::new(1));
        assert_eq!(memo.get(a, "comparison", "k1").as_deref(), Some(&1));
        assert!(memo.get(a, "comparison", "k2").is_none(), "another key");
        memo.put(a, "comparison", "k2", Arc::new(2));
        assert!(memo.get(a, "comparison", "k1").is_none(), "replaced");
        memo.put(b, "comparison", "k", Arc::new(3));
        memo.put(c, "comparison", "k", Arc::new(4));
        assert!(memo.get(a, "comparison", "k2").is_none(), "the oldest left");
        assert_eq!(memo.get(c, "comparison", "k").as_deref(), Some(&4));
    }
}
