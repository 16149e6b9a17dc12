//! The `nearcache` program, run as a user would: the built binary.
//!
//! - `check` on the rust guest and the guests in other languages (pass)
//!   and on a file that is not wasm (one-line error); `check` and `bench`
//!   on the hostile guests that use a proposal the host turns off (one-line
//!   error, no abort).
//! - `demo` and `bench` end to end against a private redis-server (short
//!   runs), their output parsed; the schema of `bench --json`; reloads on
//!   SIGHUP and on a change to the backend file.
//! - Bad flags and an unreachable server: one line on stderr, non-zero exit.

mod support {
    pub mod language_guest;
    pub mod rust_guest;
}

// The workspace tests' private redis-server, shared rather than copied.
#[path = "../../../tests/support/redis_server.rs"]
#[allow(dead_code, reason = "shared with the workspace tests, which use all of it")]
mod redis_server;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use redis_server::RedisServer;
use serde_json::Value;

fn nearcache() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nearcache"));
    // Compiled components go under target/, not the user's cache directory.
    command.env("XDG_CACHE_HOME", Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache"));
    command
}

#[test]
fn check_passes_the_rust_guest() {
    let guest = support::rust_guest::rust_store();
    let output = nearcache().args(["check", "--cases", "64"]).arg(&guest).output().expect("run nearcache");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "nearcache check failed:\n{stdout}\n{stderr}");
    // The world: the backend's export, and imports the host provides (the
    // guest never logs, so it does not import `host`; std imports wasi:cli).
    assert!(stdout.contains("export nearcache:backend/store@0.1.0;"), "{stdout}");
    assert!(stdout.contains("import wasi:cli/stderr@0.2"), "{stdout}");
    // A latency row for the hot callbacks.
    for call in ["get", "put", "invalidate-refs", "sweep"] {
        assert!(
            stdout.lines().any(|line| line.starts_with(&format!("{call} "))),
            "no latency row for {call}:\n{stdout}"
        );
    }
    let checks = nearcache::conformance::check_names().len();
    assert_eq!(stdout.lines().last(), Some(format!("{checks} passed, 0 failed").as_str()), "{stdout}");
}

#[test]
fn check_rejects_a_file_that_is_not_wasm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("backend.wasm");
    std::fs::write(&path, "#!/bin/sh\necho not wasm\n").expect("write");
    let output = nearcache().arg("check").arg(&path).output().expect("run nearcache");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.contains("not a WebAssembly file") && stderr.contains("backend.wasm"), "{stderr}");
    assert!(output.stdout.is_empty(), "printed before failing: {}", String::from_utf8_lossy(&output.stdout));
}

/// A backend that uses a WebAssembly proposal the host turns off (the
/// hostile guests of `guests/hostile-wat`: GC types, and the non-final
/// function types that aborted wasmtime 48.0.8) is refused at load by
/// `check` and by `bench`, each in one line naming the proposal: an exit
/// code, not an abort.
#[test]
fn check_and_bench_refuse_a_backend_that_uses_a_disabled_proposal() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let guests = nearcache_guest_build::WatGuest::all(&root).expect("list guests/hostile-wat");
    assert!(!guests.is_empty());
    // Loading fails before Redis is reached, so none is needed.
    let url = format!("redis://127.0.0.1:{}", redis_server::free_port());
    for guest in guests {
        let path = guest.build(&root, out_dir.path()).unwrap_or_else(|error| panic!("{error}"));
        let path = path.to_str().expect("a UTF-8 path");
        for args in [&["check", path][..], &["bench", "--redis", &url, "--backend", path]] {
            let output = run(args);
            assert_one_line_error(
                &output,
                4,
                "the component uses the WebAssembly GC proposal, which this host turns off",
            );
            assert!(output.stdout.is_empty(), "{args:?} printed: {}", text(&output.stdout));
        }
    }
}

