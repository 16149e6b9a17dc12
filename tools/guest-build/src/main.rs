//! `nearcache-guest-build [--out DIR] [GUEST...]`: builds the Python,
//! JavaScript and C guests (all, or those named) into `guests/target/languages`
//! and prints one line per guest: built, up to date, or skipped and why.
//! Exits non-zero if a build fails, or if a toolchain is missing under
//! `NEARCACHE_REQUIRE_GUEST_TOOLCHAINS=1`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nearcache_guest_build::{GUESTS, LanguageGuest, Outcome, default_out_dir};

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let mut out_dir = default_out_dir(&root);
    let mut selected: Vec<&'static LanguageGuest> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => match args.next() {
                Some(dir) => out_dir = PathBuf::from(dir),
                None => return usage("--out needs a directory"),
            },
            "-h" | "--help" => return usage(""),
            name => match LanguageGuest::named(name) {
                Some(guest) => selected.push(guest),
                None => return usage(&format!("no guest named `{name}`")),
            },
        }
    }
    if selected.is_empty() {
        selected = GUESTS.iter().collect();
    }
    let mut failed = false;
    for guest in selected {
        match guest.build_or_require(&root, &out_dir) {
            Ok(Outcome::Built { path, rebuilt: true }) => println!("built       {}", path.display()),
            Ok(Outcome::Built { path, rebuilt: false }) => println!("up to date  {}", path.display()),
            Ok(Outcome::Skipped(missing)) => println!("skipped     {}: {missing}", guest.name),
            Err(error) => {
                eprintln!("error: {error}");
                failed = true;
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn usage(problem: &str) -> ExitCode {
    let names: Vec<&str> = GUESTS.iter().map(|g| g.name).collect();
    if !problem.is_empty() {
        eprintln!("error: {problem}");
    }
    eprintln!("usage: nearcache-guest-build [--out DIR] [GUEST...]   (guests: {})", names.join(", "));
    if problem.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) }
}
