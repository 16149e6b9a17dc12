//! The path of the rust-store guest, built on demand.
//!
//! `cargo test --workspace` builds every guest through the build script of
//! nearcache-tests; this crate's own tests and benchmarks may run alone, so
//! they build the one guest they need the same way if it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `guests/target/wasm32-wasip2/release/rust_store.wasm`, built if missing.
pub fn rust_store() -> PathBuf {
    let guests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests");
    let target = guests.join("target");
    let wasm = target.join("wasm32-wasip2/release/rust_store.wasm");
    if !wasm.is_file() {
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["build", "--release", "--target", "wasm32-wasip2", "-p", "rust-store", "--manifest-path"])
            .arg(guests.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .status()
            .expect("run cargo to build guests/rust-store");
        assert!(status.success(), "building guests/rust-store failed; is the wasm32-wasip2 target installed?");
    }
    wasm
}
