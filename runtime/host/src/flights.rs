//! Reads in flight: pending fills and single flight.
//!
//! A read that misses registers a *pending fill* for each Redis key it reads
//! before it is sent. An invalidation of one of those keys, a flush, or the
//! loss of the connection *poisons* it: the reply is still returned to the
//! caller, but not cached, so an invalidation that overtakes a reply can
//! never leave a stale entry behind (invariant 2).
//!
//! Every decision is made under one lock, in one order: a fill checks its
//! poison and stores its entry without releasing it, and an invalidation
//! poisons under it before it touches the backend (with no fill pending
//! at all, it has nothing to poison and skips the lock). Either the
//! invalidation poisons first (the fill is skipped) or the fill stores
//! first (the invalidation then removes the entry). Hits never take this
//! lock.
//!
//! Identical concurrent misses share one round trip: the first becomes the
//! leader, later ones follow and receive its reply. A follower joins only a
//! flight that is not poisoned, so a read that starts after an invalidation
//! never receives a reply sent before it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use hashbrown::HashMap;
use redis::Value;
use tokio::sync::oneshot;

use crate::error::Error;

/// Where a leader sends its reply to one follower.
pub(crate) type Follower = oneshot::Receiver<Result<Value, Error>>;

/// Poison bookkeeping of one Redis key with fills in flight.
struct Mark {
    pending: u32,
    /// `seq` at the key's latest invalidation.
    poisoned_at: u64,
}

/// A flight as later reads of the same cache key see it. It holds no keys:
/// a read that can join it has the same cache key, so it reads the same
/// keys, and checks them itself.
struct Flight {
    /// Tells this flight from a later one of the same cache key.
    id: u64,
    started_at: u64,
    generation: u64,
    /// The reads that joined, each waiting for the leader's reply. A
    /// leader that ends without one drops them, and each reads again.
    followers: Vec<oneshot::Sender<Result<Value, Error>>>,
}

struct Inner {
    /// Advanced by every poisoning event.
    seq: u64,
    /// `seq` at the latest flush (FLUSHALL push or disconnect).
    flushed_at: u64,
    /// The connection generation; advanced when a connection is lost.
    generation: u64,
    /// The id of the next flight.
    next_id: u64,
    marks: HashMap<Vec<u8>, Mark>,
    flights: HashMap<Vec<u8>, Flight>,
}

impl Inner {
    fn is_clean(&self, started_at: u64, generation: u64, keys: &[Vec<u8>]) -> bool {
        self.generation == generation
            && self.flushed_at <= started_at
            && keys.iter().all(|k| self.marks.get(k).is_none_or(|m| m.poisoned_at <= started_at))
    }
}

/// Pending fills and in-flight reads.
pub(crate) struct Flights {
    inner: Mutex<Inner>,
    /// Whether any key has a fill pending: `inner.marks` is not empty.
    /// Written under the lock; read without it by [`poison`](Flights::poison),
    /// which has nothing to do while it is false.
    marked: AtomicBool,
}

/// How a missed read proceeds.
pub(crate) enum Begin<'a> {
    /// Send the read; complete the ticket with the reply.
    Lead(Ticket<'a>),
    /// An identical read is in flight; wait for its reply. An error on
    /// receiving means it ended without one.
    Follow(Follower),
    /// The caller's connection is gone.
    Stale,
}

/// A leader's pending fill. Dropping it without completing (the caller was
/// cancelled, or the request failed) releases its marks, and its followers
/// see the flight end without a reply.
pub(crate) struct Ticket<'a> {
    flights: &'a Flights,
    cache_key: &'a [u8],
    keys: &'a [Vec<u8>],
    id: u64,
    started_at: u64,
    generation: u64,
    released: bool,
}

impl Flights {
    pub(crate) fn new() -> Self {
        Flights {
            inner: Mutex::new(Inner {
                seq: 0,
                flushed_at: 0,
                generation: 0,
                next_id: 0,
                marks: HashMap::new(),
                flights: HashMap::new(),
            }),
            marked: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts or joins the read of `cache_key`, which reads `keys`, on the
    /// connection of `generation`.
    ///
    /// A flight that something poisoned is not joined: the new read leads a
    /// flight of its own, which takes the old one's place. The old one's
    /// followers are dropped then, and read again; its leader still
    /// receives its reply, but does not store it.
    pub(crate) fn begin<'a>(&'a self, cache_key: &'a [u8], keys: &'a [Vec<u8>], generation: u64) -> Begin<'a> {
        let mut inner = self.lock();
        if inner.generation != generation {
            return Begin::Stale;
        }
        if let Some(&Flight { started_at, generation: its_generation, .. }) = inner.flights.get(cache_key)
            && inner.is_clean(started_at, its_generation, keys)
        {
            let (sender, receiver) = oneshot::channel();
            inner.flights.get_mut(cache_key).expect("found above").followers.push(sender);
            return Begin::Follow(receiver);
        }
        let (id, started_at) = (inner.next_id, inner.seq);
        inner.next_id += 1;
        for key in keys {
            inner.marks.entry_ref(key.as_slice()).or_insert(Mark { pending: 0, poisoned_at: 0 }).pending += 1;
        }
        self.marked.store(true, Ordering::SeqCst);
        inner.flights.insert(cache_key.to_vec(), Flight { id, started_at, generation, followers: Vec::new() });
        Begin::Lead(Ticket { flights: self, cache_key, keys, id, started_at, generation, released: false })
    }

