//! The data of one wasmtime `Store`: one instance's WASI context, memory
//! limiter and log limiter.

use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

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
    pub(crate) fn new(name: Arc<str>, limits: &Limits) -> State {
        State {
            name,
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            memory: MemoryLimiter::new(limits),
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
/// of each of its tables. Records the memory growth it denies: a guest's
/// allocator that cannot grow aborts with an `unreachable` trap, and this
/// record is how the host knows the cause.
pub(crate) struct MemoryLimiter {
    limit: usize,
    table_limit: usize,
    /// Bytes of linear memory granted so far, all memories together.
    granted: usize,
    /// The size the last denied growth asked for, all memories together.
    pub denied: Option<usize>,
}

impl MemoryLimiter {
    fn new(limits: &Limits) -> MemoryLimiter {
        MemoryLimiter { limit: limits.memory_bytes, table_limit: limits.table_elements, granted: 0, denied: None }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.granted.saturating_sub(current).saturating_add(desired);
        if total > self.limit {
            self.denied = Some(total);
            return Ok(false);
        }
        self.granted = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_limit)
    }
}
