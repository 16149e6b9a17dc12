//! `nearcache`: the command-line tool.
//!
//! # Layout
//!
//! - `demo`: `nearcache demo`, the README's main command: a workload served
//!   by the cache, hot-reloaded midway, with a live status line.
//! - `bench`: `nearcache bench`, the same workload on nearcache and its peers.
//! - `check`: `nearcache check BACKEND.wasm`, the conformance suite on a
//!   component, in process.
//! - `workload`: the key space, the client tasks, their tally; `zipf`: the
//!   key distribution.
//! - `systems`: nearcache, the redis crate's `cache-aio` cache, uncached GET;
//!   `coherence`: the end-of-run check for stale entries.
//! - `backend`: the backend the flags name, the wasm engine; `guest`: the
//!   Rust guest the demo swaps in; `reload`: hot reload.
//! - `redis_target`: which Redis; `redis_server`: a private redis-server.
//! - `monitor`: watching a run; `status`: the live status line; `signals`:
//!   Ctrl-C, SIGTERM, SIGHUP; `output`: tables and JSON.
//! - `args`: flag values; `failure`: exit codes and one-line errors.

mod args;
mod backend;
mod bench;
mod check;
mod coherence;
mod demo;
mod failure;
mod guest;
mod monitor;
mod output;
mod redis_server;
mod redis_target;
mod reload;
mod signals;
mod status;
mod systems;
mod workload;
mod zipf;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::failure::{Code, EXIT_CODES, Failure};

/// nearcache: a Redis client-side cache with pluggable, sandboxed backends.
///
/// Logs go to stderr, filtered by RUST_LOG (e.g. RUST_LOG=nearcache=debug).
#[derive(Debug, Parser)]
#[command(name = "nearcache", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a read-heavy workload from the cache, with a second client
    /// writing, and swap the backend live (native, Rust guest, native).
    #[command(after_help = EXIT_CODES)]
    Demo(demo::Args),
    /// Run the workload on nearcache and, in the same run, on the redis
    /// crate's cache-aio cache and on uncached GET; print the figures.
    #[command(after_help = EXIT_CODES)]
    Bench(bench::Args),
    /// Load a backend component, print its world, and run the conformance
    /// suite against it (no Redis needed).
    #[command(after_help = EXIT_CODES)]
    Check(check::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("off"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Demo(args) => run_async(demo::run(args)),
        Command::Bench(args) => run_async(bench::run(args)),
    }
}

/// Runs a command on a multi-thread tokio runtime, one worker per core.
fn run_async(command: impl Future<Output = Result<ExitCode, Failure>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return Failure::new(Code::Failed, format!("cannot start the async runtime: {error}")).report(),
    };
    runtime.block_on(command).unwrap_or_else(Failure::report)
}

/// Help and version as clap prints them; any other parse error as one line.
fn usage(error: &clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
    }
    let text = error.to_string();
    let first = text.lines().next().unwrap_or("bad arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    Failure::new(Code::Usage, format!("{first} (see --help)")).report()
}
