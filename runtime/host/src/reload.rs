//! Where a backend comes from, and how a new one is made ready to serve.
//!
//! [`BackendSource`] names a backend: the native store, a component file,
//! a component's bytes, or any [`BackendFactory`]. Making it ready happens
//! off the hot path, all before the cache sees it: compile the component
//! (or load its cached artifact), instantiate and `init` every shard, then,
//! on a reload, check each shard with one round of calls (put, get,
//! invalidate-refs, sweep, stats, flush), so a backend that traps on its
//! first call is refused rather than swapped in front of traffic. Any failure is an error
//! that names the backend and says why; nothing has been swapped by then.
//!
//! A new backend starts empty. Optionally it is warmed first: the cache
//! remembers its latest fills ([`RecentReads`]) and reads them again from
//! Redis into the new backend before it serves.
//!
//! The swap itself ([`Cache::reload_backend`](crate::Cache::reload_backend))
//! is in the cache, since it is about coherence, not about loading.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::{Backend, BackendFactory, NativeFactory};
use crate::command::ReadCommand;
use crate::error::{BackendError, Error};
use crate::shards::Shards;

/// Where a backend comes from: for [`CacheBuilder::backend_source`](crate::CacheBuilder::backend_source)
/// and [`Cache::reload_backend`](crate::Cache::reload_backend).
#[derive(Clone)]
#[non_exhaustive]
pub enum BackendSource {
    /// The native store.
    Native,
    /// A component of the backend world, read from this file.
    #[cfg(feature = "wasm")]
    WasmFile(PathBuf),
    /// A component of the backend world, from its bytes.
    #[cfg(feature = "wasm")]
    WasmBytes {
        /// The name it goes by in logs and stats.
        name: String,
        /// The component.
        bytes: Vec<u8>,
    },
    /// Instances made by this factory.
    Factory(Arc<dyn BackendFactory>),
}

impl fmt::Display for BackendSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendSource::Native => f.write_str("native"),
            #[cfg(feature = "wasm")]
            BackendSource::WasmFile(path) => write!(f, "{}", path.display()),
            #[cfg(feature = "wasm")]
            BackendSource::WasmBytes { name, .. } => f.write_str(name),
            BackendSource::Factory(factory) => f.write_str(&factory.name()),
        }
    }
}

impl fmt::Debug for BackendSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BackendSource({self})")
    }
}

/// What a successful [`Cache::reload_backend`](crate::Cache::reload_backend) did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Reloaded {
    /// The backend that was serving before.
    pub previous: String,
    /// The backend serving now.
    pub current: String,
    /// For a component: whether its compiled code came from the artifact cache.
    pub from_artifact_cache: Option<bool>,
    /// Entries read into the new backend before it served.
    pub warmed: usize,
    /// Time to load, instantiate, init and check the new backend, while the
    /// old one served.
    pub prepare: Duration,
    /// Time to warm the new backend, while the old one served.
    pub warm: Duration,
    /// Time from retiring the old backend to serving from the new one.
    pub swap: Duration,
    /// The whole reload.
    pub took: Duration,
}

/// The engine wasm sources are compiled with: the one the builder was
/// given, or a default one made on first use and kept.
#[derive(Default)]
pub(crate) struct Engines {
    #[cfg(feature = "wasm")]
    wasm: std::sync::Mutex<Option<crate::wasm::WasmEngine>>,
}

impl Engines {
    /// Uses `engine` for every wasm source.
    #[cfg(feature = "wasm")]
    pub(crate) fn with_wasm(engine: Option<crate::wasm::WasmEngine>) -> Engines {
        Engines { wasm: std::sync::Mutex::new(engine) }
    }

    #[cfg(feature = "wasm")]
    fn wasm(&self) -> Result<crate::wasm::WasmEngine, Error> {
        let mut slot = self.wasm.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            Some(engine) => Ok(engine.clone()),
            None => {
                let engine = crate::wasm::WasmEngine::new(crate::wasm::Limits::default())?;
                Ok(slot.insert(engine).clone())
            }
        }
    }
}

