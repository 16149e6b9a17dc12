//! Shared test support for the workspace integration tests.
//!
//! # Layout
//!
//! - [`redis_server`]: a private redis-server per test, stopped on drop.
//! - [`redis_cluster`]: a private 3-master Redis Cluster, stopped on drop;
//!   slot routing, slot migration, node restarts.
//! - [`relay`]: a TCP relay a test can silence, one way or both, without
//!   closing anything: a partition.
//! - [`coherence`]: the randomized coherence checker, on a server or a cluster.
//! - [`throughput`]: reads per second from many tasks, for the benchmarks.
//! - [`polling`]: the pace at which the invalidation-delay benchmarks poll.
//! - [`conformance_cases`]: how many property cases each suite run uses.
//! - [`guests`]: the path of every guest component, built by `build.rs`,
//!   and the `foreach_guest!` / `foreach_hostile_guest!` macros; the guests
//!   in other languages as [`LanguageGuest`]s, and `foreach_language_guest!`.

pub mod coherence;
pub mod polling;
pub mod redis_cluster;
pub mod redis_server;
pub mod relay;
pub mod throughput;

/// The benchmark setting in environment variable `name`, or `default`
/// when it is unset; panics, naming the variable and its value, when it is
/// set to something that does not parse as `T`.
pub fn bench_setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value.parse().unwrap_or_else(|_| panic!("{name}={value:?}: not a {}", std::any::type_name::<T>())),
        Err(_) => default,
    }
}

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

/// A guest written in another language than Rust, built by `build.rs` when
/// its toolchain is present.
#[derive(Debug, Clone, Copy)]
pub struct LanguageGuest {
    /// `python_lfu`, `js_sized`, `c_fifo`.
    pub name: &'static str,
    /// The component's path, or why it was not built (the missing toolchain).
    pub built: Result<&'static str, &'static str>,
}

impl LanguageGuest {
    /// The component's path; or, if it was not built, prints why (so a
    /// skipped test says so) and returns `None`. Panics instead when
    /// `NEARCACHE_REQUIRE_GUEST_TOOLCHAINS=1`: CI never skips a guest.
    pub fn path(&self) -> Option<&'static str> {
        match self.built {
            Ok(path) => Some(path),
            Err(why) if std::env::var("NEARCACHE_REQUIRE_GUEST_TOOLCHAINS").is_ok_and(|v| v == "1") => {
                panic!("{} was not built, and NEARCACHE_REQUIRE_GUEST_TOOLCHAINS=1: {why}", self.name)
            }
            Err(why) => {
                // Straight to stderr, past the test harness's capture.
                use std::io::Write as _;
                let _ = writeln!(std::io::stderr(), "SKIPPED: {} was not built: {why}", self.name);
                None
            }
        }
    }
}
