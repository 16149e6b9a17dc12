//! A compiled component, checked against the backend world, ready to
//! instantiate: the [`BackendFactory`] for wasm backends.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::Component;

use super::artifacts::Compiled;
use super::backend::WasmBackend;
use super::bindings::{BackendPre, STORE_EXPORT};
use super::budget::{BudgetScope, MemoryBudget, MemoryUse};
use super::engine::WasmEngine;
use super::linker::{self, PROVIDED_SUMMARY};
use super::load_error::{LoadError, one_line};
use super::proposals;
use super::state::State;
use crate::backend::{Backend, BackendFactory};
use crate::error::BackendError;

/// What a loaded component imports and exports, and how it was loaded.
#[derive(Debug, Clone)]
pub struct ComponentInfo {
    /// Import names, with versions, in the component's order.
    pub imports: Vec<String>,
    /// Export names, with versions.
    pub exports: Vec<String>,
    /// Whether the compiled code came from the artifact cache.
    pub from_cache: bool,
    /// Why the artifact cache was passed over, if it was: its directory or
    /// the component's artifact is not this user's own or others may write
    /// to it, or the artifact is a symbolic link or not a regular file. The
    /// component was compiled from its bytes instead.
    pub untrusted_artifact: Option<String>,
    /// Time to compile, or to load from the cache.
    pub load_time: Duration,
}

impl ComponentInfo {
    /// The component's world, as WIT-like text: one `import`/`export` line each.
    pub fn world(&self) -> String {
        let mut text = String::from("world {\n");
        for import in &self.imports {
            let _ = writeln!(text, "    import {import};");
        }
        for export in &self.exports {
            let _ = writeln!(text, "    export {export};");
        }
        text.push('}');
        text
    }
}

/// Everything instances of one component share.
pub(crate) struct Loaded {
    pub name: Arc<str>,
    pub engine: WasmEngine,
    pub pre: BackendPre<State>,
    pub info: ComponentInfo,
    /// The linear memory all its instances may hold together.
    pub memory: Arc<MemoryBudget>,
}

/// A component of the backend world, compiled once; makes [`WasmBackend`]s.
/// Cheap to clone.
#[derive(Clone)]
pub struct WasmFactory {
    loaded: Arc<Loaded>,
}

impl WasmFactory {
    /// Loads the component in the file at `path`. Its name is the file stem.
    pub fn load_file(engine: &WasmEngine, path: impl AsRef<Path>) -> Result<WasmFactory, LoadError> {
        let path = path.as_ref();
        let wasm = std::fs::read(path).map_err(|source| LoadError::Read { path: path.to_owned(), source })?;
        let name = path.file_stem().map_or_else(|| path.display().to_string(), |s| s.to_string_lossy().into_owned());
        WasmFactory::load_bytes(engine, &name, &wasm)
    }

    /// Loads a component from its bytes, naming it `name` in logs.
    pub fn load_bytes(engine: &WasmEngine, name: &str, wasm: &[u8]) -> Result<WasmFactory, LoadError> {
        check_header(wasm)?;
        let started = Instant::now();
        let compiled = match engine.artifact_cache() {
            Some(cache) => cache.load_or_compile(engine.engine(), wasm),
            None => Component::new(engine.engine(), wasm)
                .map(|component| Compiled { component, from_cache: false, untrusted: None })
                .map_err(|e| LoadError::Invalid(one_line(&e))),
        };
        // wasmtime's error does not say which proposal was missing; this does.
        let Compiled { component, from_cache, untrusted } = compiled.map_err(|error| match error {
            LoadError::Invalid(_) => proposals::refusal(wasm).unwrap_or(error),
            other => other,
        })?;
        let load_time = started.elapsed();

        let ty = component.component_type();
        let imports: Vec<String> = ty.imports(engine.engine()).map(|(name, _)| name.to_owned()).collect();
        let exports: Vec<String> = ty.exports(engine.engine()).map(|(name, _)| name.to_owned()).collect();
        if let Some(import) = imports.iter().find(|import| !linker::is_provided(import)) {
            return Err(LoadError::UnsupportedImport { import: import.clone(), provided: PROVIDED_SUMMARY });
        }
        if !exports.iter().any(|export| export.split_once('@').map_or(export.as_str(), |(n, _)| n) == STORE_EXPORT) {
            let exports = if exports.is_empty() { "nothing".to_owned() } else { exports.join(", ") };
            return Err(LoadError::MissingExport { missing: STORE_EXPORT, exports });
        }

        let linker = linker::linker(engine.engine()).map_err(|e| LoadError::Engine(one_line(&e)))?;
        let pre = linker.instantiate_pre(&component).map_err(|e| LoadError::Incompatible(one_line(&e)))?;
        let pre = BackendPre::new(pre).map_err(|e| LoadError::Incompatible(one_line(&e)))?;
        let info = ComponentInfo { imports, exports, from_cache, untrusted_artifact: untrusted, load_time };
        let memory = MemoryBudget::new(BudgetScope::Backend, engine.limits().backend_memory_bytes);
        Ok(WasmFactory { loaded: Arc::new(Loaded { name: name.into(), engine: engine.clone(), pre, info, memory }) })
    }

    /// What the component imports and exports.
    pub fn info(&self) -> &ComponentInfo {
        &self.loaded.info
    }

    /// The linear memory this backend's instances hold together, the most
    /// they have held at once, and their budget
    /// ([`Limits::backend_memory_bytes`](super::Limits::backend_memory_bytes)).
    pub fn memory(&self) -> MemoryUse {
        self.loaded.memory.usage()
    }

    /// A new, uninitialized instance.
    pub fn instantiate(&self) -> Result<WasmBackend, BackendError> {
        WasmBackend::new(Arc::clone(&self.loaded))
    }

    /// Makes an instance and inits it with `options`, to find out before
    /// serving whether the backend starts: an error carries the backend's
    /// own message, or the trap.
    pub fn check_init(&self, options: &[(String, String)]) -> Result<WasmBackend, LoadError> {
        let mut backend = self.instantiate().map_err(|e| LoadError::InitFailed(e.to_string()))?;
        match backend.init(options) {
            Ok(()) => Ok(backend),
            Err(BackendError::Rejected(message)) => Err(LoadError::InitRejected(message)),
            Err(other) => Err(LoadError::InitFailed(other.to_string())),
        }
    }
}

impl BackendFactory for WasmFactory {
    fn name(&self) -> String {
        self.loaded.name.to_string()
    }

    fn make(&self) -> Result<Box<dyn Backend>, BackendError> {
        Ok(Box::new(self.instantiate()?))
    }
}

/// The preamble says what the bytes are: `\0asm`, then a version that tells
/// a core module (1) from a component (0x0d, layer 1).
fn check_header(wasm: &[u8]) -> Result<(), LoadError> {
    match wasm.get(..8) {
        Some([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]) => Err(LoadError::CoreModule),
        Some([0x00, 0x61, 0x73, 0x6d, ..]) => Ok(()),
        _ => Err(LoadError::NotWasm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_tells_module_from_component() {
        assert!(matches!(check_header(b"hello, world"), Err(LoadError::NotWasm)));
        assert!(matches!(check_header(b"\0asm"), Err(LoadError::NotWasm)));
        assert!(matches!(check_header(b"\0asm\x01\0\0\0"), Err(LoadError::CoreModule)));
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
