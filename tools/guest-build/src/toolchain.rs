//! Finding each language's toolchain on this machine.
//!
//! A toolchain is found or [`Missing`]; nothing is installed here (`.ci/run`
//! installs them). Each found tool reports a version string, which goes into
//! the build stamp so an upgrade rebuilds the guest.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::Missing;

/// A program found on this machine, with the arguments that come before
/// any others (e.g. `python3 -m componentize_py`).
#[derive(Debug, Clone)]
pub(crate) struct Tool {
    pub program: OsString,
    pub leading_args: Vec<OsString>,
    /// What `--version` printed, for the build stamp.
    pub version: String,
}

impl Tool {
    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.leading_args);
        command
    }
}

/// Runs `program args...` and returns its trimmed stdout if it succeeds.
fn probe(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// componentize-py: `$COMPONENTIZE_PY`, else on PATH, else the Python module.
pub(crate) fn componentize_py() -> Result<Tool, Missing> {
    let explicit = std::env::var_os("COMPONENTIZE_PY");
    let candidates: Vec<(OsString, Vec<OsString>)> = match explicit {
        Some(program) => vec![(program, vec![])],
        None => {
            vec![("componentize-py".into(), vec![]), ("python3".into(), vec!["-m".into(), "componentize_py".into()])]
        }
    };
    for (program, leading_args) in candidates {
        let mut args: Vec<&str> = leading_args.iter().filter_map(|a| a.to_str()).collect();
        args.push("--version");
        if let Some(version) = probe(&program, &args) {
            return Ok(Tool { program, leading_args, version });
        }
    }
    Err(Missing { what: "componentize-py (not on PATH, nor a python3 module)".into(), install: INSTALL_PY })
}

/// `pip install` line for componentize-py; the version `.ci/run` pins.
pub const INSTALL_PY: &str = "pip install componentize-py==0.25.1";
/// How the JavaScript guest's toolchain is installed.
pub const INSTALL_JS: &str = "npm ci --prefix guests/js-sized";
/// How the C guest's toolchain is installed (Debian).
pub const INSTALL_C: &str = "apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32";

/// componentize-js from the guest's own `node_modules` (as `npm ci` put it
/// there from the committed lockfile), run by `node`.
pub(crate) fn componentize_js(guest_dir: &Path) -> Result<Tool, Missing> {
    let package = guest_dir.join("node_modules/@bytecodealliance/componentize-js");
    let script = package.join("src/cli.js");
    let manifest = std::fs::read_to_string(package.join("package.json")).ok();
    let node_version = probe("node", &["--version"]);
    match (manifest, node_version, script.is_file()) {
        (Some(manifest), Some(node), true) => {
            let version = manifest
                .lines()
                .find(|line| line.trim_start().starts_with("\"version\""))
                .unwrap_or("\"version\": unknown")
                .trim()
                .to_owned();
            Ok(Tool {
                program: "node".into(),
                leading_args: vec![script.into_os_string()],
                version: format!("componentize-js {version}, node {node}"),
            })
        }
        (_, None, _) => Err(Missing { what: "node (not on PATH)".into(), install: "apt-get install nodejs npm" }),
        _ => Err(Missing { what: format!("componentize-js (no {})", script.display()), install: INSTALL_JS }),
    }
}

/// A clang that targets wasm32-wasi and finds wasi-libc and wasm-ld:
/// `$NEARCACHE_WASM_CC`, else the first of clang-19..clang-22, clang.
pub(crate) fn wasm_clang() -> Result<Tool, Missing> {
    let candidates: Vec<OsString> = match std::env::var_os("NEARCACHE_WASM_CC") {
        Some(cc) => vec![cc],
        None => ["clang-19", "clang-20", "clang-21", "clang-22", "clang"].iter().map(OsString::from).collect(),
    };
    let mut found_clang = None;
    for cc in candidates {
        let Some(version) = probe(&cc, &["--version"]) else { continue };
        let libc = probe(&cc, &["--target=wasm32-wasi", "-print-file-name=libc.a"]);
        let linker = probe(&cc, &["--target=wasm32-wasi", "-print-prog-name=wasm-ld"]);
        let is_path = |found: &Option<String>| found.as_deref().is_some_and(|p| PathBuf::from(p).is_absolute());
        if is_path(&libc) && is_path(&linker) {
            let version = version.lines().next().unwrap_or_default().to_owned();
            return Ok(Tool { program: cc, leading_args: vec![], version });
        }
        found_clang.get_or_insert(cc);
    }
    let what = match found_clang {
        Some(cc) => format!("wasi-libc or wasm-ld for {} --target=wasm32-wasi", cc.to_string_lossy()),
        None => "clang (clang-19..22 or clang on PATH)".to_owned(),
    };
    Err(Missing { what, install: INSTALL_C })
}
