//! What a push message from Redis means for the cache.

use redis::{PushInfo, PushKind, Value};

/// A push the cache acts on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// These keys changed.
    Keys(Vec<Vec<u8>>),
    /// Everything may have changed (FLUSHALL, FLUSHDB).
    All,
    /// The connection is gone; so is its tracking state.
    Disconnected,
    /// The invalidation connection of a REDIRECT went away: tracking is
    /// no longer reliable.
    RedirectBroken,
}

/// Reads a push; `None` for pushes the cache does not care about.
pub(crate) fn parse(push: PushInfo) -> Option<Event> {
    match push.kind {
        PushKind::Disconnection => Some(Event::Disconnected),
        PushKind::Invalidate => match push.data.into_iter().next() {
            Some(Value::Array(keys)) | Some(Value::Set(keys)) => Some(Event::Keys(
                keys.into_iter()
                    .filter_map(|key| match key {
                        Value::BulkString(bytes) => Some(bytes),
                        Value::SimpleString(s) => Some(s.into_bytes()),
                        _ => None,
                    })
                    .collect(),
            )),
            // `invalidate nil`: the server flushed.
            _ => Some(Event::All),
        },
        PushKind::Other(kind) if kind.eq_ignore_ascii_case("tracking-redir-broken") => Some(Event::RedirectBroken),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_invalidations() {
        let push = |kind, data| parse(PushInfo { kind, data });
        assert_eq!(
            push(PushKind::Invalidate, vec![Value::Array(vec![Value::BulkString(b"k".to_vec())])]),
            Some(Event::Keys(vec![b"k".to_vec()]))
        );
        assert_eq!(push(PushKind::Invalidate, vec![Value::Nil]), Some(Event::All));
        assert_eq!(push(PushKind::Disconnection, vec![]), Some(Event::Disconnected));
        assert_eq!(push(PushKind::Other("tracking-redir-broken".into()), vec![]), Some(Event::RedirectBroken));
        assert_eq!(push(PushKind::Message, vec![]), None);
    }
}
