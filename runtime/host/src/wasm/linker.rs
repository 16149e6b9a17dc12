//! What a guest may import, and nothing else.
//!
//! The `host` interface of the backend world, and the part of WASI 0.2 that
//! language runtimes need to start (Rust's `std` imports `wasi:io`, and
//! `wasi:cli` for its panic and print paths), backed by an empty context:
//! no arguments, no environment, stdin closed, stdout and stderr discarded,
//! clocks that tell time but cannot sleep, and random numbers. There is no
//! `wasi:filesystem` and no `wasi:sockets`: a component that imports either
//! fails to load, and the error names the import.

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime::{Engine, format_err};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::sync as wasi;
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};

use super::bindings::HOST_IMPORT;
use super::state::State;
use super::{host_log, no_wait};

/// The interfaces a guest may import, by name without version: the
/// backend's `host`, then the WASI 0.2 interfaces linked below (any 0.2.x).
pub(crate) const PROVIDED: &[&str] = &[
    HOST_IMPORT,
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
];

/// [`PROVIDED`], for error messages.
pub(crate) const PROVIDED_SUMMARY: &str = "nearcache:backend/host, and wasi:io, wasi:clocks, wasi:random, wasi:cli";

/// Whether `import` (a component's import name, with its version) is one
/// the host provides. wasmtime's linker accepts any semver-compatible
/// version, so the version is not compared here.
pub(crate) fn is_provided(import: &str) -> bool {
    let name = import.split_once('@').map_or(import, |(name, _version)| name);
    PROVIDED.contains(&name)
}

/// The instance of `wasi:clocks/monotonic-clock` that wasmtime-wasi defines,
/// whose `subscribe-*` functions are replaced below.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

struct Table;

impl HasData for Table {
    type Data<'a> = &'a mut ResourceTable;
}

/// A linker with exactly the imports in [`PROVIDED`].
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<State>> {
    let mut linker = Linker::<State>::new(engine);
    let l = &mut linker;
    host_log::add_to_linker(l)?;

    wasi::io::error::add_to_linker::<State, Table>(l, |state| &mut state.table)?;
    wasi::io::poll::add_to_linker::<State, Table>(l, |state| &mut state.table)?;
    wasi::io::streams::add_to_linker::<State, Table>(l, |state| &mut state.table)?;
    wasi::clocks::wall_clock::add_to_linker::<State, WasiClocks>(l, <State as WasiClocksView>::clocks)?;
    wasi::clocks::monotonic_clock::add_to_linker::<State, WasiClocks>(l, <State as WasiClocksView>::clocks)?;
    wasi::random::random::add_to_linker::<State, WasiRandom>(l, State::random)?;
    wasi::random::insecure::add_to_linker::<State, WasiRandom>(l, State::random)?;
    wasi::random::insecure_seed::add_to_linker::<State, WasiRandom>(l, State::random)?;
    let cli = <State as WasiCliView>::cli;
    wasi::cli::environment::add_to_linker::<State, WasiCli>(l, cli)?;
    wasi::cli::exit::add_to_linker::<State, WasiCli>(l, cli)?;
    wasi::cli::stdin::add_to_linker::<State, WasiCli>(l, cli)?;
    wasi::cli::stdout::add_to_linker::<State, WasiCli>(l, cli)?;
    wasi::cli::stderr::add_to_linker::<State, WasiCli>(l, cli)?;
    wasi::cli::terminal_input::add_to_linker::<State, WasiCli>(l, cli)?;
    wasi::cli::terminal_output::add_to_linker::<State, WasiCli>(l, cli)?;
    wasi::cli::terminal_stdin::add_to_linker::<State, WasiCli>(l, cli)?;
    wasi::cli::terminal_stdout::add_to_linker::<State, WasiCli>(l, cli)?;
    wasi::cli::terminal_stderr::add_to_linker::<State, WasiCli>(l, cli)?;

    // A guest must not block the host thread: fuel and epochs only count
    // time spent in wasm, so a sleep in a host call would escape both.
    // Telling time is fine; waiting for it traps. The blocking `wasi:io`
    // calls are redefined not to wait, nor to enter a tokio runtime.
    linker.allow_shadowing(true);
    no_wait::add_to_linker(&mut linker)?;
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap("subscribe-duration", |_, (_,): (u64,)| -> wasmtime::Result<(Resource<DynPollable>,)> {
        Err(format_err!("a backend may not sleep or wait (it called wasi:clocks/monotonic-clock.subscribe-duration)"))
    })?;
    clock.func_wrap("subscribe-instant", |_, (_,): (u64,)| -> wasmtime::Result<(Resource<DynPollable>,)> {
        Err(format_err!("a backend may not sleep or wait (it called wasi:clocks/monotonic-clock.subscribe-instant)"))
    })?;
    linker.allow_shadowing(false);
    Ok(linker)
}

impl State {
    fn random(&mut self) -> &mut wasmtime_wasi::random::WasiRandomCtx {
        WasiRandomView::random(self)
    }
}
