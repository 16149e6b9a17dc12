//! The seam between the cache and where it keeps entries.
//!
//! [`Backend`] mirrors the `store` interface of `wit/backend.wit` one to one;
//! the WIT comments are the contract, so they are not repeated here. Every
//! method returns a `Result` because a sandboxed backend can fail in any
//! call; the native store never does.

pub mod native;

use std::borrow::Cow;

pub use native::NativeBackend;

use crate::error::BackendError;

/// A cache backend: one instance, or one shard of one.
///
/// Implemented by [`NativeBackend`] (the default store, in process) and by
/// the wasm host for components of the `nearcache:backend/backend` world.
/// The conformance suite in [`crate::conformance`] runs against this trait.
///
/// An `Err` from any call but `init` means the instance could not be
/// trusted and has lost every entry it held (a wasm instance that trapped
/// is discarded and replaced by an empty one). The cache relies on this: a
/// failed `invalidate` can never leave a stale entry behind.
pub trait Backend: Send {
    /// `init`: configure a fresh instance.
    fn init(&mut self, options: &[(String, String)]) -> Result<(), BackendError>;
    /// `get`: the live value of `key` at `now_ms`, if held.
    fn get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, BackendError>;
    /// `get` for the hit path, which the WIT cannot express: the value is
    /// lent rather than copied out where the backend holds it in host memory
    /// (the reply is decoded straight from it, one copy instead of two), and
    /// `now_ms` is asked for only when needed (a clock read is a sizeable
    /// share of a native hit; an entry without a deadline needs none).
    /// Same contract as [`get`](Backend::get) at the time `now_ms` returns;
    /// the default reads the clock and calls `get`.
    fn get_borrowed(&mut self, key: &[u8], now_ms: &dyn Fn() -> u64) -> Result<Option<Cow<'_, [u8]>>, BackendError> {
        Ok(self.get(key, now_ms())?.map(Cow::Owned))
    }
    /// `put`: store `value` under `key`.
    fn put(&mut self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) -> Result<(), BackendError>;
    /// `put-with-ref`: store, and record `redis_key` as a ref of the entry.
    fn put_with_ref(
        &mut self,
        key: &[u8],
        redis_key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(), BackendError>;
    /// `invalidate`: remove these entries, or all for `None`.
    fn invalidate(&mut self, keys: Option<&[Vec<u8>]>) -> Result<(), BackendError>;
    /// `invalidate-refs`: remove the entries that reference these Redis keys.
    fn invalidate_refs(&mut self, redis_keys: Option<&[Vec<u8>]>) -> Result<(), BackendError>;
    /// `flush`: remove every entry.
    fn flush(&mut self) -> Result<(), BackendError>;
    /// `stats`: counters and gauges by name.
    fn stats(&mut self) -> Result<Vec<(String, u64)>, BackendError>;
    /// `sweep`: remove up to `max` expired entries; returns how many.
    fn sweep(&mut self, now_ms: u64, max: u32) -> Result<u32, BackendError>;
    /// `destroy`: release everything.
    fn destroy(&mut self) -> Result<(), BackendError>;
}

impl<B: Backend + ?Sized> Backend for Box<B> {
    fn init(&mut self, options: &[(String, String)]) -> Result<(), BackendError> {
        (**self).init(options)
    }
    fn get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, BackendError> {
        (**self).get(key, now_ms)
    }
    fn get_borrowed(&mut self, key: &[u8], now_ms: &dyn Fn() -> u64) -> Result<Option<Cow<'_, [u8]>>, BackendError> {
        (**self).get_borrowed(key, now_ms)
    }
    fn put(&mut self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) -> Result<(), BackendError> {
        (**self).put(key, value, ttl_ms, now_ms)
    }
    fn put_with_ref(
        &mut self,
        key: &[u8],
        redis_key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(), BackendError> {
        (**self).put_with_ref(key, redis_key, value, ttl_ms, now_ms)
    }
    fn invalidate(&mut self, keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        (**self).invalidate(keys)
    }
    fn invalidate_refs(&mut self, redis_keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        (**self).invalidate_refs(redis_keys)
    }
    fn flush(&mut self) -> Result<(), BackendError> {
        (**self).flush()
    }
    fn stats(&mut self) -> Result<Vec<(String, u64)>, BackendError> {
        (**self).stats()
    }
    fn sweep(&mut self, now_ms: u64, max: u32) -> Result<u32, BackendError> {
        (**self).sweep(now_ms, max)
    }
    fn destroy(&mut self) -> Result<(), BackendError> {
        (**self).destroy()
    }
}

/// Makes backend instances: one per shard, and fresh ones to replace
/// instances that failed. Instances come uninitialized; the caller inits them.
pub trait BackendFactory: Send + Sync {
    /// A short name for logs and stats, e.g. `native` or the component's file name.
    fn name(&self) -> String;
    /// A new, uninitialized instance.
    fn make(&self) -> Result<Box<dyn Backend>, BackendError>;
    /// A new, uninitialized native store, if this factory makes the
    /// native store: the cache then holds it without a `Box<dyn Backend>`
    /// and, under FIFO or CLOCK eviction, serves its hits through a shared
    /// reference behind a read lock. The default makes none, and the cache
    /// calls [`make`](BackendFactory::make).
    fn make_native(&self) -> Option<NativeBackend> {
        None
    }
}

/// Makes [`NativeBackend`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeFactory;

impl BackendFactory for NativeFactory {
    fn name(&self) -> String {
        "native".to_owned()
    }

    fn make(&self) -> Result<Box<dyn Backend>, BackendError> {
        Ok(Box::new(NativeBackend::new()))
    }

    fn make_native(&self) -> Option<NativeBackend> {
        Some(NativeBackend::new())
    }
}
