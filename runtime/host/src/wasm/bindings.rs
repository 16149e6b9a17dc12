//! The `bindgen!` output for `wit/backend.wit`, kept apart from hand-written
//! code. Only what the host uses is re-exported.

// Private, and re-exported only within the crate, so none of the generated
// items is public API and `missing_docs` does not apply to them.
mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "backend",
    });
}

pub(crate) use generated::exports::nearcache::backend::store::Guest;
pub(crate) use generated::nearcache::backend::host::Level;
pub(crate) use generated::{Backend, BackendPre};

/// The export the backend world requires, without its version.
pub(crate) const STORE_EXPORT: &str = "nearcache:backend/store";
/// The import the backend world provides, without its version.
pub(crate) const HOST_IMPORT: &str = "nearcache:backend/host";
/// The same, with the version of `wit/backend.wit`, as the linker defines it
/// (`host_log`, by hand); a guest built against any 0.1.x matches it.
pub(crate) const HOST_INSTANCE: &str = "nearcache:backend/host@0.1.0";
