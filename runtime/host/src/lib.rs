//! nearcache: a Redis client-side cache with pluggable storage backends.
//!
//! The cache keeps the replies of read commands in a [`Backend`] and stays
//! coherent with Redis through server-assisted tracking. The default backend
//! is the native store ([`NativeBackend`]); any other is a WebAssembly
//! component of the world in `wit/backend.wit`, run in a sandbox.
//!
//! # Layout
//!
//! - [`backend`]: the [`Backend`] trait, which mirrors the WIT `store`
//!   interface one to one, and its native implementation.
//! - [`error`]: [`BackendError`], what a backend call can fail with.
//! - [`conformance`] (feature `conformance`): the one suite every backend
//!   must pass, with model-based property tests.
//! - [`wasm`] (feature `wasm`): backends compiled to WebAssembly components,
//!   run sandboxed in wasmtime.

#![deny(missing_docs)]

pub mod backend;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;
#[cfg(feature = "wasm")]
pub mod wasm;

pub use backend::{Backend, BackendFactory, NativeBackend, NativeFactory};
pub use error::BackendError;
