//! The backends a cache holds, and how readers see them.
//!
//! A reload replaces the [`Backends`] whole ([`Published::store`]). Most
//! readers load the current value from an `ArcSwap`, which costs two atomic
//! read-modify-writes per load. The hit path, which runs far more often
//! than anything else, reads through a per-thread cache of that `ArcSwap`
//! ([`arc_swap::Cache`]) instead: a plain load of the current pointer, and
//! a fresh load only when a reload replaced it.
//!
//! A hit that uses a value a reload has just replaced is as safe as one
//! that loaded it a moment before the swap: a replaced backend keeps
//! seeing every invalidation until it is retired, and once retired holds
//! nothing (see [`Shards::retire`]). The per-thread cache only keeps such a
//! value, with its retired shards, alive until the thread's next hit.

use std::cell::RefCell;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::shards::Shards;

/// The backends the cache holds: the one serving, and any others that must
/// see every invalidation meanwhile (a new one being warmed before it
/// serves, an old one until it is retired). Replaced whole, so whoever
/// loads it sees every backend that could hold an entry.
pub(crate) struct Backends {
    pub(crate) serving: Arc<Shards>,
    pub(crate) others: Vec<Arc<Shards>>,
}

impl Backends {
    /// Runs `f` on every backend held.
    pub(crate) fn each(&self, f: impl Fn(&Shards)) {
        f(&self.serving);
        self.others.iter().for_each(|other| f(other));
    }
}

/// The current [`Backends`] of one cache.
pub(crate) struct Published {
    /// Shared with the per-thread caches, which hold it so that the address
    /// they compare with cannot be reused by another cache's.
    current: Arc<ArcSwap<Backends>>,
}

/// A thread's cached view of one cache's [`Published`]: of the last cache
/// whose hit path ran on this thread.
type ThreadView = arc_swap::Cache<Arc<ArcSwap<Backends>>, Arc<Backends>>;

thread_local! {
    static VIEW: RefCell<Option<ThreadView>> = const { RefCell::new(None) };
}

impl Published {
    /// Publishes `backends`.
    pub(crate) fn new(backends: Backends) -> Published {
        Published { current: Arc::new(ArcSwap::from_pointee(backends)) }
    }

    /// The current backends.
    pub(crate) fn load(&self) -> Guard<Arc<Backends>> {
        self.current.load()
    }

    /// Replaces the current backends.
    pub(crate) fn store(&self, backends: Backends) {
        self.current.store(Arc::new(backends));
    }

    /// Runs `f` on the serving backend, seen through this thread's cached
    /// view: the hit path.
    #[inline]
    pub(crate) fn with_serving<R>(&self, f: impl FnOnce(&Shards) -> R) -> R {
        VIEW.with(|view| {
            // Taken already only if `f` re-entered the hit path (a backend
            // cannot, but nothing here depends on that).
            let Ok(mut view) = view.try_borrow_mut() else { return f(&self.load().serving) };
            let cached = match &mut *view {
                Some(cached) if std::ptr::eq(cached.arc_swap(), &*self.current) => cached,
                other => self.view_on_this_thread(other),
            };
            f(&cached.load().serving)
        })
    }

    /// Makes this cache the one whose view `view` holds, replacing another
    /// cache's: out of line, so the hit path stays small enough to inline.
    #[cold]
    #[inline(never)]
    fn view_on_this_thread<'v>(&self, view: &'v mut Option<ThreadView>) -> &'v mut ThreadView {
        view.insert(ThreadView::new(Arc::clone(&self.current)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::NativeFactory;

    fn shards() -> Arc<Shards> {
        Arc::new(Shards::new(&NativeFactory, 1, &[]).expect("native shards"))
    }

    fn backends(serving: &Arc<Shards>) -> Backends {
        Backends { serving: Arc::clone(serving), others: Vec::new() }
    }

    #[test]
    fn the_hit_path_sees_a_replacement_at_its_next_call() {
        let (first, second) = (shards(), shards());
        let published = Published::new(backends(&first));
        assert!(published.with_serving(|serving| std::ptr::eq(serving, &*first)));
        published.store(backends(&second));
        assert!(published.with_serving(|serving| std::ptr::eq(serving, &*second)));
    }

    #[test]
    fn two_caches_on_one_thread_each_see_their_own() {
        let (first, second) = (shards(), shards());
        let (one, two) = (Published::new(backends(&first)), Published::new(backends(&second)));
        for _ in 0..3 {
            assert!(one.with_serving(|serving| std::ptr::eq(serving, &*first)));
            assert!(two.with_serving(|serving| std::ptr::eq(serving, &*second)));
        }
    }

    #[test]
    fn a_cache_made_where_a_dropped_one_was_is_not_mistaken_for_it() {
        let first = shards();
        let one = Published::new(backends(&first));
        assert!(one.with_serving(|serving| std::ptr::eq(serving, &*first)));
        drop(one);
        // The thread's view still holds the dropped cache's ArcSwap, so the
        // new one cannot be at its address.
        let second = shards();
        let two = Published::new(backends(&second));
        assert!(two.with_serving(|serving| std::ptr::eq(serving, &*second)));
    }

    #[test]
    fn a_reentrant_call_reads_the_current_value() {
        let first = shards();
        let published = Published::new(backends(&first));
        let inner = published.with_serving(|_| published.with_serving(|serving| std::ptr::eq(serving, &*first)));
        assert!(inner);
    }
}
