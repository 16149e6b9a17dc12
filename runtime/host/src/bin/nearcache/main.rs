//! `nearcache`: the command-line tool.
//!
//! # Layout
//!
//! - `check`: `nearcache check BACKEND.wasm`, the conformance suite on a
//!   component, in process.

mod check;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// nearcache: a Redis client-side cache with pluggable, sandboxed backends.
#[derive(Debug, Parser)]
#[command(name = "nearcache", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load a backend component, print its world, and run the conformance
    /// suite against it (no Redis needed).
    Check(check::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check(args) => check::run(&args),
    }
}
