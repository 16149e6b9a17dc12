//! [`WasmBackend`]: the [`Backend`] trait over one component instance, with
//! containment: a call that traps or breaks a limit returns an error, the
//! instance is discarded, and a fresh one replaces it, or, after repeated
//! failures, the backend is quarantined.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::TypedFunc;

use super::bindings::{Backend as Bindings, Guest};
use super::factory::Loaded;
use super::failure::{Cause, Context, Failure, classify, guest_text};
use super::state::{Denied, State};
use crate::backend::Backend;
use crate::error::BackendError;

/// One live instance: its own `Store`, because a trap poisons the whole
/// `Store` in wasmtime, not just the instance that trapped.
struct Instance {
    store: Store<State>,
    exports: Exports,
}

/// An instance's exports, looked up and type-checked once, when it is made.
struct Exports {
    bindings: Bindings,
    get: TypedFunc<Get<'static>, (Option<Vec<u8>>,)>,
    put: TypedFunc<Put<'static>, ()>,
    put_with_ref: TypedFunc<PutWithRef<'static>, ()>,
}

impl Exports {
    fn new(store: &Store<State>, bindings: Bindings) -> wasmtime::Result<Exports> {
        let exports = bindings.nearcache_backend_store();
        Ok(Exports {
            get: exports.func_get().func().typed(store)?,
            put: exports.func_put().func().typed(store)?,
            put_with_ref: exports.func_put_with_ref().func().typed(store)?,
            bindings,
        })
    }

    fn store(&self) -> &Guest {
        self.bindings.nearcache_backend_store()
    }
}

/// How a [`WasmBackend`] has fared.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// Calls that failed, over the backend's life.
    pub failures: u64,
    /// Instances made to replace failed ones.
    pub restarts: u64,
    /// The most recent failure.
    pub last_failure: Option<Failure>,
    /// Set once the backend is quarantined: the failure that decided it.
    pub quarantined: Option<Failure>,
}

/// A backend that runs a component instance in a sandbox.
///
/// Every call is bounded by the engine's [`Limits`](super::Limits). A call
/// that traps, runs out of fuel or time, hits the memory limit, overflows
/// the stack or returns a value over the cap returns
/// [`BackendError::Failed`] naming the cause; the instance, and every entry
/// it held, is dropped. The next call makes a fresh instance and inits it
/// with the options of the last successful `init`, after a backoff that
/// doubles with each failure in the quarantine window; calls during the
/// backoff fail at once. When the window holds `max_failures` failures the
/// backend is quarantined: every call returns
/// [`BackendError::Quarantined`] without running guest code.
pub struct WasmBackend {
    loaded: Arc<Loaded>,
    instance: Option<Instance>,
    /// The options of the last successful `init`; a replacement instance is
    /// inited with them. None before `init` and after `destroy`.
    options: Option<Vec<(String, String)>>,
    /// When recent failures happened, oldest first.
    recent_failures: VecDeque<Instant>,
    /// No new instance before this.
    retry_at: Option<Instant>,
    health: Health,
}

impl WasmBackend {
    pub(crate) fn new(loaded: Arc<Loaded>) -> Result<WasmBackend, BackendError> {
        let instance = instantiate(&loaded)
            .map_err(|cause| BackendError::Failed { call: "instantiate", reason: cause.to_string() })?;
        Ok(WasmBackend {
            loaded,
            instance: Some(instance),
            options: None,
            recent_failures: VecDeque::new(),
            retry_at: None,
            health: Health::default(),
        })
    }

    /// How this backend has fared: failures, restarts, and the reason it
    /// was quarantined, if it was.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Log records the current instance wrote over its rate limit, and the
    /// host dropped.
    pub fn log_records_dropped(&self) -> u64 {
        self.instance.as_ref().map_or(0, |instance| instance.store.data().log.dropped_total())
    }

    /// The backend's name (the component's).
    pub fn name(&self) -> &str {
        &self.loaded.name
    }

    /// Runs one call on a live instance, making one first if needed. On
    /// failure the instance is discarded and the failure recorded.
    fn call<R>(
        &mut self,
        call: &'static str,
        f: impl FnOnce(&mut Store<State>, &Exports) -> wasmtime::Result<R>,
    ) -> Result<R, BackendError> {
        self.ensure_instance(call)?;
        let Some(instance) = self.instance.as_mut() else {
            unreachable!("ensure_instance leaves an instance or returns an error");
        };
        arm(&self.loaded, &mut instance.store);
        match f(&mut instance.store, &instance.exports) {
            Ok(value) => Ok(value),
            Err(error) => {
                let denied = instance.store.data().memory.denied;
                let cause = classify(&error, &context(&self.loaded, denied));
                Err(self.fail(call, cause))
            }
        }
    }

