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

# Criterion benchmarks (figures go into BENCHMARKS.md).
bench:
    cargo bench -p nearcache-store --bench store
    cargo bench -p nearcache --bench wasm
    cargo bench -p nearcache-tests --bench cache

# Load a backend component and run the conformance suite on it.
check BACKEND:
    cargo run --release -p nearcache -- check {{BACKEND}}

# Build the wasm guests (the tests also build them on demand).
guests:
    cargo build --release --target wasm32-wasip2 --manifest-path guests/Cargo.toml

# The main job until `nearcache demo` exists (issue 7): a private
# redis-server, the cache serving hits and invalidations, against its peers.
demo:
    cargo bench -p nearcache-tests --bench cache

# API docs with warnings as errors.
doc:
    RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps
