//! The cache's counters.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counters the cache keeps, shared by its tasks.
#[derive(Default)]
pub(crate) struct Counters {
    /// Bumped on every hit, from every thread at once: striped.
    pub(crate) hits: Striped,
    pub(crate) misses: AtomicU64,
    pub(crate) fills: AtomicU64,
    pub(crate) fills_skipped: AtomicU64,
    pub(crate) single_flight_joins: AtomicU64,
    pub(crate) uncached_reads: AtomicU64,
    pub(crate) invalidated_keys: AtomicU64,
    pub(crate) invalidate_all: AtomicU64,
    pub(crate) reconnect_flushes: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) silent_losses: AtomicU64,
    pub(crate) corrupt_values: AtomicU64,
    pub(crate) redirected_reads: AtomicU64,
}

/// Cells of a [`Striped`] counter that one thread each owns: the first
/// threads to bump any striped counter (a runtime's workers, in practice).
const OWNED_CELLS: usize = 16;

/// Cells of a [`Striped`] counter that the threads after those share,
/// taking them in turn.
const SHARED_CELLS: usize = 4;

/// One cell of a [`Striped`] counter, alone on its cache line (two lines:
/// the prefetcher pulls lines in pairs).
#[derive(Default)]
#[repr(align(128))]
struct Cell(AtomicU64);

/// A counter that threads bump at once without taking turns owning one
/// cache line: each thread bumps its own cell; a read sums them.
///
/// A thread that owns its cell, as the first [`OWNED_CELLS`] threads do,
/// bumps it with a load and a store: no other thread writes that cell, so
/// no locked read-modify-write is needed, and a hit, which bumps two of
/// these, then costs no more atomic read-modify-writes than its shard's
/// lock takes. Later threads share the remaining cells and add atomically.
///
/// The cells (2.5 KiB) are boxed, so that what holds a counter (the native
/// store, in every shard) stays small.
#[derive(Default)]
pub(crate) struct Striped {
    cells: Box<[Cell; OWNED_CELLS + SHARED_CELLS]>,
}

/// This thread's cell of every [`Striped`] counter.
#[derive(Clone, Copy)]
struct Stripe {
    cell: usize,
    /// Whether this thread is the only one that writes `cell`.
    owned: bool,
}

impl Stripe {
    /// The next thread's cell.
    fn claim() -> Stripe {
        Stripe::nth(NEXT_STRIPE.fetch_add(1, Ordering::Relaxed))
    }

    /// The cell of the `n`th thread to claim one: an owned one while they
    /// last, then a shared one. Owned cells are never handed out again, not
    /// even after their thread exits, so no two threads ever own one cell.
    fn nth(n: usize) -> Stripe {
        if n < OWNED_CELLS {
            Stripe { cell: n, owned: true }
        } else {
            Stripe { cell: OWNED_CELLS + n % SHARED_CELLS, owned: false }
        }
    }
}

/// How many threads have claimed a [`Stripe`].
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's cell.
    static STRIPE: Stripe = Stripe::claim();
}

