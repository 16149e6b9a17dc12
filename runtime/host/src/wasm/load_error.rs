//! Why a component could not be loaded: one clear line per case.

use std::path::PathBuf;

/// Why a component could not become a backend. Each message is one line
/// that names the problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The bytes are not WebAssembly at all.
    #[error("not a WebAssembly file: it does not start with the `\\0asm` magic bytes")]
    NotWasm,
    /// A core module, not a component.
    #[error(
        "a core WebAssembly module, not a component: build for wasm32-wasip2, or wrap it with `wasm-tools component new`"
    )]
    CoreModule,
    /// Wasm that wasmtime rejects (malformed, or invalid).
    #[error("invalid component: {0}")]
    Invalid(String),
    /// The component uses a WebAssembly proposal that backends may not use
    /// (DESIGN.md lists which they may).
    #[error(
        "the component uses the WebAssembly {proposal} proposal, which this host turns off for backends ({reason}, at byte {offset:#x})"
    )]
    DisabledProposal {
        /// The proposal.
        proposal: &'static str,
        /// What the validator found, such as `gc proposal must be enabled to use subtypes`.
        reason: String,
        /// Where in the component.
        offset: usize,
    },
    /// The component does not export the backend's `store` interface.
    #[error("not a backend: the component does not export `{missing}` (it exports: {exports})")]
    MissingExport {
        /// The export the backend world requires.
        missing: &'static str,
        /// What it exports instead.
        exports: String,
    },
    /// The component imports something this host does not provide.
    #[error("the component imports `{import}`, which this host does not provide (a backend gets `{provided}` only)")]
    UnsupportedImport {
        /// The import, as the component names it.
        import: String,
        /// What a backend may import.
        provided: &'static str,
    },
    /// Names match but types do not (another version of the world).
    #[error("the component does not match the backend world: {0}")]
    Incompatible(String),
    /// `init` returned an error: the backend's own message.
    #[error("init failed: the backend said: {0}")]
    InitRejected(String),
    /// `init` trapped or broke a limit.
    #[error("init failed: {0}")]
    InitFailed(String),
    /// The engine could not be configured.
    #[error("cannot configure the wasm engine: {0}")]
    Engine(String),
    /// The compiled-artifact cache could not be used.
    #[error("compiled-artifact cache {path}: {reason}")]
    ArtifactCache {
        /// The cache directory or file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// A wasmtime error with its causes, on one line.
pub(crate) fn one_line(error: &wasmtime::Error) -> String {
    format!("{error:#}").split_whitespace().collect::<Vec<_>>().join(" ")
}
