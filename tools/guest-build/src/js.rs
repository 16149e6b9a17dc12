//! The JavaScript guest: componentize-js (SpiderMonkey via StarlingMonkey)
//! pre-initializes the engine with the module and wraps it as a component.

use std::path::Path;
use std::process::Command;

use crate::toolchain::Tool;

/// The componentize-js command that builds `guest_dir/src/index.js` into `out`.
///
/// `-d` with every feature leaves out the engine's WASI imports (stdio,
/// random, clocks, http), so the component imports only the backend's `host`.
pub(crate) fn command(tool: &Tool, wit: &Path, guest_dir: &Path, out: &Path) -> Command {
    let mut command = tool.command();
    command
        .arg("src/index.js")
        .arg("--wit")
        .arg(wit)
        .args(["-n", "backend", "-d", "stdio", "random", "clocks", "http", "fetch-event", "-o"])
        .arg(out)
        .current_dir(guest_dir);
    command
}
