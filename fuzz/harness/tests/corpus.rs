//! Every fuzz target, run without libFuzzer over its committed inputs: the
//! seed corpus (`fuzz/corpus/<target>/`) and every input a fuzzer found a
//! bug with (`fuzz/regressions/<target>/`). Keeps the harnesses building
//! and the bugs fixed, on stable Rust, in `cargo test`.

use std::path::{Path, PathBuf};

use nearcache_fuzz_harness::TARGETS;

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|entry| entry.expect("a directory entry").path()).collect();
    files.sort();
    files
}

fn run(kind: &str) -> usize {
    let mut ran = 0;
    for (target, harness) in TARGETS {
        for path in inputs(kind, target) {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            eprintln!("{target}: {}", path.display());
            harness(&data);
            ran += 1;
        }
    }
    ran
}

#[test]
fn every_target_passes_its_seed_corpus() {
    for (target, _) in TARGETS {
        assert!(
            !inputs("corpus", target).is_empty(),
            "no seed corpus for {target}: run `cargo run -p nearcache-fuzz-harness`"
        );
    }
    run("corpus");
}

#[test]
fn every_input_that_found_a_bug_passes() {
    run("regressions");
}

#[test]
fn the_seeds_on_disk_are_the_generated_ones() {
    for (target, name, bytes) in nearcache_fuzz_harness::seeds::all() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus").join(target).join(&name);
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(on_disk, bytes, "{} is stale: run `cargo run -p nearcache-fuzz-harness`", path.display());
    }
}
