//! The wasmtime engine, configured once for every backend it runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, OptLevel};

use super::artifacts::ArtifactCache;
use super::budget::{BudgetScope, MemoryBudget, MemoryUse};
use super::limits::Limits;
use super::load_error::{LoadError, one_line};
use super::proposals;

/// A wasmtime [`Engine`] with the sandbox's [`Limits`], the epoch ticker
/// that enforces the wall-clock limit, and optionally a compiled-artifact
/// cache. Cheap to clone; the ticker stops when the last clone is dropped.
#[derive(Clone)]
pub struct WasmEngine {
    engine: Engine,
    limits: Arc<Limits>,
    artifacts: Option<Arc<ArtifactCache>>,
    /// Held for its `Drop`, which stops the ticker with the last clone.
    _ticker: Arc<Ticker>,
    /// Epoch ticks a call may run for, computed once: every call arms it.
    deadline_ticks: u64,
    /// The linear memory every instance of every backend may hold together.
    memory: Arc<MemoryBudget>,
}

impl WasmEngine {
    /// An engine for guests bounded by `limits`.
    ///
    /// The `Config` is chosen deliberately:
    /// - wasmtime is built without its default features, so the
    ///   component-model async machinery, which makes every synchronous call
    ///   dearer, is not compiled in at all;
    /// - fuel bounds the CPU of each call deterministically, and epoch
    ///   interruption bounds its wall-clock time;
    /// - the wasm stack is bounded by `limits.max_wasm_stack`;
    /// - only the WebAssembly proposals the supported guest languages use
    ///   are on, every other one is turned off (see `proposals.rs`);
    /// - guests are compiled once with Cranelift for speed; instances are
    ///   allocated on demand (instantiation is already cheap with
    ///   copy-on-write memory images, and pooling would reserve address
    ///   space for every instance up front).
    pub fn new(limits: Limits) -> Result<WasmEngine, LoadError> {
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(limits.max_wasm_stack)
            .cranelift_opt_level(OptLevel::Speed);
        proposals::configure(&mut config);
        let engine = Engine::new(&config).map_err(|e| LoadError::Engine(one_line(&e)))?;
        let ticker = Ticker::start(&engine, tick_for(&limits));
        let deadline_ticks = deadline_ticks(&limits, ticker.tick);
        let memory = MemoryBudget::new(BudgetScope::Engine, limits.engine_memory_bytes);
        Ok(WasmEngine { engine, limits: Arc::new(limits), artifacts: None, _ticker: ticker, deadline_ticks, memory })
    }

    /// Keeps compiled components in `cache`, so loading a component this
    /// host has compiled before skips Cranelift.
    pub fn with_artifact_cache(mut self, cache: ArtifactCache) -> WasmEngine {
        self.artifacts = Some(Arc::new(cache));
        self
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The limits every instance runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The compiled-artifact cache, if one was given.
    pub fn artifact_cache(&self) -> Option<&ArtifactCache> {
        self.artifacts.as_deref()
    }

    /// The linear memory every instance of this engine's backends holds
    /// together, the most held at once, and the budget
    /// ([`Limits::engine_memory_bytes`]).
    pub fn memory(&self) -> MemoryUse {
        self.memory.usage()
    }

    /// The budget every instance draws on, beside its backend's.
    pub(crate) fn memory_budget(&self) -> Arc<MemoryBudget> {
        Arc::clone(&self.memory)
    }

    /// Epoch ticks a call may run for before it is interrupted.
    pub(crate) fn deadline_ticks(&self) -> u64 {
        self.deadline_ticks
    }
}

/// The wall-clock limit in whole ticks, rounded up, at least one.
fn deadline_ticks(limits: &Limits, tick: Duration) -> u64 {
    let tick = tick.as_micros().max(1);
    let ticks = limits.wall_time_per_call.as_micros().div_ceil(tick);
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

/// A tenth of the wall-clock limit, at least 1 ms: a call is interrupted
/// between 90 % and 100 % of its limit, and the ticker wakes rarely.
fn tick_for(limits: &Limits) -> Duration {
    (limits.wall_time_per_call / 10).max(Duration::from_millis(1))
}

/// A thread that advances the engine's epoch every tick.
struct Ticker {
    tick: Duration,
    stop: Arc<AtomicBool>,
}

impl Ticker {
    fn start(engine: &Engine, tick: Duration) -> Arc<Ticker> {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let stopped = Arc::clone(&stop);
        let spawned = thread::Builder::new().name("nearcache-epoch".to_owned()).spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                thread::sleep(tick);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        });
        if let Err(error) = spawned {
            // Without a ticker, fuel still bounds every call; only the
            // wall-clock backstop is lost. Say so rather than fail.
            tracing::error!(%error, "cannot start the epoch ticker; wall-clock limits are off");
        }
        Arc::new(Ticker { tick, stop })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