/// A factory for `source`, and for a component whether its code came from
/// the artifact cache. Compiles: call it off the async threads.
pub(crate) fn factory_of(
    source: BackendSource,
    engines: &Engines,
) -> Result<(Arc<dyn BackendFactory>, Option<bool>), Error> {
    #[cfg(not(feature = "wasm"))]
    let _ = engines;
    match source {
        BackendSource::Native => Ok((Arc::new(NativeFactory), None)),
        BackendSource::Factory(factory) => Ok((factory, None)),
        #[cfg(feature = "wasm")]
        BackendSource::WasmFile(path) => {
            let factory = crate::wasm::WasmFactory::load_file(&engines.wasm()?, path)?;
            let cached = factory.info().from_cache;
            Ok((Arc::new(factory), Some(cached)))
        }
        #[cfg(feature = "wasm")]
        BackendSource::WasmBytes { name, bytes } => {
            let factory = crate::wasm::WasmFactory::load_bytes(&engines.wasm()?, &name, &bytes)?;
            let cached = factory.info().from_cache;
            Ok((Arc::new(factory), Some(cached)))
        }
    }
}

/// Whether [`prepare`] checks each instance with a round of calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// On a reload: a backend that fails here never replaces one that serves.
    EveryCall,
    /// When the cache is built: `init` must succeed; later failures are
    /// contained as any backend failure is (a miss, then quarantine).
    InitOnly,
}

/// `count` shards of `factory`'s backend, each `init`ed with `options` and
/// checked as `check` says. Blocks: call it off the async threads.
pub(crate) fn prepare(
    factory: &dyn BackendFactory,
    options: &[(String, String)],
    count: usize,
    check: Check,
    now_ms: u64,
) -> Result<Shards, Error> {
    let name = factory.name();
    let fail = |source| Error::Backend { name: name.clone(), source };
    let shards = Shards::new(factory, count, options).map_err(fail)?;
    if check == Check::InitOnly {
        return Ok(shards);
    }
    if let Err(error) = shards.check_each(|backend| check_calls(backend, now_ms)) {
        shards.retire();
        return Err(fail(error));
    }
    Ok(shards)
}

/// A key no cache key can equal: a cache key starts with its command's
/// place on the allowlist, which is never 0xff.
const CHECK_KEY: &[u8] = b"\xffnearcache:check";
const CHECK_REF: &[u8] = b"\xffnearcache:check-ref";
const CHECK_VALUE: &[u8] = b"check";

/// One round of every call the cache makes while serving, on an empty
/// instance, which is left empty. A backend may forget the entry (the
/// contract allows it), but must not fail, return other bytes, or keep
/// serving it after its ref is invalidated.
fn check_calls(backend: &mut dyn Backend, now_ms: u64) -> Result<(), BackendError> {
    let wrong = |call, reason: &str| BackendError::Failed { call, reason: reason.to_owned() };
    backend.put_with_ref(CHECK_KEY, CHECK_REF, CHECK_VALUE, None, now_ms)?;
    if backend.get(CHECK_KEY, now_ms)?.is_some_and(|value| value != CHECK_VALUE) {
        return Err(wrong("get", "returned bytes other than those stored"));
    }
    backend.invalidate_refs(Some(&[CHECK_REF.to_vec()]))?;
    if backend.get(CHECK_KEY, now_ms)?.is_some() {
        return Err(wrong("invalidate-refs", "the entry was still served after its ref was invalidated"));
    }
    backend.sweep(now_ms, 1)?;
    backend.stats()?;
    backend.flush()
}

/// The latest reads the cache filled, to warm a new backend with: a ring of
/// at most `capacity`, oldest dropped first. Recorded on the miss path only.
pub(crate) struct RecentReads {
    capacity: usize,
    reads: VecDeque<ReadCommand>,
}

impl RecentReads {
    pub(crate) fn new(capacity: usize) -> RecentReads {
        RecentReads { capacity, reads: VecDeque::with_capacity(capacity.min(4096)) }
    }

    pub(crate) fn record(&mut self, read: &ReadCommand) {
        if self.reads.len() == self.capacity {
            self.reads.pop_front();
        }
        self.reads.push_back(read.clone());
    }

    /// Each distinct read once, the latest first.
    pub(crate) fn latest(&self) -> Vec<ReadCommand> {
        let mut seen = HashSet::new();
        self.reads.iter().rev().filter(|read| seen.insert(read.cache_key())).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(key: &str) -> ReadCommand {
        ReadCommand::get(key.as_bytes().to_vec())
    }

    #[test]
    fn recent_reads_keep_the_latest_distinct_reads_newest_first() {
        let mut recent = RecentReads::new(4);
        for key in ["a", "b", "a", "c", "d", "e"] {
            recent.record(&get(key));
        }
        // "b" and the first "a" fell out of the ring; "a" is still there once.
        let latest: Vec<Vec<u8>> = recent.latest().iter().map(|r| r.first_key().to_vec()).collect();
        assert_eq!(latest, [b"e".to_vec(), b"d".to_vec(), b"c".to_vec(), b"a".to_vec()]);
    }
}
