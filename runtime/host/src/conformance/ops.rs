//! Random operation sequences for the model-based property tests, and the
//! runner that feeds them to a backend.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use super::{Factory, Failure};

/// One callback, over a small key space so sequences collide often.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Get {
        key: u8,
    },
    Put {
        key: u8,
        value: Vec<u8>,
        ttl: Option<u64>,
    },
    PutWithRef {
        key: u8,
        redis_key: u8,
        value: Vec<u8>,
        ttl: Option<u64>,
    },
    Invalidate(Option<Vec<u8>>),
    InvalidateRefs(Option<Vec<u8>>),
    Flush,
    Stats,
    Sweep {
        max: u32,
    },
    /// Moves the controlled clock forward.
    Advance {
        ms: u64,
    },
    /// destroy, then init with the same options.
    Reinit,
}

const CACHE_KEYS: u8 = 8;
const REDIS_KEYS: u8 = 4;

/// The cache key numbered `n`.
pub(crate) fn cache_key(n: u8) -> Vec<u8> {
    format!("ck:{n}").into_bytes()
}

/// The Redis key numbered `n`.
pub(crate) fn redis_key(n: u8) -> Vec<u8> {
    format!("rk:{n}").into_bytes()
}

/// Maps numbered keys to keys.
pub(crate) fn keys(numbers: &[u8], key: fn(u8) -> Vec<u8>) -> Vec<Vec<u8>> {
    numbers.iter().map(|&n| key(n)).collect()
}

fn ttl() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![2 => Just(None), 1 => (0u64..30).prop_map(Some)]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..16)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (0..CACHE_KEYS).prop_map(|key| Op::Get { key }),
        15 => (0..CACHE_KEYS, value(), ttl()).prop_map(|(key, value, ttl)| Op::Put { key, value, ttl }),
        20 => (0..CACHE_KEYS, 0..REDIS_KEYS, value(), ttl())
            .prop_map(|(key, redis_key, value, ttl)| Op::PutWithRef { key, redis_key, value, ttl }),
        5 => prop::option::weighted(0.9, prop::collection::vec(0..CACHE_KEYS, 0..3)).prop_map(Op::Invalidate),
        8 => prop::option::weighted(0.9, prop::collection::vec(0..REDIS_KEYS, 0..3)).prop_map(Op::InvalidateRefs),
        1 => Just(Op::Flush),
        5 => Just(Op::Stats),
        5 => (0u32..4).prop_map(|max| Op::Sweep { max }),
        10 => (0u64..15).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::Reinit),
    ]
}

/// Sequences of 1 to 80 operations.
pub(crate) fn sequences() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..80)
}

/// Runs `property` on `cases` random inputs, each with a fresh backend, and
/// turns a failure into one message carrying the shrunk input.
pub(crate) fn run_property<S, F>(factory: Factory<'_>, cases: u32, strategy: S, property: F) -> Result<(), Failure>
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(&mut dyn crate::Backend, S::Value) -> Result<(), String>,
{
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |input| {
        let mut backend = factory().map_err(|e| TestCaseError::fail(format!("could not make a backend: {e}")))?;
        property(&mut *backend, input).map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(why, input)) => Err(Failure::Failed(format!("{why}\n  minimal failing input: {input:?}"))),
        Err(TestError::Abort(why)) => Err(Failure::Failed(format!("property aborted: {why}"))),
    }
}

/// Reads the stats as (name, value) into a lookup.
pub(crate) fn stat(stats: &[(String, u64)], name: &str) -> Result<u64, String> {
    stats.iter().find(|(n, _)| n == name).map(|&(_, v)| v).ok_or_else(|| format!("stats has no `{name}`"))
}
