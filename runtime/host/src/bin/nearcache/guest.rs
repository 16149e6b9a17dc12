//! The Rust guest the demo swaps in: `--guest PATH`, or this repository's
//! build of `guests/rust-store`, built with cargo on first use.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository's guests workspace, as of this binary's build.
const GUESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guests");

/// The component of `guests/rust-store` in the guests' own target directory.
pub fn default_path() -> PathBuf {
    Path::new(GUESTS).join("target/wasm32-wasip2/release/rust_store.wasm")
}

/// The guest to use: `given`, or the repository's, built if missing
/// (`say` announces the build, which takes a while the first time).
pub fn rust_guest(given: Option<&Path>, say: impl Fn(&str)) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return if path.is_file() { Ok(path.to_owned()) } else { Err(format!("{} does not exist", path.display())) };
    }
    let wasm = default_path();
    if wasm.is_file() {
        return Ok(wasm);
    }
    let guests = Path::new(GUESTS);
    if !guests.join("Cargo.toml").is_file() {
        return Err(format!("{} is not there to build from; pass --guest PATH", guests.display()));
    }
    say("building the Rust guest (guests/rust-store, first run only)...");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--quiet", "--target", "wasm32-wasip2", "-p", "rust-store", "--manifest-path"])
        .arg(guests.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", guests.join("target"))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // What an enclosing `cargo run` set must not leak into the guest build.
    for var in
        ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "RUSTC_WORKSPACE_WRAPPER", "RUSTC_WRAPPER", "CARGO_BUILD_TARGET"]
    {
        command.env_remove(var);
    }
    let status = command.status().map_err(|e| format!("cannot run cargo to build the Rust guest: {e}"))?;
    if status.success() && wasm.is_file() {
        Ok(wasm)
    } else {
        Err(format!(
            "building guests/rust-store failed ({status}); is the wasm32-wasip2 target installed \
             (`rustup target add wasm32-wasip2`)? Or pass --guest PATH"
        ))
    }
}
