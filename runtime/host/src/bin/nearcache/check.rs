//! `nearcache check BACKEND.wasm`: load a component, print its world and
//! imports, run the conformance suite against it in process, and print a
//! per-callback latency table and a closing `N passed, M failed` line.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nearcache::conformance::{self, SuiteOptions, Verdict};
use nearcache::wasm::{Limits, WasmEngine, WasmFactory};
use nearcache::{Backend, BackendError};

use crate::failure::{Code, Failure};

/// Arguments of `nearcache check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The backend: a WebAssembly component of the `nearcache:backend/backend` world.
    backend: PathBuf,
    /// Random operation sequences per property test.
    #[arg(long, default_value_t = 256)]
    cases: u32,
}

pub fn run(args: &Args) -> ExitCode {
    let engine = match WasmEngine::new(Limits::default()) {
        Ok(engine) => engine,
        Err(error) => return Failure::new(Code::Backend, error).report(),
    };
    let factory = match WasmFactory::load_file(&engine, &args.backend) {
        Ok(factory) => factory,
        Err(error) => return Failure::new(Code::Backend, format!("{}: {error}", args.backend.display())).report(),
    };
    let info = factory.info();
    println!("{}: compiled in {:.1?}", args.backend.display(), info.load_time);
    println!("{}", info.world());
    println!();

    let timings = Arc::new(Mutex::new(Timings::default()));
    let make = || -> Result<Box<dyn Backend>, BackendError> {
        Ok(Box::new(Timed { inner: factory.instantiate()?, timings: Arc::clone(&timings) }))
    };
    let outcomes = conformance::run(&make, &SuiteOptions { cases: args.cases });
    for outcome in &outcomes {
        println!("{outcome}");
    }
    println!();
    print_latency_table(&timings.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));

    let count = |f: fn(&Verdict) -> bool| outcomes.iter().filter(|o| f(&o.verdict)).count();
    let passed = count(|v| matches!(v, Verdict::Passed));
    let failed = count(|v| matches!(v, Verdict::Failed(_)));
    let skipped = count(|v| matches!(v, Verdict::Skipped(_)));
    println!();
    if skipped > 0 {
        println!("{passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("{passed} passed, {failed} failed");
    }
    if failed > 0 {
        let names: Vec<&str> =
            outcomes.iter().filter(|o| matches!(o.verdict, Verdict::Failed(_))).map(|o| o.name).collect();
        let message = format!("{}: {failed} conformance check(s) failed: {}", args.backend.display(), names.join(", "));
        return Failure::new(Code::Failed, message).report();
    }
    ExitCode::SUCCESS
}

/// Call durations by callback name.
#[derive(Default)]
struct Timings {
    by_call: BTreeMap<&'static str, Vec<Duration>>,
}

fn print_latency_table(timings: &Timings) {
    println!("{:<16} {:>9} {:>10} {:>10} {:>10} {:>10}", "callback", "calls", "mean", "p50", "p99", "max");
    for (call, durations) in &timings.by_call {
        let mut sorted = durations.clone();
        sorted.sort_unstable();
        let n = sorted.len();
        let total: Duration = sorted.iter().sum();
        let at = |q: f64| {
            let index = ((n as f64 - 1.0) * q).round() as usize;
            sorted[index]
        };
        let mean = total / u32::try_from(n).unwrap_or(u32::MAX);
        println!(
            "{:<16} {:>9} {:>10} {:>10} {:>10} {:>10}",
            call,
            n,
            format!("{mean:.1?}"),
            format!("{:.1?}", at(0.5)),
            format!("{:.1?}", at(0.99)),
            format!("{:.1?}", sorted[n - 1])
        );
    }
}

/// A backend that records how long each call takes.
struct Timed<B> {
    inner: B,
    timings: Arc<Mutex<Timings>>,
}

impl<B: Backend> Timed<B> {
    fn time<R>(&mut self, call: &'static str, f: impl FnOnce(&mut B) -> R) -> R {
        let started = Instant::now();
        let result = f(&mut self.inner);
        let elapsed = started.elapsed();
        let mut timings = self.timings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        timings.by_call.entry(call).or_default().push(elapsed);
        result
    }
}

impl<B: Backend> Backend for Timed<B> {
    fn init(&mut self, options: &[(String, String)]) -> Result<(), BackendError> {
        self.time("init", |b| b.init(options))
    }
    fn get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, BackendError> {
        self.time("get", |b| b.get(key, now_ms))
    }
    fn put(&mut self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) -> Result<(), BackendError> {
        self.time("put", |b| b.put(key, value, ttl_ms, now_ms))
    }
    fn put_with_ref(
        &mut self,
        key: &[u8],
        redis_key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(), BackendError> {
        self.time("put-with-ref", |b| b.put_with_ref(key, redis_key, value, ttl_ms, now_ms))
    }
    fn invalidate(&mut self, keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        self.time("invalidate", |b| b.invalidate(keys))
    }
    fn invalidate_refs(&mut self, redis_keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        self.time("invalidate-refs", |b| b.invalidate_refs(redis_keys))
    }
    fn flush(&mut self) -> Result<(), BackendError> {
        self.time("flush", Backend::flush)
    }
    fn stats(&mut self) -> Result<Vec<(String, u64)>, BackendError> {
        self.time("stats", Backend::stats)
    }
    fn sweep(&mut self, now_ms: u64, max: u32) -> Result<u32, BackendError> {
        self.time("sweep", |b| b.sweep(now_ms, max))
    }
    fn destroy(&mut self) -> Result<(), BackendError> {
        self.time("destroy", Backend::destroy)
    }
}