    /// Makes sure a live instance exists: fails fast when quarantined or
    /// backing off, else replaces a failed instance and re-inits it.
    fn ensure_instance(&mut self, call: &'static str) -> Result<(), BackendError> {
        if let Some(failure) = &self.health.quarantined {
            return Err(BackendError::Quarantined { reason: failure.to_string() });
        }
        if self.instance.is_some() {
            return Ok(());
        }
        if let Some(retry_at) = self.retry_at {
            let now = Instant::now();
            if now < retry_at {
                let last = self.health.last_failure.as_ref().map_or_else(String::new, ToString::to_string);
                return Err(BackendError::Failed {
                    call,
                    reason: format!("backing off after a failure ({last}); next restart in {:?}", retry_at - now),
                });
            }
        }
        let mut instance = match instantiate(&self.loaded) {
            Ok(instance) => instance,
            Err(cause) => return Err(self.fail("instantiate", cause)),
        };
        self.health.restarts += 1;
        if let (Some(options), true) = (&self.options, call != "init") {
            arm(&self.loaded, &mut instance.store);
            match instance.exports.store().call_init(&mut instance.store, options) {
                Ok(Ok(())) => {}
                Ok(Err(message)) => {
                    let message = guest_text(&message);
                    let cause = Cause::Trap(format!("init refused the options it accepted before: {message}"));
                    return Err(self.fail("init", cause));
                }
                Err(error) => {
                    let denied = instance.store.data().memory.denied;
                    let cause = classify(&error, &context(&self.loaded, denied));
                    return Err(self.fail("init", cause));
                }
            }
        }
        tracing::info!(backend = %self.loaded.name, restarts = self.health.restarts, "wasm backend restarted");
        self.instance = Some(instance);
        Ok(())
    }

    /// Records a failure: drops the instance, then backs off or quarantines.
    fn fail(&mut self, call: &'static str, cause: Cause) -> BackendError {
        self.instance = None;
        let now = Instant::now();
        let policy = &self.loaded.engine.limits().quarantine;
        while self.recent_failures.front().is_some_and(|&at| now.duration_since(at) > policy.window) {
            self.recent_failures.pop_front();
        }
        self.recent_failures.push_back(now);
        let in_window = u32::try_from(self.recent_failures.len()).unwrap_or(u32::MAX);
        let failure = Failure { call, cause };
        let reason = failure.cause.to_string();
        self.health.failures += 1;
        self.health.last_failure = Some(failure.clone());
        let backend = &*self.loaded.name;
        if in_window >= policy.max_failures {
            tracing::error!(backend, %failure, failures = in_window, window = ?policy.window, "wasm backend quarantined");
            self.health.quarantined = Some(failure);
        } else {
            let backoff = policy.backoff_after(in_window);
            tracing::warn!(backend, %failure, ?backoff, "wasm backend failed; instance discarded");
            self.retry_at = Some(now + backoff);
        }
        BackendError::Failed { call, reason }
    }

    fn cap(&self) -> usize {
        self.loaded.engine.limits().max_value_bytes
    }
}

/// A fresh `Store` and instance, with the memory limiter installed and
/// the call budget armed for the guest's start-up code; or why not (the
/// memory limiter may have denied its initial memory).
fn instantiate(loaded: &Loaded) -> Result<Instance, Cause> {
    let limits = loaded.engine.limits();
    let budgets = [Arc::clone(&loaded.memory), loaded.engine.memory_budget()];
    let mut store = Store::new(loaded.engine.engine(), State::new(Arc::clone(&loaded.name), limits, budgets));
    store.limiter(|state| &mut state.memory);
    store.epoch_deadline_trap();
    arm(loaded, &mut store);
    let made = loaded.pre.instantiate(&mut store).and_then(|bindings| Exports::new(&store, bindings));
    match made {
        Ok(exports) => Ok(Instance { store, exports }),
        Err(error) => Err(classify(&error, &context(loaded, store.data().memory.denied))),
    }
}

