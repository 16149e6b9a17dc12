//! Which allowlisted commands a cache serves, and how long an entry may
//! live at most on the client's side.

use crate::command::ReadCommand;
use crate::error::Error;

/// Which commands are cached, and for how long at most.
pub(crate) struct Policy {
    /// `None`: the whole allowlist.
    pub(crate) enabled: Option<Vec<&'static str>>,
    pub(crate) max_ttl_ms: Option<u64>,
    pub(crate) command_ttls: Vec<(&'static str, u64)>,
}

impl Policy {
    /// Whether the command `name` (upper case) is cached.
    pub(crate) fn allows(&self, name: &str) -> bool {
        self.enabled.as_ref().is_none_or(|enabled| enabled.contains(&name))
    }

    /// [`Error::NotEnabled`] unless `read`'s command is cached.
    pub(crate) fn check(&self, read: &ReadCommand) -> Result<(), Error> {
        if self.allows(read.name()) { Ok(()) } else { Err(Error::NotEnabled(read.name())) }
    }

    /// The client-side cap on the life of an entry of command `name`.
    pub(crate) fn ttl_ms(&self, name: &str) -> Option<u64> {
        self.command_ttls.iter().find(|(n, _)| *n == name).map(|&(_, ttl)| ttl).or(self.max_ttl_ms)
    }
}
