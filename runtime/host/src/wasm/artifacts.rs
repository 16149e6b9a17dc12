//! The on-disk cache of compiled components.
//!
//! Compiling a component with Cranelift takes tens of milliseconds; loading
//! the compiled artifact takes a tenth of one. Artifacts are keyed by the
//! SHA-256 of the wasm bytes and of the engine's compatibility hash (the
//! wasmtime version and every `Config` setting that affects code), so a
//! changed component, a new wasmtime or another `Config` never reuses one.
//!
//! Deserializing an artifact runs its machine code, so only bytes this host
//! wrote may be loaded: the directory must be private (no group or other
//! write permission), files are written whole (temporary file, then
//! rename), and a file that does not load is compiled again and replaced.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::load_error::{LoadError, one_line};

/// A directory of compiled components, private to this host.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// Uses `dir`, creating it (mode 0700 on Unix) if it does not exist.
    /// Refuses a directory that others may write to.
    pub fn open(dir: impl Into<PathBuf>) -> Result<ArtifactCache, LoadError> {
        let dir = dir.into();
        let fail = |reason: String| LoadError::ArtifactCache { path: dir.clone(), reason };
        create_private_dir(&dir).map_err(|e| fail(format!("cannot create: {e}")))?;
        check_private(&dir).map_err(fail)?;
        Ok(ArtifactCache { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the artifact for `wasm` compiled by `engine` lives.
    pub fn path_for(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        self.dir.join(format!("{}.cwasm", key(engine, wasm)))
    }

    /// The compiled component for `wasm`: loaded from the cache if this host
    /// compiled it before, else compiled and stored. Returns whether it was
    /// a cache hit.
    pub(crate) fn load_or_compile(&self, engine: &Engine, wasm: &[u8]) -> Result<(Component, bool), LoadError> {
        let path = self.path_for(engine, wasm);
        if path.exists() {
            match deserialize_own(engine, &path) {
                Ok(component) => return Ok((component, true)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "compiled artifact does not load; compiling again");
                }
            }
        }
        let component = Component::new(engine, wasm).map_err(|e| LoadError::Invalid(one_line(&e)))?;
        match component.serialize() {
            Ok(bytes) => {
                if let Err(error) = write_whole(&path, &bytes) {
                    tracing::warn!(path = %path.display(), %error, "cannot store the compiled artifact");
                }
            }
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "cannot serialize the compiled component"),
        }
        Ok((component, false))
    }
}

/// Loads an artifact from the private cache directory.
#[expect(unsafe_code, reason = "deserializes an artifact this host compiled and wrote into its private directory")]
fn deserialize_own(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `path` is in a directory this host created private to itself
    // (checked in `ArtifactCache::open`) and named by the hash of the wasm
    // bytes and of the engine configuration; its contents were written,
    // whole, by `write_whole` from `Component::serialize` on an engine of
    // the same configuration. wasmtime still checks the header, version and
    // configuration, and errors on a mismatch.
    unsafe { Component::deserialize_file(engine, path) }
}

fn key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = DigestHasher(Sha256::new());
    hasher.0.update(b"nearcache-artifact-v1\0");
    hasher.0.update(wasm);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Feeds a `Hash` value into a SHA-256 digest.
struct DigestHasher(Sha256);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        // Only the digest is read; `finish` is never used as a key.
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn check_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(dir).map_err(|e| e.to_string())?;
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "others may write to it (mode {:o}); use a directory private to this host",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), String> {
    Ok(())
}