/// Gives the next call its full fuel and wall-clock budget.
fn arm(loaded: &Loaded, store: &mut Store<State>) {
    // Cannot fail: fuel is enabled in every engine this crate builds.
    let _ = store.set_fuel(loaded.engine.limits().fuel_per_call);
    store.set_epoch_deadline(loaded.engine.deadline_ticks());
    store.data_mut().memory.denied = None;
}

fn context(loaded: &Loaded, denied: Option<Denied>) -> Context {
    let limits = loaded.engine.limits();
    Context {
        fuel: limits.fuel_per_call,
        wall_ms: u64::try_from(limits.wall_time_per_call.as_millis()).unwrap_or(u64::MAX),
        max_wasm_stack: limits.max_wasm_stack,
        memory_bytes: limits.memory_bytes,
        denied_memory: denied,
    }
}

// The hot calls go through `TypedFunc`s typed with borrowed slices: the
// generated `call_get` and `call_put` take `&Vec<u8>` (the WIT names its
// lists through type aliases), which would cost a copy of every key and
// value. They are typed once per instance (`Exports::new`; it cannot fail
// for a component that passed the world check at load), as `'static` and
// used at any shorter lifetime: `TypedFunc` is covariant in its parameters.
type Get<'a> = (&'a [u8], u64);
type Put<'a> = (&'a [u8], &'a [u8], Option<u64>, u64);
type PutWithRef<'a> = (&'a [u8], &'a [u8], &'a [u8], Option<u64>, u64);

impl Backend for WasmBackend {
    fn init(&mut self, options: &[(String, String)]) -> Result<(), BackendError> {
        let result = self.call("init", |store, e| e.store().call_init(store, options))?;
        match result {
            Ok(()) => {
                self.options = Some(options.to_vec());
                Ok(())
            }
            Err(message) => Err(BackendError::Rejected(guest_text(&message))),
        }
    }

    fn get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, BackendError> {
        let value = self.call("get", |store, e| {
            let get: TypedFunc<Get<'_>, (Option<Vec<u8>>,)> = e.get;
            Ok(get.call(store, (key, now_ms))?.0)
        })?;
        let cap = self.cap();
        match value {
            Some(value) if value.len() > cap => Err(self.fail("get", Cause::ValueOverCap { size: value.len(), cap })),
            value => Ok(value),
        }
    }

    fn put(&mut self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) -> Result<(), BackendError> {
        if value.len() > self.cap() {
            // Too large to ever be returned: store nothing, and drop the
            // old entry, as a put that cannot store must.
            return self.invalidate(Some(&[key.to_vec()]));
        }
        self.call("put", |store, e| {
            let put: TypedFunc<Put<'_>, ()> = e.put;
            put.call(store, (key, value, ttl_ms, now_ms))
        })
    }

    fn put_with_ref(
        &mut self,
        key: &[u8],
        redis_key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(), BackendError> {
        if value.len() > self.cap() {
            return self.invalidate(Some(&[key.to_vec()]));
        }
        self.call("put-with-ref", |store, e| {
            let put_with_ref: TypedFunc<PutWithRef<'_>, ()> = e.put_with_ref;
            put_with_ref.call(store, (key, redis_key, value, ttl_ms, now_ms))
        })
    }

    fn invalidate(&mut self, keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        self.call("invalidate", |store, e| e.store().call_invalidate(store, keys))
    }

    fn invalidate_refs(&mut self, redis_keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        self.call("invalidate-refs", |store, e| e.store().call_invalidate_refs(store, redis_keys))
    }

    fn flush(&mut self) -> Result<(), BackendError> {
        self.call("flush", |store, e| e.store().call_flush(store))
    }

    fn stats(&mut self) -> Result<Vec<(String, u64)>, BackendError> {
        let stats = self.call("stats", |store, e| e.store().call_stats(store))?;
        let size: usize = stats.iter().map(|(name, _)| name.len() + 8).sum();
        let cap = self.cap();
        if size > cap {
            return Err(self.fail("stats", Cause::ValueOverCap { size, cap }));
        }
        Ok(stats)
    }

    fn sweep(&mut self, now_ms: u64, max: u32) -> Result<u32, BackendError> {
        self.call("sweep", |store, e| e.store().call_sweep(store, now_ms, max))
    }

    fn destroy(&mut self) -> Result<(), BackendError> {
        self.options = None;
        self.call("destroy", |store, e| e.store().call_destroy(store))
    }
}
