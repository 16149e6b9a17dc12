//! `CLUSTER SLOTS` replies: the slot map of a Redis Cluster, as a node
//! reports it.

use arbitrary::{Result, Unstructured};
use nearcache::fuzzing::SlotMap;
use nearcache::key_slot;
use redis::Value;

use crate::values::value;

/// Any reply, usually shaped like `CLUSTER SLOTS`: reading it never panics;
/// a refusal is one line; a map it accepts has distinct nodes, sends every
/// key to one of them or to none, and has the same owners as itself.
pub fn cluster_slots(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(reply) = reply(&mut u) else { return };
    let map = match SlotMap::from_cluster_slots(&reply) {
        Ok(map) => map,
        Err(message) => {
            assert!(!message.contains('\n'), "a refusal on more than one line: {message:?}");
            return;
        }
    };
    let nodes = map.nodes();
    assert!(!nodes.is_empty(), "a slot map without nodes");
    for (i, node) in nodes.iter().enumerate() {
        assert!(!nodes[..i].contains(node), "{node} listed twice");
    }
    let keys: [&[u8]; 5] = [b"", b"foo", b"bar", b"{user1000}.following", b"\xff"];
    for key in keys.into_iter().chain(std::iter::once(u.take_rest())) {
        if let Some(node) = map.node_of(key) {
            assert!(node < nodes.len(), "slot {} owned by node {node} of {}", key_slot(key), nodes.len());
        }
    }
    assert!(map.same_owners(&map.clone()), "a map differs from itself");
}

/// A reply: mostly a list of slot ranges, each part sometimes replaced by a
/// value of any shape.
fn reply(u: &mut Unstructured<'_>) -> Result<Value> {
    if u.ratio(1, 16)? {
        return value(u);
    }
    let count = u.int_in_range(0..=8)?;
    Ok(Value::Array((0..count).map(|_| range(u)).collect::<Result<_>>()?))
}

fn range(u: &mut Unstructured<'_>) -> Result<Value> {
    if u.ratio(1, 16)? {
        return value(u);
    }
    let mut parts = vec![slot(u)?, slot(u)?];
    let nodes = u.int_in_range(0..=3)?;
    for _ in 0..nodes {
        parts.push(node(u)?);
    }
    Ok(Value::Array(parts))
}

/// A slot number, mostly in range or near its ends.
fn slot(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.int_in_range(0..=5)? {
        0 => value(u)?,
        1 => Value::Int(u.arbitrary()?),
        2 => Value::Int(*u.choose(&[-1, 0, 16383, 16384])?),
        _ => Value::Int(u.int_in_range(0..=16383)?),
    })
}

/// `[host, port, id, ...]`: a few hosts and ports, so that ranges share them.
fn node(u: &mut Unstructured<'_>) -> Result<Value> {
    if u.ratio(1, 16)? {
        return value(u);
    }
    let host = match u.int_in_range(0..=3)? {
        0 => Value::SimpleString(u.arbitrary()?),
        1 => Value::BulkString(u.arbitrary()?),
        _ => Value::BulkString(u.choose(&["127.0.0.1", "::1", "node-a", ""])?.as_bytes().to_vec()),
    };
    let port = match u.int_in_range(0..=3)? {
        0 => Value::Int(u.arbitrary()?),
        1 => value(u)?,
        _ => Value::Int(u.int_in_range(7000..=7003)?),
    };
    let mut parts = vec![host, port];
    if u.arbitrary()? {
        parts.push(Value::BulkString(b"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca".to_vec()));
    }
    Ok(Value::Array(parts))
}
