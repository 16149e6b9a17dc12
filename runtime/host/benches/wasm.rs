//! The wasm backend against the native store, through the same `Backend`
//! trait: per-call cost of get and put, an empty-ish call, instantiation,
//! and compilation. Figures and the command are in BENCHMARKS.md.
//!
//! Run: `cargo bench -p nearcache --bench wasm`
//!
//! For instruction counts, the same binary runs one case a fixed number of
//! times outside criterion when `NEARCACHE_CALLGRIND=<case>` is set (cases:
//! see [`CASES`]), inside a function callgrind can collect alone:
//!
//! ```text
//! NEARCACHE_CALLGRIND=wasm-sweep valgrind --tool=callgrind \
//!     --toggle-collect='*measured_calls*' target/release/deps/wasm-<hash>
//! ```
//!
//! Instructions per call = the `Ir` total / `NEARCACHE_CALLGRIND_CALLS`
//! (default 10 000). Run without valgrind, the driver prints the mean time
//! per call, on the CPU (steadier on a shared machine) and wall-clock. `NEARCACHE_CALLGRIND_GUEST` names another component
//! file to run instead of the rust-store guest.

#![allow(missing_docs, reason = "criterion_group! generates an undocumented public function")]

#[path = "../tests/support/rust_guest.rs"]
mod rust_guest;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use nearcache::wasm::{ArtifactCache, Limits, WasmEngine, WasmFactory};
use nearcache::{Backend, NativeBackend};

/// Entries resident during the per-call benchmarks.
const RESIDENT: usize = 1000;
const VALUE_SIZES: [usize; 2] = [100, 4096];

/// 16-byte keys.
fn keys() -> Vec<Vec<u8>> {
    (0..RESIDENT).map(|i| format!("key:{i:012}").into_bytes()).collect()
}

fn options() -> Vec<(String, String)> {
    vec![("max-entries".to_owned(), "100000".to_owned())]
}

fn backends(factory: &WasmFactory) -> [(&'static str, Box<dyn Backend>); 2] {
    let mut native: Box<dyn Backend> = Box::new(NativeBackend::new());
    let mut wasm: Box<dyn Backend> = Box::new(factory.instantiate().expect("instantiate"));
    native.init(&options()).expect("init");
    wasm.init(&options()).expect("init");
    [("native", native), ("wasm", wasm)]
}

fn per_call(c: &mut Criterion) {
    let engine = WasmEngine::new(Limits::default()).expect("engine");
    let factory = WasmFactory::load_file(&engine, rust_guest::rust_store()).expect("load");
    let keys = keys();
    for size in VALUE_SIZES {
        let value = vec![0x5Au8; size];
        let mut group = c.benchmark_group(format!("get-hit/{size}B"));
        group.throughput(Throughput::Elements(1));
        for (name, mut backend) in backends(&factory) {
            for key in &keys {
                backend.put(key, &value, None, 0).unwrap();
            }
            let mut i = 0;
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| {
                    i = (i + 1) % RESIDENT;
                    black_box(backend.get(&keys[i], 1).unwrap())
                });
            });
        }
        group.finish();

        let mut group = c.benchmark_group(format!("put/{size}B"));
        group.throughput(Throughput::Elements(1));
        for (name, mut backend) in backends(&factory) {
            let mut i = 0;
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| {
                    i = (i + 1) % RESIDENT;
                    backend.put(&keys[i], &value, None, 1).unwrap();
                });
            });
        }
        group.finish();
    }

    // Two threads, one instance each (a wasm Store runs one call at a
    // time): the time per round of one get on each thread, so perfect
    // scaling reads as the one-thread time.
    let value = vec![0x5Au8; 100];
    let mut group = c.benchmark_group("get-hit-2-threads/100B");
    for (name, first) in backends(&factory) {
        let (_, second) = backends(&factory).into_iter().find(|(n, _)| *n == name).expect("same kind");
        let mut pair = [first, second];
        for backend in &mut pair {
            for key in &keys {
                backend.put(key, &value, None, 0).unwrap();
            }
        }
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                let started = std::time::Instant::now();
                std::thread::scope(|scope| {
                    for backend in &mut pair {
                        let keys = &keys;
                        scope.spawn(move || {
                            for i in 0..iters {
                                let key = &keys[usize::try_from(i).unwrap_or(0) % RESIDENT];
                                black_box(backend.get(key, 1).unwrap());
                            }
                        });
                    }
                });
                started.elapsed()
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("empty-call");
    for (name, mut backend) in backends(&factory) {
        group.bench_function(BenchmarkId::new("get-miss", name), |b| {
            b.iter(|| black_box(backend.get(b"absent-key-00000", 1).unwrap()));
        });
        group.bench_function(BenchmarkId::new("sweep-nothing", name), |b| {
            b.iter(|| black_box(backend.sweep(1, 1).unwrap()));
        });
    }
    group.finish();
}

