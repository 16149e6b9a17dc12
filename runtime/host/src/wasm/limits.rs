//! Every bound a guest runs under, with its default.

use std::time::Duration;

/// The sandbox's bounds for each instance and each call. The defaults are
/// the ones in DESIGN.md; every field can be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory per instance, all of its memories together, in bytes.
    pub memory_bytes: usize,
    /// Linear memory of all the instances of one backend together (its
    /// shards, and the instances the conformance check or a restart makes),
    /// in bytes. 256 MiB by default: 4 shards may each fill their 64 MiB,
    /// or 8 shards half of it, and no backend holds more, where the
    /// per-instance cap alone allowed 512 MiB on an 8-shard cache. The
    /// language runtimes fit with room for entries: a CPython guest, the
    /// largest, starts at about 12 MiB an instance.
    pub backend_memory_bytes: usize,
    /// Linear memory of every instance of every backend of one engine, in
    /// bytes: the bound that holds while a reload warms a new backend beside
    /// the one serving (both are compiled by the cache's one engine). 512
    /// MiB by default, two full backends, so a reload is never refused for
    /// memory that the old backend is entitled to; where the per-instance
    /// cap alone allowed 1 GiB. A reload whose new backend does not fit
    /// beside the old one fails, naming this budget, and the old one keeps
    /// serving. Several caches given one engine share it.
    pub engine_memory_bytes: usize,
    /// Elements per table (function references, for indirect calls).
    pub table_elements: usize,
    /// CPU per call, in wasmtime fuel units (about one per wasm
    /// instruction). Deterministic, so a busy machine never fails a call
    /// that an idle one passes. 50 M is a few milliseconds of guest code,
    /// and about 30 000 times what a get costs.
    pub fuel_per_call: u64,
    /// Wall-clock time per call, enforced by epoch interruption: the
    /// backstop for time that fuel does not see. Rounded up to whole ticks
    /// of the engine's epoch ticker (a tenth of this, at least 1 ms).
    pub wall_time_per_call: Duration,
    /// The wasm stack, in bytes (`Config::max_wasm_stack`).
    pub max_wasm_stack: usize,
    /// The largest value `get` may return, and the largest value the host
    /// hands to `put` (a larger one is not stored: its key is invalidated).
    pub max_value_bytes: usize,
    /// Log records a guest may write per second (a burst of as many is
    /// allowed); the rest are dropped and counted.
    pub log_records_per_second: u32,
    /// When a failing backend is restarted, and when it is given up on.
    pub quarantine: Quarantine,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            backend_memory_bytes: 256 << 20,
            engine_memory_bytes: 512 << 20,
            table_elements: 100_000,
            fuel_per_call: 50_000_000,
            wall_time_per_call: Duration::from_millis(500),
            max_wasm_stack: 512 << 10,
            max_value_bytes: 4 << 20,
            log_records_per_second: 100,
            quarantine: Quarantine::default(),
        }
    }
}

/// Restart and give-up policy for an instance whose calls fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantine {
    /// Failures within `window` that quarantine the backend: its calls then
    /// fail at once, without running guest code, until it is reloaded.
    pub max_failures: u32,
    /// How far back failures count.
    pub window: Duration,
    /// The wait before the first restart; each further failure in the
    /// window doubles it, up to `max_backoff`. Calls during the wait fail at
    /// once.
    pub backoff: Duration,
    /// The longest wait before a restart.
    pub max_backoff: Duration,
}

impl Default for Quarantine {
    fn default() -> Self {
        Quarantine {
            max_failures: 5,
            window: Duration::from_secs(60),
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl Quarantine {
    /// The wait before restarting after the `failures`-th failure in the window.
    pub fn backoff_after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.backoff.saturating_mul(1 << doublings).min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let q = Quarantine {
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            ..Quarantine::default()
        };
        let waits: Vec<_> = (1..=5).map(|n| q.backoff_after(n).as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 50, 50]);
        assert_eq!(q.backoff_after(u32::MAX), Duration::from_millis(50));
    }
}
