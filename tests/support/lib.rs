//! Shared test support for the workspace integration tests.
//!
//! # Layout
//!
//! - [`redis_server`]: a private redis-server per test, stopped on drop.
//! - [`conformance_cases`]: how many property cases each suite run uses.

pub mod redis_server;

/// Property cases per conformance property: `NEARCACHE_PROPTEST_CASES` if
/// set, else 1000 (the CI floor).
pub fn conformance_cases() -> u32 {
    std::env::var("NEARCACHE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
}
