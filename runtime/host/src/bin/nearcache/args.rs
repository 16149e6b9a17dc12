//! Flag values: durations, ratios, backends, `key=value` options, and the
//! workload flags `demo` and `bench` share.

use std::path::PathBuf;
use std::time::Duration;

/// The workload's shape, the same flags for `demo` and `bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkloadArgs {
    /// Concurrent client tasks.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub clients: u32,
    /// Keys in the key space (read with a zipf-like skew, s = 0.99).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub keys: u32,
    /// Bytes per value.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(8..=16 * 1024 * 1024))]
    pub value_size: u32,
    /// Fraction of operations that are reads (through the system under
    /// test); the others are SETs by a second, plain client.
    #[arg(long, default_value_t = 0.95, value_parser = ratio)]
    pub read_ratio: f64,
}

/// Which backend the cache uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendArg {
    /// The native store.
    Native,
    /// A WebAssembly component of the backend world.
    Wasm(PathBuf),
}

impl BackendArg {
    /// `native`, or the component's file name.
    pub fn describe(&self) -> String {
        match self {
            BackendArg::Native => "native".to_owned(),
            BackendArg::Wasm(path) => path.display().to_string(),
        }
    }
}

/// `native`, or the path of a `.wasm` component.
pub fn backend(text: &str) -> Result<BackendArg, String> {
    if text == "native" {
        Ok(BackendArg::Native)
    } else if text.ends_with(".wasm") {
        Ok(BackendArg::Wasm(PathBuf::from(text)))
    } else {
        Err("expected `native` or the path of a .wasm component".to_owned())
    }
}

/// A duration: `500ms`, `20s`, `1.5s`, `2m`, or plain seconds.
pub fn duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        _ => return Err(format!("unknown unit `{unit}` in `{text}`: use ms, s or m (e.g. 20s)")),
    };
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration (e.g. 20s, 500ms, 1m)"))?;
    Duration::try_from_secs_f64(value * scale)
        .ok()
        .filter(|d| !d.is_zero() && *d <= Duration::from_secs(24 * 3600))
        .ok_or_else(|| format!("`{text}`: expected more than zero and at most 24 h"))
}

/// A duration, or zero (`0s`).
pub fn duration_or_zero(text: &str) -> Result<Duration, String> {
    if text.trim_end_matches(['m', 's']).chars().all(|c| c == '0' || c == '.') && text.starts_with('0') {
        Ok(Duration::ZERO)
    } else {
        duration(text)
    }
}

/// A fraction from 0 to 1.
pub fn ratio(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("expected a number from 0 to 1, got `{text}`")),
    }
}

/// A backend option, `name=value`.
pub fn option(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected name=value, got `{text}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("3"), Ok(Duration::from_secs(3)));
        assert!(duration("0s").is_err());
        assert!(duration("5h").unwrap_err().contains("unknown unit `h`"));
        assert!(duration("fast").is_err());
        assert_eq!(duration_or_zero("0s"), Ok(Duration::ZERO));
        assert_eq!(duration_or_zero("0"), Ok(Duration::ZERO));
        assert_eq!(duration_or_zero("2s"), Ok(Duration::from_secs(2)));
    }

    #[test]
    fn ratios_backends_and_options() {
        assert_eq!(ratio("0.9"), Ok(0.9));
        assert!(ratio("1.5").is_err());
        assert_eq!(backend("native"), Ok(BackendArg::Native));
        assert_eq!(backend("a/b.wasm"), Ok(BackendArg::Wasm("a/b.wasm".into())));
        assert!(backend("lru").is_err());
        assert_eq!(option("max-entries=5"), Ok(("max-entries".into(), "5".into())));
        assert!(option("=5").is_err());
    }
}
