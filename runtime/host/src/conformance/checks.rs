//! The checks, contract tier first, then the reference tier.

use nearcache_store::{Eviction, Stats};
use proptest::prelude::*;

use super::contract_model::ContractModel;
use super::ops::{self, Op, cache_key, keys, redis_key, run_property, stat};
use super::reference_model::ReferenceModel;
use super::{Check, CheckResult, Factory, Failure, SuiteOptions, ensure};
use crate::backend::Backend;
use crate::error::BackendError;

/// Every check, in running order.
pub(super) const ALL: &[Check] = &[
    Check { name: "contract/init-accepts-max-entries", run: init_accepts_max_entries },
    Check { name: "contract/init-rejects-unknown-option", run: init_rejects_unknown_option },
    Check { name: "contract/init-rejects-bad-max-entries", run: init_rejects_bad_max_entries },
    Check { name: "contract/init-rejects-duplicate-option", run: init_rejects_duplicate_option },
    Check { name: "contract/stats-has-every-counter", run: stats_has_every_counter },
    Check { name: "contract/get-returns-exact-bytes", run: get_returns_exact_bytes },
    Check { name: "contract/put-replaces", run: put_replaces },
    Check { name: "contract/get-counts-one-hit-or-miss", run: get_counts_one_hit_or_miss },
    Check { name: "contract/ttl-expires-at-deadline", run: ttl_expires_at_deadline },
    Check { name: "contract/ttl-zero-removes", run: ttl_zero_removes },
    Check { name: "contract/put-replaces-ttl", run: put_replaces_ttl },
    Check { name: "contract/invalidate-named-keys", run: invalidate_named_keys },
    Check { name: "contract/invalidate-none-removes-all", run: invalidate_none_removes_all },
    Check { name: "contract/invalidate-refs", run: invalidate_refs },
    Check { name: "contract/refs-accumulate", run: refs_accumulate },
    Check { name: "contract/invalidate-refs-none-is-noop", run: invalidate_refs_none_is_noop },
    Check { name: "contract/flush", run: flush },
    Check { name: "contract/sweep-is-bounded", run: sweep_is_bounded },
    Check { name: "contract/max-entries-bound", run: max_entries_bound },
    Check { name: "contract/destroy-then-init", run: destroy_then_init },
    Check { name: "contract/model", run: contract_model },
    Check { name: "reference/lru-order", run: lru_order },
    Check { name: "reference/fifo-order", run: fifo_order },
    Check { name: "reference/clock-order", run: clock_order },
    Check { name: "reference/max-bytes", run: max_bytes },
    Check { name: "reference/model-lru", run: reference_model_lru },
    Check { name: "reference/model-fifo", run: reference_model_fifo },
    Check { name: "reference/model-clock", run: reference_model_clock },
];

fn owned(options: &[(&str, &str)]) -> Vec<(String, String)> {
    options.iter().map(|&(n, v)| (n.to_owned(), v.to_owned())).collect()
}

/// A backend made by `factory` and initialized with `options`.
fn fresh(factory: Factory<'_>, options: &[(&str, &str)]) -> Result<Box<dyn Backend>, Failure> {
    let mut backend = factory()?;
    backend.init(&owned(options))?;
    Ok(backend)
}

const ROOMY: &[(&str, &str)] = &[("max-entries", "1000")];

/// A backend with the reference options, or a skip if it refuses them.
fn fresh_reference(factory: Factory<'_>, options: &[(&str, &str)]) -> Result<Box<dyn Backend>, Failure> {
    let mut backend = factory()?;
    match backend.init(&owned(options)) {
        Ok(()) => Ok(backend),
        Err(BackendError::Rejected(why)) => {
            Err(Failure::Skipped(format!("the backend does not offer the reference options: {why}")))
        }
        Err(other) => Err(other.into()),
    }
}

fn stat_of(backend: &mut dyn Backend, name: &str) -> Result<u64, Failure> {
    stat(&backend.stats()?, name).map_err(Failure::Failed)
}

fn get(backend: &mut dyn Backend, key: &[u8], now: u64) -> Result<Option<Vec<u8>>, Failure> {
    Ok(backend.get(key, now)?)
}

