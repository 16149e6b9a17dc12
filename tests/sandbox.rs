//! Every hostile guest is contained at the `Backend` level: the call fails
//! fast with an error naming the cause, the host stays up, the instance is
//! replaced (or quarantined after repeated failures), and other instances
//! of the same component keep serving. Every load error names its problem.
//!
//! The guests that could crash the host process itself (a wasmtime bug
//! reached through a proposal) are loaded in a child process: an abort
//! fails their test instead of ending this test binary.

use std::process::Command;
use std::time::{Duration, Instant};

use nearcache::wasm::{BudgetScope, Cause, Limits, LoadError, Quarantine, WasmBackend, WasmEngine, WasmFactory};
use nearcache::{Backend, BackendError};
use nearcache_tests::guests;

/// The key the hostile guests misbehave on (`guest_support::TRIGGER`).
const TRIGGER: &[u8] = b"hostile";
const NOW: u64 = 1_000;

macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports, reason = "only checks that a test of this name exists")]
        use self::$name as _;
    };
}
nearcache_tests::foreach_hostile_guest!(assert_test_exists);

/// Default limits, but restarts without backoff, so a test can show the
/// next call works without waiting, and a generous wall-clock backstop, so
/// a busy machine cannot turn a test about another limit into a timeout.
fn limits() -> Limits {
    Limits {
        wall_time_per_call: Duration::from_secs(10),
        quarantine: Quarantine { backoff: Duration::ZERO, ..Quarantine::default() },
        ..Limits::default()
    }
}

fn load(path: &str) -> WasmFactory {
    let engine = WasmEngine::new(limits()).expect("engine");
    WasmFactory::load_file(&engine, path).expect("the guest loads")
}

fn started(factory: &WasmFactory) -> WasmBackend {
    factory.check_init(&[("max-entries".to_owned(), "100".to_owned())]).expect("init")
}

fn load_error(path: &str) -> LoadError {
    let engine = WasmEngine::new(limits()).expect("engine");
    match WasmFactory::load_file(&engine, path) {
        Ok(_) => panic!("{path} loaded, but it must not"),
        Err(error) => error,
    }
}

/// Fails unless `result` is a `Failed` error whose reason contains `cause`,
/// and the call ended before the wall-clock backstop: fuel, the memory
/// limit, the stack limit or a trap stopped it.
fn assert_contained<T: std::fmt::Debug>(result: Result<T, BackendError>, started: Instant, cause: &str) {
    let elapsed = started.elapsed();
    match result {
        Err(BackendError::Failed { reason, .. }) => {
            assert!(reason.contains(cause), "reason {reason:?} lacks {cause:?}")
        }
        other => panic!("expected a failure naming {cause:?}, got {other:?}"),
    }
    let limit = limits().wall_time_per_call;
    assert!(elapsed < limit, "contained only after {elapsed:?}");
}

/// After a failure the instance is a fresh one: the old entries are gone,
/// and it serves puts and gets again.
fn assert_replaced_and_serving(backend: &mut WasmBackend, lost_key: &[u8]) {
    assert_eq!(backend.get(lost_key, NOW).expect("the replacement serves"), None, "entries survived a failure");
    backend.put(b"after", b"value", None, NOW).expect("put after restart");
    assert_eq!(backend.get(b"after", NOW).expect("get after restart"), Some(b"value".to_vec()));
    assert_eq!(backend.health().restarts, 1);
    assert!(backend.health().quarantined.is_none());
}

#[test]
fn hostile_loop_in_get() {
    let factory = load(guests::HOSTILE_LOOP_IN_GET);
    let mut victim = started(&factory);
    let mut neighbour = started(&factory);
    victim.put(b"before", b"1", None, NOW).unwrap();
    neighbour.put(b"kept", b"2", None, NOW).unwrap();

    let t = Instant::now();
    assert_contained(victim.get(TRIGGER, NOW), t, "out of CPU");
    let failure = victim.health().last_failure.clone().expect("the failure is recorded");
    assert_eq!((failure.call, failure.cause), ("get", Cause::OutOfFuel { fuel: limits().fuel_per_call }));

    assert_eq!(neighbour.get(b"kept", NOW).unwrap(), Some(b"2".to_vec()), "another instance stopped serving");
    assert_replaced_and_serving(&mut victim, b"before");
}

