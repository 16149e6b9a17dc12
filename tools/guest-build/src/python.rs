//! The Python guest: componentize-py bundles CPython, the app module and
//! the modules it imports into one component.

use std::path::Path;
use std::process::Command;

use crate::toolchain::Tool;

/// The componentize-py command that builds `guest_dir/app.py` into `out`.
///
/// `--stub-wasi` replaces CPython's WASI imports (files, sockets, clocks...)
/// with stubs that trap, so the component imports only the backend's `host`.
pub(crate) fn command(tool: &Tool, wit: &Path, guest_dir: &Path, out: &Path) -> Command {
    let mut command = tool.command();
    command
        .arg("-d")
        .arg(wit)
        .args(["-w", "backend", "componentize", "app", "--stub-wasi", "-o"])
        .arg(out)
        .current_dir(guest_dir)
        // Keep the source tree free of __pycache__ directories.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}
