//! Which node serves each key: one server, or a Redis Cluster's slot map.

use redis::{ConnectionAddr, ConnectionInfo, Value};

/// Slots in a Redis Cluster.
pub(crate) const SLOTS: usize = 16384;

/// A slot no node serves.
const UNASSIGNED: u16 = u16::MAX;

/// The Redis Cluster slot of `key`, as `CLUSTER KEYSLOT` gives it: CRC16
/// (XMODEM) of the key, or of its hash tag (the part between the first `{`
/// and the next `}`, if not empty), modulo 16384.
pub fn key_slot(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        rest.iter().position(|&b| b == b'}').filter(|&close| close > 0).map(|close| &rest[..close])
    });
    crc16::State::<crc16::XMODEM>::calculate(tagged.unwrap_or(key)) % SLOTS as u16
}

/// The nodes that serve keys, and which serves each slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Topology {
    /// `host:port` of each node.
    nodes: Vec<String>,
    /// The index in `nodes` of each slot's owner; empty for a single server.
    owners: Vec<u16>,
}

impl Topology {
    /// One server that serves every key.
    pub(crate) fn single(address: String) -> Topology {
        Topology { nodes: vec![address], owners: Vec::new() }
    }

    /// Reads a `CLUSTER SLOTS` reply: `[start, end, [host, port, id, ...],
    /// replicas...]` per range. Only masters are kept; the cache reads from
    /// the node that takes the writes.
    pub(crate) fn from_cluster_slots(reply: &Value) -> Result<Topology, String> {
        let Value::Array(ranges) = reply else { return Err(format!("CLUSTER SLOTS replied {reply:?}")) };
        let mut topology = Topology { nodes: Vec::new(), owners: vec![UNASSIGNED; SLOTS] };
        // Each node's index, so a reply of many ranges takes linear time.
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for range in ranges {
            let (start, end, address) = match range {
                Value::Array(parts) if parts.len() >= 3 => (slot(&parts[0])?, slot(&parts[1])?, address(&parts[2])?),
                other => return Err(format!("CLUSTER SLOTS has a malformed range: {other:?}")),
            };
            if start > end {
                return Err(format!("CLUSTER SLOTS has an empty range {start}-{end}"));
            }
            let node = match index.get(&address) {
                Some(&node) => node,
                // Each master owns a slot: more nodes than slots is a reply
                // of overlapping ranges, and past u16::MAX an index would
                // wrap onto another node's.
                None if topology.nodes.len() == SLOTS => {
                    return Err(format!("CLUSTER SLOTS lists more than {SLOTS} masters, one per slot at most"));
                }
                None => {
                    index.insert(address.clone(), topology.nodes.len());
                    topology.nodes.push(address);
                    topology.nodes.len() - 1
                }
            };
            topology.owners[usize::from(start)..=usize::from(end)].fill(node as u16);
        }
        if topology.nodes.is_empty() {
            return Err("CLUSTER SLOTS lists no node: the cluster has no slots assigned".into());
        }
        Ok(topology)
    }

    /// `host:port` of each node.
    pub(crate) fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// The node that serves `key`; `None` if no node serves its slot.
    pub(crate) fn node_of(&self, key: &[u8]) -> Option<usize> {
        if self.owners.is_empty() {
            return Some(0);
        }
        match self.owners[usize::from(key_slot(key))] {
            UNASSIGNED => None,
            node => Some(usize::from(node)),
        }
    }

    /// Whether every slot has the same owner (by address) in both: if not,
    /// an entry could be tracked by a node that no longer sees its writes.
    pub(crate) fn same_owners(&self, other: &Topology) -> bool {
        (0..SLOTS).all(|slot| self.owner(slot) == other.owner(slot))
    }

    /// The address of the node that serves `slot`.
    fn owner(&self, slot: usize) -> Option<&str> {
        match self.owners.get(slot) {
            Some(&UNASSIGNED) => None,
            Some(&node) => Some(self.nodes[usize::from(node)].as_str()),
            None => self.nodes.first().map(String::as_str),
        }
    }
}