#[test]
fn hostile_grow_in_put() {
    let factory = load(guests::HOSTILE_GROW_IN_PUT);
    let mut backend = started(&factory);
    backend.put(b"before", b"1", None, NOW).unwrap();
    let t = Instant::now();
    assert_contained(backend.put(TRIGGER, b"x", None, NOW), t, "memory limit");
    assert!(matches!(
        backend.health().last_failure.as_ref().map(|f| &f.cause),
        Some(Cause::MemoryLimit { limit, .. }) if *limit == limits().memory_bytes
    ));
    assert_replaced_and_serving(&mut backend, b"before");
}

#[test]
fn hostile_recurse_in_get() {
    let factory = load(guests::HOSTILE_RECURSE_IN_GET);
    let mut backend = started(&factory);
    backend.put(b"before", b"1", None, NOW).unwrap();
    let t = Instant::now();
    assert_contained(backend.get(TRIGGER, NOW), t, "stack overflow");
    assert_replaced_and_serving(&mut backend, b"before");
}

#[test]
fn hostile_huge_value() {
    let factory = load(guests::HOSTILE_HUGE_VALUE);
    let mut backend = started(&factory);
    backend.put(b"before", b"1", None, NOW).unwrap();
    let t = Instant::now();
    assert_contained(backend.get(TRIGGER, NOW), t, "value over cap");
    let cap = limits().max_value_bytes;
    assert_eq!(
        backend.health().last_failure.as_ref().map(|f| f.cause.clone()),
        Some(Cause::ValueOverCap { size: 32 << 20, cap })
    );
    assert_replaced_and_serving(&mut backend, b"before");
}

#[test]
fn hostile_spin_in_invalidate() {
    let factory = load(guests::HOSTILE_SPIN_IN_INVALIDATE);
    let mut backend = started(&factory);
    backend.put(b"before", b"1", None, NOW).unwrap();
    let t = Instant::now();
    assert_contained(backend.invalidate(Some(&[TRIGGER.to_vec()])), t, "out of CPU");
    // A failed invalidate lost every entry: nothing stale can be served.
    assert_replaced_and_serving(&mut backend, b"before");
}

#[test]
fn hostile_sleep_in_invalidate() {
    let factory = load(guests::HOSTILE_SLEEP_IN_INVALIDATE);
    let mut backend = started(&factory);
    backend.put(b"before", b"1", None, NOW).unwrap();
    let t = Instant::now();
    assert_contained(backend.invalidate(Some(&[TRIGGER.to_vec()])), t, "may not sleep");
    assert_replaced_and_serving(&mut backend, b"before");
}

