//! How the invalidation-delay benchmarks poll a key after a write: at one
//! pace for every system compared, so that how fast a system's reads are
//! does not change how hard the loop competes for the CPU, or how often it
//! gives the CPU up.

use std::time::{Duration, Instant};

/// Longest a sample waits for a write to show; beyond it the read is stale.
pub const STALE_AFTER: Duration = Duration::from_secs(1);

/// How often the loop reads (each system's read takes less).
pub const POLL_EVERY: Duration = Duration::from_micros(1);

/// How often the loop yields its thread to the OS.
pub const THREAD_YIELD_EVERY: Duration = Duration::from_micros(5);

/// The pause between two reads of a polling loop.
pub struct Pace {
    thread_yielded: Instant,
}

impl Pace {
    /// A pace whose first thread yield is due [`THREAD_YIELD_EVERY`] after
    /// `start`.
    pub fn new(start: Instant) -> Pace {
        Pace { thread_yielded: start }
    }

    /// Waits until the next read, [`POLL_EVERY`] after the one that began
    /// at `read_at`: yields to the runtime after every read, and the thread
    /// now and then. A loop that never yields the thread holds a core that
    /// Redis and the connection's driver need (its delay then measures the
    /// OS scheduler's time slices), and one that yields it after every read
    /// gives the core up more often the faster the system's reads are, each
    /// time a chance to lose it for a time slice.
    pub async fn wait(&mut self, read_at: Instant) {
        tokio::task::yield_now().await;
        if self.thread_yielded.elapsed() >= THREAD_YIELD_EVERY {
            std::thread::yield_now();
            self.thread_yielded = Instant::now();
        }
        while read_at.elapsed() < POLL_EVERY {
            std::hint::spin_loop();
        }
    }
}
