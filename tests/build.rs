//! Builds the guests (`guests/`, a workspace of its own) for wasm32-wasip2
//! and tells the tests where each component is.
//!
//! Generates `$OUT_DIR/guests.rs` with one `&str` constant per guest (its
//! path) and a `foreach_guest!` / `foreach_hostile_guest!` macro, so a test
//! file can make a guest without a test a compile error.
//!
//! Also wraps the hostile guests written in WebAssembly text
//! (`guests/hostile-wat/*.wat`) into components; they join the hostile
//! guests' constants and macro.
//!
//! Also builds the guests in other languages (Python, JavaScript, C; see
//! `tools/guest-build`) when their toolchains are found: one
//! `LanguageGuest` constant each, holding the component's path or why it was
//! not built, and a `foreach_language_guest!` macro. A missing toolchain is a
//! `cargo:warning`, or a build error under `NEARCACHE_REQUIRE_GUEST_TOOLCHAINS=1`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use nearcache_guest_build::WatGuest;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("tests/ is inside the repository").to_owned();
    let guests = root.join("guests");

    let mut crates = vec![guests.join("rust-store")];
    let mut hostile: Vec<PathBuf> = fs::read_dir(guests.join("hostile"))
        .expect("guests/hostile exists")
        .map(|entry| entry.expect("readable guests/hostile").path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    hostile.sort();
    crates.extend(hostile.iter().cloned());

    for path in [
        guests.join("Cargo.toml"),
        guests.join("Cargo.lock"),
        guests.join("support"),
        guests.join("hostile"),
        guests.join("hostile-wat"),
        root.join("wit"),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-changed={}", root.join("runtime/store/src").display());
    println!("cargo:rerun-if-changed={}", root.join("runtime/store/Cargo.toml").display());
    for krate in &crates {
        println!("cargo:rerun-if-changed={}", krate.join("Cargo.toml").display());
        println!("cargo:rerun-if-changed={}", krate.join("src").display());
    }

    let target_dir = guests.join("target");
    build_guests(&guests, &target_dir);

    let release = target_dir.join("wasm32-wasip2/release");
    let mut out = String::new();
    let mut all = Vec::new();
    let mut hostile_names = Vec::new();
    for krate in &crates {
        let package = package_name(krate);
        let ident = package.replace('-', "_");
        let wasm = release.join(format!("{ident}.wasm"));
        assert!(wasm.is_file(), "the guest build did not produce {}", wasm.display());
        writeln!(out, "/// `{}`, built for wasm32-wasip2.", display_from(&root, krate)).unwrap();
        writeln!(out, "pub const {}: &str = {:?};", ident.to_uppercase(), wasm.display().to_string()).unwrap();
        if hostile.contains(krate) {
            hostile_names.push(ident.clone());
        }
        all.push(ident);
    }
    for (guest, wasm) in wat_guests(&root) {
        writeln!(out, "/// `{}`, wrapped into a component.", display_from(&root, &guest.source)).unwrap();
        writeln!(out, "pub const {}: &str = {:?};", guest.name.to_uppercase(), wasm.display().to_string()).unwrap();
        hostile_names.push(guest.name.clone());
        all.push(guest.name);
    }
    writeln!(out, "{}", foreach_macro("foreach_guest", "Calls `$mac!(name)` for every guest.", &all)).unwrap();
    let doc = "Calls `$mac!(name)` for every hostile guest.";
    writeln!(out, "{}", foreach_macro("foreach_hostile_guest", doc, &hostile_names)).unwrap();
    out.push_str(&language_guests(&root));

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out_dir.join("guests.rs"), out).expect("write guests.rs");
}

fn build_guests(guests: &Path, target_dir: &Path) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(guests.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(guests);
    // What this build script's own cargo set must not leak into the guest
    // build: host rustflags, clippy's wrapper, and the host profile.
    for var in
        ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "RUSTC_WORKSPACE_WRAPPER", "RUSTC_WRAPPER", "CARGO_BUILD_TARGET"]
    {
        command.env_remove(var);
    }
    for (var, _) in env::vars_os() {
        if var.to_string_lossy().starts_with("CARGO_PROFILE_") {
            command.env_remove(var);
        }
    }
    let status = command.status().expect("run cargo to build the guests");
    assert!(
        status.success(),
        "building the guests failed ({status}); is the wasm32-wasip2 target installed? \
         (`rustup target add wasm32-wasip2`)"
    );
}

