//! `nearcache bench`: the workload on nearcache and, in the same run with
//! the same settings, on its peers (the redis crate's `cache-aio` cache and
//! uncached GET); a Markdown table and the ratios, or one JSON object.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::{self, BackendArg, WorkloadArgs};
use crate::backend::{self, Source};
use crate::coherence;
use crate::failure::{Code, Failure};
use crate::monitor::{Ended, Monitor};
use crate::output::{self, Measured, Ratio, Ratios, Report, Settings, Stale, SystemReport, Systems};
use crate::redis_target::{self, RedisArgs};
use crate::signals::Signals;
use crate::status::{Status, Stream};
use crate::systems::{self, Kind, System};
use crate::workload::{KeySpace, Workload};
use crate::zipf::EXPONENT;

/// Arguments of `nearcache bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    redis: RedisArgs,
    /// nearcache's backend: `native`, or the path of a .wasm component.
    #[arg(long, default_value = "native", value_parser = args::backend, value_name = "native|PATH.wasm")]
    backend: BackendArg,
    /// An `init` option for the backend, repeatable [default:
    /// max-entries=<keys>, room for every key in each shard].
    #[arg(long = "backend-option", value_parser = args::option, value_name = "NAME=VALUE")]
    backend_options: Vec<(String, String)>,
    #[command(flatten)]
    workload: WorkloadArgs,
    /// How long each system is measured.
    #[arg(long, default_value = "10s", value_parser = args::duration)]
    duration: Duration,
    /// How long each system runs unmeasured first (filling its cache).
    #[arg(long, default_value = "1s", value_parser = args::duration_or_zero)]
    warmup: Duration,
    /// Print one JSON object (schema `nearcache-bench/1`) instead of the table.
    #[arg(long)]
    json: bool,
}

/// Runs the benchmark.
pub async fn run(args: Args) -> Result<ExitCode, Failure> {
    let mut signals = Signals::install()?;
    let mut status = Status::new(Stream::Stderr, false);
    let engine = backend::engine()?;
    let source =
        Source { backend: args.backend.clone(), options: backend::options(&args.backend_options, args.workload.keys) };
    // Load the backend first: a bad one fails before Redis is touched.
    backend::factory(&source.backend, &engine)?;
    let target = redis_target::resolve(&args.redis).await?;
    status.say(&target.note);

    let keys = Arc::new(KeySpace::new("bench", args.workload.keys));
    let mut admin = systems::plain(&target.url).await?;
    let populated = keys.populate(&mut admin, args.workload.value_size as usize).await;
    let outcome = match populated {
        Ok(()) => {
            let workload = Workload::new(&args.workload, Arc::clone(&keys));
            let mut bench = Bench {
                args: &args,
                url: &target.url,
                keys: &keys,
                workload,
                status: &mut status,
                signals: &mut signals,
            };
            bench.run_all(&source, &engine).await
        }
        Err(error) => Err(Failure::new(Code::Failed, format!("writing the benchmark's keys: {error}"))),
    };
    status.end();
    let deleted = keys.delete(&mut admin).await;
    let (measured, ended) = outcome?;
    if let Err(error) = deleted {
        return Err(Failure::new(Code::Failed, format!("deleting the benchmark's keys: {error}")));
    }
    let url = target.url.clone();
    if let Some(note) = target.stop() {
        status.say(&note);
    }

    if ended == Ended::Stopped {
        status.say("interrupted: the last system ran for less than --duration");
    }
    if let [nearcache, cache_aio, uncached] = measured.as_slice() {
        if args.json {
            let report = report(&args, &url, &source, [nearcache, cache_aio, uncached]);
            let json = serde_json::to_string_pretty(&report).map_err(|e| Failure::new(Code::Failed, e))?;
            println!("{json}");
        } else {
            print_table(&args, &source, &measured);
            println!("{}", Ratio::of(nearcache, cache_aio).line(Kind::CacheAio.label()));
            println!("{}", Ratio::of(nearcache, uncached).line(Kind::Uncached.label()));
        }
    } else if !args.json {
        print_table(&args, &source, &measured);
    }
    if let Some(failed) = measured.iter().find(|m| m.tally.errors > 0) {
        let first = failed.tally.first_error.as_deref().unwrap_or("unknown");
        return Err(Failure::new(
            Code::Failed,
            format!("{}: {} operations failed; the first: {first}", failed.label, failed.tally.errors),
        ));
    }
    Ok(match ended {
        Ended::Elapsed => ExitCode::SUCCESS,
        Ended::Stopped => Code::Interrupted.exit_code(),
    })
}