fn lifecycle(c: &mut Criterion) {
    let wasm = std::fs::read(rust_guest::rust_store()).expect("read the guest");
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let engine = WasmEngine::new(Limits::default())
        .expect("engine")
        .with_artifact_cache(ArtifactCache::open(cache_dir.path().join("artifacts")).expect("cache"));
    // Warm the cache.
    let factory = WasmFactory::load_bytes(&engine, "rust-store", &wasm).expect("load");

    let mut group = c.benchmark_group("lifecycle");
    group.bench_function("instantiate+init", |b| {
        b.iter(|| {
            let mut backend = factory.instantiate().unwrap();
            backend.init(&options()).unwrap();
            black_box(backend)
        });
    });
    group.bench_function("load-from-cached-artifact", |b| {
        b.iter(|| {
            let factory = WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
            assert!(factory.info().from_cache);
            black_box(factory)
        });
    });
    group.bench_function("load-from-cached-artifact+instantiate+init", |b| {
        b.iter(|| {
            let factory = WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
            let mut backend = factory.instantiate().unwrap();
            backend.init(&options()).unwrap();
            black_box(backend)
        });
    });
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    let uncached = WasmEngine::new(Limits::default()).expect("engine");
    group.bench_function("compile-from-bytes", |b| {
        b.iter(|| black_box(WasmFactory::load_bytes(&uncached, "rust-store", &wasm).unwrap()));
    });
    group.finish();
}

/// The cases `NEARCACHE_CALLGRIND` names: one call each, as criterion
/// measures them above.
const CASES: &[&str] =
    &["wasm-sweep", "wasm-get-hit", "wasm-get-miss", "wasm-put", "native-sweep", "native-get-hit", "native-put"];

/// Runs `case` `calls` times after a warm-up, for callgrind.
fn callgrind(case: &str, calls: usize) {
    assert!(CASES.contains(&case), "unknown case {case}; cases: {CASES:?}");
    let engine = WasmEngine::new(Limits::default()).expect("engine");
    let guest = std::env::var_os("NEARCACHE_CALLGRIND_GUEST").map_or_else(rust_guest::rust_store, Into::into);
    let factory = WasmFactory::load_file(&engine, guest).expect("load");
    let (kind, op) = case.split_once('-').expect("kind-op");
    let (_, mut backend) = backends(&factory).into_iter().find(|(name, _)| *name == kind).expect("kind");
    let keys = keys();
    let value = vec![0x5Au8; 100];
    for key in &keys {
        backend.put(key, &value, None, 0).unwrap();
    }
    // Warm up, so first-call costs are not counted.
    run_calls(&mut *backend, op, &keys, &value, RESIDENT);
    let (cpu, wall) = (thread_cpu_ns(), std::time::Instant::now());
    measured_calls(&mut *backend, op, &keys, &value, calls);
    let (cpu, wall) = (thread_cpu_ns().saturating_sub(cpu), wall.elapsed());
    // Time on the CPU, unlike wall time, does not count the time this
    // thread waited for a core: on a shared machine it is the steadier.
    let per_call = |ns: u128| ns as f64 / calls.max(1) as f64;
    println!(
        "{case}: {calls} calls, {:.1} ns per call on the CPU, {:.1} ns wall",
        per_call(u128::from(cpu)),
        per_call(wall.as_nanos())
    );
}

/// This thread's time on the CPU so far, in ns (0 where Linux's schedstat
/// is not available).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// What callgrind collects.
#[inline(never)]
fn measured_calls(backend: &mut dyn Backend, op: &str, keys: &[Vec<u8>], value: &[u8], calls: usize) {
    run_calls(backend, op, keys, value, calls);
}

#[inline(never)]
fn run_calls(backend: &mut dyn Backend, op: &str, keys: &[Vec<u8>], value: &[u8], calls: usize) {
    for i in 0..calls {
        let key = &keys[i % RESIDENT];
        match op {
            "sweep" => {
                black_box(backend.sweep(1, 1).unwrap());
            }
            "get-hit" => {
                black_box(backend.get(key, 1).unwrap());
            }
            "get-miss" => {
                black_box(backend.get(b"absent-key-00000", 1).unwrap());
            }
            "put" => backend.put(key, value, None, 1).unwrap(),
            _ => unreachable!("checked against CASES"),
        }
    }
}

criterion_group!(benches, per_call, lifecycle);

fn main() {
    if let Ok(case) = std::env::var("NEARCACHE_CALLGRIND") {
        let calls = std::env::var("NEARCACHE_CALLGRIND_CALLS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
        callgrind(&case, calls);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
