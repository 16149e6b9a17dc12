//! The wire side of a read: the pipeline a read is sent as (with `CLIENT
//! CACHING YES` in opt-in mode and the `PTTL` of each key it reads), what
//! its replies mean, and the entry's lifetime they give.

use redis::{ErrorKind, RedisError, ServerErrorKind, Value};

use crate::command::ReadCommand;
use crate::error::Error;
use crate::tracking::Tracking;

/// One read as sent, and whether it is sent to be cached (with `CLIENT
/// CACHING YES` in opt-in mode and the `PTTL` of each key it reads).
pub(crate) type Sending<'r> = (&'r ReadCommand, bool);

/// What came back for one read: its reply, and for a cached read the
/// `PTTL` of each key, in no particular order (the entry takes the
/// shortest).
pub(crate) struct Answer {
    pub(crate) reply: Result<Value, Error>,
    pub(crate) ttls: Vec<Value>,
}

/// `reads` as one pipeline whose server errors come back as replies. A
/// read to be cached goes with `CLIENT CACHING YES` first in opt-in
/// mode, and the `PTTL` of each key it reads after, in the same round
/// trip, so its entry never outlives its keys in Redis.
pub(crate) fn pipeline<'r>(tracking: &Tracking, reads: impl IntoIterator<Item = Sending<'r>>) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for (read, cached) in reads {
        if cached && *tracking == Tracking::OptIn {
            pipe.cmd("CLIENT").arg("CACHING").arg("YES").ignore();
        }
        pipe.add_command(read.to_cmd());
        if cached {
            for key in read.keys() {
                pipe.cmd("PTTL").arg(key);
            }
        }
    }
    pipe
}

/// The kind of a MOVED or ASK reply.
pub(crate) fn redirection(reply: &Result<Value, Error>) -> Option<ServerErrorKind> {
    match reply {
        Err(Error::Redis(error)) => redirect_kind(error),
        _ => None,
    }
}

/// The kind of a MOVED or ASK error.
pub(crate) fn redirect_kind(error: &RedisError) -> Option<ServerErrorKind> {
    match error.kind() {
        ErrorKind::Server(kind @ (ServerErrorKind::Moved | ServerErrorKind::Ask)) => Some(kind),
        _ => None,
    }
}

/// A reply from the pipeline: server errors are errors, never values.
pub(crate) fn server_reply(reply: Option<Value>) -> Result<Value, Error> {
    match reply {
        Some(Value::ServerError(error)) => Err(Error::Redis(error.into())),
        Some(value) => Ok(value),
        None => Err(Error::Redis(RedisError::from((redis::ErrorKind::UnexpectedReturnType, "pipeline reply missing")))),
    }
}

/// The entry's TTL: the smaller of the client's cap and the shortest PTTL
/// of its keys (`-1` no expiry, `-2` no key: neither bounds it).
pub(crate) fn entry_ttl(cap_ms: Option<u64>, pttls: &[Value]) -> Option<u64> {
    let server = pttls
        .iter()
        .filter_map(|v| match v {
            Value::Int(ms) if *ms >= 0 => Some(*ms as u64),
            _ => None,
        })
        .min();
    match (cap_ms, server) {
        (Some(cap), Some(server)) => Some(cap.min(server)),
        (cap, server) => cap.or(server),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each command of `pipe` as its parts.
    fn commands(pipe: &redis::Pipeline) -> Vec<Vec<String>> {
        pipe.cmd_iter()
            .map(|cmd| {
                cmd.args_iter()
                    .map(|arg| match arg {
                        redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                        _ => "<cursor>".to_owned(),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_cached_read_carries_the_pttl_of_each_key_and_in_opt_in_mode_caching_yes() {
        let parts = |parts: &[&str]| parts.iter().map(|p| p.as_bytes().to_vec()).collect();
        let exists = ReadCommand::parse(parts(&["EXISTS", "a", "b"])).unwrap();
        let get = ReadCommand::parse(parts(&["GET", "c"])).unwrap();
        let sent = commands(&pipeline(&Tracking::OptIn, [(&exists, true), (&get, false)]));
        assert_eq!(
            sent,
            [
                vec!["CLIENT", "CACHING", "YES"],
                vec!["EXISTS", "a", "b"],
                vec!["PTTL", "a"],
                vec!["PTTL", "b"],
                vec!["GET", "c"]
            ]
        );
        let sent = commands(&pipeline(&Tracking::Default, [(&get, true)]));
        assert_eq!(sent, [vec!["GET", "c"], vec!["PTTL", "c"]]);
    }

    #[test]
    fn entry_ttl_takes_the_tighter_bound() {
        let pttl = Value::Int;
        assert_eq!(entry_ttl(None, &[pttl(-1)]), None);
        assert_eq!(entry_ttl(None, &[pttl(-2)]), None);
        assert_eq!(entry_ttl(Some(500), &[pttl(-1)]), Some(500));
        assert_eq!(entry_ttl(Some(500), &[pttl(200)]), Some(200));
        assert_eq!(entry_ttl(None, &[pttl(900), pttl(-1), pttl(300)]), Some(300));
        assert_eq!(entry_ttl(Some(100), &[pttl(900)]), Some(100));
    }
}
