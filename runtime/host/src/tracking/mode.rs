//! The tracking modes of `CLIENT TRACKING`.

/// How Redis decides which keys to report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Tracking {
    /// The server remembers the keys this connection read and reports
    /// changes to them. Every read can be cached.
    #[default]
    Default,
    /// Broadcast: the server reports changes to every key that starts with
    /// one of the prefixes (all keys if none), read or not. Reads of keys
    /// outside the prefixes are answered by the server and never cached,
    /// since no invalidation would ever arrive for them.
    Broadcast {
        /// Key prefixes to track.
        prefixes: Vec<Vec<u8>>,
    },
    /// Opt-in: only reads made through the caching calls are tracked; each
    /// is sent right after `CLIENT CACHING YES` in the same round trip.
    /// Pass-through reads ([`Cache::command`](crate::Cache::command)) are
    /// not tracked and never cached.
    OptIn,
}

impl Tracking {
    /// The `CLIENT TRACKING ON ...` arguments after `ON`.
    pub(crate) fn arguments(&self) -> Vec<Vec<u8>> {
        match self {
            Tracking::Default => Vec::new(),
            Tracking::Broadcast { prefixes } => {
                let mut args = vec![b"BCAST".to_vec()];
                for prefix in prefixes {
                    args.push(b"PREFIX".to_vec());
                    args.push(prefix.clone());
                }
                args
            }
            Tracking::OptIn => vec![b"OPTIN".to_vec()],
        }
    }

    /// Whether Redis will report changes to `key` once it is read.
    #[inline]
    pub(crate) fn covers(&self, key: &[u8]) -> bool {
        match self {
            Tracking::Broadcast { prefixes } => prefixes.is_empty() || prefixes.iter().any(|p| key.starts_with(p)),
            Tracking::Default | Tracking::OptIn => true,
        }
    }
}
