//! Errors a backend can return through the [`Backend`](crate::Backend) trait.

/// Why a backend call did not complete.
///
/// A backend's own, expected refusal (`init` rejecting an option) is
/// [`Rejected`](BackendError::Rejected); anything else means the instance can
/// no longer be trusted and the host discards it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// `init` refused its options; the message is the backend's own.
    #[error("backend refused its options: {0}")]
    Rejected(String),
    /// The call failed: the instance trapped, ran out of its limits, or
    /// returned output the host does not accept.
    #[error("backend failed in `{call}`: {reason}")]
    Failed {
        /// The callback that failed, as named in the WIT.
        call: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The backend failed too often and is no longer called; the reason is
    /// the failure that decided it.
    #[error("backend quarantined after repeated failures; last: {reason}")]
    Quarantined {
        /// The last failure.
        reason: String,
    },
}
