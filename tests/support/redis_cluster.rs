//! A private 3-master Redis Cluster on free loopback ports, stopped by pid
//! on drop.
//!
//! [`RedisCluster::start`] runs three `redis-server`s in cluster mode (no
//! replicas), joins them with `redis-cli --cluster create`, and waits until
//! every node reports `cluster_state:ok` and the same owner for all 16384
//! slots. The harness is blocking std code (sync `redis` connections, one per
//! call), so async tests call it directly. It only ever talks to its own
//! nodes: their ports and cluster-bus ports are fresh, never 6379.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::Value;

use crate::redis_server::{available, free_port, spawn_until_ready, tracking_client_ids};

/// The number of hash slots of a Redis Cluster.
pub const SLOTS: u16 = 16384;

/// How many masters [`RedisCluster::start`] makes.
const MASTERS: usize = 3;

/// How long [`RedisCluster`] waits for the nodes to agree (after a create,
/// a migration or a restart).
const SETTLE: Duration = Duration::from_secs(20);

/// Timeout of one admin connection's connect, read and write.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One cluster node: a redis-server with its own port, bus port and directory.
struct Node {
    port: u16,
    bus_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    /// Starts the process on `self.port` / `self.bus_port`; waits for
    /// "Ready to accept connections". The directory keeps `nodes.conf`, so a
    /// node started again rejoins its cluster.
    fn spawn(&mut self) -> bool {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--cluster-port", &self.bus_port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--enable-debug-command", "yes"])
            .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
            .args(["--cluster-node-timeout", "2000"])
            .arg("--dir")
            .arg(&self.dir);
        self.child = spawn_until_ready(command);
        self.child.is_some()
    }

    /// Spawns on fresh ports, retrying a few times (a port can be taken
    /// between asking and binding).
    fn spawn_on_free_ports(&mut self) {
        for _ in 0..5 {
            self.port = free_port();
            self.bus_port = free_port();
            if self.port != self.bus_port && self.spawn() {
                return;
            }
        }
        panic!("a cluster redis-server did not start (dir {})", self.dir.display());
    }

    /// Kills the process and waits for it to exit.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A 3-master Redis Cluster this test owns, with or without replicas.
pub struct RedisCluster {
    root: PathBuf,
    nodes: Vec<Node>,
    /// Suffix of the next key [`RedisCluster::key_on_node`] tries.
    counter: AtomicU64,
}

impl RedisCluster {
    /// Starts three masters (no replicas), creates the cluster with
    /// `redis-cli --cluster create`, and waits until every node reports
    /// `cluster_state:ok` and the same owner for every slot.
    ///
    /// # Panics
    /// If `redis-server` / `redis-cli` are not on PATH, or the cluster does
    /// not form within 20 s.
    pub fn start() -> RedisCluster {
        RedisCluster::start_with_replicas(0)
    }

    /// Like [`start`](Self::start), with `replicas` replicas of each master
    /// (nodes `3..`), and waits until every replica's link to its master is
    /// up.
    pub fn start_with_replicas(replicas: usize) -> RedisCluster {
        assert!(available(), "redis-server is not on PATH: install it (apt-get install redis-server)");
        let root = std::env::temp_dir().join(format!("nearcache-redis-cluster-{}-{}", std::process::id(), free_port()));
        // Built before spawning, so a panic below still stops what started.
        let mut cluster = RedisCluster { root, nodes: Vec::new(), counter: AtomicU64::new(0) };
        for i in 0..MASTERS * (1 + replicas) {
            let dir = cluster.root.join(format!("node{i}"));
            std::fs::create_dir_all(&dir).expect("create the node's directory");
            cluster.nodes.push(Node { port: 0, bus_port: 0, dir, child: None });
            cluster.nodes[i].spawn_on_free_ports();
        }
        let addresses: Vec<String> = cluster.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli (apt-get install redis-tools)");
        assert!(
            created.status.success(),
            "redis-cli --cluster create {addresses:?} failed: {}\n{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr),
        );
        cluster.wait_settled(None);
        cluster.wait_replicas_linked();
        cluster
    }

    /// The indexes of the nodes that own slots now.
    pub fn masters(&self) -> Vec<usize> {
        let owners = self.slot_owners(self.first_running()).unwrap_or_else(|e| panic!("CLUSTER SLOTS: {e}"));
        let mut masters: Vec<usize> = owners.iter().filter_map(|&port| self.index_of_port(port)).collect();
        masters.sort_unstable();
        masters.dedup();
        masters
    }

