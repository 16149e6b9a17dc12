//! Shared test support for the workspace integration tests.
//!
//! # Layout
//!
//! - [`redis_server`]: a private redis-server per test, stopped on drop.
//! - [`conformance_cases`]: how many property cases each suite run uses.
//! - [`guests`]: the path of every guest component, built by `build.rs`,
//!   and the `foreach_guest!` / `foreach_hostile_guest!` macros.

pub mod redis_server;

/// Property cases per conformance property: `NEARCACHE_PROPTEST_CASES` if
/// set, else 1000 (the CI floor).
pub fn conformance_cases() -> u32 {
    std::env::var("NEARCACHE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
}

/// Paths of the guest components, one constant per guest, named after its
/// package (`RUST_STORE`, `HOSTILE_LOOP_IN_GET`, ...).
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}
