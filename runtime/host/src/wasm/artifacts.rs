//! The on-disk cache of compiled components.
//!
//! Compiling a component with Cranelift takes tens of milliseconds; loading
//! the compiled artifact takes a tenth of one. Artifacts are keyed by the
//! SHA-256 of the wasm bytes and of the engine's compatibility hash (the
//! wasmtime version and every `Config` setting that affects code), so a
//! changed component, a new wasmtime or another `Config` never reuses one.
//!
//! Deserializing an artifact runs its machine code, so only bytes this
//! user wrote may be loaded. The directory is trusted only if this process's
//! user (its effective uid) owns it and no one else may write to it; an
//! artifact only if it is a regular file, not a symbolic link, owned by this
//! user, that no one else may write to. These are checked on every load (on
//! the open file itself, so what is checked is what is read). An untrusted
//! directory or artifact is not read: the component is compiled from its
//! bytes instead, and why is logged once and reported in
//! [`ComponentInfo::untrusted_artifact`](super::ComponentInfo::untrusted_artifact).
//! Files are written whole (temporary file, then rename), private to the
//! user, and a file that does not load is compiled again and replaced.

use std::collections::HashSet;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::load_error::{LoadError, one_line};

/// A directory of compiled components, private to this host.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
    /// The refusals already logged, so each is logged once.
    logged: Arc<Mutex<HashSet<String>>>,
}

/// A compiled component, and where its code came from.
pub(crate) struct Compiled {
    pub component: Component,
    /// Loaded from the cache rather than compiled.
    pub from_cache: bool,
    /// Why the cache's directory or artifact was not trusted, if it was not.
    pub untrusted: Option<String>,
}

impl ArtifactCache {
    /// Uses `dir`, creating it (mode 0700 on Unix) if it does not exist.
    /// Refuses a directory that others may write to. A directory another
    /// user owns is accepted here but never read from: every load compiles,
    /// and says why.
    pub fn open(dir: impl Into<PathBuf>) -> Result<ArtifactCache, LoadError> {
        let dir = dir.into();
        let fail = |reason: String| LoadError::ArtifactCache { path: dir.clone(), reason };
        create_private_dir(&dir).map_err(|e| fail(format!("cannot create: {e}")))?;
        check_private(&dir).map_err(fail)?;
        Ok(ArtifactCache { dir, logged: Arc::default() })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the artifact for `wasm` compiled by `engine` lives.
    pub fn path_for(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        self.dir.join(format!("{}.cwasm", key(engine, wasm)))
    }

    /// The compiled component for `wasm`: loaded from the cache if this
    /// user compiled it before and the cache can be trusted, else compiled
    /// and, if the directory can be trusted, stored.
    pub(crate) fn load_or_compile(&self, engine: &Engine, wasm: &[u8]) -> Result<Compiled, LoadError> {
        let path = self.path_for(engine, wasm);
        let dir_trusted = match trusted::directory(&self.dir) {
            Ok(()) => true,
            Err(reason) => {
                let untrusted = format!(
                    "compiled-artifact cache {} is not used: {reason}; compiling from the wasm bytes instead",
                    self.dir.display()
                );
                self.log_once(&untrusted);
                let component = compile(engine, wasm)?;
                return Ok(Compiled { component, from_cache: false, untrusted: Some(untrusted) });
            }
        };
        let mut untrusted = None;
        match trusted::open_artifact(&path) {
            Ok(Some(file)) => match deserialize_own(engine, file) {
                Ok(component) => return Ok(Compiled { component, from_cache: true, untrusted: None }),
                Err(error) => {
                    tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "compiled artifact does not load; compiling again");
                }
            },
            Ok(None) => {}
            Err(reason) => {
                let message = format!(
                    "compiled artifact {} is not loaded: {reason}; compiling from the wasm bytes instead",
                    path.display()
                );
                self.log_once(&message);
                untrusted = Some(message);
            }
        }
        let component = compile(engine, wasm)?;
        if dir_trusted {
            // Replaces an untrusted artifact too: the rename swaps the
            // directory entry, whatever it was, for this user's own file.
            match component.serialize() {
                Ok(bytes) => {
                    if let Err(error) = write_whole(&path, &bytes) {
                        tracing::warn!(path = %path.display(), %error, "cannot store the compiled artifact");
                    }
                }
                Err(error) => tracing::warn!(error = %format!("{error:#}"), "cannot serialize the compiled component"),
            }
        }
        Ok(Compiled { component, from_cache: false, untrusted })
    }

    /// Logs `refusal` unless it was logged before: a cache that cannot be
    /// trusted would otherwise say so on every load and every reload.
    /// Returns whether it was logged now.
    fn log_once(&self, refusal: &str) -> bool {
        let first = self.logged.lock().unwrap_or_else(|p| p.into_inner()).insert(refusal.to_owned());
        if first {
            tracing::warn!("{refusal}");
        }
        first
    }
}

fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, wasm).map_err(|e| LoadError::Invalid(one_line(&e)))
}

/// Loads an artifact from the cache.
#[expect(unsafe_code, reason = "deserializes an artifact this user compiled and wrote into its private directory")]
fn deserialize_own(engine: &Engine, mut file: fs::File) -> wasmtime::Result<Component> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    // SAFETY: `file` was opened, without following symbolic links, in a
    // directory that this user owns and no one else may write to, and was
    // itself checked (through the open file) to be a regular file this
    // user owns and no one else may write to (`trusted`). It is named by
    // the hash of the wasm bytes and of the engine configuration, and was
    // written, whole, by `write_whole` from `Component::serialize` on an
    // engine of the same configuration. wasmtime still checks the header,
    // version and configuration, and errors on a mismatch.
    unsafe { Component::deserialize(engine, &bytes) }
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
    // A leftover of an earlier process with this id: removed, never
    // followed or appended to.
    let _ = fs::remove_file(&tmp);
    let mut file = private_file_options().open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// A new file that only this user may write to, whatever the umask says:
/// an artifact others could write to would not be trusted.
fn private_file_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
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

/// What `open` refuses: a directory others may write to.
#[cfg(unix)]
fn check_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(dir).map_err(|e| e.to_string())?;
    trusted::not_writable_by_others(meta.mode()).map_err(|e| format!("{e}; use a directory private to this host"))
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), String> {
    Ok(())
}

/// Whether a directory or an artifact can be trusted: each check returns
/// why not, as a phrase.
#[cfg(unix)]
mod trusted {
    use std::fs::{self, File, Metadata};
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    use rustix::fs::{Mode, OFlags};
    use rustix::io::Errno;

    /// The directory: this user's, and no one else may write to it.
    pub(super) fn directory(dir: &Path) -> Result<(), String> {
        let meta = fs::metadata(dir).map_err(|e| format!("cannot read its metadata: {e}"))?;
        if !meta.is_dir() {
            return Err("it is not a directory".to_owned());
        }
        owned_and_private(&meta)
    }

    /// The artifact at `path`, opened if it exists and can be trusted:
    /// not a symbolic link (the open does not follow one), a regular file,
    /// this user's, and no one else may write to it. `None` if there is no
    /// artifact yet.
    pub(super) fn open_artifact(path: &Path) -> Result<Option<File>, String> {
        // Not blocking: a FIFO in the artifact's place must not hang the load.
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let file = match rustix::fs::open(path, flags, Mode::empty()) {
            Ok(fd) => File::from(fd),
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP) => return Err("it is a symbolic link".to_owned()),
            Err(errno) => return Err(format!("cannot open it: {}", std::io::Error::from(errno))),
        };
        // Of the open file, not of the path: what is checked is what is read.
        let meta = file.metadata().map_err(|e| format!("cannot read its metadata: {e}"))?;
        if !meta.is_file() {
            return Err("it is not a regular file".to_owned());
        }
        owned_and_private(&meta)?;
        Ok(Some(file))
    }

    fn owned_and_private(meta: &Metadata) -> Result<(), String> {
        let (owner, me) = (meta.uid(), rustix::process::geteuid().as_raw());
        if owner != me {
            return Err(format!("it is owned by uid {owner}, not by this process's user (uid {me})"));
        }
        not_writable_by_others(meta.mode())
    }

    pub(super) fn not_writable_by_others(mode: u32) -> Result<(), String> {
        if mode & 0o022 != 0 {
            return Err(format!("others may write to it (mode {:o})", mode & 0o777));
        }
        Ok(())
    }
}

/// Without Unix ownership and modes, the directory is trusted as `open`
/// found it.
#[cfg(not(unix))]
mod trusted {
    use std::fs::File;
    use std::path::Path;

    pub(super) fn directory(_: &Path) -> Result<(), String> {
        Ok(())
    }

    pub(super) fn open_artifact(path: &Path) -> Result<Option<File>, String> {
        match File::open(path) {
            Ok(file) => Ok(Some(file)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(format!("cannot open it: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_is_logged_once_by_every_clone() {
        let dir = std::env::temp_dir().join(format!("nearcache-log-once-{}", std::process::id()));
        let cache = ArtifactCache::open(&dir).unwrap();
        let clone = cache.clone();
        assert!(cache.log_once("directory d is not used: reason"));
        assert!(!cache.log_once("directory d is not used: reason"));
        assert!(!clone.log_once("directory d is not used: reason"));
        assert!(clone.log_once("artifact a is not loaded: reason"));
        fs::remove_dir(&dir).unwrap();
    }
}
