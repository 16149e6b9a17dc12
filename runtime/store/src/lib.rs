//! The default nearcache store: a bounded map from cache keys to values,
//! with LRU, FIFO or CLOCK eviction, per-entry deadlines, and refs from Redis keys
//! to the entries that read them.
//!
//! A pure data structure with no I/O and no clock: time comes in as
//! `now_ms`. It builds natively, where the host calls it directly, and for
//! `wasm32-wasip2`, where `guests/rust-store` wraps the very same code as a
//! component. Its methods are the callbacks of `wit/backend.wit`.
//!
//! # Layout
//!
//! - [`store`]: [`Store`], which keeps the parts below consistent.
//! - `entries`: the entry records and their eviction order (an index-linked
//!   list in a slab, O(1) per operation).
//! - `refs`: Redis key -> entries, with O(1) removal of an entry's refs.
//! - `expiry`: deadlines in sweep order, for entries that have one.
//! - `slab`: the `u32`-indexed slot vector the three above are built on.
//! - [`config`]: the `init` options and their errors.
//! - [`stats`]: the counters.

pub mod config;
mod entries;
mod expiry;
mod refs;
mod slab;
pub mod stats;
pub mod store;

pub use config::{Config, ConfigError, Eviction};
pub use stats::Stats;
pub use store::Store;
