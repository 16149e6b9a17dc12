//! The backend world's `host.log` import: records into `tracing`,
//! rate-limited per instance by a token bucket.

use std::time::Instant;

use super::bindings::{Host, Level};
use super::state::State;

/// The longest message kept; the rest is cut at a character boundary.
const MAX_MESSAGE_BYTES: usize = 1024;

/// A token bucket: `rate` records a second, bursts of up to `rate`.
pub(crate) struct LogLimiter {
    rate: f64,
    tokens: f64,
    refilled: Instant,
    /// Records dropped since the last one written; reported with the next.
    dropped: u64,
    /// Records dropped over the instance's life.
    dropped_total: u64,
}

impl LogLimiter {
    pub(crate) fn new(records_per_second: u32) -> LogLimiter {
        let rate = f64::from(records_per_second);
        LogLimiter { rate, tokens: rate, refilled: Instant::now(), dropped: 0, dropped_total: 0 }
    }

    /// Whether a record may be written now; if so, how many were dropped
    /// before it.
    fn admit(&mut self, now: Instant) -> Option<u64> {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Some(std::mem::take(&mut self.dropped))
        } else {
            self.dropped += 1;
            self.dropped_total += 1;
            None
        }
    }

    /// Records dropped over the instance's life.
    pub(crate) fn dropped_total(&self) -> u64 {
        self.dropped_total
    }
}

fn truncated(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

impl Host for State {
    fn log(&mut self, level: Level, message: String) {
        let Some(dropped) = self.log.admit(Instant::now()) else { return };
        let backend = &*self.name;
        let message = truncated(&message);
        match level {
            Level::Trace => tracing::trace!(backend, dropped, "{message}"),
            Level::Debug => tracing::debug!(backend, dropped, "{message}"),
            Level::Info => tracing::info!(backend, dropped, "{message}"),
            Level::Warn => tracing::warn!(backend, dropped, "{message}"),
            Level::Error => tracing::error!(backend, dropped, "{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bucket_admits_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut limiter = LogLimiter::new(10);
        let burst = (0..20).filter(|_| limiter.admit(start).is_some()).count();
        assert_eq!(burst, 10);
        // A tenth of a second later, one more record; it reports the 10 dropped.
        assert_eq!(limiter.admit(start + Duration::from_millis(100)), Some(10));
        assert_eq!(limiter.admit(start + Duration::from_millis(100)), None);
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let message = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = truncated(&message);
        assert!(cut.len() <= MAX_MESSAGE_BYTES && cut.len() >= MAX_MESSAGE_BYTES - 1);
        assert_eq!(truncated("short"), "short");
    }
}
