//! Backends compiled to WebAssembly components, run sandboxed in wasmtime.
//!
//! A component of the `nearcache:backend/backend` world (`wit/backend.wit`)
//! is compiled once into a [`WasmFactory`], which makes [`WasmBackend`]s:
//! one wasmtime `Store` and one instance each. The guest gets nothing but the
//! `host` interface and, for language runtimes that cannot start without it,
//! a little of WASI backed by an empty context. Each call is bounded in CPU,
//! memory, stack and output; a call that breaks a bound returns an error, and
//! the instance is discarded and replaced, or quarantined if it keeps failing.
//!
//! # Layout
//!
//! - [`limits`]: [`Limits`], every bound and its default.
//! - [`engine`]: [`WasmEngine`], the wasmtime `Config` and the epoch ticker.
//! - [`budget`]: the memory budgets a backend's instances, and an engine's
//!   backends, share.
//! - `proposals`: which WebAssembly proposals a backend may use.
//! - [`artifacts`]: the on-disk cache of compiled components.
//! - `bindings`: the `bindgen!` output, quarantined.
//! - `linker`: what a guest may import, and nothing else.
//! - `no_wait`: WASI's blocking calls, redefined so none waits or enters a
//!   tokio runtime.
//! - `state`: the data of one `Store`: WASI context, memory limiter, log limiter.
//! - `host_log`: the `log` import, into `tracing`, rate-limited and charged
//!   to the guest's fuel.
//! - [`failure`]: why a call failed, from a wasmtime error.
//! - [`load_error`]: [`LoadError`], why a component could not be loaded.
//! - [`factory`]: [`WasmFactory`], a compiled component ready to instantiate.
//! - [`backend`]: [`WasmBackend`], the [`Backend`](crate::Backend) over one instance.

pub mod artifacts;
pub mod backend;
mod bindings;
pub mod budget;
pub mod engine;
pub mod factory;
pub mod failure;
mod host_log;
pub mod limits;
mod linker;
pub mod load_error;
mod no_wait;
mod proposals;
mod state;

pub use artifacts::ArtifactCache;
pub use backend::{Health, WasmBackend};
pub use budget::{BudgetScope, MemoryUse};
pub use engine::WasmEngine;
pub use factory::{ComponentInfo, WasmFactory};
pub use failure::{Cause, Failure};
pub use limits::{Limits, Quarantine};
pub use load_error::LoadError;
