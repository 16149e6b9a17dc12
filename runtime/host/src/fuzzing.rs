//! Entry points into the crate's private parsers, for the fuzz harnesses in
//! `fuzz/` (feature `fuzzing`, hidden from the docs). Each is a thin wrapper
//! that calls the very code the cache runs; none is part of the API.
//!
//! What they parse comes from parties the cache does not trust: a guest's
//! `get` and `stats` answers, and Redis's replies and push messages.

use std::borrow::Cow;

use redis::{PushInfo, Value};

use crate::command;
use crate::reply;
use crate::routing::Topology;
use crate::shards;
use crate::tracking::invalidation::{self, Event};

/// [`reply`]'s encoding of a server reply, or `None` if it must not be cached.
pub fn reply_encode(value: &Value) -> Option<Vec<u8>> {
    reply::encode(value)
}

/// Decodes bytes a backend returned from `get`.
pub fn reply_decode(bytes: &[u8]) -> Option<Value> {
    reply::decode(bytes)
}

/// As [`reply_decode`], for bytes the decoder may keep.
pub fn reply_decode_owned(bytes: Vec<u8>) -> Option<Value> {
    reply::decode_owned(bytes)
}

/// As [`reply_decode`], for bytes lent or owned: what the hit path calls.
pub fn reply_decode_lent(bytes: Cow<'_, [u8]>) -> Option<Value> {
    reply::decode_lent(bytes)
}

/// The payload of an encoded bulk string, found without the general decoder.
pub fn reply_bulk_payload(bytes: &[u8]) -> Option<&[u8]> {
    reply::bulk_payload(bytes)
}

/// Reads a cache key back into the command's place on the allowlist and its
/// arguments, or `None` if the bytes are not one whole encoding.
pub fn cache_key_decode(key: &[u8]) -> Option<(u8, Vec<Vec<u8>>)> {
    command::decode_cache_key(key)
}

/// The cache key of a command given by its place on the allowlist and its
/// arguments, as `ReadCommand::cache_key` builds it.
pub fn cache_key_encode(code: u8, args: &[Vec<u8>]) -> Vec<u8> {
    command::encode_parts(code, args.iter().map(Vec::as_slice))
}

/// The cache key the host builds for `GET key` without parsing a command.
pub fn get_cache_key(key: &[u8]) -> Vec<u8> {
    command::get_cache_key(key)
}

/// As [`get_cache_key`], built on the stack for short keys (the hit path).
pub fn with_get_cache_key<R>(key: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    command::with_get_cache_key(key, f)
}

/// The parts (name first) the redis crate would send for `read`.
pub fn command_parts(read: &crate::ReadCommand) -> Vec<Vec<u8>> {
    command::parts_of(&read.to_cmd())
}

/// What the cache makes of a push message from Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// These keys changed.
    Keys(Vec<Vec<u8>>),
    /// Everything may have changed.
    All,
    /// The connection is gone.
    Disconnected,
    /// The redirect's invalidation connection is gone.
    RedirectBroken,
}

/// Reads a push message as the tracking connection's handler does; `None`
/// for pushes the cache ignores.
pub fn parse_push(push: PushInfo) -> Option<PushEvent> {
    invalidation::parse(push).map(|event| match event {
        Event::Keys(keys) => PushEvent::Keys(keys),
        Event::All => PushEvent::All,
        Event::Disconnected => PushEvent::Disconnected,
        Event::RedirectBroken => PushEvent::RedirectBroken,
    })
}

/// A Redis Cluster's slot map, as the cache reads it from `CLUSTER SLOTS`.
#[derive(Debug, Clone)]
pub struct SlotMap {
    topology: Topology,
}

impl SlotMap {
    /// Reads a `CLUSTER SLOTS` reply, or says why it cannot be used.
    pub fn from_cluster_slots(reply: &Value) -> Result<SlotMap, String> {
        Topology::from_cluster_slots(reply).map(|topology| SlotMap { topology })
    }

    /// `host:port` of each node.
    pub fn nodes(&self) -> &[String] {
        self.topology.nodes()
    }

    /// The index in [`nodes`](Self::nodes) of the node that serves `key`.
    pub fn node_of(&self, key: &[u8]) -> Option<usize> {
        self.topology.node_of(key)
    }

    /// Whether every slot has the same owner in both maps.
    pub fn same_owners(&self, other: &SlotMap) -> bool {
        self.topology.same_owners(&other.topology)
    }
}

/// Sums the stats of several shards, as `Cache::stats` does.
pub fn sum_stats(shards: impl IntoIterator<Item = Vec<(String, u64)>>) -> Vec<(String, u64)> {
    let mut total = Vec::new();
    for stats in shards {
        shards::add_stats(&mut total, stats);
    }
    total
}
