//! Server-assisted client-side caching: the tracked connection and the
//! invalidations Redis pushes on it.
//!
//! The cache uses one RESP3 connection per node for its reads (one in all
//! for a single server) and turns `CLIENT TRACKING` on it, so invalidations
//! arrive on the very connection whose reads they concern (no REDIRECT):
//! the loss of that connection flushes the cache, and an invalidation is
//! handled, in socket order, before any reply that follows it.
//!
//! - [`mode`]: default, BCAST and OPTIN tracking.
//! - `connection`: opening a tracked connection.
//! - `invalidation`: what a push message means for the cache.

pub(crate) mod connection;
pub(crate) mod invalidation;
pub mod mode;

pub use mode::Tracking;
