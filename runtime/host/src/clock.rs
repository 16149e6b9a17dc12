//! The monotonic millisecond clock of a cache: what backends are given as
//! `now-ms`, what entries' deadlines count in, and what measures how long
//! a connection has been silent. Tests may drive it by hand.

use std::time::Instant;

/// Milliseconds since the cache started, never decreasing.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    start: Instant,
    /// Set by a test: the time is what the test says.
    #[cfg(feature = "test-hooks")]
    manual: Option<ManualClock>,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock {
            start: Instant::now(),
            #[cfg(feature = "test-hooks")]
            manual: None,
        }
    }

    /// A clock that reads `manual`.
    #[cfg(feature = "test-hooks")]
    pub(crate) fn manual(manual: ManualClock) -> Self {
        Clock { manual: Some(manual), ..Clock::new() }
    }

    #[inline]
    pub(crate) fn now_ms(&self) -> u64 {
        #[cfg(feature = "test-hooks")]
        if let Some(manual) = &self.manual {
            return manual.now_ms();
        }
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// A clock that moves only when a test advances it (feature `test-hooks`):
/// give it to [`CacheBuilder::clock`](crate::CacheBuilder::clock), and
/// entry deadlines and connection silences count in its time.
#[cfg(feature = "test-hooks")]
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

#[cfg(feature = "test-hooks")]
impl ManualClock {
    /// A clock at 0 ms.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.now_ms.fetch_add(by, std::sync::atomic::Ordering::SeqCst);
    }

    /// The time, in ms.
    pub fn now_ms(&self) -> u64 {
        self.now_ms.load(std::sync::atomic::Ordering::SeqCst)
    }
}
