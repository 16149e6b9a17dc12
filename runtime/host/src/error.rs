//! The errors of the cache, and of the backends behind it.

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

/// Why a cache operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Redis URL does not parse or names an unsupported scheme.
    #[error("invalid Redis URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given, with any password masked.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A cache option is out of range or names something unknown.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// What is wrong and what it accepts.
        reason: String,
    },
    /// The first connection to Redis could not be made.
    #[error("cannot connect to Redis at {address}: {source}")]
    Connect {
        /// Where the cache tried to connect.
        address: String,
        /// Why it failed.
        source: redis::RedisError,
    },
    /// The connection is down and being re-established. Nothing is served
    /// from the cache meanwhile: it was flushed when the connection dropped.
    #[error("not connected to Redis (reconnecting); the cache is flushed and serves nothing until tracking is back on")]
    Disconnected,
    /// The command is not one the cache can serve.
    #[error("`{0}` cannot be cached: it is not a read-only command on the allowlist")]
    NotCacheable(String),
    /// The command is cacheable but narrowed out by this cache's options.
    #[error("`{0}` is cacheable but not enabled in this cache's command list")]
    NotEnabled(&'static str),
    /// An allowlisted command was given the wrong number of arguments.
    #[error("wrong number of arguments for `{command}`: expected {expected}, got {got}")]
    WrongArity {
        /// The command.
        command: &'static str,
        /// What it takes.
        expected: String,
        /// How many arguments it was given.
        got: usize,
    },
    /// The command may not be sent on the connection the cache shares
    /// among all callers: it would change that connection's state (SELECT,
    /// SUBSCRIBE, CLIENT...), block it (BLPOP, XREAD BLOCK, WAIT...), or
    /// leave every cache stale (SWAPDB).
    #[error("`{command}` is refused: {reason}")]
    Refused {
        /// The command's name, upper case.
        command: String,
        /// Why, and what to do instead.
        reason: &'static str,
    },
    /// Redis answered with an error, or the request failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The server is a Redis Cluster node and redirected the command to
    /// another node: the cache was made for one server.
    #[error(
        "{address} is a Redis Cluster node and sent the command to another node ({redirect}): connect with CacheBuilder::cluster"
    )]
    ClusterNode {
        /// The server the cache was made for.
        address: String,
        /// The redirection, as the server sent it.
        redirect: String,
    },
    /// A backend component could not be loaded: not wasm, not a component,
    /// another world, or an import the sandbox does not provide.
    #[cfg(feature = "wasm")]
    #[error("cannot load backend: {0}")]
    Load(std::sync::Arc<crate::wasm::LoadError>),
    /// The backend file could not be watched.
    #[error("cannot watch {path}: {reason}")]
    Watch {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// The backend could not be set up.
    #[error("backend `{name}`: {source}")]
    Backend {
        /// The backend's name.
        name: String,
        /// What failed.
        source: BackendError,
    },
}

#[cfg(feature = "wasm")]
impl From<crate::wasm::LoadError> for Error {
    fn from(error: crate::wasm::LoadError) -> Error {
        Error::Load(std::sync::Arc::new(error))
    }
}
