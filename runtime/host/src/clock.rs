//! The monotonic millisecond clock backends are given as `now-ms`.

use std::time::Instant;

/// Milliseconds since the cache started, never decreasing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock { start: Instant::now() }
    }

    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}
