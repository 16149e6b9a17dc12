//! `nearcache check`, run as a user would: the built binary, on the rust
//! guest and the guests in other languages (pass) and on a file that is not
//! wasm (one-line error).

mod support {
    pub mod language_guest;
    pub mod rust_guest;
}

use std::process::Command;

fn nearcache() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nearcache"))
}

#[test]
fn check_passes_the_rust_guest() {
    let guest = support::rust_guest::rust_store();
    let output = nearcache().args(["check", "--cases", "64"]).arg(&guest).output().expect("run nearcache");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "nearcache check failed:\n{stdout}\n{stderr}");
    // The world: the backend's export, and imports the host provides (the
    // guest never logs, so it does not import `host`; std imports wasi:cli).
    assert!(stdout.contains("export nearcache:backend/store@0.1.0;"), "{stdout}");
    assert!(stdout.contains("import wasi:cli/stderr@0.2"), "{stdout}");
    // A latency row for the hot callbacks.
    for call in ["get", "put", "invalidate-refs", "sweep"] {
        assert!(
            stdout.lines().any(|line| line.starts_with(&format!("{call} "))),
            "no latency row for {call}:\n{stdout}"
        );
    }
    let checks = nearcache::conformance::check_names().len();
    assert_eq!(stdout.lines().last(), Some(format!("{checks} passed, 0 failed").as_str()), "{stdout}");
}

#[test]
fn check_rejects_a_file_that_is_not_wasm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("backend.wasm");
    std::fs::write(&path, "#!/bin/sh\necho not wasm\n").expect("write");
    let output = nearcache().arg("check").arg(&path).output().expect("run nearcache");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.contains("not a WebAssembly file") && stderr.contains("backend.wasm"), "{stderr}");
    assert!(output.stdout.is_empty(), "printed before failing: {}", String::from_utf8_lossy(&output.stdout));
}

/// `nearcache check` on a guest in another language: the world is the
/// backend's and nothing else (no WASI), and the closing line counts every
/// check, the skipped ones being the reference checks of options the guest
/// refuses.
fn check_passes_a_language_guest(name: &str, skipped: usize) {
    let Some(guest) = support::language_guest::built(name) else { return };
    let output = nearcache().args(["check", "--cases", "64"]).arg(&guest).output().expect("run nearcache");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "nearcache check {name} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("export nearcache:backend/store@0.1.0;"), "{stdout}");
    assert!(!stdout.contains("import wasi:"), "{name} imports WASI:\n{stdout}");
    let passed = nearcache::conformance::check_names().len() - skipped;
    let closing = format!("{passed} passed, 0 failed, {skipped} skipped");
    assert_eq!(stdout.lines().last(), Some(closing.as_str()), "{stdout}");
}

#[test]
fn check_passes_the_python_guest() {
    check_passes_a_language_guest("python_lfu", 4);
}

#[test]
fn check_passes_the_javascript_guest() {
    check_passes_a_language_guest("js_sized", 4);
}

#[test]
fn check_passes_the_c_guest() {
    check_passes_a_language_guest("c_fifo", 2);
}