/// Runs `nearcache args...` to the end.
fn run(args: &[&str]) -> Output {
    nearcache().args(args).output().expect("run nearcache")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the run failed with `code` and one line on stderr containing `needle`.
fn assert_one_line_error(output: &Output, code: i32, needle: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("error: ") && stderr.contains(needle), "{stderr}");
}

/// Keys left in the server's database 0.
fn dbsize(server: &RedisServer) -> i64 {
    let mut connection = server.client().get_connection().expect("connect");
    redis::cmd("DBSIZE").query(&mut connection).expect("DBSIZE")
}

/// The rows of the demo's summary table: each row's whitespace-separated cells.
fn summary_rows(stdout: &str) -> Vec<Vec<String>> {
    let mut lines = stdout.lines().skip_while(|line| *line != "summary").skip(1);
    let header = lines.next().expect("a summary header");
    assert!(header.starts_with("phase"), "{header}");
    lines
        .take_while(|line| !line.trim().is_empty())
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}

fn number(cell: &str) -> f64 {
    cell.trim_end_matches('%').replace(',', "").parse().unwrap_or_else(|_| panic!("not a number: {cell}"))
}

#[test]
fn demo_runs_end_to_end_and_swaps_the_backend() {
    let server = RedisServer::start(&[]);
    let guest = support::rust_guest::rust_store();
    let guest = guest.to_str().expect("a UTF-8 path");
    let url = server.url();
    let output =
        run(&["demo", "--redis", &url, "--duration", "3s", "--keys", "2000", "--clients", "4", "--guest", guest]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{}", text(&output.stderr));
    assert!(stdout.contains(&format!("Redis at {url}")), "{stdout}");
    assert!(stdout.contains("hot reload: native -> rust_store in"), "{stdout}");
    assert!(stdout.contains("hot reload: rust_store -> native in"), "{stdout}");

    let rows = summary_rows(&stdout);
    let labels: Vec<(&str, &str)> = rows.iter().map(|row| (row[0].as_str(), row[1].as_str())).collect();
    assert_eq!(labels, [("1", "native"), ("2", "rust_store"), ("3", "native"), ("all", "-")], "{stdout}");
    for row in &rows {
        // phase backend seconds ops/s hit-ratio invalidations p50 p99 errors
        assert_eq!(row.len(), 9, "{row:?}");
        assert!(number(&row[2]) > 0.5, "{row:?}");
        assert!(number(&row[3]) > 0.0, "no operations: {row:?}");
        assert!((0.0..=100.0).contains(&number(&row[4])), "{row:?}");
        assert!(number(&row[6]) > 0.0 && number(&row[7]) >= number(&row[6]), "{row:?}");
        assert_eq!(row[8], "0", "errors: {row:?}");
    }
    let all = &rows[3];
    assert!(number(&all[4]) > 50.0, "hit ratio: {all:?}");
    assert!(number(&all[5]) > 0.0, "no invalidations arrived: {all:?}");
    assert!(stdout.contains("coherence: 0 of 2,000 keys read stale once the writes stopped"), "{stdout}");
    assert!(stdout.contains("deleted 2,000 keys under nearcache:demo:"), "{stdout}");
    assert_eq!(dbsize(&server), 0, "the demo left keys behind");
}

#[test]
fn demo_starts_and_stops_a_private_redis_server() {
    let guest = support::rust_guest::rust_store();
    let output = nearcache()
        .args(["demo", "--start-redis", "always", "--duration", "1s", "--keys", "100", "--clients", "2", "--guest"])
        .arg(&guest)
        .output()
        .expect("run nearcache");
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{}", text(&output.stderr));
    let note = stdout.lines().find(|line| line.starts_with("started a private redis-server at ")).expect(&stdout);
    // "started a private redis-server at redis://127.0.0.1:PORT (pid N), stopped on exit"
    let port: u16 = note.split(':').nth(2).and_then(|p| p.split(' ').next()).and_then(|p| p.parse().ok()).expect(note);
    let pid = note.split("(pid ").nth(1).and_then(|p| p.split(')').next()).expect(note);
    assert_eq!(summary_rows(&stdout).len(), 4, "{stdout}");
    // Stopped and reaped before the program exited.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the private server still listens");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "redis-server pid {pid} still exists");
}

/// Sends `signal` (e.g. `-HUP`) to `pid` with kill(1).
fn signal(pid: u32, signal: &str) {
    let sent = Command::new("kill").arg(signal).arg(pid.to_string()).status().expect("run kill");
    assert!(sent.success(), "kill {signal} {pid} failed");
}

/// The lines a running child prints, read as they come.
struct Lines<R: std::io::Read> {
    lines: std::io::Lines<BufReader<R>>,
    seen: Vec<String>,
}

impl<R: std::io::Read> Lines<R> {
    fn new(pipe: R) -> Self {
        Lines { lines: BufReader::new(pipe).lines(), seen: Vec::new() }
    }

    /// Reads until a line matches `what`; panics with every line seen if the
    /// child stops printing first.
    fn wait_for(&mut self, what: impl Fn(&str) -> bool) {
        for line in self.lines.by_ref().map_while(Result::ok) {
            let found = what(&line);
            self.seen.push(line);
            if found {
                return;
            }
        }
        panic!("the run ended first:\n{}", self.seen.join("\n"));
    }
}

#[test]
fn sighup_reloads_and_ctrl_c_stops_in_order() {
    let server = RedisServer::start(&[]);
    let mut child = nearcache()
        .args(["demo", "--redis", &server.url(), "--duration", "10m", "--keys", "500", "--clients", "2", "--guest"])
        .arg(support::rust_guest::rust_store())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nearcache");
    let mut output = Lines::new(child.stdout.take().expect("piped"));
    // A status tick: the workload is running.
    output.wait_for(|line| line.contains(" ops/s "));
    signal(child.id(), "-HUP");
    output.wait_for(|line| line.starts_with("SIGHUP: reload native -> native in"));
    signal(child.id(), "-INT");
    output.wait_for(|line| line == "interrupted: the summary covers the time run so far");
    let rest: Vec<String> = output.lines.map_while(Result::ok).collect();
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{}", rest.join("\n"));
    let stdout = rest.join("\n");
    assert_eq!(summary_rows(&stdout).len(), 2, "one phase and the total:\n{stdout}");
    assert!(stdout.contains("deleted 500 keys"), "{stdout}");
    assert_eq!(dbsize(&server), 0, "the demo left keys behind");
}

#[test]
fn a_changed_backend_file_reloads_and_a_truncated_one_is_refused() {
    let server = RedisServer::start(&[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = dir.path().join("watched.wasm");
    let wasm = std::fs::read(support::rust_guest::rust_store()).expect("the Rust guest");
    std::fs::write(&backend, &wasm).expect("write the backend");
    let mut child = nearcache()
        .args(["bench", "--redis", &server.url(), "--duration", "10m", "--warmup", "0s", "--keys", "500"])
        .args(["--clients", "2", "--backend"])
        .arg(&backend)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nearcache");
    // bench keeps stdout for its table: progress and events go to stderr.
    let mut output = Lines::new(child.stderr.take().expect("piped"));
    output.wait_for(|line| line.starts_with("watching ") && line.ends_with("watched.wasm for changes"));
    std::fs::write(&backend, &wasm[..wasm.len() / 2]).expect("truncate the backend");
    output.wait_for(|line| line.starts_with("backend file changed: reload failed, the backend in use keeps serving"));
    std::fs::write(&backend, &wasm).expect("rewrite the backend");
    output.wait_for(|line| line.starts_with("backend file changed: reload watched -> watched in"));
    signal(child.id(), "-INT");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert_eq!(dbsize(&server), 0, "the bench left keys behind");
}

#[test]
fn bench_json_has_the_schema() {
    let server = RedisServer::start(&[]);
    let url = server.url();
    let output = run(&[
        "bench",
        "--redis",
        &url,
        "--duration",
        "1s",
        "--warmup",
        "0.5s",
        "--keys",
        "1000",
        "--clients",
        "4",
        "--json",
    ]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "bench failed:\n{stdout}\n{}", text(&output.stderr));
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not one JSON object ({e}):\n{stdout}"));

    assert_eq!(report["schema"], "nearcache-bench/1");
    let settings = &report["settings"];
    assert_eq!(settings["redis"], url.as_str());
    assert_eq!(settings["backend"], "native");
    for (field, value) in [("clients", 4.0), ("keys", 1000.0), ("value_size", 100.0), ("read_ratio", 0.95)] {
        assert_eq!(settings[field].as_f64(), Some(value), "settings.{field}: {settings}");
    }
    for system in ["nearcache", "cache_aio", "uncached"] {
        let figures = &report["systems"][system];
        for field in ["ops_per_sec", "p50_us", "p99_us", "hit_ratio", "stale_read_share"] {
            assert!(figures[field].is_f64(), "systems.{system}.{field} is not a number: {figures}");
        }
        for field in ["invalidations", "stale_keys", "reads", "writes", "errors"] {
            assert!(figures[field].is_u64(), "systems.{system}.{field} is not a count: {figures}");
        }
        assert!(figures["ops_per_sec"].as_f64().unwrap() > 0.0, "{system}: {figures}");
        assert!(figures["p99_us"].as_f64().unwrap() >= figures["p50_us"].as_f64().unwrap(), "{system}: {figures}");
        assert_eq!(figures["errors"], 0, "{system}: {figures}");
        let hit_ratio = figures["hit_ratio"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&hit_ratio), "{system}: {figures}");
    }
    assert_eq!(report["systems"]["nearcache"]["backend"], "native");
    assert_eq!(report["systems"]["nearcache"]["stale_keys"], 0, "{report}");
    assert!(report["systems"]["nearcache"]["hit_ratio"].as_f64().unwrap() > 0.5, "{report}");
    assert!(report["systems"]["cache_aio"]["hit_ratio"].as_f64().unwrap() > 0.5, "{report}");
    assert_eq!(report["systems"]["uncached"]["hit_ratio"].as_f64(), Some(0.0));
    for peer in ["cache_aio", "uncached"] {
        for field in ["throughput", "p50_speedup", "p99_speedup"] {
            assert!(report["ratios"][peer][field].is_f64(), "ratios.{peer}.{field}: {report}");
        }
    }
    let near = report["systems"]["nearcache"]["ops_per_sec"].as_f64().unwrap();
    let raw = report["systems"]["uncached"]["ops_per_sec"].as_f64().unwrap();
    let ratio = report["ratios"]["uncached"]["throughput"].as_f64().unwrap();
    assert!((ratio - near / raw).abs() < 1e-6 * ratio, "{report}");
    assert_eq!(dbsize(&server), 0, "the bench left keys behind");
}

#[test]
fn bench_table_on_a_wasm_backend() {
    let server = RedisServer::start(&[]);
    let guest = support::rust_guest::rust_store();
    let output = nearcache()
        .args(["bench", "--redis", &server.url(), "--duration", "1s", "--warmup", "0s", "--keys", "500"])
        .args(["--clients", "2", "--backend"])
        .arg(&guest)
        .output()
        .expect("run nearcache");
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "bench failed:\n{stdout}\n{}", text(&output.stderr));
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| system") && !line.starts_with("| ---"))
        .map(|line| line.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    let systems: Vec<(&str, &str)> = rows.iter().map(|row| (row[0], row[1])).collect();
    assert_eq!(
        systems,
        [("nearcache", "rust_store"), ("cache-aio", "cache-aio"), ("uncached", "uncached")],
        "{stdout}"
    );
    for row in &rows {
        assert!(number(row[2]) > 0.0, "{row:?}");
    }
    for peer in ["cache-aio", "uncached"] {
        let line = stdout.lines().find(|line| line.starts_with(&format!("nearcache vs {peer}: "))).expect(&stdout);
        assert!(line.contains("x the ops/s"), "{line}");
    }
}

#[test]
fn bad_flags_fail_with_one_line() {
    assert_one_line_error(&run(&["bench", "--bogus"]), 2, "unexpected argument '--bogus'");
    assert_one_line_error(&run(&["bench", "--read-ratio", "2"]), 2, "expected a number from 0 to 1");
    assert_one_line_error(&run(&["demo", "--duration", "0s"]), 2, "--duration");
    assert_one_line_error(&run(&["bench", "--backend", "lru"]), 2, "expected `native` or the path of a .wasm");
    assert_one_line_error(&run(&["bench", "--redis", "http://x"]), 2, "invalid Redis URL");
    assert_one_line_error(&run(&["nosuch"]), 2, "unrecognized subcommand");
    let server = RedisServer::start(&[]);
    let missing = run(&["bench", "--redis", &server.url(), "--backend", "/nonexistent/backend.wasm"]);
    assert_one_line_error(&missing, 4, "/nonexistent/backend.wasm");
    assert_eq!(dbsize(&server), 0, "wrote keys before loading the backend");
}

#[test]
fn an_unreachable_server_fails_with_one_line() {
    let url = format!("redis://127.0.0.1:{}", redis_server::free_port());
    for command in ["demo", "bench"] {
        let output = run(&[command, "--redis", &url, "--duration", "1s"]);
        assert_one_line_error(&output, 3, &format!("cannot connect to Redis at {url}"));
        assert!(output.stdout.is_empty(), "{command} printed: {}", text(&output.stdout));
    }
}

#[test]
fn every_command_has_help() {
    for args in [&["--help"][..], &["demo", "--help"], &["bench", "--help"], &["check", "--help"]] {
        let output = run(args);
        let stdout = text(&output.stdout);
        assert!(output.status.success(), "{args:?}: {}", text(&output.stderr));
        assert!(stdout.contains("Usage: nearcache") && stdout.contains("Exit codes:"), "{args:?}:\n{stdout}");
    }
    let bench = text(&run(&["bench", "--help"]).stdout);
    for flag in ["--redis", "--backend", "--clients", "--keys", "--value-size", "--read-ratio", "--duration", "--json"]
    {
        assert!(bench.contains(flag), "bench --help lacks {flag}:\n{bench}");
    }
}

/// `nearcache check` on a guest in another language: the world is the
/// backend's and nothing else (no WASI), and the closing line counts every
/// check, the skipped ones being the reference checks of options the guest
/// refuses.
fn check_passes_a_language_guest(name: &str, skipped: usize) {
    let Some(guest) = support::language_guest::built(name) else { return };
    let output = nearcache().args(["check", "--cases", "64"]).arg(&guest).output().expect("run nearcache");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "nearcache check {name} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("export nearcache:backend/store@0.1.0;"), "{stdout}");
    assert!(!stdout.contains("import wasi:"), "{name} imports WASI:\n{stdout}");
    let passed = nearcache::conformance::check_names().len() - skipped;
    let closing = format!("{passed} passed, 0 failed, {skipped} skipped");
    assert_eq!(stdout.lines().last(), Some(closing.as_str()), "{stdout}");
}

#[test]
fn check_passes_the_python_guest() {
    check_passes_a_language_guest("python_lfu", 6);
}

#[test]
fn check_passes_the_javascript_guest() {
    check_passes_a_language_guest("js_sized", 6);
}

#[test]
fn check_passes_the_c_guest() {
    check_passes_a_language_guest("c_fifo", 4);
}
