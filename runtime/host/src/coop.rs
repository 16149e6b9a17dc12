//! How reads spend their task's cooperative budget (tokio's `coop`).
//!
//! A hit completes without waiting on anything, so a task that loops on
//! hits would never yield to the other tasks of its worker (the
//! connections' drivers, timers, other readers) unless its hits spend the
//! task's budget, as tokio's own resources do with each operation. The
//! spend itself is cheap, but a task whose budget runs out yields, and on
//! the multi-thread runtime a yield wakes an idle worker: spending on every
//! hit would make a loop of hits yield every 128 hits (tokio's budget),
//! every 64 in a loop that spends too. A hit spends one unit every
//! [`HITS_PER_UNIT`] hits instead, so a loop of hits alone still yields,
//! every 512 hits.

use std::cell::Cell;

/// Hits per unit of budget spent.
const HITS_PER_UNIT: u32 = 4;

thread_local! {
    /// Hits on this thread; each task's share is what it spends.
    static HITS: Cell<u32> = const { Cell::new(0) };
}

/// Spends one unit of the task's budget every [`HITS_PER_UNIT`] calls on
/// this thread, yielding if the budget is used up.
pub(crate) async fn spend_on_hit() {
    let due = HITS.with(|hits| {
        let count = hits.get().wrapping_add(1);
        hits.set(count);
        count.is_multiple_of(HITS_PER_UNIT)
    });
    if due {
        tokio::task::coop::consume_budget().await;
    }
}
