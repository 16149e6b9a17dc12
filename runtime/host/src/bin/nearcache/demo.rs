//! `nearcache demo`: the README's main command. A read-heavy workload over
//! a zipf-like key space, with a second client writing, served by a cache
//! that is hot-reloaded midway from the native store to the Rust guest and
//! back; a live status line, then a summary table. Its keys live under a
//! prefix of their own and are deleted at the end; it never flushes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::{self, BackendArg, WorkloadArgs};
use crate::backend::{self, Source};
use crate::coherence;
use crate::failure::{Code, Failure};
use crate::guest;
use crate::monitor::{Ended, Monitor};
use crate::output::{self, Measured, Stale};
use crate::redis_target::{self, RedisArgs};
use crate::reload;
use crate::signals::Signals;
use crate::status::{Status, Stream};
use crate::systems::{self, System};
use crate::workload::{KeySpace, Workload};
use crate::zipf::EXPONENT;

/// Arguments of `nearcache demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    redis: RedisArgs,
    /// How long the workload runs in all: a third on the native store, a
    /// third on the Rust guest, a third on the native store again.
    #[arg(long, default_value = "20s", value_parser = args::duration)]
    duration: Duration,
    /// The Rust guest component to swap in [default: this repository's
    /// guests/rust-store, built with cargo if missing].
    #[arg(long, value_name = "PATH")]
    guest: Option<PathBuf>,
    #[command(flatten)]
    workload: WorkloadArgs,
}

/// One phase: the backend swapped in at its start (none: keep the one in use).
struct Phase {
    swap_to: Option<Source>,
    length: Duration,
}

/// Runs the demo.
pub async fn run(args: Args) -> Result<ExitCode, Failure> {
    let mut signals = Signals::install()?;
    let mut status = Status::new(Stream::Stdout, true);
    let target = redis_target::resolve(&args.redis).await?;
    status.say(&target.note);

    let engine = backend::engine()?;
    let options = backend::options(&[], args.workload.keys);
    let native = Source { backend: BackendArg::Native, options: options.clone() };
    let phases = match guest::rust_guest(args.guest.as_deref(), |text| status.say(text)) {
        Ok(path) => {
            let guest = Source { backend: BackendArg::Wasm(path), options };
            let third = args.duration / 3;
            vec![
                Phase { swap_to: None, length: third },
                Phase { swap_to: Some(guest), length: third },
                Phase { swap_to: Some(native.clone()), length: args.duration - 2 * third },
            ]
        }
        Err(reason) if args.guest.is_some() => return Err(Failure::new(Code::Backend, reason)),
        Err(reason) => {
            status.say(&format!("no Rust guest, so no hot reload in this run: {reason}"));
            vec![Phase { swap_to: None, length: args.duration }]
        }
    };

    let keys = Arc::new(KeySpace::new("demo", args.workload.keys));
    let mut admin = systems::plain(&target.url).await?;
    let w = &args.workload;
    status.say(&format!(
        "{} clients, {} keys under {}* (zipf s={EXPONENT}), {} B values, {} reads, a second client writing",
        w.clients,
        output::count(f64::from(w.keys)),
        keys.prefix(),
        w.value_size,
        output::percent(w.read_ratio)
    ));
    // From the first key written on, the keys are deleted whatever happens.
    let populated = keys.populate(&mut admin, w.value_size as usize).await;
    let outcome = match populated {
        Ok(()) => {
            let workload = Workload::new(w, Arc::clone(&keys));
            run_phases(&target.url, &engine, &native, &phases, &workload, &mut status, &mut signals).await
        }
        Err(error) => Err(Failure::new(Code::Failed, format!("writing the demo's keys: {error}"))),
    };
    status.end();
    let deleted = keys.delete(&mut admin).await;
    let Outcome { measured, ended, stale } = outcome?;

    println!();
    if ended == Ended::Stopped {
        println!("interrupted: the summary covers the time run so far");
    }
    println!("summary");
    let total = Measured::combined("all", "-", &measured);
    print!("{}", output::summary_table(&measured, &total));
    println!();
    println!(
        "coherence: {} of {} keys read stale once the writes stopped (each read through the cache and from Redis)",
        stale.describe(),
        output::count(keys.len() as f64)
    );
    match deleted {
        Ok(n) => println!("deleted {} keys under {}*", output::count(n as f64), keys.prefix()),
        Err(error) => return Err(Failure::new(Code::Failed, format!("deleting the demo's keys: {error}"))),
    }
    if let Some(note) = target.stop() {
        println!("{note}");
    }
    if total.tally.errors > 0 {
        let first = total.tally.first_error.as_deref().unwrap_or("unknown");
        return Err(Failure::new(
            Code::Failed,
            format!("{} operations failed; the first: {first}", total.tally.errors),
        ));
    }
    Ok(match ended {
        Ended::Elapsed => ExitCode::SUCCESS,
        Ended::Stopped => Code::Interrupted.exit_code(),
    })
}

/// What the phases did.
struct Outcome {
    /// Each phase's figures.
    measured: Vec<Measured>,
    /// Whether the run was stopped.
    ended: Ended,
    /// What the check for stale keys found once the writes stopped.
    stale: Stale,
}

/// Runs the phases, then checks every key against Redis.
async fn run_phases(
    url: &str,
    engine: &nearcache::wasm::WasmEngine,
    first: &Source,
    phases: &[Phase],
    workload: &Workload,
    status: &mut Status,
    signals: &mut Signals,
) -> Result<Outcome, Failure> {
    let system = Arc::new(System::nearcache(url, first, engine).await?);
    let mut running = workload.start(Arc::clone(&system), systems::plain(url).await?);
    let run_started = Instant::now();
    let base = system.counters();
    let mut source = first.clone();
    let mut measured = Vec::new();
    let mut ended = Ended::Elapsed;
    for (i, phase) in phases.iter().enumerate() {
        if let (Some(to), Some(cache)) = (&phase.swap_to, system.cache()) {
            let outcome = reload::reload(cache, to).await;
            status.say(&format!("hot reload: {}", reload::describe(&outcome)));
            if outcome.is_ok() {
                source = to.clone();
            }
        }
        status.begin();
        let before = system.counters();
        let mut monitor =
            Monitor { status: &*status, signals: &mut *signals, run_started, base, hangup: Some(&source) };
        ended = monitor.watch(&running, phase.length).await;
        let last = ended == Ended::Stopped || i + 1 == phases.len();
        let (tally, elapsed) = if last { running.stop().await } else { running.take_phase() };
        measured.push(Measured {
            label: (i + 1).to_string(),
            backend: system.backend(),
            seconds: elapsed.as_secs_f64(),
            tally,
            counters: system.counters().since(before),
            stale: None,
        });
        status.end();
        if last {
            break;
        }
    }
    let stale = coherence::stale_keys(&system, &mut systems::plain(url).await?, workload.keys())
        .await
        .map_err(|reason| Failure::new(Code::Failed, format!("checking for stale keys: {reason}")))?;
    let stale = Stale { keys: stale.len() as u64, read_share: workload.read_share(&stale) };
    Ok(Outcome { measured, ended, stale })
}
