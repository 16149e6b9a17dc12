//! The data of one wasmtime `Store`: one instance's WASI context, memory
//! limiter and log limiter.

use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::budget::{MemoryBudget, Refusal};
use super::host_log::LogLimiter;
use super::limits::Limits;

/// Everything one instance's host functions may touch.
pub(crate) struct State {
    /// The backend's name, for log records.
    pub name: Arc<str>,
    /// Empty: no arguments, environment, preopens or network; stdin closed,
    /// stdout and stderr discarded.
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub memory: MemoryLimiter,
    pub log: LogLimiter,
}

impl State {
    /// A fresh instance's data; its memory is drawn from `budgets`, the
    /// backend's then the engine's.
    pub(crate) fn new(name: Arc<str>, limits: &Limits, budgets: [Arc<MemoryBudget>; 2]) -> State {
        State {
            name,
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            memory: MemoryLimiter::new(limits, budgets),
            log: LogLimiter::new(limits.log_records_per_second),
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Bounds an instance's linear memory, all memories together, and the size
/// of each of its tables, and draws the memory it grants from the backend's
/// and the engine's budgets (given back when the `Store` drops this).
/// Records the memory growth it denies: a guest's allocator that cannot
/// grow aborts with an `unreachable` trap, and this record is how the host
/// knows the cause.
pub(crate) struct MemoryLimiter {
    limit: usize,
    table_limit: usize,
    /// Bytes of linear memory granted so far, all memories together, and
    /// taken from each of `budgets`.
    granted: usize,
    /// The backend's budget, then the engine's.
    budgets: [Arc<MemoryBudget>; 2],
    /// The last growth denied during the current call.
    pub denied: Option<Denied>,
}

/// Why the limiter denied a growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// Past the instance's own cap: the size it asked for, all memories together.
    Instance { requested: usize },
    /// Past a shared budget.
    Budget(Refusal),
}

impl MemoryLimiter {
    fn new(limits: &Limits, budgets: [Arc<MemoryBudget>; 2]) -> MemoryLimiter {
        MemoryLimiter {
            limit: limits.memory_bytes,
            table_limit: limits.table_elements,
            granted: 0,
            budgets,
            denied: None,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        let total = self.granted.saturating_add(growth);
        if total > self.limit {
            self.denied = Some(Denied::Instance { requested: total });
            return Ok(false);
        }
        let [backend, engine] = &self.budgets;
        if let Err(refusal) = backend.take(growth) {
            self.denied = Some(Denied::Budget(refusal));
            return Ok(false);
        }
        if let Err(refusal) = engine.take(growth) {
            backend.give_back(growth);
            self.denied = Some(Denied::Budget(refusal));
            return Ok(false);
        }
        // A growth allowed here that wasmtime then fails (past the memory's
        // declared maximum) stays counted until the instance is dropped:
        // wasmtime does not always say which growth failed, and counting
        // too much is the safe side.
        self.granted = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_limit)
    }
}

impl Drop for MemoryLimiter {
    fn drop(&mut self) {
        for budget in &self.budgets {
            budget.give_back(self.granted);
        }
    }
}
