//! Where each read goes: which node serves each key, and the tracked
//! connection the cache holds to each node.
//!
//! A single Redis is a [`Topology`] of one node that serves every key. A
//! Redis Cluster is the nodes that own slots, and the owner of each of the
//! 16384 slots, as `CLUSTER SLOTS` reports them. Reads that may be cached go
//! to the owner's tracked connection, so the node that will see a key's
//! writes is the node that reports them.
//!
//! [`Links`] is one snapshot of those connections, replaced whole: the
//! topology, one link per node (`None` while that node reconnects), and the
//! flight generation they belong to. Losing a node's connection or moving
//! a slot to another node advances the generation, which poisons every
//! fill in flight, and flushes the backend before the new snapshot serves.
//!
//! - `topology`: [`Topology`], which node serves each key, and [`key_slot`].
//! - `links`: [`Links`] and [`NodeLink`], the tracked connections.
//! - `cluster`: reading a Redis Cluster's slot map, and the redis crate's
//!   cluster client for what is not a cached read.

mod cluster;
mod links;
mod topology;

pub(crate) use cluster::{connect_cluster, connect_cluster_slots, read_slot_map};
pub(crate) use links::{Links, NodeLink};
pub use topology::key_slot;
pub(crate) use topology::{Topology, address_of};