/// With fuel out of the way, the wall-clock limit (epoch interruption,
/// driven by the engine's ticker thread) stops a guest that never returns.
#[test]
fn wall_clock_limit_stops_a_loop_that_fuel_would_not() {
    let limits = Limits { fuel_per_call: u64::MAX, wall_time_per_call: Duration::from_millis(100), ..limits() };
    let engine = WasmEngine::new(limits).expect("engine");
    let factory = WasmFactory::load_file(&engine, guests::HOSTILE_LOOP_IN_GET).expect("load");
    let mut backend = started(&factory);
    let t = Instant::now();
    match backend.get(TRIGGER, NOW) {
        Err(BackendError::Failed { reason, .. }) => {
            assert!(reason.contains("ran past the 100 ms wall-clock limit"), "{reason}");
        }
        other => panic!("expected a wall-clock failure, got {other:?}"),
    }
    let elapsed = t.elapsed();
    assert!(elapsed >= Duration::from_millis(80), "interrupted early, after {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "interrupted late, after {elapsed:?}");
}

/// The `host.log` import works, and a flood of records is rate-limited
/// rather than slowing the call or filling the host's log.
#[test]
fn hostile_log_flood() {
    let factory = load(guests::HOSTILE_LOG_FLOOD);
    assert!(factory.info().imports.iter().any(|i| i.starts_with("nearcache:backend/host@")));
    let mut backend = started(&factory);
    let t = Instant::now();
    assert_eq!(backend.get(TRIGGER, NOW).expect("logging is not a failure"), Some(b"logged".to_vec()));
    assert!(t.elapsed() < Duration::from_secs(2), "logging took {:?}", t.elapsed());
    let allowed = u64::from(limits().log_records_per_second);
    let dropped = backend.log_records_dropped();
    // A burst of `allowed` records passes, plus what refills during the call.
    assert!(dropped >= 10_000 - 2 * allowed && dropped < 10_000, "dropped {dropped}");
    assert_eq!(backend.health().failures, 0);
}

/// A guest whose `get` logs 10 000 records of 64 KiB pays for each `log`
/// call in fuel (a fixed fee and one per byte): every such call runs out of
/// fuel in its own call, rather than making the host copy the messages up
/// to the wall-clock limit, and counts towards quarantine. Another instance
/// of the same component keeps serving throughout.
#[test]
fn hostile_log_flood_large() {
    let factory = load(guests::HOSTILE_LOG_FLOOD_LARGE);
    let mut victim = started(&factory);
    let mut neighbour = started(&factory);
    neighbour.put(b"kept", b"2", None, NOW).unwrap();
    let max = limits().quarantine.max_failures;
    for n in 1..=max {
        let result = victim.get(TRIGGER, NOW);
        assert!(matches!(result, Err(BackendError::Failed { call: "get", .. })), "call {n}: {result:?}");
        let cause = victim.health().last_failure.clone().map(|failure| failure.cause);
        // Fuel, not the wall-clock (epoch) interrupt, ended the call.
        assert_eq!(cause, Some(Cause::OutOfFuel { fuel: limits().fuel_per_call }), "call {n}");
        assert_eq!(victim.health().failures, u64::from(n));
        assert_eq!(neighbour.get(b"kept", NOW).unwrap(), Some(b"2".to_vec()), "the neighbour stopped serving");
    }
    assert!(victim.health().quarantined.is_some(), "a guest that keeps flooding is quarantined");
    assert_eq!(neighbour.health().failures, 0);
}

/// Init options for a reference store that holds whatever it is given.
fn roomy_store() -> [(String, String); 2] {
    [("max-entries".to_owned(), "100000".to_owned()), ("max-bytes".to_owned(), "4000000000".to_owned())]
}

/// Puts 1 MiB values into `backend` until it has taken `mib` of them or a
/// put fails; returns the failure, if one did.
fn fill_mib(backend: &mut WasmBackend, prefix: &str, mib: usize) -> Option<BackendError> {
    let value = vec![0x5a; 1 << 20];
    (0..mib).find_map(|n| backend.put(format!("{prefix}{n}").as_bytes(), &value, None, NOW).err())
}

/// The instances of one backend draw on one budget: once two of them hold
/// most of it, the third is denied memory far below its own cap, the
/// denial names the backend's budget, and what the instances hold together
/// never passes it. A discarded or dropped instance gives its memory back.
#[test]
fn memory_budget_is_shared_by_a_backends_instances() {
    let budget = 24 << 20;
    let engine = WasmEngine::new(Limits { backend_memory_bytes: budget, ..limits() }).expect("engine");
    let factory = WasmFactory::load_file(&engine, guests::RUST_STORE).expect("load");
    let start = || factory.check_init(&roomy_store()).expect("init");
    let (mut first, mut second) = (start(), start());
    assert!(fill_mib(&mut first, "a", 8).is_none());
    assert!(fill_mib(&mut second, "b", 8).is_none());
    let held_by_two = factory.memory().held;
    let mut third = start();

    let failure = fill_mib(&mut third, "c", 64).expect("the third instance outgrew the budget");
    assert!(failure.to_string().contains("memory budget"), "{failure}");
    match third.health().last_failure.as_ref().map(|f| &f.cause) {
        Some(&Cause::MemoryBudget { scope, held, asked, budget: denied_by }) => {
            assert_eq!((scope, denied_by), (BudgetScope::Backend, budget));
            assert!(held <= budget && held + asked > budget, "held {held}, asked {asked}");
            assert!(held - held_by_two < limits().memory_bytes, "denied only at its own cap");
        }
        other => panic!("expected a backend budget failure, got {other:?}"),
    }
    let usage = factory.memory();
    assert!(usage.peak <= budget, "{usage:?}");
    // The third instance was discarded: only the two full ones hold memory.
    assert_eq!(usage.held, held_by_two, "{usage:?}");
    assert_eq!(engine.memory().held, usage.held, "the engine's account moves with the backend's");

    // Dropping an instance gives back what it held; the third grows into it.
    drop(first);
    assert!(factory.memory().held < held_by_two);
    assert!(fill_mib(&mut third, "c", 8).is_none(), "the third instance could not use the memory given back");
    assert_eq!(third.get(b"c0", NOW).unwrap().map(|v| v.len()), Some(1 << 20));
    drop((second, third));
    assert_eq!(factory.memory().held, 0);
    assert_eq!(engine.memory().held, 0);
}

/// An engine's budget bounds all its backends together, as during a reload
/// (the old and the new backend run on one engine). While the old
/// backend's instances hold the budget, the new backend cannot start, and
/// says it is the engine's budget; once they are gone, it starts.
#[test]
fn memory_budget_of_an_engine_covers_every_backend() {
    // What one started instance holds: its initial memory and init's growth.
    let probe = WasmEngine::new(limits()).expect("engine");
    let one = WasmFactory::load_file(&probe, guests::RUST_STORE).expect("load").check_init(&roomy_store()).unwrap();
    let instance = probe.memory().held;
    drop(one);
    // Room for two instances and a half.
    let budget = 2 * instance + instance / 2;
    let engine = WasmEngine::new(Limits { engine_memory_bytes: budget, ..limits() }).expect("engine");
    let old = WasmFactory::load_file(&engine, guests::RUST_STORE).expect("load");
    let new = WasmFactory::load_file(&engine, guests::RUST_STORE).expect("load");

    let mut growing = old.check_init(&roomy_store()).expect("init");
    let failure = fill_mib(&mut growing, "a", 64).expect("the old backend outgrew the engine's budget");
    assert!(failure.to_string().contains("memory budget"), "{failure}");
    assert!(matches!(
        growing.health().last_failure.as_ref().map(|f| &f.cause),
        Some(Cause::MemoryBudget { scope: BudgetScope::Engine, budget: denied_by, .. }) if *denied_by == budget
    ));
    drop(growing);

    let serving = [old.check_init(&roomy_store()).expect("init"), old.check_init(&roomy_store()).expect("init")];
    match new.check_init(&roomy_store()) {
        Err(error @ LoadError::InitFailed(_)) => {
            let message = error.to_string();
            assert!(message.contains("memory budget") && message.contains("engine"), "{message}");
            assert!(!message.contains('\n'), "not one line: {message}");
        }
        Err(other) => panic!("expected InitFailed, got {other}"),
        Ok(_) => panic!("the new backend started in an engine budget the old one holds"),
    }
    assert_eq!(new.memory().held, 0, "the refused instance kept memory");
    assert!(engine.memory().peak <= budget, "{:?}", engine.memory());

    drop(serving);
    assert_eq!(engine.memory().held, 0, "the old backend's memory was not given back");
    let mut fresh = new.check_init(&roomy_store()).expect("the new backend starts in the memory given back");
    fresh.put(b"k", b"v", None, NOW).unwrap();
    assert_eq!(fresh.get(b"k", NOW).unwrap(), Some(b"v".to_vec()));
}

/// Every call traps: each failure restarts the instance, until the
/// quarantine window fills; then calls fail at once, naming the reason.
#[test]
fn hostile_trap_everywhere() {
    let factory = load(guests::HOSTILE_TRAP_EVERYWHERE);
    let mut backend = started(&factory);
    let max = limits().quarantine.max_failures;
    for n in 1..=max {
        let t = Instant::now();
        assert_contained(backend.get(b"k", NOW), t, "unreachable");
        assert_eq!(backend.health().failures, u64::from(n));
    }
    let quarantined = backend.health().quarantined.clone().expect("quarantined after max_failures");
    assert_eq!(quarantined.call, "get");
    assert_eq!(backend.health().restarts, u64::from(max - 1));

    let t = Instant::now();
    match backend.put(b"k", b"v", None, NOW) {
        Err(BackendError::Quarantined { reason }) => assert!(reason.contains("unreachable"), "{reason}"),
        other => panic!("expected quarantine, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_millis(50), "a quarantined backend must fail fast");
    assert_eq!(backend.health().restarts, u64::from(max - 1), "a quarantined backend is not restarted");
}

/// With a backoff, calls right after a failure fail fast without running
/// guest code, and say why.
#[test]
fn failure_backs_off_before_restarting() {
    let limits = Limits {
        quarantine: Quarantine { backoff: Duration::from_secs(3600), ..Quarantine::default() },
        ..Limits::default()
    };
    let engine = WasmEngine::new(limits).expect("engine");
    let factory = WasmFactory::load_file(&engine, guests::HOSTILE_TRAP_EVERYWHERE).expect("load");
    let mut backend = started(&factory);
    assert!(backend.flush().is_err());
    let t = Instant::now();
    match backend.flush() {
        Err(BackendError::Failed { reason, .. }) => assert!(reason.contains("backing off"), "{reason}"),
        other => panic!("expected a backoff, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_millis(50));
    assert_eq!((backend.health().failures, backend.health().restarts), (1, 0));
}

#[test]
fn hostile_import_filesystem() {
    let error = load_error(guests::HOSTILE_IMPORT_FILESYSTEM);
    assert!(matches!(&error, LoadError::UnsupportedImport { import, .. } if import.starts_with("wasi:filesystem/")));
    assert!(error.to_string().contains("wasi:filesystem/"), "{error}");
}

#[test]
fn hostile_import_socket() {
    let error = load_error(guests::HOSTILE_IMPORT_SOCKET);
    assert!(matches!(&error, LoadError::UnsupportedImport { import, .. } if import.starts_with("wasi:sockets/")));
    assert!(error.to_string().contains("wasi:sockets/"), "{error}");
}

/// The host never hands the guest a value it could not take back: a put
/// over the cap stores nothing and drops the key's old entry, as a put
/// that cannot store must.
#[test]
fn put_over_the_cap_is_not_stored_and_drops_the_old_entry() {
    let engine = WasmEngine::new(Limits { max_value_bytes: 16, ..limits() }).expect("engine");
    let factory = WasmFactory::load_file(&engine, guests::RUST_STORE).expect("load");
    let mut backend = started(&factory);
    backend.put(b"k", b"small", None, NOW).unwrap();
    backend.put_with_ref(b"r", b"redis-key", b"small", None, NOW).unwrap();
    backend.put(b"k", &[7; 17], None, NOW).expect("not a failure");
    backend.put_with_ref(b"r", b"redis-key", &[7; 17], None, NOW).expect("not a failure");
    assert_eq!(backend.get(b"k", NOW).unwrap(), None);
    assert_eq!(backend.get(b"r", NOW).unwrap(), None);
    assert_eq!(backend.health().failures, 0);
}

/// Right export name, wrong shape: refused at load, naming the mismatch.
#[test]
fn hostile_wrong_world() {
    let error = load_error(guests::HOSTILE_WRONG_WORLD);
    assert!(matches!(error, LoadError::Incompatible(_)), "{error}");
    let message = error.to_string();
    assert!(message.contains("does not match the backend world"), "{message}");
    assert!(!message.contains('\n'), "not one line: {message}");
}

#[test]
fn hostile_init_error() {
    let factory = load(guests::HOSTILE_INIT_ERROR);
    let options = [("max-entries".to_owned(), "100".to_owned())];
    match factory.check_init(&options) {
        Err(error @ LoadError::InitRejected(_)) => assert!(error.to_string().contains("no licence key"), "{error}"),
        Err(other) => panic!("expected InitRejected, got {other}"),
        Ok(_) => panic!("init must fail"),
    }
    // At the Backend level it is the backend's refusal, not a failure:
    // the instance stays, no restart.
    let mut backend = factory.instantiate().unwrap();
    assert!(matches!(backend.init(&options), Err(BackendError::Rejected(m)) if m.contains("no licence key")));
    assert_eq!(backend.health().failures, 0);
}

#[test]
fn hostile_panic_in_init() {
    let factory = load(guests::HOSTILE_PANIC_IN_INIT);
    match factory.check_init(&[("max-entries".to_owned(), "100".to_owned())]) {
        Err(error @ LoadError::InitFailed(_)) => assert!(error.to_string().contains("panic"), "{error}"),
        Err(other) => panic!("expected InitFailed, got {other}"),
        Ok(_) => panic!("init must fail"),
    }
}

/// A Rust guest's panic message goes to stderr through a blocking WASI
/// write. Called from an async task, as the cache calls its backend, that
/// write neither enters the caller's tokio runtime (which would panic the
/// host) nor waits: the panic is reported as the guest's, one line.
#[tokio::test]
async fn a_guest_that_panics_inside_a_tokio_runtime_is_contained() {
    let factory = load(guests::HOSTILE_PANIC_IN_INIT);
    match factory.check_init(&[("max-entries".to_owned(), "100".to_owned())]) {
        Err(error @ LoadError::InitFailed(_)) => {
            let message = error.to_string();
            assert!(message.contains("panic") && !message.contains('\n'), "{message}");
        }
        Err(other) => panic!("expected InitFailed, got {other}"),
        Ok(_) => panic!("init must fail"),
    }
}

fn load_bytes_error(bytes: &[u8]) -> LoadError {
    let engine = WasmEngine::new(limits()).expect("engine");
    match WasmFactory::load_bytes(&engine, "test", bytes) {
        Ok(_) => panic!("loaded, but must not"),
        Err(error) => error,
    }
}

#[test]
fn load_errors_name_their_problem() {
    let not_wasm = load_bytes_error(b"#!/bin/sh\necho hello\n");
    assert!(matches!(not_wasm, LoadError::NotWasm), "{not_wasm}");
    assert!(not_wasm.to_string().contains("not a WebAssembly file"));

    // The smallest core module: magic and version 1.
    let core = load_bytes_error(b"\0asm\x01\0\0\0");
    assert!(matches!(core, LoadError::CoreModule), "{core}");
    assert!(core.to_string().contains("core WebAssembly module, not a component"));

    // The smallest component: valid, but of another world (no exports).
    let empty = load_bytes_error(b"\0asm\x0d\0\x01\0");
    assert!(matches!(empty, LoadError::MissingExport { .. }), "{empty}");
    assert!(empty.to_string().contains("nearcache:backend/store"), "{empty}");

    let truncated = std::fs::read(guests::RUST_STORE).unwrap();
    let broken = load_bytes_error(&truncated[..truncated.len() / 2]);
    assert!(matches!(broken, LoadError::Invalid(_)), "{broken}");

    let missing = load_error("/nonexistent/backend.wasm");
    assert!(matches!(missing, LoadError::Read { .. }), "{missing}");
    for error in [not_wasm, core, empty, broken, missing] {
        assert!(!error.to_string().contains('\n'), "not one line: {error}");
    }
}

/// Set in a child process of this test binary: the guest it loads.
const CHILD_GUEST: &str = "NEARCACHE_SANDBOX_CHILD_GUEST";
/// Set in a child process of this test binary: how many `get`s it makes.
const CHILD_GETS: &str = "NEARCACHE_SANDBOX_CHILD_GETS";

/// Not a test of its own: the child process that [`in_child`] starts.
/// Loads the guest named by [`CHILD_GUEST`] as a cache would (load, init,
/// then [`CHILD_GETS`] `get`s of the trigger key) and reports how it went:
/// `refused: ` and the load error, or `get: ` and the last get's result and
/// `rss-growth-kib: ` and how much the process grew from the first get to
/// the last; then `end`. Each line starts with `child: `. A load error of
/// more than one line fails it.
#[test]
#[ignore = "the child process of the tests that load a guest in one"]
fn child_process_loads_a_guest() {
    let Ok(path) = std::env::var(CHILD_GUEST) else { return };
    let gets: u32 = std::env::var(CHILD_GETS).map_or(1, |n| n.parse().expect("a number of gets"));
    let engine = WasmEngine::new(limits()).expect("engine");
    match WasmFactory::load_file(&engine, &path) {
        Err(error) => {
            let line = error.to_string();
            assert!(!line.contains('\n'), "a load error of more than one line: {line}");
            println!("child: refused: {line}");
        }
        Ok(factory) => {
            let mut backend = started(&factory);
            let mut last = backend.get(TRIGGER, NOW);
            let before = resident_kib();
            for _ in 1..gets {
                last = backend.get(TRIGGER, NOW);
            }
            let growth = resident_kib().saturating_sub(before);
            match last {
                Ok(Some(value)) => println!("child: get: {}", String::from_utf8_lossy(&value)),
                other => println!("child: get: {other:?}"),
            }
            println!("child: rss-growth-kib: {growth}");
        }
    }
    println!("child: end");
}

/// This process's resident memory (Linux's `VmRSS`), in KiB.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).expect("a VmRSS line");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmRSS in kB")
}

/// What the child process loading `path` and making `gets` gets reported,
/// one string per line, without `end`. Fails if the child died (an abort,
/// a signal).
fn in_child(path: &str, gets: u32) -> Vec<String> {
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["child_process_loads_a_guest", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_GUEST, path)
        .env(CHILD_GETS, gets.to_string())
        .output()
        .expect("start the child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "loading {path} killed the process ({}):\n{stdout}\n{stderr}", output.status);
    // The harness may print the test's name on the line of the first report.
    let mut report: Vec<String> =
        stdout.lines().filter_map(|line| line.split_once("child: ")).map(|(_, report)| report.to_owned()).collect();
    assert_eq!(report.pop().as_deref(), Some("end"), "the child did not finish:\n{stdout}\n{stderr}");
    report
}

/// GHSA-rc4p-x33f-vpr2: an indirect call through a non-final function type
/// aborted a wasmtime 48.0.8 built without `gc`. Non-final types are part
/// of the GC proposal, which is off: refused at load, in one line naming it.
#[test]
fn hostile_non_final_call_indirect() {
    let report = in_child(guests::HOSTILE_NON_FINAL_CALL_INDIRECT, 1);
    assert_eq!(report.len(), 1, "{report:?}");
    assert!(report[0].starts_with("refused: the component uses the WebAssembly GC proposal"), "{report:?}");
    assert!(report[0].contains("subtypes"), "the line does not say what was found: {report:?}");
}

/// Struct and array types of the GC proposal: refused at load, in one line
/// naming it.
#[test]
fn hostile_gc_struct_array() {
    let report = in_child(guests::HOSTILE_GC_STRUCT_ARRAY, 1);
    assert_eq!(report.len(), 1, "{report:?}");
    assert!(report[0].starts_with("refused: the component uses the WebAssembly GC proposal"), "{report:?}");
}

/// GHSA-5m8g-xhq4-4h93: a million empty writes and flushes to stdout and
/// stderr, in five calls, leave the host's memory where it was: a guest's
/// output is discarded as it comes, nothing is queued for it.
#[test]
fn hostile_empty_writes() {
    let report = in_child(guests::HOSTILE_EMPTY_WRITES, 6);
    assert_eq!(report.len(), 2, "{report:?}");
    assert_eq!(report[0], "get: written");
    let growth: u64 = report[1].strip_prefix("rss-growth-kib: ").and_then(|n| n.parse().ok()).expect("a growth");
    // Under a byte per call; a host that kept even an empty `Bytes` (32
    // bytes) per write would grow by tens of MiB.
    assert!(growth < 1024, "the host grew by {growth} KiB");
}