impl Striped {
    /// Adds one, in this thread's cell.
    #[inline]
    pub(crate) fn bump(&self) {
        let stripe = STRIPE.with(|stripe| *stripe);
        let cell = &self.cells[stripe.cell].0;
        if stripe.owned {
            cell.store(cell.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        } else {
            cell.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The total.
    pub(crate) fn sum(&self) -> u64 {
        self.cells.iter().map(|cell| cell.0.load(Ordering::Relaxed)).sum()
    }
}

/// Counters of one node's connection, kept across its reconnections.
#[derive(Default)]
pub(crate) struct NodeCounters {
    pub(crate) invalidated_keys: AtomicU64,
    pub(crate) losses: AtomicU64,
    pub(crate) reads_sent: AtomicU64,
    pub(crate) keepalive_pings: AtomicU64,
}

impl NodeCounters {
    pub(crate) fn snapshot(&self, address: &str, connected: bool) -> NodeStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NodeStats {
            address: address.to_owned(),
            connected,
            invalidated_keys: get(&self.invalidated_keys),
            losses: get(&self.losses),
            reads_sent: get(&self.reads_sent),
            keepalive_pings: get(&self.keepalive_pings),
        }
    }
}

/// What one node's tracked connection has done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeStats {
    /// `host:port`.
    pub address: String,
    /// Whether its connection is up with tracking on.
    pub connected: bool,
    /// Keys named by its invalidation pushes.
    pub invalidated_keys: u64,
    /// Times its connection was lost (each flushed the cache).
    pub losses: u64,
    /// Reads sent to it (misses, and reads tracking does not cover).
    pub reads_sent: u64,
    /// `PING`s the keep-alive sent it while it was idle, and it answered.
    pub keepalive_pings: u64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A snapshot of what the cache has done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads answered from the backend.
    pub hits: u64,
    /// Cacheable reads the backend did not have.
    pub misses: u64,
    /// Replies stored in the backend.
    pub fills: u64,
    /// Replies not stored because an invalidation, flush or disconnect
    /// overtook them (the in-flight race).
    pub fills_skipped: u64,
    /// Reads that joined an identical read in flight: round trips saved.
    pub single_flight_joins: u64,
    /// Reads sent uncached because tracking does not cover their keys (BCAST).
    pub uncached_reads: u64,
    /// Keys named by invalidation pushes (and by this client's own writes).
    pub invalidated_keys: u64,
    /// `invalidate nil` pushes (FLUSHALL, FLUSHDB).
    pub invalidate_all: u64,
    /// Flushes because the connection was lost.
    pub reconnect_flushes: u64,
    /// Connections re-established.
    pub reconnects: u64,
    /// Connections given up because no reply proved them alive within
    /// [`CacheBuilder::max_staleness`](crate::CacheBuilder::max_staleness)
    /// (a partition, a stalled server); each is also a connection loss.
    pub silent_losses: u64,
    /// Backend calls that failed (each a miss or a skipped fill).
    pub backend_errors: u64,
    /// The last backend failure, if any.
    pub last_backend_error: Option<String>,
    /// Hits whose bytes did not decode: dropped and counted as misses.
    pub corrupt_values: u64,
    /// The backend's own stats, summed over shards.
    pub backend: Vec<(String, u64)>,
    /// Reads a cluster node redirected (MOVED or ASK): answered through the
    /// cluster client, never cached.
    pub redirected_reads: u64,
    /// Slot maps that moved a slot to another node (each flushed the cache).
    pub topology_changes: u64,
    /// Each node the cache reads from: one for a single server.
    pub nodes: Vec<NodeStats>,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: self.hits.sum(),
            misses: get(&self.misses),
            fills: get(&self.fills),
            fills_skipped: get(&self.fills_skipped),
            single_flight_joins: get(&self.single_flight_joins),
            uncached_reads: get(&self.uncached_reads),
            invalidated_keys: get(&self.invalidated_keys),
            invalidate_all: get(&self.invalidate_all),
            reconnect_flushes: get(&self.reconnect_flushes),
            reconnects: get(&self.reconnects),
            silent_losses: get(&self.silent_losses),
            corrupt_values: get(&self.corrupt_values),
            redirected_reads: get(&self.redirected_reads),
            ..CacheStats::default()
        }
    }
}

impl CacheStats {
    /// A backend stat by name, 0 if the backend does not report it.
    pub fn backend_stat(&self, name: &str) -> u64 {
        self.backend.iter().find(|(n, _)| n == name).map_or(0, |&(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_cell_is_owned_by_two_threads_nor_written_by_a_thread_that_does_not_own_it() {
        let stripes: Vec<Stripe> = (0..10 * (OWNED_CELLS + SHARED_CELLS)).map(Stripe::nth).collect();
        let owned: Vec<usize> = stripes.iter().filter(|s| s.owned).map(|s| s.cell).collect();
        assert_eq!(owned, (0..OWNED_CELLS).collect::<Vec<_>>(), "each owned cell handed out once");
        for stripe in stripes.iter().filter(|s| !s.owned) {
            assert!((OWNED_CELLS..OWNED_CELLS + SHARED_CELLS).contains(&stripe.cell), "{}", stripe.cell);
        }
    }

    /// More threads than there are owned cells, bumping at once.
    #[test]
    fn a_striped_counter_sums_every_threads_bumps() {
        let counter = Striped::default();
        let threads = OWNED_CELLS + 2 * SHARED_CELLS + 3;
        let start = std::sync::Barrier::new(threads);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    start.wait();
                    (0..500_000).for_each(|_| counter.bump());
                });
            }
        });
        assert_eq!(counter.sum(), threads as u64 * 500_000);
    }
}
