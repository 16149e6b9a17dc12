# Recipes for working on nearcache. The README's commands never need `just`.

_default:
    @just --list

# Everything CI runs.
ci:
    .ci/run

# Format the workspace.
fmt:
    cargo fmt --all

# rustfmt check and clippy with warnings as errors.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# The whole test suite (starts its own redis-server processes).
test:
    cargo test --workspace

# The backend conformance suite only.
test-conformance:
    cargo test -p nearcache-tests --test conformance

# The end-to-end benchmark behind BENCHMARKS.md: nearcache against the redis
# crate's cache-aio cache and uncached GET, on a private redis-server.
# Extra flags go to `nearcache bench` (e.g. `just bench --json`).
bench *FLAGS:
    cargo run --release -p nearcache -- bench --start-redis always {{FLAGS}}

# Micro-benchmarks: the store, the wasm host, the guests, the tracking cache (its hits, its misses, its invalidation delay and its staleness under a partition), hot reload, Redis Cluster.
bench-criterion:
    cargo bench -p nearcache-store --bench store
    cargo bench -p nearcache --bench wasm
    cargo bench -p nearcache --bench languages
    cargo bench -p nearcache-tests --bench cache
    cargo bench -p nearcache-tests --bench miss
    cargo bench -p nearcache-tests --bench delay
    cargo bench -p nearcache-tests --bench partition
    cargo bench -p nearcache-tests --bench reload
    cargo bench -p nearcache-tests --bench cluster

# Load a backend component and run the conformance suite on it.
check BACKEND:
    cargo run --release -p nearcache -- check {{BACKEND}}

# Build the wasm guests (the tests also build them on demand).
guests: guest-python guest-js guest-c
    cargo build --release --target wasm32-wasip2 --manifest-path guests/Cargo.toml

# The README's main command: the cache serving hits and invalidations, its
# backend swapped live. Extra flags go to `nearcache demo`.
demo *FLAGS:
    cargo run --release -p nearcache -- demo {{FLAGS}}

# The Python guest (LFU), with componentize-py, into guests/target/languages.
guest-python:
    cargo run -q -p nearcache-guest-build -- python_lfu

# The JavaScript guest (GreedyDual-Size), with componentize-js (`npm ci --prefix guests/js-sized` first).
guest-js:
    cargo run -q -p nearcache-guest-build -- js_sized

# The C guest (FIFO), with clang, wasi-libc, wit-bindgen-c and wit-component.
guest-c:
    cargo run -q -p nearcache-guest-build -- c_fifo

# The guests in other languages only: conformance, sandbox, and the cache against redis-server.
test-languages:
    cargo test -p nearcache-tests --test languages

# API docs with warnings as errors.
doc:
    RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps

# Fuzz every target (or the ones named) for FUZZ_SECONDS seconds each, with
# cargo-fuzz on stable Rust: no sanitizer (`-s none`; Rust code needs none to
# find panics, and ASan needs nightly), debug assertions on. New inputs go to
# fuzz/target/corpus/<target>, the committed seeds are read from
# fuzz/corpus/<target>, findings land in fuzz/artifacts/<target>.
# Installs cargo-fuzz when missing. `FUZZ_SECONDS=300 just fuzz guest`.
fuzz *TARGETS:
    #!/usr/bin/env bash
    set -euo pipefail
    command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
    seconds="${FUZZ_SECONDS:-30}"
    targets="{{TARGETS}}"
    [ -n "$targets" ] || targets=$(cargo fuzz list --fuzz-dir fuzz)
    cargo fuzz build --fuzz-dir fuzz -s none -a
    for target in $targets; do
        mkdir -p "fuzz/target/corpus/$target"
        echo "== $target: ${seconds}s"
        cargo fuzz run --fuzz-dir fuzz -s none -a "$target" "fuzz/target/corpus/$target" "fuzz/corpus/$target" \
            -- -max_total_time="$seconds" -print_final_stats=1
    done
