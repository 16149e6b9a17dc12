//! The conformance suite, run on every backend.

use std::borrow::Cow;

use nearcache::conformance::{self, Outcome, SuiteOptions, Verdict};
use nearcache::wasm::{Limits, WasmEngine, WasmFactory};
use nearcache::{Backend, BackendError, BackendFactory, NativeBackend};
use nearcache_tests::{conformance_cases, guests};

/// Reference backends must pass every check: nothing failed, nothing skipped.
fn assert_nothing_skipped(outcomes: &[Outcome]) {
    let skipped: Vec<_> = outcomes.iter().filter(|o| matches!(o.verdict, Verdict::Skipped(_))).collect();
    assert!(skipped.is_empty(), "a reference backend skipped {skipped:?}");
    assert_eq!(outcomes.len(), conformance::check_names().len());
}

#[test]
fn native_store_conforms() {
    let factory = || Ok(Box::new(NativeBackend::new()) as Box<dyn Backend>);
    let outcomes = conformance::assert_conforms(&factory, &SuiteOptions { cases: conformance_cases() });
    assert_nothing_skipped(&outcomes);
}

/// A backend whose gets go the way the cache's hits do for a backend that
/// serves shared hits: `get_shared` first, then `miss_shared`, the
/// exclusive get when both decline. Everything else passes straight through.
struct SharedFirst(NativeBackend);

impl Backend for SharedFirst {
    fn init(&mut self, options: &[(String, String)]) -> Result<(), BackendError> {
        self.0.init(options)
    }
    fn get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, BackendError> {
        if self.0.serves_shared_hits() {
            if let Some(value) = self.0.get_shared(key, &|| now_ms) {
                return Ok(Some(value.to_vec()));
            }
            if self.0.miss_shared(key) {
                return Ok(None);
            }
        }
        self.0.get(key, now_ms)
    }
    fn get_borrowed(&mut self, key: &[u8], now_ms: &dyn Fn() -> u64) -> Result<Option<Cow<'_, [u8]>>, BackendError> {
        let now = now_ms();
        self.get(key, now).map(|value| value.map(Cow::Owned))
    }
    fn put(&mut self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) -> Result<(), BackendError> {
        self.0.put(key, value, ttl_ms, now_ms)
    }
    fn put_with_ref(
        &mut self,
        key: &[u8],
        redis_key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(), BackendError> {
        self.0.put_with_ref(key, redis_key, value, ttl_ms, now_ms)
    }
    fn invalidate(&mut self, keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        self.0.invalidate(keys)
    }
    fn invalidate_refs(&mut self, redis_keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        self.0.invalidate_refs(redis_keys)
    }
    fn flush(&mut self) -> Result<(), BackendError> {
        self.0.flush()
    }
    fn stats(&mut self) -> Result<Vec<(String, u64)>, BackendError> {
        self.0.stats()
    }
    fn sweep(&mut self, now_ms: u64, max: u32) -> Result<u32, BackendError> {
        self.0.sweep(now_ms, max)
    }
    fn destroy(&mut self) -> Result<(), BackendError> {
        self.0.destroy()
    }
}

/// The native store answering hits through a shared reference, as the
/// cache reads it under FIFO and CLOCK eviction: the same suite, both tiers
/// (the reference models count those hits exactly as `get`'s).
#[test]
fn native_store_conforms_through_shared_hits() {
    let factory = || Ok(Box::new(SharedFirst(NativeBackend::new())) as Box<dyn Backend>);
    let outcomes = conformance::assert_conforms(&factory, &SuiteOptions { cases: conformance_cases() });
    assert_nothing_skipped(&outcomes);
}

/// The same store compiled to a component and run in the sandbox, with the
/// default limits: the same suite, both tiers.
#[test]
fn rust_store_guest_conforms() {
    let engine = WasmEngine::new(Limits::default()).expect("engine");
    let wasm = WasmFactory::load_file(&engine, guests::RUST_STORE).expect("load the rust-store guest");
    let factory = || wasm.make();
    let outcomes = conformance::assert_conforms(&factory, &SuiteOptions { cases: conformance_cases() });
    assert_nothing_skipped(&outcomes);
}