/// `get` as the hit path makes it: [`Backend::get_borrowed`].
fn get_borrowed(backend: &mut dyn Backend, key: &[u8], now: u64) -> Result<Option<Vec<u8>>, Failure> {
    Ok(backend.get_borrowed(key, &|| now)?.map(|bytes| bytes.into_owned()))
}

fn init_accepts_max_entries(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    fresh(factory, &[("max-entries", "10")]).map(drop)
}

fn expect_rejected(factory: Factory<'_>, options: &[(&str, &str)], must_name: &str) -> CheckResult {
    let mut backend = factory()?;
    match backend.init(&owned(options)) {
        Err(BackendError::Rejected(why)) => {
            ensure!(
                why.contains(must_name),
                "init({options:?}) was refused, but the message `{why}` does not name `{must_name}`"
            );
            Ok(())
        }
        Err(other) => Err(Failure::Failed(format!("init({options:?}) failed instead of refusing: {other}"))),
        Ok(()) => Err(Failure::Failed(format!("init({options:?}) was accepted"))),
    }
}

fn init_rejects_unknown_option(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    expect_rejected(factory, &[("max-entries", "10"), ("no-such-option", "1")], "no-such-option")
}

fn init_rejects_bad_max_entries(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    for bad in ["0", "ten", "-1", ""] {
        expect_rejected(factory, &[("max-entries", bad)], "max-entries")?;
    }
    Ok(())
}

fn init_rejects_duplicate_option(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    expect_rejected(factory, &[("max-entries", "10"), ("max-entries", "20")], "max-entries")
}

fn stats_has_every_counter(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    let stats = backend.stats()?;
    for (name, _) in Stats::default().to_pairs() {
        stat(&stats, name).map_err(Failure::Failed)?;
    }
    Ok(())
}

fn get_returns_exact_bytes(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    let binary: Vec<u8> = (0..=255).collect();
    let large = vec![0xA5; 64 * 1024];
    let cases: [(&[u8], &[u8]); 4] =
        [(b"", b"empty key"), (b"empty value", b""), (&binary, &binary), (b"large", &large)];
    for (key, value) in cases {
        backend.put(key, value, None, 0)?;
        let got = get(&mut *backend, key, 0)?;
        ensure!(
            got.as_deref() == Some(value),
            "put {} bytes under a {}-byte key, got {:?} back",
            value.len(),
            key.len(),
            got.map(|v| v.len())
        );
    }
    Ok(())
}

fn put_replaces(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    backend.put(b"k", b"old", None, 0)?;
    backend.put(b"k", b"new value", None, 0)?;
    let got = get(&mut *backend, b"k", 0)?;
    ensure!(got.as_deref() == Some(&b"new value"[..]), "after two puts, get returned {got:?}");
    ensure!(stat_of(&mut *backend, "entries")? == 1, "one key held twice counts as more than one entry");
    Ok(())
}

fn get_counts_one_hit_or_miss(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    backend.put(b"k", b"v", None, 0)?;
    get(&mut *backend, b"k", 0)?;
    get(&mut *backend, b"absent", 0)?;
    get(&mut *backend, b"other", 0)?;
    let (hits, misses) = (stat_of(&mut *backend, "hits")?, stat_of(&mut *backend, "misses")?);
    ensure!((hits, misses) == (1, 2), "one hit and two misses counted as hits={hits} misses={misses}");
    Ok(())
}

fn ttl_expires_at_deadline(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    backend.put(b"short", b"v", Some(100), 1_000)?;
    backend.put(b"forever", b"v", None, 1_000)?;
    ensure!(
        get(&mut *backend, b"short", 1_099)?.is_some(),
        "an entry with ttl 100 ms put at 1000 ms was gone at 1099 ms"
    );
    ensure!(
        get(&mut *backend, b"short", 1_100)?.is_none(),
        "an entry with ttl 100 ms put at 1000 ms was served at its deadline, 1100 ms"
    );
    ensure!(get(&mut *backend, b"forever", u64::MAX - 1)?.is_some(), "an entry without ttl expired");
    backend.put(b"short", b"v", Some(100), 1_000)?;
    ensure!(
        get_borrowed(&mut *backend, b"short", 1_099)?.is_some(),
        "an entry with ttl 100 ms put at 1000 ms was gone at 1099 ms (get_borrowed)"
    );
    ensure!(
        get_borrowed(&mut *backend, b"short", 1_100)?.is_none(),
        "an entry with ttl 100 ms put at 1000 ms was served at its deadline, 1100 ms (get_borrowed)"
    );
    Ok(())
}

