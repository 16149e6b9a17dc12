//! The live status line: an indicatif bar when the stream is a terminal,
//! plain periodic lines (or nothing) otherwise.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::{self, count, micros, percent};

/// Where the status goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How the status shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One line redrawn in place.
    Live,
    /// One line per tick.
    Plain,
    /// No ticks; events only.
    Quiet,
}

/// One tick's figures.
#[derive(Debug, Clone)]
pub struct Line {
    /// Seconds since the run began.
    pub elapsed: Duration,
    /// The backend, or the system's name.
    pub backend: String,
    /// Operations per second over the tick.
    pub ops_per_sec: f64,
    /// Hit ratio over the tick.
    pub hit_ratio: f64,
    /// Invalidations since the run began.
    pub invalidations: u64,
    /// Read latency median over the tick, microseconds.
    pub p50_us: f64,
    /// Read latency 99th percentile over the tick, microseconds.
    pub p99_us: f64,
}

impl Line {
    /// The line for a terminal: under 80 columns with the spinner.
    fn compact(&self) -> String {
        let micros = |us: f64| output::micros(us).replace(' ', "");
        format!(
            "{:>5.1}s  {:<10} {:>5} ops/s  hit {:>5}  inval {:>5}  p50 {:>5}  p99 {:>5}",
            self.elapsed.as_secs_f64(),
            self.backend,
            output::si(self.ops_per_sec),
            percent(self.hit_ratio),
            output::si(self.invalidations as f64),
            micros(self.p50_us),
            micros(self.p99_us),
        )
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>5.1}s  {:<10} {:>9} ops/s  hits {:>6}  inval {:>7}  p50 {:>8}  p99 {:>8}",
            self.elapsed.as_secs_f64(),
            self.backend,
            count(self.ops_per_sec),
            percent(self.hit_ratio),
            count(self.invalidations as f64),
            micros(self.p50_us),
            micros(self.p99_us),
        )
    }
}

/// The status of one run.
pub struct Status {
    mode: Mode,
    stream: Stream,
    bar: Option<ProgressBar>,
}

impl Status {
    /// A status on `stream`: live on a terminal; otherwise plain lines
    /// when `plain` is set, else quiet.
    pub fn new(stream: Stream, plain: bool) -> Status {
        let terminal = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        let mode = match (terminal, plain) {
            (true, _) => Mode::Live,
            (false, true) => Mode::Plain,
            (false, false) => Mode::Quiet,
        };
        Status { mode, stream, bar: None }
    }

    /// How often to tick.
    pub fn tick_every(&self) -> Duration {
        match self.mode {
            Mode::Live => Duration::from_millis(250),
            Mode::Plain | Mode::Quiet => Duration::from_secs(1),
        }
    }

    /// Starts the live line (a spinner and the latest tick).
    pub fn begin(&mut self) {
        self.end();
        if self.mode != Mode::Live {
            return;
        }
        let target = match self.stream {
            Stream::Stdout => ProgressDrawTarget::stdout(),
            Stream::Stderr => ProgressDrawTarget::stderr(),
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(ProgressStyle::with_template("{spinner:.cyan} {wide_msg}").expect("a valid template"));
        bar.enable_steady_tick(Duration::from_millis(100));
        self.bar = Some(bar);
    }

    /// Shows a tick.
    pub fn tick(&self, line: &Line) {
        match (self.mode, &self.bar) {
            (Mode::Live, Some(bar)) => bar.set_message(line.compact()),
            (Mode::Plain, _) => self.print(&line.to_string()),
            _ => {}
        }
    }

    /// Prints an event on its own line (above the bar, if one is live).
    pub fn say(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| self.print(text)),
            None => self.print(text),
        }
    }

    /// Clears the bar.
    pub fn end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn print(&self, text: &str) {
        let _ = match self.stream {
            Stream::Stdout => writeln!(std::io::stdout(), "{text}"),
            Stream::Stderr => writeln!(std::io::stderr(), "{text}"),
        };
    }
}

impl Drop for Status {
    fn drop(&mut self) {
        self.end();
    }
}