    /// Poisons the fills of `keys`: Redis reported them changed.
    ///
    /// With no fill pending there is nothing to poison, and the lock is
    /// not taken. A fill the push must poison is one whose read Redis
    /// answered before the change: that read was sent, its marks
    /// registered, before Redis sent the push, so `marked` is seen set.
    pub(crate) fn poison(&self, keys: &[Vec<u8>]) {
        if !self.marked.load(Ordering::SeqCst) {
            return;
        }
        let mut inner = self.lock();
        inner.seq += 1;
        let seq = inner.seq;
        for key in keys {
            if let Some(mark) = inner.marks.get_mut(key) {
                mark.poisoned_at = seq;
            }
        }
    }

    /// Poisons every fill, then runs `clear` before any fill can store again.
    pub(crate) fn flush(&self, clear: impl FnOnce()) {
        let mut inner = self.lock();
        inner.seq += 1;
        inner.flushed_at = inner.seq;
        clear();
    }

    /// A connection the reads depend on is lost, or a slot moved to
    /// another node. If `current()` still holds (checked under the lock),
    /// poisons every fill, advances the generation, and runs `clear` with
    /// the new generation before any fill can store again; returns whether
    /// it did.
    pub(crate) fn advance(&self, current: impl FnOnce() -> bool, clear: impl FnOnce(u64)) -> bool {
        let mut inner = self.lock();
        if !current() {
            return false;
        }
        inner.generation += 1;
        inner.seq += 1;
        inner.flushed_at = inner.seq;
        clear(inner.generation);
        true
    }

    /// Runs `publish` with the current generation, under the lock, so no
    /// loss or flush interleaves with it.
    pub(crate) fn with_generation<T>(&self, publish: impl FnOnce(u64) -> T) -> T {
        let inner = self.lock();
        publish(inner.generation)
    }
}