fn ttl_zero_removes(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    backend.put(b"k", b"old", None, 0)?;
    backend.put(b"k", b"new", Some(0), 0)?;
    let got = get(&mut *backend, b"k", 0)?;
    ensure!(got.is_none(), "after a put with ttl 0, get returned {got:?}");
    Ok(())
}

fn put_replaces_ttl(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    backend.put(b"a", b"v", Some(10), 0)?;
    backend.put(b"a", b"v", None, 0)?;
    backend.put(b"b", b"v", None, 0)?;
    backend.put(b"b", b"v", Some(10), 0)?;
    ensure!(get(&mut *backend, b"a", 50)?.is_some(), "a put without ttl did not clear the earlier ttl");
    ensure!(get(&mut *backend, b"b", 50)?.is_none(), "a put with ttl did not set a deadline on an existing entry");
    Ok(())
}

fn invalidate_named_keys(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    for key in [&b"a"[..], b"b", b"c"] {
        backend.put(key, b"v", None, 0)?;
    }
    backend.invalidate(Some(&[b"a".to_vec(), b"c".to_vec(), b"not-held".to_vec()]))?;
    ensure!(get(&mut *backend, b"a", 0)?.is_none(), "an invalidated key was served");
    ensure!(get(&mut *backend, b"c", 0)?.is_none(), "an invalidated key was served");
    ensure!(get(&mut *backend, b"b", 0)?.is_some(), "invalidate removed a key it was not given");
    ensure!(stat_of(&mut *backend, "invalidations")? == 2, "two entries invalidated, counted otherwise");
    Ok(())
}

fn invalidate_none_removes_all(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    for n in 0..10 {
        backend.put_with_ref(&cache_key(n), &redis_key(n), b"v", None, 0)?;
    }
    backend.invalidate(None)?;
    for n in 0..10 {
        ensure!(get(&mut *backend, &cache_key(n), 0)?.is_none(), "invalidate(none) left an entry");
    }
    ensure!(stat_of(&mut *backend, "entries")? == 0, "entries is not 0 after invalidate(none)");
    Ok(())
}

fn invalidate_refs(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    backend.put_with_ref(b"HGET h f1", b"h", b"1", None, 0)?;
    backend.put_with_ref(b"HGET h f2", b"h", b"2", None, 0)?;
    backend.put_with_ref(b"GET g", b"g", b"3", None, 0)?;
    backend.invalidate_refs(Some(&[b"h".to_vec(), b"unknown".to_vec()]))?;
    ensure!(get(&mut *backend, b"HGET h f1", 0)?.is_none(), "an entry of an invalidated Redis key was served");
    ensure!(get(&mut *backend, b"HGET h f2", 0)?.is_none(), "an entry of an invalidated Redis key was served");
    ensure!(get(&mut *backend, b"GET g", 0)?.is_some(), "invalidate-refs removed an entry of another Redis key");
    Ok(())
}

fn refs_accumulate(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    backend.put_with_ref(b"SINTER a b", b"a", b"x", None, 0)?;
    backend.put_with_ref(b"SINTER a b", b"b", b"x", None, 0)?;
    backend.invalidate_refs(Some(&[b"a".to_vec()]))?;
    ensure!(get(&mut *backend, b"SINTER a b", 0)?.is_none(), "a second put-with-ref dropped the first ref");
    backend.put_with_ref(b"GET c", b"c", b"1", None, 0)?;
    backend.put(b"GET c", b"2", None, 0)?;
    backend.invalidate_refs(Some(&[b"c".to_vec()]))?;
    ensure!(get(&mut *backend, b"GET c", 0)?.is_none(), "a put that replaced an entry dropped its refs");
    Ok(())
}

fn invalidate_refs_none_is_noop(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    backend.put_with_ref(b"GET k", b"k", b"v", None, 0)?;
    backend.invalidate_refs(None)?;
    ensure!(get(&mut *backend, b"GET k", 0)?.is_some(), "invalidate-refs(none) removed an entry");
    Ok(())
}

