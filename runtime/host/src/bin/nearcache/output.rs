//! What the commands print: measured results, the demo's summary table, the
//! bench's Markdown table, ratios and JSON report, and number formatting.

use std::fmt::Write as _;

use serde::Serialize;

use crate::systems::Counters;
use crate::workload::Tally;

/// The figures of one system, or of one phase of the demo.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The system, or the phase's name.
    pub label: String,
    /// The backend in use.
    pub backend: String,
    /// How long it ran.
    pub seconds: f64,
    /// What the clients did.
    pub tally: Tally,
    /// What the cache counted.
    pub counters: Counters,
    /// Keys read stale once the writes stopped, if checked.
    pub stale: Option<Stale>,
}

/// What the end-of-run coherence check found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stale {
    /// Keys read stale.
    pub keys: u64,
    /// The share of the workload's reads that go to those keys.
    pub read_share: f64,
}

impl Stale {
    /// `115 (48.1% of reads)`, or `0`.
    pub fn describe(&self) -> String {
        if self.keys == 0 {
            "0".to_owned()
        } else {
            format!("{} ({} of reads)", count(self.keys as f64), percent(self.read_share))
        }
    }
}

impl Measured {
    /// Reads and writes per second.
    pub fn ops_per_sec(&self) -> f64 {
        if self.seconds > 0.0 { self.tally.ops() as f64 / self.seconds } else { 0.0 }
    }

    /// Median read latency, microseconds.
    pub fn p50_us(&self) -> f64 {
        self.tally.quantile_us(0.5)
    }

    /// 99th percentile read latency, microseconds.
    pub fn p99_us(&self) -> f64 {
        self.tally.quantile_us(0.99)
    }

    /// The results of `parts` run one after the other, as one.
    pub fn combined(label: &str, backend: &str, parts: &[Measured]) -> Measured {
        let mut tally = Tally::new();
        let mut counters = Counters::default();
        for part in parts {
            tally.add(&part.tally);
            counters.hits += part.counters.hits;
            counters.misses += part.counters.misses;
            counters.invalidations += part.counters.invalidations;
        }
        Measured {
            label: label.to_owned(),
            backend: backend.to_owned(),
            seconds: parts.iter().map(|p| p.seconds).sum(),
            tally,
            counters,
            stale: None,
        }
    }
}

/// The demo's summary: one row per phase and a total.
pub fn summary_table(phases: &[Measured], total: &Measured) -> String {
    let mut text = format!(
        "{:<6} {:<12} {:>8} {:>12} {:>9} {:>13} {:>9} {:>9} {:>7}\n",
        "phase", "backend", "seconds", "ops/s", "hit ratio", "invalidations", "p50 (us)", "p99 (us)", "errors"
    );
    for row in phases.iter().chain([total]) {
        let _ = writeln!(
            text,
            "{:<6} {:<12} {:>8.1} {:>12} {:>9} {:>13} {:>9.1} {:>9.1} {:>7}",
            row.label,
            row.backend,
            row.seconds,
            count(row.ops_per_sec()),
            percent(row.counters.hit_ratio()),
            count(row.counters.invalidations as f64),
            row.p50_us(),
            row.p99_us(),
            row.tally.errors,
        );
    }
    text
}

/// The bench's results as a Markdown table, one row per system.
pub fn bench_table(systems: &[&Measured]) -> String {
    let mut text = String::from(
        "| system | backend | ops/s | read p50 (us) | read p99 (us) | hit ratio | invalidations | stale keys | errors |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for row in systems {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {:.1} | {:.1} | {} | {} | {} | {} |",
            row.label,
            row.backend,
            count(row.ops_per_sec()),
            row.p50_us(),
            row.p99_us(),
            percent(row.counters.hit_ratio()),
            count(row.counters.invalidations as f64),
            row.stale.map_or_else(|| "-".to_owned(), |stale| stale.describe()),
            row.tally.errors,
        );
    }
    text
}

/// How nearcache compares with one peer, as "times better".
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Ratio {
    /// nearcache's ops/s divided by the peer's.
    pub throughput: Option<f64>,
    /// The peer's read p50 divided by nearcache's (above 1: nearcache is faster).
    pub p50_speedup: Option<f64>,
    /// The peer's read p99 divided by nearcache's.
    pub p99_speedup: Option<f64>,
}

impl Ratio {
    /// nearcache against `peer`.
    pub fn of(nearcache: &Measured, peer: &Measured) -> Ratio {
        Ratio {
            throughput: divide(nearcache.ops_per_sec(), peer.ops_per_sec()),
            p50_speedup: divide(peer.p50_us(), nearcache.p50_us()),
            p99_speedup: divide(peer.p99_us(), nearcache.p99_us()),
        }
    }

    /// One line: `nearcache vs PEER: 2.10x the ops/s, read p50 3.00x lower, read p99 1.10x higher`.
    pub fn line(&self, peer: &str) -> String {
        let times = |r: Option<f64>| r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}x"));
        let latency = |speedup: Option<f64>| match speedup {
            Some(s) if s > 0.0 && s < 1.0 => format!("{:.2}x higher", 1.0 / s),
            other => format!("{} lower", times(other)),
        };
        format!(
            "nearcache vs {peer}: {} the ops/s, read p50 {}, read p99 {}",
            times(self.throughput),
            latency(self.p50_speedup),
            latency(self.p99_speedup)
        )
    }
}

