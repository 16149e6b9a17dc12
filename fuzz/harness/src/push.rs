//! Push messages from Redis: the tracking connection's handler reads every
//! one the server sends, invalidations and others.

use arbitrary::Unstructured;
use nearcache::fuzzing::{PushEvent, parse_push};
use redis::{PushInfo, PushKind, Value};

use crate::values::{push_kind, values};

/// Any push: reading it never panics, and the event is the one the push
/// means (written out here from the RESP3 tracking protocol, not from the
/// parser's code).
pub fn push(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let (Ok(kind), Ok(data)) = (push_kind(&mut u), values(&mut u)) else { return };
    let expected = meaning(&kind, &data);
    assert_eq!(parse_push(PushInfo { kind: kind.clone(), data: data.clone() }), expected, "{kind:?} {data:?}");
}

fn meaning(kind: &PushKind, data: &[Value]) -> Option<PushEvent> {
    match kind {
        PushKind::Disconnection => Some(PushEvent::Disconnected),
        // `invalidate [keys]`: the keys that are strings; `invalidate nil`
        // (or anything but a list): the server flushed.
        PushKind::Invalidate => Some(match data.first() {
            Some(Value::Array(keys) | Value::Set(keys)) => PushEvent::Keys(
                keys.iter()
                    .filter_map(|key| match key {
                        Value::BulkString(bytes) => Some(bytes.clone()),
                        Value::SimpleString(text) => Some(text.clone().into_bytes()),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => PushEvent::All,
        }),
        PushKind::Other(name) if name.eq_ignore_ascii_case("tracking-redir-broken") => Some(PushEvent::RedirectBroken),
        _ => None,
    }
}