fn flush(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    backend.put_with_ref(b"GET k", b"k", b"v", None, 0)?;
    backend.put(b"other", b"v", Some(10), 0)?;
    backend.flush()?;
    ensure!(get(&mut *backend, b"GET k", 0)?.is_none(), "flush left an entry");
    ensure!(stat_of(&mut *backend, "entries")? == 0, "entries is not 0 after flush");
    ensure!(stat_of(&mut *backend, "invalidations")? == 0, "flush counted invalidations");
    backend.put_with_ref(b"GET k", b"k2", b"v", None, 0)?;
    backend.invalidate_refs(Some(&[b"k".to_vec()]))?;
    ensure!(get(&mut *backend, b"GET k", 0)?.is_some(), "a ref survived flush");
    Ok(())
}

fn sweep_is_bounded(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    for n in 0..10 {
        backend.put(&cache_key(n), b"v", Some(5), 0)?;
    }
    for n in 10..15 {
        backend.put(&cache_key(n), b"v", None, 0)?;
    }
    ensure!(backend.sweep(4, 100)? == 0, "sweep removed entries before their deadline");
    let first = backend.sweep(5, 3)?;
    ensure!(first == 3, "sweep(max 3) with 10 expired entries removed {first}");
    let rest = backend.sweep(5, 100)?;
    ensure!(rest == 7, "the second sweep removed {rest} of the 7 expired entries left");
    ensure!(backend.sweep(5, 100)? == 0, "a third sweep found more expired entries");
    ensure!(stat_of(&mut *backend, "entries")? == 5, "entries without ttl were swept");
    ensure!(stat_of(&mut *backend, "expirations")? == 10, "sweep did not count its removals as expirations");
    for n in 10..15 {
        ensure!(get(&mut *backend, &cache_key(n), 5)?.is_some(), "sweep removed an entry without ttl");
    }
    Ok(())
}

fn max_entries_bound(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, &[("max-entries", "4")])?;
    for n in 0..20 {
        backend.put(&cache_key(n), b"v", None, 0)?;
        let entries = stat_of(&mut *backend, "entries")?;
        ensure!(entries <= 4, "max-entries 4 but {entries} entries held");
        ensure!(get(&mut *backend, &cache_key(n), 0)?.is_some(), "the entry just put was not stored");
    }
    let (stores, evictions) = (stat_of(&mut *backend, "stores")?, stat_of(&mut *backend, "evictions")?);
    ensure!((stores, evictions) == (20, 16), "20 puts into 4 slots counted stores={stores} evictions={evictions}");
    Ok(())
}

fn destroy_then_init(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh(factory, ROOMY)?;
    backend.put(b"k", b"v", None, 0)?;
    get(&mut *backend, b"k", 0)?;
    backend.destroy()?;
    backend.init(&owned(ROOMY))?;
    ensure!(get(&mut *backend, b"k", 0)?.is_none(), "an entry survived destroy");
    ensure!(stat_of(&mut *backend, "hits")? == 0, "hits survived destroy and init");
    backend.put(b"k", b"v", None, 0)?;
    ensure!(get(&mut *backend, b"k", 0)?.is_some(), "the backend does not work after destroy and init");
    Ok(())
}