fn divide(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

/// The schema name `bench --json` reports; bump on incompatible changes.
pub const SCHEMA: &str = "nearcache-bench/1";

/// `bench --json`: one object.
#[derive(Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// What ran.
    pub settings: Settings,
    /// Each system's figures.
    pub systems: Systems,
    /// nearcache against each peer.
    pub ratios: Ratios,
}

/// The run's settings.
#[derive(Debug, Serialize)]
pub struct Settings {
    /// The Redis URL (password masked), or the private server's.
    pub redis: String,
    /// nearcache's backend.
    pub backend: String,
    /// Client tasks.
    pub clients: u32,
    /// Keys.
    pub keys: u32,
    /// Zipf exponent of key popularity.
    pub zipf_exponent: f64,
    /// Bytes per value.
    pub value_size: u32,
    /// Fraction of operations that are reads.
    pub read_ratio: f64,
    /// Measured seconds per system.
    pub duration_secs: f64,
    /// Unmeasured seconds per system before that.
    pub warmup_secs: f64,
    /// Tokio worker threads.
    pub worker_threads: usize,
}

/// The three systems.
#[derive(Debug, Serialize)]
pub struct Systems {
    /// nearcache.
    pub nearcache: SystemReport,
    /// The redis crate's `cache-aio` cache.
    pub cache_aio: SystemReport,
    /// Uncached GET through the redis crate.
    pub uncached: SystemReport,
}

/// One system's figures.
#[derive(Debug, Serialize)]
pub struct SystemReport {
    /// The backend (nearcache) or the system's name.
    pub backend: String,
    /// Reads and writes per second.
    pub ops_per_sec: f64,
    /// Read latency median, microseconds.
    pub p50_us: f64,
    /// Read latency 99th percentile, microseconds.
    pub p99_us: f64,
    /// Hits over cacheable reads (0 for uncached GET).
    pub hit_ratio: f64,
    /// Invalidations the cache received.
    pub invalidations: u64,
    /// Keys the system read differently from Redis once the writes had
    /// stopped and every invalidation had arrived: entries it would serve
    /// stale until evicted (0 for uncached GET, which always asks Redis).
    pub stale_keys: u64,
    /// The share of the workload's reads that go to those keys.
    pub stale_read_share: f64,
    /// Reads done.
    pub reads: u64,
    /// Writes done.
    pub writes: u64,
    /// Operations that failed.
    pub errors: u64,
    /// Seconds measured.
    pub seconds: f64,
}

impl From<&Measured> for SystemReport {
    fn from(m: &Measured) -> SystemReport {
        SystemReport {
            backend: m.backend.clone(),
            ops_per_sec: m.ops_per_sec(),
            p50_us: m.p50_us(),
            p99_us: m.p99_us(),
            hit_ratio: m.counters.hit_ratio(),
            invalidations: m.counters.invalidations,
            stale_keys: m.stale.map_or(0, |s| s.keys),
            stale_read_share: m.stale.map_or(0.0, |s| s.read_share),
            reads: m.tally.reads,
            writes: m.tally.writes,
            errors: m.tally.errors,
            seconds: m.seconds,
        }
    }
}

/// nearcache against each peer.
#[derive(Debug, Serialize)]
pub struct Ratios {
    /// Against the redis crate's `cache-aio` cache.
    pub cache_aio: Ratio,
    /// Against uncached GET.
    pub uncached: Ratio,
}

/// `1234567.8` as `1,234,568`.
pub fn count(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// Three significant digits with a suffix: `950`, `9.50k`, `192k`, `1.23M`.
pub fn si(value: f64) -> String {
    let value = value.max(0.0);
    match value {
        v if v < 1e3 => format!("{v:.0}"),
        v if v < 1e4 => format!("{:.2}k", v / 1e3),
        v if v < 1e5 => format!("{:.1}k", v / 1e3),
        v if v < 1e6 => format!("{:.0}k", v / 1e3),
        v if v < 1e7 => format!("{:.2}M", v / 1e6),
        v => format!("{:.1}M", v / 1e6),
    }
}

/// `0.9712` as `97.1%`.
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// Microseconds with a unit: `0.9 us`, `85 us`, `1.2 ms`.
pub fn micros(us: f64) -> String {
    if us < 10.0 {
        format!("{us:.1} us")
    } else if us < 1000.0 {
        format!("{us:.0} us")
    } else {
        format!("{:.1} ms", us / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(count(0.0), "0");
        assert_eq!(count(999.4), "999");
        assert_eq!(count(1000.0), "1,000");
        assert_eq!(count(1_234_567.8), "1,234,568");
        assert_eq!(percent(0.9712), "97.1%");
        assert_eq!(si(950.0), "950");
        assert_eq!(si(9_500.0), "9.50k");
        assert_eq!(si(192_345.0), "192k");
        assert_eq!(si(1_234_567.0), "1.23M");
        assert_eq!(micros(0.94), "0.9 us");
        assert_eq!(micros(85.2), "85 us");
        assert_eq!(micros(1234.0), "1.2 ms");
    }

    #[test]
    fn ratios_need_a_denominator() {
        assert_eq!(divide(4.0, 2.0), Some(2.0));
        assert_eq!(divide(4.0, 0.0), None);
    }
}
