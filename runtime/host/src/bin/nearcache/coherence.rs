//! The end-of-run coherence check: once the writes have stopped and every
//! invalidation has arrived, read each key through the system under test and
//! from Redis. A key whose values differ is an entry the cache would serve
//! stale until it is evicted or expires (a reply cached after the
//! invalidation that should have dropped it, which Redis does not repeat).

use redis::aio::MultiplexedConnection;

use crate::systems::System;
use crate::workload::{BATCH, KeySpace};

/// The indices of the `keys` that `system` reads differently from Redis
/// (read through `admin`). Call only when nothing writes the keys any more.
pub async fn stale_keys(
    system: &System,
    admin: &mut MultiplexedConnection,
    keys: &KeySpace,
) -> Result<Vec<usize>, String> {
    system.sync().await?;
    let mut stale = Vec::new();
    for (n, chunk) in keys.keys().chunks(BATCH).enumerate() {
        let truth: Vec<Option<Vec<u8>>> =
            redis::cmd("MGET").arg(chunk).query_async(admin).await.map_err(|e| format!("MGET: {e}"))?;
        for (i, (key, truth)) in chunk.iter().zip(truth).enumerate() {
            if Some(system.get(key).await?) != truth {
                stale.push(n * BATCH + i);
            }
        }
    }
    Ok(stale)
}