    /// Promotes a replica of master `master` with `CLUSTER FAILOVER` (the
    /// old master becomes its replica, and stays up), waits until every
    /// node sees the new owner of its slots, and returns the new master.
    ///
    /// # Panics
    /// If `master` has no replica, or the failover does not finish in 20 s.
    pub fn failover(&self, master: usize) -> usize {
        let id = self.node_id(master);
        let replicas: Vec<String> =
            self.query(master, redis::cmd("CLUSTER").arg("REPLICAS").arg(&id)).expect("CLUSTER REPLICAS");
        let port = replicas
            .first()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|address| address.split(['@', ':']).nth(1))
            .and_then(|port| port.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("node {master} has no replica: {replicas:?}"));
        let replica = self.index_of_port(port).expect("the replica is one of ours");
        let owners = self.slot_owners(master).unwrap_or_else(|e| panic!("CLUSTER SLOTS: {e}"));
        let slot = owners.iter().position(|&p| p == self.nodes[master].port).expect("a master owns a slot") as u16;
        let _: Value = self.query(replica, redis::cmd("CLUSTER").arg("FAILOVER")).expect("CLUSTER FAILOVER");
        self.wait_settled(Some((slot, replica)));
        replica
    }

    /// Polls until every replica reports `master_link_status:up`.
    fn wait_replicas_linked(&self) {
        let deadline = Instant::now() + SETTLE;
        for i in 0..self.nodes.len() {
            loop {
                let info: String = self.query(i, redis::cmd("INFO").arg("replication")).expect("INFO replication");
                let replica = info.lines().any(|line| line.trim() == "role:slave");
                if !replica || info.lines().any(|line| line.trim() == "master_link_status:up") {
                    break;
                }
                assert!(Instant::now() < deadline, "node {i}'s replication link did not come up in {SETTLE:?}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The nodes' client ports, by node index.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// `redis://127.0.0.1:port` of every node, by node index.
    pub fn urls(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|i| self.node_url(i)).collect()
    }

    /// `redis://127.0.0.1:port` of node `i`.
    pub fn node_url(&self, i: usize) -> String {
        format!("redis://127.0.0.1:{}", self.nodes[i].port)
    }

    /// The slot of `key`, as nearcache computes it (which the cluster
    /// tests check against `CLUSTER KEYSLOT`).
    pub fn slot_of(key: &[u8]) -> u16 {
        nearcache::key_slot(key)
    }

    /// The index of the node that owns `slot`, as the cluster says
    /// (`CLUSTER SLOTS`, asked of the first running node).
    pub fn owner_of(&self, slot: u16) -> usize {
        let owners = self.slot_owners(self.first_running()).unwrap_or_else(|e| panic!("CLUSTER SLOTS: {e}"));
        self.index_of_port(owners[usize::from(slot)])
            .unwrap_or_else(|| panic!("slot {slot} has no owner among our nodes"))
    }

    /// A fresh key, `prefix` followed by a counter, whose slot node `node`
    /// owns. Each call returns another key.
    pub fn key_on_node(&self, node: usize, prefix: &str) -> String {
        let owners = self.slot_owners(self.first_running()).unwrap_or_else(|e| panic!("CLUSTER SLOTS: {e}"));
        let port = self.nodes[node].port;
        assert!(owners.contains(&port), "node {node} owns no slot");
        loop {
            let key = format!("{prefix}{}", self.counter.fetch_add(1, Ordering::Relaxed));
            if owners[usize::from(Self::slot_of(key.as_bytes()))] == port {
                return key;
            }
        }
    }

    /// A plain client (no tracking, no cache, not cluster-aware) for node `node`.
    pub fn client(&self, node: usize) -> redis::Client {
        redis::Client::open(self.node_url(node)).expect("a valid URL")
    }

    /// `SET key value` on the node that owns the key's slot.
    pub fn write(&self, key: &[u8], value: &[u8]) {
        let node = self.owner_of(Self::slot_of(key));
        let _: Value = self.query(node, redis::cmd("SET").arg(key).arg(value)).expect("SET on the key's owner");
    }

    /// `GET key` on the node that owns the key's slot.
    pub fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        let node = self.owner_of(Self::slot_of(key));
        self.query(node, redis::cmd("GET").arg(key)).expect("GET on the key's owner")
    }

    /// Moves `slot` and its keys from its owner to node `to`, the way
    /// `redis-cli --cluster reshard` does (SETSLOT IMPORTING / MIGRATING,
    /// MIGRATE of every key, SETSLOT NODE on every node); then waits until
    /// every node says `to` owns it. Does nothing if `to` already owns it.
    /// All nodes must be running.
    pub fn migrate_slot(&self, slot: u16, to: usize) {
        let from = self.owner_of(slot);
        if from == to {
            return;
        }
        let (from_id, to_id) = (self.node_id(from), self.node_id(to));
        let setslot = |node: usize, args: &[&str]| {
            let _: Value = self
                .query(node, redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg(args))
                .unwrap_or_else(|e| panic!("CLUSTER SETSLOT {slot} {args:?} on node {node}: {e}"));
        };
        setslot(to, &["IMPORTING", &from_id]);
        setslot(from, &["MIGRATING", &to_id]);
        let to_port = self.nodes[to].port;
        loop {
            let keys: Vec<Vec<u8>> = self
                .query(from, redis::cmd("CLUSTER").arg("GETKEYSINSLOT").arg(slot).arg(100))
                .expect("CLUSTER GETKEYSINSLOT");
            if keys.is_empty() {
                break;
            }
            let _: Value = self
                .query(
                    from,
                    redis::cmd("MIGRATE").arg("127.0.0.1").arg(to_port).arg("").arg(0).arg(5000).arg("KEYS").arg(&keys),
                )
                .unwrap_or_else(|e| panic!("MIGRATE of slot {slot} to node {to}: {e}"));
        }
        setslot(to, &["NODE", &to_id]);
        setslot(from, &["NODE", &to_id]);
        for other in (0..self.nodes.len()).filter(|&i| i != from && i != to) {
            setslot(other, &["NODE", &to_id]);
        }
        self.wait_settled(Some((slot, to)));
    }

    /// Kills the connections that have tracking on (flag `t`, a cache's) on
    /// node `node`, not the others; returns how many it killed.
    pub fn kill_tracking_clients(&self, node: usize) -> usize {
        let list: String = self.query(node, redis::cmd("CLIENT").arg("LIST")).expect("CLIENT LIST");
        let ids = tracking_client_ids(&list);
        for id in &ids {
            let _: Value = self.query(node, redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id)).expect("CLIENT KILL");
        }
        ids.len()
    }

    /// Kills node `i` (by pid) and waits for it to exit. Its slots become
    /// unserved: the cluster goes to `cluster_state:fail` after the 2 s node
    /// timeout.
    pub fn stop_node(&mut self, i: usize) {
        self.nodes[i].stop();
    }

    /// Starts node `i` again on the same ports and directory: it rejoins with
    /// its `nodes.conf` and the same slots, but no keys (nothing is saved).
    /// When all nodes then run, waits until the cluster is `ok` again (about
    /// 4 s after a stop that the others noticed).
    ///
    /// # Panics
    /// If the node does not start (e.g. its port was taken meanwhile).
    pub fn restart_node(&mut self, i: usize) {
        self.stop_node(i);
        let node = &mut self.nodes[i];
        assert!(node.spawn(), "cluster node {i} did not restart on port {}", node.port);
        if self.nodes.iter().all(|n| n.child.is_some()) {
            self.wait_settled(None);
        }
    }

    /// Makes node `node` announce `port` to clients instead of its own
    /// (`cluster-announce-port`), as a node behind a relay or a NAT does,
    /// and waits until every node's `CLUSTER SLOTS` gives that port for its
    /// slots. The port-based helpers ([`owner_of`](Self::owner_of),
    /// [`key_on_node`](Self::key_on_node), [`write`](Self::write)...) do
    /// not know the announced port: pick keys before calling this.
    pub fn announce_port(&self, node: usize, port: u16) {
        let owned: Vec<usize> = {
            let owners = self.slot_owners(node).unwrap_or_else(|e| panic!("CLUSTER SLOTS: {e}"));
            (0..owners.len()).filter(|&slot| owners[slot] == self.nodes[node].port).collect()
        };
        assert!(!owned.is_empty(), "node {node} owns no slot");
        let _: Value = self
            .query(node, redis::cmd("CONFIG").arg("SET").arg("cluster-announce-port").arg(port))
            .expect("CONFIG SET cluster-announce-port");
        let deadline = Instant::now() + SETTLE;
        for i in (0..self.nodes.len()).filter(|&i| self.nodes[i].child.is_some()) {
            while !self.slot_owners(i).is_ok_and(|owners| owned.iter().all(|&slot| owners[slot] == port)) {
                assert!(Instant::now() < deadline, "node {i} did not learn node {node}'s port {port} in {SETTLE:?}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Node `i`'s id (`CLUSTER MYID`).
    fn node_id(&self, i: usize) -> String {
        self.query(i, redis::cmd("CLUSTER").arg("MYID")).expect("CLUSTER MYID")
    }

    /// The index of the first node with a running process.
    fn first_running(&self) -> usize {
        self.nodes.iter().position(|n| n.child.is_some()).expect("a running cluster node")
    }

    fn index_of_port(&self, port: u16) -> Option<usize> {
        self.nodes.iter().position(|n| n.port == port)
    }

    /// Sends one command to node `node` on a fresh connection.
    fn query<T: redis::FromRedisValue>(&self, node: usize, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        let mut connection = self.client(node).get_connection_with_timeout(IO_TIMEOUT)?;
        connection.set_read_timeout(Some(IO_TIMEOUT))?;
        connection.set_write_timeout(Some(IO_TIMEOUT))?;
        cmd.query(&mut connection)
    }

    /// Node `node`'s view of the slots: the owner's port per slot, 0 where
    /// none.
    fn slot_owners(&self, node: usize) -> Result<Vec<u16>, String> {
        let value: Value = self.query(node, redis::cmd("CLUSTER").arg("SLOTS")).map_err(|e| e.to_string())?;
        let Value::Array(ranges) = value else { return Err(format!("CLUSTER SLOTS replied {value:?}")) };
        let mut owners = vec![0u16; usize::from(SLOTS)];
        for range in &ranges {
            let bad = || format!("CLUSTER SLOTS range {range:?}");
            let Value::Array(fields) = range else { return Err(bad()) };
            let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(master))) =
                (fields.first(), fields.get(1), fields.get(2))
            else {
                return Err(bad());
            };
            let Some(Value::Int(port)) = master.get(1) else { return Err(bad()) };
            let (start, end, port) = (
                usize::try_from(*start).map_err(|_| bad())?,
                usize::try_from(*end).map_err(|_| bad())?,
                u16::try_from(*port).map_err(|_| bad())?,
            );
            owners.get_mut(start..=end).ok_or_else(bad)?.fill(port);
        }
        Ok(owners)
    }

    /// Whether every running node reports `cluster_state:ok`, every slot
    /// has an owner, all views agree, and (if given) the slot has that owner.
    fn settled(&self, expect: Option<(u16, usize)>) -> Result<(), String> {
        let mut first: Option<Vec<u16>> = None;
        for i in (0..self.nodes.len()).filter(|&i| self.nodes[i].child.is_some()) {
            let info: String =
                self.query(i, redis::cmd("CLUSTER").arg("INFO")).map_err(|e| format!("node {i}: CLUSTER INFO: {e}"))?;
            if !info.lines().any(|line| line.trim() == "cluster_state:ok") {
                return Err(format!("node {i} is not cluster_state:ok"));
            }
            let owners = self.slot_owners(i).map_err(|e| format!("node {i}: {e}"))?;
            if let Some(slot) = owners.iter().position(|&port| port == 0) {
                return Err(format!("node {i} sees slot {slot} unassigned"));
            }
            if let Some((slot, owner)) = expect
                && owners[usize::from(slot)] != self.nodes[owner].port
            {
                return Err(format!("node {i} sees slot {slot} on port {}", owners[usize::from(slot)]));
            }
            match &first {
                None => first = Some(owners),
                Some(view) if *view != owners => return Err(format!("node {i} sees other slot owners")),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Polls [`Self::settled`] every 50 ms; panics after 20 s.
    fn wait_settled(&self, expect: Option<(u16, usize)>) {
        let deadline = Instant::now() + SETTLE;
        loop {
            match self.settled(expect) {
                Ok(()) => return,
                Err(why) if Instant::now() >= deadline => {
                    panic!("the cluster on ports {:?} did not settle in {SETTLE:?}: {why}", self.ports())
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
