//! Builds the backends written in other languages than Rust into
//! components of the `nearcache:backend/backend` world, when their
//! toolchains are on this machine.
//!
//! | guest | language | toolchain | policy |
//! | --- | --- | --- | --- |
//! | `guests/python-lfu` | Python | componentize-py | least frequently used |
//! | `guests/js-sized` | JavaScript | componentize-js (npm) | GreedyDual-Size under a byte budget |
//! | `guests/c-fifo` | C | clang + wasi-libc, wit-bindgen-c, wit-component | first in, first out |
//!
//! A guest whose toolchain is missing is [`Outcome::Skipped`], naming what is
//! missing and how to install it, unless [`toolchains_required`] (the
//! environment sets `NEARCACHE_REQUIRE_GUEST_TOOLCHAINS=1`, as CI does), in
//! which case [`build_or_require`] makes it an error. A guest whose sources,
//! WIT, toolchain version and recipe are unchanged since its last build is
//! not rebuilt (see `stamp.rs`).
//!
//! Also builds the hostile guests written in WebAssembly text
//! (`guests/hostile-wat`, see [`hostile_wat`]), which need no toolchain.
//!
//! Used by `tests/build.rs` (the tests' guests) and by the
//! `nearcache-guest-build` binary (the justfile's `guest-*` recipes).

mod c;
mod command;
mod error;
pub mod hostile_wat;
mod js;
mod python;
mod stamp;
mod toolchain;

use std::path::{Path, PathBuf};

pub use error::{BuildError, Missing};
pub use hostile_wat::WatGuest;

/// The environment variable under which a missing toolchain is an error.
pub const REQUIRE_VAR: &str = "NEARCACHE_REQUIRE_GUEST_TOOLCHAINS";

/// Whether a missing toolchain must fail the build: `NEARCACHE_REQUIRE_GUEST_TOOLCHAINS=1`.
pub fn toolchains_required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|value| value == "1")
}

/// The language a guest is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// componentize-py.
    Python,
    /// componentize-js.
    JavaScript,
    /// clang, wasi-libc, wit-bindgen-c, wit-component.
    C,
}

/// A backend written in another language than Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanguageGuest {
    /// The component's file stem and the tests' constant: `python_lfu`.
    pub name: &'static str,
    /// Its sources, relative to the repository root.
    pub dir: &'static str,
    /// What it is written in.
    pub language: Language,
}

/// Every guest this crate builds.
pub const GUESTS: &[LanguageGuest] = &[
    LanguageGuest { name: "python_lfu", dir: "guests/python-lfu", language: Language::Python },
    LanguageGuest { name: "js_sized", dir: "guests/js-sized", language: Language::JavaScript },
    LanguageGuest { name: "c_fifo", dir: "guests/c-fifo", language: Language::C },
];

/// Where components are written unless told otherwise: `guests/target/languages`.
pub fn default_out_dir(root: &Path) -> PathBuf {
    root.join("guests/target/languages")
}

/// What a build did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The component is at `path`; `rebuilt` is false if it was up to date.
    Built {
        /// The component.
        path: PathBuf,
        /// Whether it was (re)built now.
        rebuilt: bool,
    },
    /// The toolchain is missing; nothing was built.
    Skipped(Missing),
}

fn io(guest: &'static str, action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
    let path = path.to_owned();
    move |source| BuildError::Io { guest, action, path, source }
}

/// Files of `dir` (recursively, skipping dependency and output dirs) whose
/// names end with one of `suffixes`, sorted.
fn files(guest: &'static str, dir: &Path, suffixes: &[&str], found: &mut Vec<PathBuf>) -> Result<(), BuildError> {
    for entry in std::fs::read_dir(dir).map_err(io(guest, "read", dir))? {
        let path = entry.map_err(io(guest, "read", dir))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "node_modules" | "__pycache__" | "target") && !name.starts_with('.') {
                files(guest, &path, suffixes, found)?;
            }
        } else if suffixes.iter().any(|suffix| name.ends_with(suffix)) {
            found.push(path);
        }
    }
    found.sort();
    Ok(())
}

