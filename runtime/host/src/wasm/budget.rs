//! Memory budgets that many instances draw on together.
//!
//! Each instance's linear memory is capped on its own
//! ([`Limits::memory_bytes`](super::Limits::memory_bytes)), but a backend
//! runs one instance per shard, and a reload warms a second backend while
//! the first still serves. So every instance also draws on two shared
//! accounts: its backend's (all the instances one [`WasmFactory`](super::WasmFactory)
//! made), and its engine's (every backend compiled by one
//! [`WasmEngine`](super::WasmEngine), which covers the old and the new
//! backend of a reload). Growth that would take either past its budget is
//! denied, as growth past the instance's own cap is; what an instance took
//! is given back when its `Store` is dropped.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which shared budget an instance's growth was checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BudgetScope {
    /// Every instance of one backend (one loaded component).
    Backend,
    /// Every instance of every backend of one engine.
    Engine,
}

impl fmt::Display for BudgetScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BudgetScope::Backend => "backend",
            BudgetScope::Engine => "engine",
        })
    }
}

/// How much of a memory budget is in use: linear memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    /// What the instances drawing on the budget hold now.
    pub held: usize,
    /// The most they have held at once.
    pub peak: usize,
    /// The budget.
    pub budget: usize,
}

/// A shared account of linear memory. Lock-free: memory grows rarely, but
/// from any shard's thread.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    scope: BudgetScope,
    budget: usize,
    held: AtomicUsize,
    peak: AtomicUsize,
}

impl MemoryBudget {
    pub(crate) fn new(scope: BudgetScope, budget: usize) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget { scope, budget, held: AtomicUsize::new(0), peak: AtomicUsize::new(0) })
    }

    /// Takes `bytes` if they fit in the budget; else says why not.
    pub(crate) fn take(&self, bytes: usize) -> Result<(), Refusal> {
        let mut held = self.held.load(Ordering::Relaxed);
        loop {
            let after = held.checked_add(bytes).filter(|&after| after <= self.budget);
            let Some(after) = after else {
                return Err(Refusal { scope: self.scope, held, asked: bytes, budget: self.budget });
            };
            match self.held.compare_exchange_weak(held, after, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => {
                    self.peak.fetch_max(after, Ordering::Relaxed);
                    return Ok(());
                }
                Err(now) => held = now,
            }
        }
    }

    /// Returns `bytes` taken before.
    pub(crate) fn give_back(&self, bytes: usize) {
        let before = self.held.fetch_sub(bytes, Ordering::AcqRel);
        debug_assert!(before >= bytes, "gave back {bytes} bytes of {before} held");
    }

    /// What is held now, the most ever held, and the budget.
    pub(crate) fn usage(&self) -> MemoryUse {
        MemoryUse {
            held: self.held.load(Ordering::Acquire),
            peak: self.peak.load(Ordering::Relaxed),
            budget: self.budget,
        }
    }
}

/// Growth a budget denied: which one, and how far it was from fitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub scope: BudgetScope,
    /// What the budget's instances held when the growth was asked for.
    pub held: usize,
    /// The growth asked for.
    pub asked: usize,
    pub budget: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_up_to_the_budget_and_counts_the_peak() {
        let budget = MemoryBudget::new(BudgetScope::Backend, 100);
        budget.take(60).unwrap();
        budget.take(40).unwrap();
        let refused = budget.take(1).unwrap_err();
        assert_eq!(refused, Refusal { scope: BudgetScope::Backend, held: 100, asked: 1, budget: 100 });
        budget.give_back(70);
        budget.take(50).unwrap();
        assert_eq!(budget.usage(), MemoryUse { held: 80, peak: 100, budget: 100 });
        assert!(budget.take(usize::MAX).is_err(), "an overflowing request is refused, not wrapped");
    }

    #[test]
    fn concurrent_takers_never_pass_the_budget() {
        // Room for two takes of 7, not three: a lost race would show as 21.
        let budget = MemoryBudget::new(BudgetScope::Engine, 20);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        if budget.take(7).is_ok() {
                            budget.give_back(7);
                        }
                    }
                });
            }
        });
        let usage = budget.usage();
        assert_eq!(usage.held, 0);
        assert!(usage.peak <= 20, "{usage:?}");
    }
}
