//! nearcache: a Redis client-side cache with pluggable storage backends.
//!
//! [`Cache`] owns a Redis connection, turns on server-assisted tracking
//! (RESP3 `CLIENT TRACKING`), serves allowlisted reads from a [`Backend`],
//! and drops entries when Redis pushes invalidations. The default backend is
//! the native store ([`NativeBackend`]); any other is a WebAssembly
//! component of the world in `wit/backend.wit`, run in a sandbox.
//!
//! # Layout
//!
//! - [`cache`]: [`Cache`], the read and write paths; [`builder`]: its options;
//!   `policy`: which commands it caches, and for how long at most.
//! - [`tracking`]: the tracked connection, tracking modes, push handling.
//! - `routing`: which node serves each key (one server, or a Redis
//!   Cluster's slot map), and the tracked connection to each node.
//! - `flights`: pending fills and single flight (the in-flight race).
//! - `liveness`: how long a tracked connection is trusted without a reply
//!   (the staleness bound under a partition), and its watchdog.
//! - `shards`: the backend split by Redis key, one lock per shard;
//!   `backends`: the serving backend and any being warmed or retired,
//!   replaced whole by a reload, and the hit path's per-thread view of them.
//! - `reload`: [`BackendSource`], and making a new backend ready to serve
//!   (the swap is [`Cache::reload_backend`]).
//! - [`command`]: the allowlist of cacheable commands and the cache key.
//! - `reply`: server replies to bytes and back; `wire`: the pipeline a
//!   read is sent as, what its replies mean, and the entry's lifetime.
//! - `coop`: how hits spend their task's cooperative budget.
//! - [`backend`]: the [`Backend`] trait, which mirrors the WIT `store`
//!   interface one to one, and its native implementation.
//! - [`error`]: [`Error`] and [`BackendError`].
//! - [`stats`]: [`CacheStats`], what the cache has done.
//! - [`conformance`] (feature `conformance`): the one suite every backend
//!   must pass, with model-based property tests.
//! - [`watch`] (feature `watch`): reload the backend when its file changes.
//! - `fuzzing` (feature `fuzzing`, hidden): the private parsers, exposed to
//!   the fuzz harnesses in `fuzz/`.
//! - [`wasm`] (feature `wasm`): backends compiled to WebAssembly components,
//!   run sandboxed in wasmtime.

#![deny(missing_docs)]

pub mod backend;
mod backends;
pub mod builder;
pub mod cache;
mod clock;
pub mod command;
#[cfg(feature = "conformance")]
pub mod conformance;
mod coop;
pub mod error;
mod flights;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod liveness;
mod policy;
mod reload;
mod reply;
mod routing;
mod shards;
pub mod stats;
pub mod tracking;
#[cfg(feature = "wasm")]
pub mod wasm;
#[cfg(feature = "watch")]
pub mod watch;
mod wire;

pub use backend::{Backend, BackendFactory, NativeBackend, NativeFactory};
pub use builder::{CacheBuilder, masked_url};
pub use cache::Cache;
#[cfg(feature = "test-hooks")]
#[doc(hidden)]
pub use clock::ManualClock;
pub use command::{ReadCommand, cacheable_commands};
pub use error::{BackendError, Error};
pub use redis::Value;
pub use reload::{BackendSource, Reloaded};
pub use routing::key_slot;
pub use stats::{CacheStats, NodeStats};
pub use tracking::Tracking;
