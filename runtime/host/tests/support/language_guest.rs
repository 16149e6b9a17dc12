//! The guests in other languages, built on demand.
//!
//! `cargo test --workspace` builds them through the build script of
//! nearcache-tests; this crate's tests and benchmarks may run alone, so they
//! build the one they need the same way (a no-op when it is up to date).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use nearcache_guest_build::{LanguageGuest, Outcome, default_out_dir};

/// The component of the guest called `name` (`python_lfu`...), built if
/// needed; `None`, with a `SKIPPED:` line on stderr, if its toolchain is
/// missing. Panics if the build fails, or if the toolchain is missing under
/// `NEARCACHE_REQUIRE_GUEST_TOOLCHAINS=1`.
#[allow(dead_code, reason = "each test or bench binary uses what it needs")]
pub fn built(name: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guest = LanguageGuest::named(name).unwrap_or_else(|| panic!("no guest named {name}"));
    match guest.build_or_require(&root, &default_out_dir(&root)) {
        Ok(Outcome::Built { path, .. }) => Some(path),
        Ok(Outcome::Skipped(missing)) => {
            // Straight to stderr, past the test harness's capture.
            let _ = writeln!(std::io::stderr(), "SKIPPED: {name} was not built: {missing}");
            None
        }
        Err(error) => panic!("{error}"),
    }
}
