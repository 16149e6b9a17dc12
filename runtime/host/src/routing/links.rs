//! The cache's tracked connection to each node, as one snapshot.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use redis::aio::MultiplexedConnection;

use super::Topology;
use crate::liveness::Proof;
use crate::stats::NodeCounters;

/// The cache's tracked connection to one node.
pub(crate) struct NodeLink {
    pub(crate) connection: MultiplexedConnection,
    /// Tells this connection from every other the cache opened, so a loss
    /// reported by an old connection is recognised as old.
    pub(crate) serial: u64,
    /// Set by the connection's own push handler when it disconnects, even
    /// before this link is published.
    pub(crate) closed: Arc<AtomicBool>,
    /// The node's counters, kept across its reconnections.
    pub(crate) counters: Arc<NodeCounters>,
    /// When the connection last proved itself alive.
    pub(crate) proof: Proof,
    /// Set once the cache has given the connection up: requests still
    /// waiting on it fail then, rather than at their response timeout.
    pub(crate) given_up: tokio::sync::watch::Sender<bool>,
}

/// The connections the cache reads through: one snapshot, replaced whole,
/// and only under the flights lock.
pub(crate) struct Links {
    /// The flight generation these connections belong to.
    pub(crate) generation: u64,
    pub(crate) topology: Arc<Topology>,
    /// One per node of `topology`; `None` while that node reconnects.
    pub(crate) nodes: Vec<Option<Arc<NodeLink>>>,
}

impl Links {
    /// A snapshot with no connection yet.
    pub(crate) fn unconnected(topology: Arc<Topology>) -> Links {
        let nodes = vec![None; topology.nodes().len()];
        Links { generation: 0, topology, nodes }
    }

    /// Whether every node is connected.
    pub(crate) fn all_up(&self) -> bool {
        self.nodes.iter().all(Option::is_some)
    }

    /// The link of the node that serves `key`, if it is connected.
    pub(crate) fn for_key(&self, key: &[u8]) -> Option<(usize, &Arc<NodeLink>)> {
        let node = self.topology.node_of(key)?;
        self.nodes[node].as_ref().map(|link| (node, link))
    }

    /// Whether `serial` is the published connection of `node`.
    pub(crate) fn holds(&self, node: &str, serial: u64) -> bool {
        self.index(node).and_then(|i| self.nodes[i].as_ref()).is_some_and(|link| link.serial == serial)
    }

    /// The index of `node` in the topology.
    pub(crate) fn index(&self, node: &str) -> Option<usize> {
        self.topology.nodes().iter().position(|n| n == node)
    }

    /// This snapshot with `node`'s connection replaced by `link`, in
    /// `generation`.
    pub(crate) fn with(&self, node: usize, link: Option<Arc<NodeLink>>, generation: u64) -> Links {
        let mut nodes = self.nodes.clone();
        nodes[node] = link;
        Links { generation, topology: Arc::clone(&self.topology), nodes }
    }

    /// The nodes without a connection.
    pub(crate) fn missing(&self) -> Vec<String> {
        let nodes = self.topology.nodes().iter().zip(&self.nodes);
        nodes.filter(|(_, link)| link.is_none()).map(|(node, _)| node.clone()).collect()
    }
}

impl NodeLink {
    /// Whether the connection reported its own loss.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Fails every request waiting on this connection, and every later one.
    pub(crate) fn give_up(&self) {
        self.given_up.send_replace(true);
    }

    /// Runs `request` on this connection, unless the cache gives the
    /// connection up first: `None` then.
    pub(crate) async fn unless_given_up<T>(&self, request: impl Future<Output = T>) -> Option<T> {
        let mut given_up = self.given_up.subscribe();
        tokio::select! {
            biased;
            done = request => Some(done),
            _ = given_up.wait_for(|&given_up| given_up) => None,
        }
    }
}
