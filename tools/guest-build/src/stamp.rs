//! Build stamps: a guest is rebuilt only when its sources, the WIT, the
//! toolchain's version or the build recipe changed. A stamp is the SHA-256
//! of all of those, kept beside the component as `NAME.wasm.stamp`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::BuildError;

/// The stamp of one build: hex SHA-256 over the recipe, the tool version and
/// every input file (its path relative to `root`, then its bytes).
pub(crate) fn compute(
    guest: &'static str,
    root: &Path,
    recipe: &str,
    tool_version: &str,
    inputs: &[PathBuf],
) -> Result<String, BuildError> {
    let mut hasher = Sha256::new();
    for part in [guest, recipe, tool_version] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    for input in inputs {
        let bytes = std::fs::read(input).map_err(|source| BuildError::Io {
            guest,
            action: "read",
            path: input.clone(),
            source,
        })?;
        hasher.update(input.strip_prefix(root).unwrap_or(input).to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn stamp_path(wasm: &Path) -> PathBuf {
    let mut name = wasm.as_os_str().to_owned();
    name.push(".stamp");
    PathBuf::from(name)
}

/// Whether `wasm` exists and was built from inputs with this stamp.
pub(crate) fn is_fresh(wasm: &Path, stamp: &str) -> bool {
    wasm.is_file() && std::fs::read_to_string(stamp_path(wasm)).is_ok_and(|recorded| recorded == stamp)
}

/// Records that `wasm` was built from inputs with this stamp.
pub(crate) fn record(guest: &'static str, wasm: &Path, stamp: &str) -> Result<(), BuildError> {
    let path = stamp_path(wasm);
    std::fs::write(&path, stamp).map_err(|source| BuildError::Io { guest, action: "write", path, source })
}
