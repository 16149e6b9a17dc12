//! Hot reload of the cache's backend: the demo's swaps (native, then the
//! Rust guest, then native again) and SIGHUP (reload from the source the
//! command started with).

use std::time::Duration;

use nearcache::Cache;

use crate::backend::Source;

/// A reload that happened.
#[derive(Debug, Clone)]
pub struct Swap {
    /// The backend before.
    pub previous: String,
    /// The backend now.
    pub current: String,
    /// How long the reload took (load, check, init, swap).
    pub took: Duration,
}

/// Swaps `cache`'s backend for `source`'s; on failure the old one keeps serving.
pub async fn reload(cache: &Cache, source: &Source) -> Result<Swap, String> {
    let reloaded =
        cache.reload_backend(source.to_library(), source.options.clone()).await.map_err(|e| e.to_string())?;
    Ok(Swap { previous: reloaded.previous, current: reloaded.current, took: reloaded.took })
}

/// What a reload's outcome reads as: `native -> rust_store in 1.2 ms`.
pub fn describe(outcome: &Result<Swap, String>) -> String {
    match outcome {
        Ok(swap) => format!("{} -> {} in {:.1?}", swap.previous, swap.current, swap.took),
        Err(reason) => format!("failed, the backend in use keeps serving: {reason}"),
    }
}