fn contract_model(factory: Factory<'_>, options: &SuiteOptions) -> CheckResult {
    let strategy = (1u64..10, ops::sequences());
    run_property(factory, options.cases, strategy, |backend, (max_entries, ops)| {
        let init = owned(&[("max-entries", &max_entries.to_string())]);
        backend.init(&init).map_err(|e| e.to_string())?;
        let mut model = ContractModel::default();
        let mut now = 0u64;
        for op in ops {
            let err = |e: BackendError| e.to_string();
            match op {
                // The hit path's get; the reference models check `get`.
                Op::Get { key } => {
                    let got = backend.get_borrowed(&cache_key(key), &|| now).map_err(err)?;
                    model.check_get(&cache_key(key), now, got.as_deref())?;
                }
                Op::Put { key, value, ttl } => {
                    backend.put(&cache_key(key), &value, ttl, now).map_err(err)?;
                    model.put(&cache_key(key), None, &value, ttl, now);
                }
                Op::PutWithRef { key, redis_key: r, value, ttl } => {
                    backend.put_with_ref(&cache_key(key), &redis_key(r), &value, ttl, now).map_err(err)?;
                    model.put(&cache_key(key), Some(&redis_key(r)), &value, ttl, now);
                }
                Op::Invalidate(numbers) => {
                    let list = numbers.map(|n| keys(&n, cache_key));
                    backend.invalidate(list.as_deref()).map_err(err)?;
                    model.invalidate(list.as_deref());
                }
                Op::InvalidateRefs(numbers) => {
                    let list = numbers.map(|n| keys(&n, redis_key));
                    backend.invalidate_refs(list.as_deref()).map_err(err)?;
                    model.invalidate_refs(list.as_deref());
                }
                Op::Flush => {
                    backend.flush().map_err(err)?;
                    model.flush();
                }
                Op::Stats => {
                    let stats = backend.stats().map_err(err)?;
                    let (hits, gets) = model.hits_and_gets();
                    let (got_hits, got_misses) = (stat(&stats, "hits")?, stat(&stats, "misses")?);
                    if (got_hits, got_misses) != (hits, gets - hits) {
                        return Err(format!(
                            "{hits} hits and {} misses counted as hits={got_hits} misses={got_misses}",
                            gets - hits
                        ));
                    }
                    let entries = stat(&stats, "entries")?;
                    if entries > max_entries {
                        return Err(format!("max-entries {max_entries} but {entries} entries held"));
                    }
                }
                Op::Sweep { max } => {
                    let before = backend.stats().map_err(err)?;
                    let removed = backend.sweep(now, max).map_err(err)?;
                    let after = backend.stats().map_err(err)?;
                    if removed > max {
                        return Err(format!("sweep(max {max}) reported {removed} removals"));
                    }
                    let dropped = stat(&before, "entries")?.checked_sub(stat(&after, "entries")?);
                    if dropped != Some(u64::from(removed)) {
                        return Err(format!(
                            "sweep reported {removed} removals but entries went from {before:?} to {after:?}"
                        ));
                    }
                }
                Op::Advance { ms } => now += ms,
                Op::Reinit => {
                    backend.destroy().map_err(err)?;
                    backend.init(&init).map_err(err)?;
                    model.reset();
                }
            }
        }
        Ok(())
    })
}

/// Two slots under `policy`: puts `a` and `b`, reads `a`, then puts `c`,
/// so one of `a` and `b` has been evicted; which one the policy decides.
fn read_first_then_overflow(factory: Factory<'_>, policy: &str) -> Result<Box<dyn Backend>, Failure> {
    let mut backend = fresh_reference(factory, &[("max-entries", "2"), ("eviction", policy)])?;
    backend.put(b"a", b"1", None, 0)?;
    backend.put(b"b", b"2", None, 0)?;
    get(&mut *backend, b"a", 0)?;
    backend.put(b"c", b"3", None, 0)?;
    Ok(backend)
}

fn lru_order(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = read_first_then_overflow(factory, "lru")?;
    ensure!(get(&mut *backend, b"b", 0)?.is_none(), "lru kept the least recently used entry");
    ensure!(get(&mut *backend, b"a", 0)?.is_some(), "lru evicted an entry that was just read");
    Ok(())
}

fn fifo_order(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = read_first_then_overflow(factory, "fifo")?;
    ensure!(get(&mut *backend, b"a", 0)?.is_none(), "fifo kept the first entry because it was read");
    ensure!(get(&mut *backend, b"b", 0)?.is_some(), "fifo evicted the second entry");
    Ok(())
}

fn clock_order(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = read_first_then_overflow(factory, "clock")?;
    ensure!(get(&mut *backend, b"b", 0)?.is_none(), "clock kept the entry never read over the one read");
    ensure!(get(&mut *backend, b"a", 0)?.is_some(), "clock evicted the entry that was read");
    Ok(())
}

