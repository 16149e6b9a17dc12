//! How long the cache trusts a tracked connection it has not heard from.
//!
//! A connection that stops delivering (a partition, a dead switch, a paused
//! VM) is not closed: no FIN or RST arrives, and Redis's invalidations for
//! it wait in some buffer while the cache goes on serving hits. So the
//! cache does not wait to hear that a connection is gone; it serves hits
//! only while the connection keeps proving it is alive.
//!
//! The proof is a reply. Redis sends a connection's invalidations and
//! replies in one stream, and the cache handles each push before any reply
//! that follows it; so a reply to a request sent at time `T` shows that
//! every invalidation Redis queued for this connection before it read that
//! request has been applied. From then on, the node's entries can be stale
//! by at most `now - T`: the connection's *silence*. Pushes prove nothing
//! (nothing tells when Redis sent one), and neither does a reply's arrival
//! time, only its request's send time.
//!
//! Busy connections prove themselves with the replies they get anyway. An
//! idle one is sent a `PING` once a [`Liveness::ping_every`]; and a watchdog
//! thread, apart from the async runtime so that a starved or blocked
//! runtime cannot delay it, gives up any connection whose silence would
//! pass the cache's bound before its next look: the connection is then
//! lost like a closed one (fills poisoned, backend flushed, hits refused
//! until a new connection has tracking on).

use std::sync::Weak;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

/// The silence bound of a cache, and the paces derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Liveness {
    /// The longest a connection may be silent while its entries serve.
    pub(crate) max_silence: Duration,
}

impl Liveness {
    /// The shortest bound accepted: the watchdog looks every eighth of it,
    /// and a bound below this would make it spin.
    pub(crate) const MIN: Duration = Duration::from_millis(8);

    /// How long an idle connection waits before it is sent a `PING`: a
    /// quarter of the bound, so that a reply has three quarters of it,
    /// less a watchdog tick, to arrive.
    pub(crate) fn ping_every(&self) -> Duration {
        self.max_silence / 4
    }

    /// How often the watchdog looks: an eighth of the bound.
    pub(crate) fn tick(&self) -> Duration {
        self.max_silence / 8
    }

    /// The silence, in ms, past which the watchdog gives a connection up:
    /// the bound less one tick, since the next look comes a tick later.
    pub(crate) fn give_up_after_ms(&self) -> u64 {
        millis(self.max_silence.saturating_sub(self.tick()))
    }

    /// The silence, in ms, past which an idle connection is pinged.
    pub(crate) fn ping_after_ms(&self) -> u64 {
        millis(self.ping_every())
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// When a connection last proved itself alive: the send time (the cache's
/// clock, ms) of the latest request whose reply has arrived.
#[derive(Debug)]
pub(crate) struct Proof {
    sent_at_ms: AtomicU64,
}

impl Proof {
    /// Proof as of `at_ms`, when the connection was opened: nothing was
    /// cached from it before.
    pub(crate) fn new(at_ms: u64) -> Proof {
        Proof { sent_at_ms: AtomicU64::new(at_ms) }
    }

    /// A reply arrived to a request sent at `sent_at_ms`.
    #[inline]
    pub(crate) fn replied(&self, sent_at_ms: u64) {
        self.sent_at_ms.fetch_max(sent_at_ms, Ordering::Release);
    }

    /// How long, at `now_ms`, the connection has been silent.
    pub(crate) fn silence_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.sent_at_ms.load(Ordering::Acquire))
    }
}

/// What the watchdog looks after: the cache, seen through a weak reference
/// so that the thread ends with it.
pub(crate) trait Watched: Send + Sync + 'static {
    /// Gives up every connection silent for more than `give_up_after_ms`.
    fn give_up_silent(&self, give_up_after_ms: u64);
}

/// Starts the watchdog thread of `watched`; it looks every
/// [`Liveness::tick`] and ends once `watched` is dropped.
pub(crate) fn start_watchdog<W: Watched>(watched: Weak<W>, liveness: Liveness) {
    let (tick, give_up_after_ms) = (liveness.tick(), liveness.give_up_after_ms());
    let spawned = thread::Builder::new().name("nearcache-liveness".to_owned()).spawn(move || {
        loop {
            thread::sleep(tick);
            match watched.upgrade() {
                Some(watched) => watched.give_up_silent(give_up_after_ms),
                None => return,
            }
        }
    });
    if let Err(error) = spawned {
        // Without the thread, a silent connection is still given up when a
        // request on it times out; only the bound on hits is lost. Say so.
        tracing::error!(%error, "cannot start the liveness watchdog; hits are not bounded by max_staleness");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paces_leave_a_reply_time_to_arrive() {
        let liveness = Liveness { max_silence: Duration::from_millis(800) };
        assert_eq!(liveness.ping_every(), Duration::from_millis(200));
        assert_eq!(liveness.tick(), Duration::from_millis(100));
        assert_eq!(liveness.give_up_after_ms(), 700);
        assert!(liveness.ping_after_ms() < liveness.give_up_after_ms());
    }

    #[test]
    fn a_proof_only_moves_forward() {
        let proof = Proof::new(100);
        proof.replied(250);
        proof.replied(180); // an older request's reply, arriving late
        assert_eq!(proof.silence_ms(300), 50);
        assert_eq!(proof.silence_ms(200), 0, "a clock read before the proof counts no silence");
    }
}
