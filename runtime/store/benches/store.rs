//! The native store against quick_cache and moka on the same workload:
//! 1M entries, 16-byte keys, 100-byte values. Every get copies the value
//! out (the peers clone their `Vec<u8>`), so each does the same work.
//!
//! Run with `cargo bench -p nearcache-store --bench store`. Before the
//! criterion groups it prints the store's memory overhead per entry.

#![allow(missing_docs, reason = "criterion_group! generates an undocumented public function")]

use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nearcache_store::{Config, Store};

const ENTRIES: usize = 1_000_000;
const VALUE_SIZE: usize = 100;

fn key(prefix: &str, n: usize) -> Vec<u8> {
    let key = format!("{prefix}{n:0width$}", width = 16 - prefix.len()).into_bytes();
    debug_assert_eq!(key.len(), 16);
    key
}

/// Keys in a scattered order, so consecutive gets touch distant memory.
fn scattered(keys: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let n = keys.len();
    (0..n).map(|i| keys[(i * 7_919 * 131) % n].clone()).collect()
}

struct Workload {
    resident: Vec<Vec<u8>>,
    absent: Vec<Vec<u8>>,
    /// Resident keys then as many new ones: cycling through them, every put
    /// is a new key and evicts one.
    churn: Vec<Vec<u8>>,
    value: Vec<u8>,
}

impl Workload {
    fn new() -> Self {
        let resident: Vec<_> = (0..ENTRIES).map(|n| key("k:", n)).collect();
        let absent = (0..ENTRIES).map(|n| key("miss:", n)).collect();
        let mut churn = resident.clone();
        churn.extend((0..ENTRIES).map(|n| key("new:", n)));
        Workload { resident: scattered(&resident), absent, churn, value: vec![7; VALUE_SIZE] }
    }
}

fn full_store(w: &Workload) -> Store {
    let mut store = Store::with_config(Config {
        max_entries: std::num::NonZeroU64::new(ENTRIES as u64).unwrap(),
        ..Config::default()
    });
    for k in &w.churn[..ENTRIES] {
        store.put(k, &w.value, None, 0);
    }
    store
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn report_memory(w: &Workload) {
    let before = rss_bytes();
    let mut store = full_store(w);
    let after = rss_bytes();
    let payload = ENTRIES * (16 + VALUE_SIZE);
    let per_entry = |bytes: usize| bytes as f64 / ENTRIES as f64;
    println!(
        "memory: store overhead {:.1} B/entry beyond key+value (structures); RSS {:.1} B/entry beyond key+value (includes the allocator's own)",
        per_entry(store.overhead_bytes()),
        per_entry(after.saturating_sub(before).saturating_sub(payload)),
    );
    for (i, k) in w.churn[..ENTRIES].iter().enumerate() {
        store.put_with_ref(k, &w.resident[i], &w.value, None, 0);
    }
    println!(
        "memory: with one 16-byte ref per entry, store overhead {:.1} B/entry beyond key+value",
        per_entry(store.overhead_bytes())
    );
}

fn benches(c: &mut Criterion) {
    let w = Workload::new();
    report_memory(&w);
    let n = ENTRIES;

    let mut store = full_store(&w);
    let locked = Mutex::new(full_store(&w));
    let qc_unsync = {
        let mut cache = quick_cache::unsync::Cache::<Vec<u8>, Vec<u8>>::new(n);
        for k in &w.churn[..n] {
            cache.insert(k.clone(), w.value.clone());
        }
        cache
    };
    let qc_sync = quick_cache::sync::Cache::<Vec<u8>, Vec<u8>>::new(n);
    for k in &w.churn[..n] {
        qc_sync.insert(k.clone(), w.value.clone());
    }
    let moka = moka::sync::Cache::<Vec<u8>, Vec<u8>>::new(n as u64);
    for k in &w.churn[..n] {
        moka.insert(k.clone(), w.value.clone());
    }
    moka.run_pending_tasks();

    let mut group = c.benchmark_group("get-hit");
    let mut i = 0;
    let mut next = |keys: &[Vec<u8>]| {
        i = (i + 1) % keys.len();
        i
    };
    group.bench_function(BenchmarkId::from_parameter("nearcache-store"), |b| {
        b.iter(|| black_box(store.get(&w.resident[next(&w.resident)], 0).map(<[u8]>::to_vec)))
    });
    group.bench_function(BenchmarkId::from_parameter("nearcache-store+mutex"), |b| {
        b.iter(|| black_box(locked.lock().unwrap().get(&w.resident[next(&w.resident)], 0).map(<[u8]>::to_vec)))
    });
    group.bench_function(BenchmarkId::from_parameter("quick_cache-unsync"), |b| {
        b.iter(|| black_box(qc_unsync.get(&w.resident[next(&w.resident)]).cloned()))
    });
    group.bench_function(BenchmarkId::from_parameter("quick_cache-sync"), |b| {
        b.iter(|| black_box(qc_sync.get(&w.resident[next(&w.resident)])))
    });
    group.bench_function(BenchmarkId::from_parameter("moka-sync"), |b| {
        b.iter(|| black_box(moka.get(&w.resident[next(&w.resident)])))
    });
    group.finish();

    let mut group = c.benchmark_group("get-miss");
    group.bench_function(BenchmarkId::from_parameter("nearcache-store"), |b| {
        b.iter(|| black_box(store.get(&w.absent[next(&w.absent)], 0).map(<[u8]>::to_vec)))
    });
    group.bench_function(BenchmarkId::from_parameter("quick_cache-unsync"), |b| {
        b.iter(|| black_box(qc_unsync.get(&w.absent[next(&w.absent)]).cloned()))
    });
    group.bench_function(BenchmarkId::from_parameter("quick_cache-sync"), |b| {
        b.iter(|| black_box(qc_sync.get(&w.absent[next(&w.absent)])))
    });
    group.bench_function(BenchmarkId::from_parameter("moka-sync"), |b| {
        b.iter(|| black_box(moka.get(&w.absent[next(&w.absent)])))
    });
    group.finish();

    // Each iteration inserts a key that is not resident, evicting one.
    let mut group = c.benchmark_group("put-with-eviction");
    let mut j = 0;
    let mut churn = || {
        j = (j + 1) % w.churn.len();
        &w.churn[j]
    };
    group.bench_function(BenchmarkId::from_parameter("nearcache-store"), |b| {
        b.iter(|| store.put(churn(), &w.value, None, 0))
    });
    let mut qc_unsync = qc_unsync;
    group.bench_function(BenchmarkId::from_parameter("quick_cache-unsync"), |b| {
        b.iter(|| qc_unsync.insert(churn().clone(), w.value.clone()))
    });
    group.bench_function(BenchmarkId::from_parameter("quick_cache-sync"), |b| {
        b.iter(|| qc_sync.insert(churn().clone(), w.value.clone()))
    });
    group.bench_function(BenchmarkId::from_parameter("moka-sync"), |b| {
        b.iter(|| moka.insert(churn().clone(), w.value.clone()))
    });
    group.finish();
}

criterion_group! {
    name = store;
    config = Criterion::default().sample_size(30).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(store);
