//! The conformance suite, run on every backend.

use nearcache::conformance::{self, SuiteOptions, Verdict};
use nearcache::{Backend, NativeBackend};
use nearcache_tests::conformance_cases;

#[test]
fn native_store_conforms() {
    let factory = || Ok(Box::new(NativeBackend::new()) as Box<dyn Backend>);
    let outcomes = conformance::assert_conforms(&factory, &SuiteOptions { cases: conformance_cases() });
    // The native store is the reference: nothing may be skipped.
    let skipped: Vec<_> = outcomes.iter().filter(|o| matches!(o.verdict, Verdict::Skipped(_))).collect();
    assert!(skipped.is_empty(), "the reference store skipped {skipped:?}");
    assert_eq!(outcomes.len(), conformance::check_names().len());
}
