//! The guests in other languages against the native store and the Rust
//! guest: the cost of a get hit (100-byte values, 1000 resident entries),
//! and of making an instance (instantiate + init). Component size and
//! compile time are printed once per guest (compiling CPython or
//! SpiderMonkey takes tens of seconds: too slow to sample), and so is how
//! many get hits one instance serves under the default limits before a
//! call fails (the Python and JavaScript toolchains leak per call).
//! The timed runs use raised memory and fuel limits so that those leaks do
//! not end them. Figures and the command are in BENCHMARKS.md.
//!
//! Run: `cargo bench -p nearcache --bench languages`
//! (a guest whose toolchain is missing is left out, with a line saying so).

#![allow(missing_docs, reason = "criterion_group! generates an undocumented public function")]

#[path = "../tests/support/language_guest.rs"]
mod language_guest;
#[path = "../tests/support/rust_guest.rs"]
mod rust_guest;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nearcache::wasm::{Limits, WasmEngine, WasmFactory};
use nearcache::{Backend, NativeBackend};

const RESIDENT: usize = 1000;
const VALUE_SIZE: usize = 100;

fn options() -> Vec<(String, String)> {
    vec![("max-entries".to_owned(), "100000".to_owned())]
}

/// Every guest that is built: the Rust one, then the others in `GUESTS` order.
fn guests() -> Vec<(String, PathBuf)> {
    let mut guests = vec![("rust_store".to_owned(), rust_guest::rust_store())];
    for guest in nearcache_guest_build::GUESTS {
        if let Some(path) = language_guest::built(guest.name) {
            guests.push((guest.name.to_owned(), path));
        }
    }
    guests
}

/// Loads every guest once, printing its size and compile time.
fn factories(engine: &WasmEngine) -> Vec<(String, WasmFactory)> {
    guests()
        .into_iter()
        .map(|(name, path)| {
            let size = std::fs::metadata(&path).map_or(0, |m| m.len());
            let factory = WasmFactory::load_file(engine, &path).expect("load");
            eprintln!(
                "component {name}: {:.1} KiB, compiled in {:.2?}",
                size as f64 / 1024.0,
                factory.info().load_time
            );
            (name, factory)
        })
        .collect()
}

/// The most get hits [`calls_until_failure`] tries.
const ENDURANCE_CALLS: usize = 1_500_000;

fn filled(factory: &WasmFactory, keys: &[Vec<u8>], value: &[u8]) -> Box<dyn Backend> {
    let mut backend: Box<dyn Backend> = Box::new(factory.instantiate().expect("instantiate"));
    backend.init(&options()).expect("init");
    for key in keys {
        backend.put(key, value, None, 0).expect("put");
    }
    backend
}

/// Get hits on one instance under the default limits until one fails, or
/// [`ENDURANCE_CALLS`]; prints the count and the failure.
fn calls_until_failure(name: &str, path: &std::path::Path, keys: &[Vec<u8>], value: &[u8]) {
    let engine = WasmEngine::new(Limits::default()).expect("engine");
    let factory = WasmFactory::load_file(&engine, path).expect("load");
    let mut backend = filled(&factory, keys, value);
    for n in 0..ENDURANCE_CALLS {
        if let Err(error) = backend.get(&keys[n % RESIDENT], 1) {
            eprintln!("endurance {name}: get hit {} failed: {error}", n + 1);
            return;
        }
    }
    eprintln!("endurance {name}: {ENDURANCE_CALLS} get hits, no failure");
}

/// The default limits with room for the toolchains' per-call leaks.
fn roomy() -> Limits {
    Limits {
        memory_bytes: 4 << 30,
        backend_memory_bytes: 4 << 30,
        // Every language's backend at once, each within its own budget.
        engine_memory_bytes: usize::MAX,
        fuel_per_call: u64::MAX,
        wall_time_per_call: Duration::from_secs(30),
        ..Limits::default()
    }
}

fn languages(c: &mut Criterion) {
    let keys: Vec<Vec<u8>> = (0..RESIDENT).map(|i| format!("key:{i:012}").into_bytes()).collect();
    let value = vec![0x5Au8; VALUE_SIZE];
    if std::env::var_os("NEARCACHE_BENCH_ENDURANCE").is_some() {
        for (name, path) in guests() {
            calls_until_failure(&name, &path, &keys, &value);
        }
    }
    let engine = WasmEngine::new(roomy()).expect("engine");
    let factories = factories(&engine);

    let mut group = c.benchmark_group(format!("languages/get-hit/{VALUE_SIZE}B"));
    group.throughput(Throughput::Elements(1)).sample_size(30).measurement_time(Duration::from_secs(4));
    let mut native: Box<dyn Backend> = Box::new(NativeBackend::new());
    native.init(&options()).expect("init");
    for key in &keys {
        native.put(key, &value, None, 0).expect("put");
    }
    let mut backends = vec![("native".to_owned(), native)];
    for (name, factory) in &factories {
        backends.push((name.clone(), filled(factory, &keys, &value)));
    }
    for (name, mut backend) in backends {
        let mut i = 0;
        group.bench_function(BenchmarkId::from_parameter(&name), |b| {
            b.iter(|| {
                i = (i + 1) % RESIDENT;
                black_box(backend.get(&keys[i], 1).unwrap())
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("languages/instantiate+init");
    group.sample_size(20).measurement_time(Duration::from_secs(4));
    for (name, factory) in &factories {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let mut backend = factory.instantiate().unwrap();
                backend.init(&options()).unwrap();
                black_box(backend)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, languages);
criterion_main!(benches);