impl Ticket<'_> {
    /// Finishes the flight with `reply`. If nothing poisoned it, `store`
    /// runs first, under the lock, with the Redis keys the read reads;
    /// returns whether it ran. Followers then receive the reply either way:
    /// it is what the server answered.
    pub(crate) fn complete(mut self, reply: &Result<Value, Error>, store: impl FnOnce(&Value, &[Vec<u8>])) -> bool {
        let (stored, followers) = {
            let mut inner = self.flights.lock();
            let clean = inner.is_clean(self.started_at, self.generation, self.keys);
            if let (true, Ok(value)) = (clean, reply) {
                store(value, self.keys);
            }
            (clean && reply.is_ok(), self.release(&mut inner))
        };
        for follower in followers {
            // A follower that stopped waiting no longer needs it.
            let _ = follower.send(reply.clone());
        }
        stored
    }

    /// Releases the marks, and ends the flight unless another took its
    /// place; returns its followers.
    fn release(&mut self, inner: &mut Inner) -> Vec<oneshot::Sender<Result<Value, Error>>> {
        if std::mem::replace(&mut self.released, true) {
            return Vec::new();
        }
        for key in self.keys {
            if let Some(mark) = inner.marks.get_mut(key) {
                mark.pending -= 1;
                if mark.pending == 0 {
                    inner.marks.remove(key);
                }
            }
        }
        self.flights.marked.store(!inner.marks.is_empty(), Ordering::SeqCst);
        match inner.flights.entry_ref(self.cache_key) {
            hashbrown::hash_map::EntryRef::Occupied(flight) if flight.get().id == self.id => flight.remove().followers,
            _ => Vec::new(),
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.released {
            let flights = self.flights;
            let followers = self.release(&mut flights.lock());
            // Dropped after the lock: each follower wakes to read again.
            drop(followers);
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot::error::TryRecvError;

    use super::*;

    fn keys(k: &str) -> Vec<Vec<u8>> {
        vec![k.as_bytes().to_vec()]
    }

    /// Leads the read of `keys`, whose cache key is its one key.
    fn lead<'a>(flights: &'a Flights, keys: &'a [Vec<u8>]) -> Ticket<'a> {
        match flights.begin(&keys[0], keys, 0) {
            Begin::Lead(ticket) => ticket,
            _ => panic!("expected to lead"),
        }
    }

    /// Joins the read of `keys` in flight, as [`lead`] started it.
    fn follow(flights: &Flights, keys: &[Vec<u8>]) -> Follower {
        match flights.begin(&keys[0], keys, 0) {
            Begin::Follow(follower) => follower,
            _ => panic!("expected to follow"),
        }
    }

    #[test]
    fn a_poisoned_fill_is_not_stored() {
        let flights = Flights::new();
        let k = keys("k");
        let ticket = lead(&flights, &k);
        flights.poison(&keys("k"));
        assert!(!ticket.complete(&Ok(Value::Int(1)), |_, _| panic!("stored a poisoned fill")));
        // The mark is gone with its last fill: a new fill is clean.
        let ticket = lead(&flights, &k);
        assert!(ticket.complete(&Ok(Value::Int(2)), |_, _| {}));
    }

    #[test]
    fn a_fill_still_pending_after_another_ends_is_poisoned() {
        // `poison` skips its lock when no fill is pending; the end of one
        // fill must not make it skip another's.
        let flights = Flights::new();
        let (k, j) = (keys("k"), keys("j"));
        let first = lead(&flights, &k);
        let second = lead(&flights, &j);
        assert!(first.complete(&Ok(Value::Int(1)), |_, _| {}));
        flights.poison(&j);
        assert!(!second.complete(&Ok(Value::Int(2)), |_, _| panic!("stored a poisoned fill")));
        // With none pending, a poison is a no-op and the next fill is clean.
        flights.poison(&j);
        assert!(lead(&flights, &j).complete(&Ok(Value::Int(3)), |_, _| {}));
    }

    #[test]
    fn poison_of_another_key_does_not_matter() {
        let flights = Flights::new();
        let k = keys("k");
        let ticket = lead(&flights, &k);
        flights.poison(&keys("other"));
        assert!(ticket.complete(&Ok(Value::Int(1)), |_, _| {}));
    }

    #[test]
    fn a_flush_or_lost_connection_poisons_every_fill() {
        let flights = Flights::new();
        let k = keys("k");
        let ticket = lead(&flights, &k);
        flights.flush(|| {});
        assert!(!ticket.complete(&Ok(Value::Int(1)), |_, _| panic!("stored across a flush")));
        let ticket = lead(&flights, &k);
        assert!(flights.advance(|| true, |generation| assert_eq!(generation, 1)));
        assert!(!flights.advance(|| false, |_| panic!("lost the same connection twice")));
        assert!(!ticket.complete(&Ok(Value::Int(1)), |_, _| panic!("stored across a disconnect")));
        assert!(matches!(flights.begin(b"k", &k, 0), Begin::Stale));
    }

    #[test]
    fn followers_join_clean_flights_only() {
        let flights = Flights::new();
        let k = keys("k");
        let ticket = lead(&flights, &k);
        let mut follower = follow(&flights, &k);
        flights.poison(&k);
        // After the invalidation, a new read must not join the old flight:
        // it leads one of its own, and the old flight's follower is told to
        // read again.
        let second = lead(&flights, &k);
        assert!(matches!(follower.try_recv(), Err(TryRecvError::Closed)));
        assert!(!ticket.complete(&Ok(Value::Int(1)), |_, _| panic!("stored a poisoned fill")));
        // The old leader finishing did not end the new flight.
        let mut joined = follow(&flights, &k);
        assert!(second.complete(&Ok(Value::Int(2)), |_, _| {}));
        assert!(matches!(joined.try_recv(), Ok(Ok(Value::Int(2)))));
        assert!(matches!(flights.begin(b"k", &k, 0), Begin::Lead(_)));
    }

    #[test]
    fn a_leader_that_ends_without_a_reply_sends_its_followers_to_read_again() {
        let flights = Flights::new();
        let k = keys("k");
        let ticket = lead(&flights, &k);
        let mut follower = follow(&flights, &k);
        assert!(matches!(follower.try_recv(), Err(TryRecvError::Empty)));
        drop(ticket);
        assert!(matches!(follower.try_recv(), Err(TryRecvError::Closed)));
        // Its marks went with it: the next read leads, and stores.
        assert!(lead(&flights, &k).complete(&Ok(Value::Int(1)), |_, _| {}));
    }
}
