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
//! poisons under it before it touches the backend. Either the invalidation
//! poisons first (the fill is skipped) or the fill stores first (the
//! invalidation then removes the entry). Hits never take this lock.
//!
//! Identical concurrent misses share one round trip: the first becomes the
//! leader, later ones follow and receive its reply. A follower joins only a
//! flight that is not poisoned, so a read that starts after an invalidation
//! never receives a reply sent before it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use redis::Value;
use tokio::sync::watch;

use crate::error::Error;

/// What a finished flight hands to its followers.
pub(crate) type Outcome = Option<Result<Value, Error>>;

/// Poison bookkeeping of one Redis key with fills in flight.
struct Mark {
    pending: u32,
    /// `seq` at the key's latest invalidation.
    poisoned_at: u64,
}

/// A flight as followers see it.
struct Flight {
    started_at: u64,
    generation: u64,
    keys: Vec<Vec<u8>>,
    result: watch::Sender<Outcome>,
}

struct Inner {
    /// Advanced by every poisoning event.
    seq: u64,
    /// `seq` at the latest flush (FLUSHALL push or disconnect).
    flushed_at: u64,
    /// The connection generation; advanced when a connection is lost.
    generation: u64,
    marks: HashMap<Vec<u8>, Mark>,
    flights: HashMap<Vec<u8>, Arc<Flight>>,
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
}

/// How a missed read proceeds.
pub(crate) enum Begin<'a> {
    /// Send the read; complete the ticket with the reply.
    Lead(Ticket<'a>),
    /// An identical read is in flight; wait for its outcome.
    Follow(watch::Receiver<Outcome>),
    /// The caller's connection is gone.
    Stale,
}

/// A leader's pending fill. Dropping it without completing (the caller was
/// cancelled, or the request failed) releases its marks, and followers see
/// the flight end without a reply.
pub(crate) struct Ticket<'a> {
    flights: &'a Flights,
    cache_key: Vec<u8>,
    flight: Arc<Flight>,
    released: bool,
}

impl Flights {
    pub(crate) fn new() -> Self {
        Flights {
            inner: Mutex::new(Inner {
                seq: 0,
                flushed_at: 0,
                generation: 0,
                marks: HashMap::new(),
                flights: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts or joins the read of `cache_key`, which reads `keys`, on the
    /// connection of `generation`.
    pub(crate) fn begin(&self, cache_key: &[u8], keys: Vec<Vec<u8>>, generation: u64) -> Begin<'_> {
        let mut inner = self.lock();
        if inner.generation != generation {
            return Begin::Stale;
        }
        if let Some(flight) = inner.flights.get(cache_key)
            && inner.is_clean(flight.started_at, flight.generation, &flight.keys)
        {
            return Begin::Follow(flight.result.subscribe());
        }
        let started_at = inner.seq;
        for key in &keys {
            inner.marks.entry(key.clone()).or_insert(Mark { pending: 0, poisoned_at: 0 }).pending += 1;
        }
        let (result, _) = watch::channel(None);
        let flight = Arc::new(Flight { started_at, generation, keys, result });
        inner.flights.insert(cache_key.to_vec(), Arc::clone(&flight));
        Begin::Lead(Ticket { flights: self, cache_key: cache_key.to_vec(), flight, released: false })
    }

    /// Poisons the fills of `keys`: Redis reported them changed.
    pub(crate) fn poison(&self, keys: &[Vec<u8>]) {
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
    /// runs first, under the lock; returns whether it ran. Followers then
    /// receive the reply either way: it is what the server answered.
    pub(crate) fn complete(mut self, reply: Result<Value, Error>, store: impl FnOnce(&Value)) -> bool {
        let stored = {
            let mut inner = self.flights.lock();
            let clean = inner.is_clean(self.flight.started_at, self.flight.generation, &self.flight.keys);
            if let (true, Ok(value)) = (clean, &reply) {
                store(value);
            }
            self.release(&mut inner);
            clean && reply.is_ok()
        };
        self.flight.result.send_replace(Some(reply));
        stored
    }

    fn release(&mut self, inner: &mut Inner) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        for key in &self.flight.keys {
            if let Some(mark) = inner.marks.get_mut(key) {
                mark.pending -= 1;
                if mark.pending == 0 {
                    inner.marks.remove(key);
                }
            }
        }
        if inner.flights.get(&self.cache_key).is_some_and(|f| Arc::ptr_eq(f, &self.flight)) {
            inner.flights.remove(&self.cache_key);
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.released {
            let flights = self.flights;
            let mut inner = flights.lock();
            self.release(&mut inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &str) -> Vec<Vec<u8>> {
        vec![k.as_bytes().to_vec()]
    }

    fn lead<'a>(flights: &'a Flights, key: &str) -> Ticket<'a> {
        match flights.begin(key.as_bytes(), keys(key), 0) {
            Begin::Lead(ticket) => ticket,
            _ => panic!("expected to lead"),
        }
    }

    #[test]
    fn a_poisoned_fill_is_not_stored() {
        let flights = Flights::new();
        let ticket = lead(&flights, "k");
        flights.poison(&keys("k"));
        assert!(!ticket.complete(Ok(Value::Int(1)), |_| panic!("stored a poisoned fill")));
        // The mark is gone with its last fill: a new fill is clean.
        let ticket = lead(&flights, "k");
        assert!(ticket.complete(Ok(Value::Int(2)), |_| {}));
    }

    #[test]
    fn poison_of_another_key_does_not_matter() {
        let flights = Flights::new();
        let ticket = lead(&flights, "k");
        flights.poison(&keys("other"));
        assert!(ticket.complete(Ok(Value::Int(1)), |_| {}));
    }

    #[test]
    fn a_flush_or_lost_connection_poisons_every_fill() {
        let flights = Flights::new();
        let ticket = lead(&flights, "k");
        flights.flush(|| {});
        assert!(!ticket.complete(Ok(Value::Int(1)), |_| panic!("stored across a flush")));
        let ticket = lead(&flights, "k");
        assert!(flights.advance(|| true, |generation| assert_eq!(generation, 1)));
        assert!(!flights.advance(|| false, |_| panic!("lost the same connection twice")));
        assert!(!ticket.complete(Ok(Value::Int(1)), |_| panic!("stored across a disconnect")));
        assert!(matches!(flights.begin(b"k", keys("k"), 0), Begin::Stale));
    }

    #[test]
    fn followers_join_clean_flights_only() {
        let flights = Flights::new();
        let ticket = lead(&flights, "k");
        let Begin::Follow(mut follower) = flights.begin(b"k", keys("k"), 0) else { panic!("expected to follow") };
        flights.poison(&keys("k"));
        // After the invalidation, a new read must not join the old flight.
        let second = lead(&flights, "k");
        ticket.complete(Ok(Value::Int(1)), |_| {});
        assert!(matches!(&*follower.borrow_and_update(), Some(Ok(Value::Int(1)))));
        // The old leader finishing did not remove the new flight.
        assert!(matches!(flights.begin(b"k", keys("k"), 0), Begin::Follow(_)));
        drop(second);
        assert!(matches!(flights.begin(b"k", keys("k"), 0), Begin::Lead(_)));
    }
}
