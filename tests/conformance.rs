//! The conformance suite, run on every backend.

use nearcache::conformance::{self, Outcome, SuiteOptions, Verdict};
use nearcache::wasm::{Limits, WasmEngine, WasmFactory};
use nearcache::{Backend, BackendFactory, NativeBackend};
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
