//! The backend conformance suite, written once against [`Backend`] and run
//! on every backend: the native store, the Rust guest, every other guest.
//!
//! Two tiers:
//! - the *contract* checks hold for any backend: nothing stale or wrong is
//!   ever returned, every get counts once, bounds and sweep hold;
//! - the *reference* checks hold for backends that accept the reference
//!   store's `eviction` and `max-bytes` options: they must then behave
//!   exactly like the reference model (same hits, evictions, counters).
//!   A backend that rejects those options skips this tier.
//!
//! Both tiers include model-based property tests (proptest) over random
//! sequences of every callback, with a controlled clock.

mod checks;
mod contract_model;
mod ops;
mod reference_model;

use std::fmt;
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::error::BackendError;

/// Makes a fresh, uninitialized backend. Each check asks for its own.
pub type Factory<'a> = &'a dyn Fn() -> Result<Box<dyn Backend>, BackendError>;

/// How hard the suite tries.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Random operation sequences per property test.
    pub cases: u32,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        SuiteOptions { cases: 1000 }
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The backend did what the contract asks.
    Passed,
    /// The backend did not; the message says how.
    Failed(String),
    /// The check does not apply to this backend; the message says why.
    Skipped(String),
}

/// One check's name, verdict and running time.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The check, e.g. `contract/ttl-expires-at-deadline`.
    pub name: &'static str,
    /// What happened.
    pub verdict: Verdict,
    /// Wall time the check took.
    pub elapsed: Duration,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.verdict {
            Verdict::Passed => write!(f, "pass  {} ({:.1?})", self.name, self.elapsed),
            Verdict::Failed(why) => write!(f, "FAIL  {}: {why}", self.name),
            Verdict::Skipped(why) => write!(f, "skip  {}: {why}", self.name),
        }
    }
}

/// Why a check did not pass. Checks return it with `?`.
#[derive(Debug)]
enum Failure {
    Failed(String),
    Skipped(String),
}

impl From<BackendError> for Failure {
    fn from(error: BackendError) -> Self {
        Failure::Failed(error.to_string())
    }
}

type CheckResult = Result<(), Failure>;

/// A named check.
struct Check {
    name: &'static str,
    run: fn(Factory<'_>, &SuiteOptions) -> CheckResult,
}

/// Fails the check with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::conformance::Failure::Failed(format!($($msg)+)));
        }
    };
}
use ensure;

/// The names of every check, in the order `run` runs them.
pub fn check_names() -> Vec<&'static str> {
    checks::ALL.iter().map(|check| check.name).collect()
}

/// Runs every check against backends made by `factory`.
pub fn run(factory: Factory<'_>, options: &SuiteOptions) -> Vec<Outcome> {
    checks::ALL
        .iter()
        .map(|check| {
            let started = Instant::now();
            let verdict = match (check.run)(factory, options) {
                Ok(()) => Verdict::Passed,
                Err(Failure::Failed(why)) => Verdict::Failed(why),
                Err(Failure::Skipped(why)) => Verdict::Skipped(why),
            };
            Outcome { name: check.name, verdict, elapsed: started.elapsed() }
        })
        .collect()
}

/// Runs the suite and panics with every failure, for use in tests.
/// Returns the outcomes so a test can also assert what was skipped.
pub fn assert_conforms(factory: Factory<'_>, options: &SuiteOptions) -> Vec<Outcome> {
    let outcomes = run(factory, options);
    let failures: Vec<String> =
        outcomes.iter().filter(|o| matches!(o.verdict, Verdict::Failed(_))).map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{} conformance check(s) failed:\n{}", failures.len(), failures.join("\n"));
    outcomes
}
