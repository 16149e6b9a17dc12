//! The bodies of nearcache's fuzz targets: each takes the fuzzer's bytes,
//! feeds them to a parser of what a guest or a server sends, and asserts
//! what must hold. A failed assertion or a panic is a finding.
//!
//! `fuzz/fuzz_targets/*.rs` call these under libFuzzer (`just fuzz`); the
//! corpus test (`tests/corpus.rs`) calls them on every committed seed and
//! regression input, on stable Rust, as part of `cargo test`.
//!
//! # Layout
//!
//! - [`values`]: Redis values of every shape, made from fuzz input.
//! - [`reply`]: the encoding of replies a backend stores ([`reply_decode`],
//!   [`reply_round_trip`]).
//! - [`command`]: the cache key and the allowlist ([`cache_key`],
//!   [`read_command`]).
//! - [`push`]: push messages from Redis ([`push()`]).
//! - [`cluster`]: `CLUSTER SLOTS` replies ([`cluster_slots`]).
//! - [`guest`]: a backend component whose answers come from the fuzzer
//!   ([`guest()`]).
//! - [`seeds`]: the seed corpus, written by `cargo run -p nearcache-fuzz-harness`.

pub mod cluster;
pub mod command;
pub mod guest;
pub mod push;
pub mod reply;
pub mod seeds;
pub mod values;

pub use cluster::cluster_slots;
pub use command::{cache_key, read_command};
pub use guest::guest;
pub use push::push;
pub use reply::{reply_decode, reply_round_trip};

/// A target's body: takes the fuzzer's bytes, panics on a finding.
pub type Harness = fn(&[u8]);

/// Every target, by the name of its fuzz binary and of its corpus directory.
pub const TARGETS: &[(&str, Harness)] = &[
    ("reply_decode", reply_decode),
    ("reply_round_trip", reply_round_trip),
    ("cache_key", cache_key),
    ("read_command", read_command),
    ("push", push),
    ("cluster_slots", cluster_slots),
    ("guest", guest),
];