fn max_bytes(factory: Factory<'_>, _: &SuiteOptions) -> CheckResult {
    let mut backend = fresh_reference(factory, &[("max-entries", "100"), ("max-bytes", "10")])?;
    backend.put(b"k1", b"123456", None, 0)?;
    backend.put(b"k2", b"123456", None, 0)?;
    ensure!(get(&mut *backend, b"k1", 0)?.is_none(), "16 bytes held under max-bytes 10");
    ensure!(stat_of(&mut *backend, "bytes")? == 8, "bytes is not key plus value bytes");
    backend.put(b"k2", b"123456789", None, 0)?;
    ensure!(get(&mut *backend, b"k2", 0)?.is_none(), "a put too large to store left the old value in place");
    ensure!(stat_of(&mut *backend, "entries")? == 0, "an entry over max-bytes was stored");
    Ok(())
}

fn reference_model_lru(factory: Factory<'_>, options: &SuiteOptions) -> CheckResult {
    reference_model(factory, options, Eviction::Lru)
}

fn reference_model_fifo(factory: Factory<'_>, options: &SuiteOptions) -> CheckResult {
    reference_model(factory, options, Eviction::Fifo)
}

fn reference_model_clock(factory: Factory<'_>, options: &SuiteOptions) -> CheckResult {
    reference_model(factory, options, Eviction::Clock)
}

fn reference_model(factory: Factory<'_>, options: &SuiteOptions, eviction: Eviction) -> CheckResult {
    let policy = eviction.to_string();
    fresh_reference(factory, &[("max-entries", "1"), ("max-bytes", "1"), ("eviction", &policy)])?;
    let strategy = (1u64..7, prop::option::of(1u64..80), ops::sequences());
    run_property(factory, options.cases, strategy, |backend, (max_entries, max_bytes, ops)| {
        let mut init =
            vec![("max-entries".to_owned(), max_entries.to_string()), ("eviction".to_owned(), policy.clone())];
        init.extend(max_bytes.map(|b| ("max-bytes".to_owned(), b.to_string())));
        backend.init(&init).map_err(|e| e.to_string())?;
        let mut model = ReferenceModel::new(max_entries, max_bytes, eviction);
        let mut now = 0u64;
        for (step, op) in ops.into_iter().enumerate() {
            let err = |e: BackendError| format!("step {step}: {e}");
            match &op {
                Op::Get { key } => {
                    let got = backend.get(&cache_key(*key), now).map_err(err)?;
                    let want = model.get(&cache_key(*key), now);
                    if got != want {
                        return Err(format!("step {step}: get returned {got:?}, the reference returns {want:?}"));
                    }
                }
                Op::Put { key, value, ttl } => {
                    backend.put(&cache_key(*key), value, *ttl, now).map_err(err)?;
                    model.put(&cache_key(*key), None, value, *ttl, now);
                }
                Op::PutWithRef { key, redis_key: r, value, ttl } => {
                    backend.put_with_ref(&cache_key(*key), &redis_key(*r), value, *ttl, now).map_err(err)?;
                    model.put(&cache_key(*key), Some(&redis_key(*r)), value, *ttl, now);
                }
                Op::Invalidate(numbers) => {
                    let list = numbers.as_ref().map(|n| keys(n, cache_key));
                    backend.invalidate(list.as_deref()).map_err(err)?;
                    model.invalidate(list.as_deref());
                }
                Op::InvalidateRefs(numbers) => {
                    let list = numbers.as_ref().map(|n| keys(n, redis_key));
                    backend.invalidate_refs(list.as_deref()).map_err(err)?;
                    model.invalidate_refs(list.as_deref());
                }
                Op::Flush => {
                    backend.flush().map_err(err)?;
                    model.flush();
                }
                Op::Stats => {}
                Op::Sweep { max } => {
                    let got = backend.sweep(now, *max).map_err(err)?;
                    let want = model.sweep(now, *max);
                    if got != want {
                        return Err(format!("step {step}: sweep removed {got}, the reference removes {want}"));
                    }
                }
                Op::Advance { ms } => now += ms,
                Op::Reinit => {
                    backend.destroy().map_err(err)?;
                    backend.init(&init).map_err(err)?;
                    model.reset();
                }
            }
            // Every counter after every step: the stats are the oracle.
            let stats = backend.stats().map_err(err)?;
            let want = model.stats();
            for (name, value) in want.to_pairs() {
                let got = stat(&stats, name)?;
                if got != value {
                    return Err(format!("step {step} ({op:?}): stat `{name}` is {got}, the reference has {value}"));
                }
            }
        }
        Ok(())
    })
}