impl LanguageGuest {
    /// The guest called `name` (`python_lfu`, or its directory's name `python-lfu`).
    pub fn named(name: &str) -> Option<&'static LanguageGuest> {
        GUESTS.iter().find(|g| g.name == name || g.dir.rsplit('/').next() == Some(name))
    }

    /// The source files of the guest itself.
    pub fn sources(&self, root: &Path) -> Result<Vec<PathBuf>, BuildError> {
        let suffixes: &[&str] = match self.language {
            Language::Python => &[".py"],
            Language::JavaScript => &[".js", "package.json", "package-lock.json"],
            Language::C => &[".c", ".h"],
        };
        let mut found = Vec::new();
        files(self.name, &root.join(self.dir), suffixes, &mut found)?;
        Ok(found)
    }

    /// Everything a build reads that can change: the sources and the WIT.
    /// A build script reruns when one changes.
    pub fn inputs(&self, root: &Path) -> Result<Vec<PathBuf>, BuildError> {
        let mut inputs = self.sources(root)?;
        files(self.name, &root.join("wit"), &[".wit"], &mut inputs)?;
        Ok(inputs)
    }

    /// The component this guest builds to, in `out_dir`.
    pub fn output(&self, out_dir: &Path) -> PathBuf {
        out_dir.join(format!("{}.wasm", self.name))
    }

    fn toolchain(&self, root: &Path) -> Result<toolchain::Tool, Missing> {
        match self.language {
            Language::Python => toolchain::componentize_py(),
            Language::JavaScript => toolchain::componentize_js(&root.join(self.dir)),
            Language::C => toolchain::wasm_clang(),
        }
    }

    /// Builds the guest into `out_dir`, unless its toolchain is missing or
    /// the component there is up to date.
    pub fn build(&self, root: &Path, out_dir: &Path) -> Result<Outcome, BuildError> {
        let tool = match self.toolchain(root) {
            Ok(tool) => tool,
            Err(missing) => return Ok(Outcome::Skipped(missing)),
        };
        let out = self.output(out_dir);
        let wit = root.join("wit");
        let guest_dir = root.join(self.dir);
        // Built under a name of its own, then renamed: a concurrent build or
        // an interrupted one never leaves a half-written component in place.
        let partial = out_dir.join(format!("{}.partial-{}.wasm", self.name, std::process::id()));
        let recipe = match self.language {
            Language::Python => command::describe(&python::command(&tool, &wit, &guest_dir, Path::new("OUT"))),
            Language::JavaScript => command::describe(&js::command(&tool, &wit, &guest_dir, Path::new("OUT"))),
            Language::C => format!("{} {:?} wit-bindgen-c 0.60.0 wit-component 0.254", tool.version, c::CFLAGS),
        };
        let stamp = stamp::compute(self.name, root, &recipe, &tool.version, &self.inputs(root)?)?;
        if stamp::is_fresh(&out, &stamp) {
            return Ok(Outcome::Built { path: out, rebuilt: false });
        }
        std::fs::create_dir_all(out_dir).map_err(io(self.name, "create", out_dir))?;
        let built = match self.language {
            Language::Python => command::run(self.name, python::command(&tool, &wit, &guest_dir, &partial)),
            Language::JavaScript => command::run(self.name, js::command(&tool, &wit, &guest_dir, &partial)),
            Language::C => {
                let mut sources = self.sources(root)?;
                sources.retain(|path| path.extension().is_some_and(|ext| ext == "c"));
                c::build(self.name, &tool, &wit, &sources, &out, &partial)
            }
        };
        if let Err(error) = built {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
        std::fs::rename(&partial, &out).map_err(io(self.name, "rename", &partial))?;
        stamp::record(self.name, &out, &stamp)?;
        Ok(Outcome::Built { path: out, rebuilt: true })
    }

    /// As [`build`](Self::build), but a missing toolchain is an error when
    /// [`toolchains_required`].
    pub fn build_or_require(&self, root: &Path, out_dir: &Path) -> Result<Outcome, BuildError> {
        match self.build(root, out_dir)? {
            Outcome::Skipped(missing) if toolchains_required() => {
                Err(BuildError::Required { guest: self.name, missing })
            }
            outcome => Ok(outcome),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn guests_are_found_by_constant_or_directory_name() {
        assert_eq!(LanguageGuest::named("python_lfu").map(|g| g.dir), Some("guests/python-lfu"));
        assert_eq!(LanguageGuest::named("c-fifo").map(|g| g.name), Some("c_fifo"));
        assert_eq!(LanguageGuest::named("cobol"), None);
    }

    #[test]
    fn inputs_are_the_sources_and_the_wit_but_no_dependencies() {
        for guest in GUESTS {
            let inputs = guest.inputs(&root()).expect("inputs");
            assert!(inputs.iter().any(|p| p.ends_with("wit/backend.wit")), "{inputs:?}");
            assert!(inputs.iter().any(|p| p.starts_with(root().join(guest.dir))), "{inputs:?}");
            assert!(!inputs.iter().any(|p| p.components().any(|c| c.as_os_str() == "node_modules")), "{inputs:?}");
        }
    }

    #[test]
    fn a_stamp_changes_with_any_input_and_marks_the_output_fresh() {
        let dir = std::env::temp_dir().join(format!("guest-build-stamp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("app.py");
        let wasm = dir.join("app.wasm");
        std::fs::write(&input, "one").unwrap();
        let first = stamp::compute("app", &dir, "recipe", "1.0", std::slice::from_ref(&input)).unwrap();
        assert!(!stamp::is_fresh(&wasm, &first), "no component yet");
        std::fs::write(&wasm, "component").unwrap();
        stamp::record("app", &wasm, &first).unwrap();
        assert!(stamp::is_fresh(&wasm, &first));
        std::fs::write(&input, "two").unwrap();
        let second = stamp::compute("app", &dir, "recipe", "1.0", std::slice::from_ref(&input)).unwrap();
        let upgraded = stamp::compute("app", &dir, "recipe", "1.1", std::slice::from_ref(&input)).unwrap();
        assert!(second != first && upgraded != second);
        assert!(!stamp::is_fresh(&wasm, &second));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
