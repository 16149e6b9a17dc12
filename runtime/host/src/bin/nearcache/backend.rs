//! The cache's backend as the flags name it: the native store or a wasm
//! component, the engine that runs components, and the options each
//! instance is `init`ed with.

use std::path::PathBuf;
use std::sync::Arc;

use nearcache::wasm::{ArtifactCache, Limits, WasmEngine, WasmFactory};
use nearcache::{BackendFactory, BackendSource, NativeFactory};

use crate::args::BackendArg;
use crate::failure::{Code, Failure};

/// A wasm engine with the default sandbox limits, keeping compiled
/// components in the user's cache directory when there is one (loading a
/// component compiled before then takes a millisecond, not hundreds).
pub fn engine() -> Result<WasmEngine, Failure> {
    let engine = WasmEngine::new(Limits::default()).map_err(|e| Failure::new(Code::Backend, e))?;
    let Some(dir) = artifact_dir() else { return Ok(engine) };
    match ArtifactCache::open(&dir) {
        Ok(cache) => Ok(engine.with_artifact_cache(cache)),
        Err(error) => {
            tracing::warn!("not caching compiled components: {error}");
            Ok(engine)
        }
    }
}

/// `$XDG_CACHE_HOME/nearcache/artifacts`, else `~/.cache/nearcache/artifacts`.
fn artifact_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("nearcache").join("artifacts"))
}

/// A backend and the options its instances are `init`ed with: what a
/// cache starts on, and what a reload swaps in.
#[derive(Debug, Clone)]
pub struct Source {
    /// The backend.
    pub backend: BackendArg,
    /// Its `init` options.
    pub options: Vec<(String, String)>,
}

impl Source {
    /// The library's name for this source.
    pub fn to_library(&self) -> BackendSource {
        match &self.backend {
            BackendArg::Native => BackendSource::Native,
            BackendArg::Wasm(path) => BackendSource::WasmFile(path.clone()),
        }
    }
}

/// Loads the backend `arg` names.
pub fn factory(arg: &BackendArg, engine: &WasmEngine) -> Result<Arc<dyn BackendFactory>, Failure> {
    match arg {
        BackendArg::Native => Ok(Arc::new(NativeFactory)),
        BackendArg::Wasm(path) => WasmFactory::load_file(engine, path)
            .map(|factory| Arc::new(factory) as Arc<dyn BackendFactory>)
            .map_err(|error| Failure::new(Code::Backend, format!("{}: {error}", path.display()))),
    }
}

/// The options given with `--backend-option`, or by default room for the
/// whole key space in every shard (so the run measures hits, not evictions).
pub fn options(given: &[(String, String)], keys: u32) -> Vec<(String, String)> {
    if given.is_empty() { vec![("max-entries".to_owned(), keys.to_string())] } else { given.to_vec() }
}