/// Builds the hostile guests written in WebAssembly text; returns each
/// one with its component.
fn wat_guests(root: &Path) -> Vec<(WatGuest, PathBuf)> {
    let out_dir = nearcache_guest_build::hostile_wat::default_out_dir(root);
    let guests = WatGuest::all(root).unwrap_or_else(|error| panic!("{error}"));
    guests
        .into_iter()
        .map(|guest| {
            let wasm = guest.build(root, &out_dir).unwrap_or_else(|error| panic!("{error}"));
            (guest, wasm)
        })
        .collect()
}

/// Builds the guests in other languages, side by side (their toolchains are
/// slow and single-threaded), and returns their constants and macro.
fn language_guests(root: &Path) -> String {
    use nearcache_guest_build::{GUESTS, Outcome, REQUIRE_VAR, default_out_dir};

    println!("cargo:rerun-if-env-changed={REQUIRE_VAR}");
    println!("cargo:rerun-if-env-changed=PATH");
    for var in ["COMPONENTIZE_PY", "NEARCACHE_WASM_CC"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    // Appears or changes when `npm ci` installs the JavaScript toolchain.
    let componentize_js = root.join("guests/js-sized/node_modules/@bytecodealliance/componentize-js/package.json");
    println!("cargo:rerun-if-changed={}", componentize_js.display());
    for guest in GUESTS {
        let inputs = guest.inputs(root).unwrap_or_else(|error| panic!("{error}"));
        for input in inputs {
            println!("cargo:rerun-if-changed={}", input.display());
        }
    }

    let out_dir = default_out_dir(root);
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let builds: Vec<_> =
            GUESTS.iter().map(|guest| scope.spawn(|| guest.build_or_require(root, &out_dir))).collect();
        builds.into_iter().map(|build| build.join().expect("a guest build panicked")).collect()
    });

    let mut out = String::new();
    let mut names = Vec::new();
    for (guest, outcome) in GUESTS.iter().zip(outcomes) {
        let built = match outcome {
            Ok(Outcome::Built { path, .. }) => format!("Ok({:?})", path.display().to_string()),
            Ok(Outcome::Skipped(missing)) => {
                println!("cargo:warning=not building {}: {missing}", guest.dir);
                format!("Err({:?})", missing.to_string())
            }
            Err(error) => panic!("{error}"),
        };
        writeln!(out, "/// `{}`, a {:?} guest: its component, or why it was not built.", guest.dir, guest.language)
            .unwrap();
        writeln!(
            out,
            "pub const {}: crate::LanguageGuest = crate::LanguageGuest {{ name: {:?}, built: {built} }};",
            guest.name.to_uppercase(),
            guest.name
        )
        .unwrap();
        names.push(guest.name.to_owned());
    }
    let doc = "Calls `$mac!(name)` for every guest in another language.";
    writeln!(out, "{}", foreach_macro("foreach_language_guest", doc, &names)).unwrap();
    out
}

fn package_name(krate: &Path) -> String {
    let manifest = fs::read_to_string(krate.join("Cargo.toml")).expect("read a guest's Cargo.toml");
    manifest
        .lines()
        .find_map(|line| line.strip_prefix("name = "))
        .map(|name| name.trim().trim_matches('"').to_owned())
        .expect("a guest's Cargo.toml has a `name = ...` line")
}

fn display_from(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

fn foreach_macro(name: &str, doc: &str, idents: &[String]) -> String {
    let mut text = format!("/// {doc}\n#[macro_export]\nmacro_rules! {name} {{\n    ($mac:ident) => {{\n");
    for ident in idents {
        writeln!(text, "        $mac!({ident});").unwrap();
    }
    text.push_str("    };\n}\n");
    text
}
