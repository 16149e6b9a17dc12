//! Shared test support for the workspace integration tests.
//!
//! # Layout
//!
//! - [`conformance_cases`]: how many property cases each suite run uses.

/// Property cases per conformance property: `NEARCACHE_PROPTEST_CASES` if
/// set, else 1000 (the CI floor).
pub fn conformance_cases() -> u32 {
    std::env::var("NEARCACHE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
}