/// The `host:port` of a single server.
pub(crate) fn address_of(info: &ConnectionInfo) -> String {
    match info.addr() {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => format!("{host}:{port}"),
        other => other.to_string(),
    }
}

fn slot(value: &Value) -> Result<u16, String> {
    match value {
        Value::Int(n) if (0..SLOTS as i64).contains(n) => Ok(*n as u16),
        other => Err(format!("CLUSTER SLOTS has a slot out of range: {other:?}")),
    }
}

fn address(value: &Value) -> Result<String, String> {
    let Value::Array(parts) = value else { return Err(format!("CLUSTER SLOTS has a malformed node: {value:?}")) };
    let host = match parts.first() {
        Some(Value::BulkString(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
        Some(Value::SimpleString(host)) => host.clone(),
        other => return Err(format!("CLUSTER SLOTS has a node without a host: {other:?}")),
    };
    match parts.get(1) {
        Some(Value::Int(port)) if (1..=65535).contains(port) => Ok(format!("{host}:{port}")),
        other => Err(format!("CLUSTER SLOTS has a node without a port: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, port: i64) -> Value {
        Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec()),
            Value::Int(port),
            Value::BulkString(b"id".to_vec()),
        ])
    }

    fn range(start: i64, end: i64, owner: Value) -> Value {
        Value::Array(vec![Value::Int(start), Value::Int(end), owner])
    }

    #[test]
    fn slots_follow_redis() {
        // Values from CLUSTER KEYSLOT on Redis 7.0.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"), "an empty tag means the whole key");
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    }

    #[test]
    fn reads_cluster_slots() {
        let reply = Value::Array(vec![
            range(0, 5460, node("127.0.0.1", 7000)),
            range(5461, 10922, node("127.0.0.1", 7001)),
            range(10923, 16383, node("127.0.0.1", 7002)),
        ]);
        let topology = Topology::from_cluster_slots(&reply).unwrap();
        assert_eq!(topology.nodes(), ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"]);
        assert_eq!(topology.node_of(b"foo"), Some(2));
        assert_eq!(topology.node_of(b"bar"), Some(0));

        let mut moved = topology.clone();
        moved.owners[12182] = 0;
        assert!(!topology.same_owners(&moved));
        assert!(topology.same_owners(&topology.clone()));
        assert!(!topology.same_owners(&Topology::single("127.0.0.1:7000".into())));
    }

    #[test]
    fn refuses_malformed_replies() {
        assert!(Topology::from_cluster_slots(&Value::Nil).is_err());
        assert!(Topology::from_cluster_slots(&Value::Array(vec![])).is_err());
        assert!(Topology::from_cluster_slots(&Value::Array(vec![range(0, 20000, node("h", 1))])).is_err());
        assert!(Topology::from_cluster_slots(&Value::Array(vec![range(0, 1, node("h", 0))])).is_err());
    }

    #[test]
    fn refuses_more_masters_than_slots() {
        // Overlapping ranges can name any number of nodes; an index past
        // u16::MAX would wrap onto another node's (or onto UNASSIGNED).
        let ranges = (0..=SLOTS).map(|i| range(0, 0, node(&format!("h{i}"), 1))).collect();
        let error = Topology::from_cluster_slots(&Value::Array(ranges)).unwrap_err();
        assert_eq!(error, "CLUSTER SLOTS lists more than 16384 masters, one per slot at most");
        let ranges = (0..SLOTS as i64).map(|i| range(i, i, node(&format!("h{i}"), 1))).collect();
        assert_eq!(Topology::from_cluster_slots(&Value::Array(ranges)).unwrap().nodes().len(), SLOTS);
    }

    #[test]
    fn unassigned_slots_have_no_node() {
        let topology = Topology::from_cluster_slots(&Value::Array(vec![range(0, 100, node("h", 1))])).unwrap();
        assert_eq!(topology.node_of(b"foo"), None);
    }
}