/// One benchmark run's context.
struct Bench<'a> {
    args: &'a Args,
    url: &'a str,
    keys: &'a KeySpace,
    workload: Workload,
    status: &'a mut Status,
    signals: &'a mut Signals,
}

impl Bench<'_> {
    /// Each system in turn, until all ran or a stop arrives.
    async fn run_all(
        &mut self,
        source: &Source,
        engine: &nearcache::wasm::WasmEngine,
    ) -> Result<(Vec<Measured>, Ended), Failure> {
        let mut measured = Vec::new();
        for kind in Kind::ALL {
            let system = match kind {
                Kind::Nearcache => System::nearcache(self.url, source, engine).await?,
                // As much room as nearcache's shards have, so neither evicts.
                Kind::CacheAio => System::cache_aio(self.url, 2 * self.args.workload.keys as usize).await?,
                Kind::Uncached => System::uncached(self.url).await?,
            };
            let (result, ended) = self.measure(system, source).await?;
            measured.extend(result);
            if ended == Ended::Stopped {
                return Ok((measured, ended));
            }
        }
        Ok((measured, Ended::Elapsed))
    }

    /// Warms `system` up, then measures it.
    async fn measure(&mut self, system: System, source: &Source) -> Result<(Option<Measured>, Ended), Failure> {
        let label = system.kind().label();
        let system = Arc::new(system);
        let mut running = self.workload.start(Arc::clone(&system), systems::plain(self.url).await?);
        self.status.say(&format!("{label}: {:?} of warm-up, then {:?} measured", self.args.warmup, self.args.duration));
        self.status.begin();
        let hangup = (system.kind() == Kind::Nearcache).then_some(source);
        let mut monitor = Monitor {
            status: &*self.status,
            signals: &mut *self.signals,
            run_started: Instant::now(),
            base: system.counters(),
            hangup,
        };
        if !self.args.warmup.is_zero() && monitor.watch(&running, self.args.warmup).await == Ended::Stopped {
            running.stop().await;
            return Ok((None, Ended::Stopped));
        }
        running.take_phase();
        let before = system.counters();
        let ended = monitor.watch(&running, self.args.duration).await;
        let (tally, elapsed) = running.stop().await;
        self.status.end();
        let counters = system.counters().since(before);
        let stale = match system.kind() {
            // It always asks Redis.
            Kind::Uncached => Vec::new(),
            _ => coherence::stale_keys(&system, &mut systems::plain(self.url).await?, self.keys)
                .await
                .map_err(|reason| Failure::new(Code::Failed, format!("{label}: checking for stale keys: {reason}")))?,
        };
        let stale = Stale { keys: stale.len() as u64, read_share: self.workload.read_share(&stale) };
        let result = Measured {
            label: label.to_owned(),
            backend: system.backend(),
            seconds: elapsed.as_secs_f64(),
            tally,
            counters,
            stale: Some(stale),
        };
        Ok((Some(result), ended))
    }
}

fn print_table(args: &Args, source: &Source, measured: &[Measured]) {
    let w = &args.workload;
    println!(
        "nearcache bench: {} clients, {} keys (zipf s={EXPONENT}), {} B values, {} reads, \
         {:?} per system after {:?} of warm-up, nearcache on {}, {} tokio workers",
        w.clients,
        output::count(f64::from(w.keys)),
        w.value_size,
        output::percent(w.read_ratio),
        args.duration,
        args.warmup,
        source.backend.describe(),
        worker_threads(),
    );
    println!();
    let rows: Vec<&Measured> = measured.iter().collect();
    print!("{}", output::bench_table(&rows));
    println!();
}

fn report(args: &Args, url: &str, source: &Source, [nearcache, cache_aio, uncached]: [&Measured; 3]) -> Report {
    let w = &args.workload;
    Report {
        schema: output::SCHEMA,
        settings: Settings {
            redis: redis_target::masked(url),
            backend: source.backend.describe(),
            clients: w.clients,
            keys: w.keys,
            zipf_exponent: EXPONENT,
            value_size: w.value_size,
            read_ratio: w.read_ratio,
            duration_secs: args.duration.as_secs_f64(),
            warmup_secs: args.warmup.as_secs_f64(),
            worker_threads: worker_threads(),
        },
        systems: Systems {
            nearcache: SystemReport::from(nearcache),
            cache_aio: SystemReport::from(cache_aio),
            uncached: SystemReport::from(uncached),
        },
        ratios: Ratios { cache_aio: Ratio::of(nearcache, cache_aio), uncached: Ratio::of(nearcache, uncached) },
    }
}

/// The tokio runtime's worker threads (one per core).
fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
