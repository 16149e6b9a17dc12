//! The hostile guests written in WebAssembly text (`guests/hostile-wat`):
//! core modules that use what no compiler for a backend language emits
//! (GC types, non-final function types), wrapped into components of the
//! `nearcache:backend/backend` world with wit-component. They need no
//! toolchain, so they are always built.

use std::path::{Path, PathBuf};

use wit_component::{ComponentEncoder, StringEncoding};

use crate::error::BuildError;

/// Where their sources are, relative to the repository root.
pub const DIR: &str = "guests/hostile-wat";

/// The name errors give these guests.
const GUEST: &str = DIR;

/// A hostile guest written in WebAssembly text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatGuest {
    /// Its source, a core module: `guests/hostile-wat/gc-struct-array.wat`.
    pub source: PathBuf,
    /// Its component's file stem and the tests' constant:
    /// `hostile_gc_struct_array`.
    pub name: String,
}

impl WatGuest {
    /// Every `.wat` file in [`DIR`], sorted.
    pub fn all(root: &Path) -> Result<Vec<WatGuest>, BuildError> {
        let mut sources = Vec::new();
        crate::files(GUEST, &root.join(DIR), &[".wat"], &mut sources)?;
        Ok(sources.into_iter().map(WatGuest::new).collect())
    }

    /// The guest whose source is `source`.
    pub fn new(source: PathBuf) -> WatGuest {
        let stem = source.file_stem().unwrap_or_default().to_string_lossy().replace('-', "_");
        WatGuest { name: format!("hostile_{stem}"), source }
    }

    /// The guest called `name` (`hostile_gc_struct_array`).
    pub fn named(root: &Path, name: &str) -> Result<Option<WatGuest>, BuildError> {
        Ok(WatGuest::all(root)?.into_iter().find(|guest| guest.name == name))
    }

    /// Builds the component into `out_dir` and returns its path. Parsing
    /// the text and wrapping the module take milliseconds, so it is built
    /// every time rather than stamped.
    pub fn build(&self, root: &Path, out_dir: &Path) -> Result<PathBuf, BuildError> {
        let step = |step: &'static str| {
            let source = self.source.display().to_string();
            move |error: anyhow::Error| BuildError::Component {
                guest: GUEST,
                step,
                message: format!("{source}: {error:#}"),
            }
        };
        let (resolve, world) = crate::c::load_world(GUEST, &root.join("wit"))?;
        let mut module = wat::parse_file(&self.source).map_err(|e| step("parse the text")(e.into()))?;
        wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
            .map_err(step("embed the world"))?;
        let component = ComponentEncoder::default()
            .module(&module)
            .and_then(|encoder| encoder.validate(true).encode())
            .map_err(step("make the component"))?;
        std::fs::create_dir_all(out_dir).map_err(crate::io(GUEST, "create", out_dir))?;
        let out = out_dir.join(format!("{}.wasm", self.name));
        // Written under a name of its own, then renamed: a concurrent build
        // never leaves a half-written component in place.
        let partial = out_dir.join(format!("{}.partial-{}.wasm", self.name, std::process::id()));
        std::fs::write(&partial, component).map_err(crate::io(GUEST, "write", &partial))?;
        std::fs::rename(&partial, &out).map_err(crate::io(GUEST, "rename", &partial))?;
        Ok(out)
    }
}

/// Where the components go unless told otherwise: `guests/target/hostile-wat`.
pub fn default_out_dir(root: &Path) -> PathBuf {
    root.join("guests/target/hostile-wat")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wat_guest_builds_into_a_component_of_the_backend_world() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out_dir = std::env::temp_dir().join(format!("guest-build-wat-{}", std::process::id()));
        let guests = WatGuest::all(&root).expect("list the guests");
        assert!(guests.iter().any(|guest| guest.name == "hostile_non_final_call_indirect"), "{guests:?}");
        for guest in guests {
            let path = guest.build(&root, &out_dir).unwrap_or_else(|error| panic!("{error}"));
            let bytes = std::fs::read(&path).expect("read the component");
            // A component's preamble: `\0asm`, version 0x0d, layer 1.
            assert_eq!(bytes.get(..8), Some(&b"\0asm\x0d\0\x01\0"[..]), "{}", path.display());
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.contains("nearcache:backend/store@0.1.0"), "{} does not export the store", path.display());
        }
        std::fs::remove_dir_all(&out_dir).expect("remove the output");
    }
}
