//! [`Cache`]: the tracked connections, the backend, and the read and write
//! paths between them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use redis::aio::ConnectionLike;
use redis::cluster_async::ClusterConnection;
use redis::{ConnectionAddr, ConnectionInfo, ErrorKind, PushInfo, RedisError, ServerErrorKind, Value};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::backends::{Backends, Published};
use crate::clock::Clock;
use crate::command::{ReadCommand, parts_of, refusal};
use crate::error::Error;
use crate::flights::{Begin, Flights, Follower, Ticket};
use crate::liveness::{self, Liveness, Proof, Watched};
use crate::policy::Policy;
use crate::reload::{self, BackendSource, Engines, RecentReads, Reloaded};
use crate::reply;
use crate::routing::{Links, NodeLink, Topology, address_of, connect_cluster, connect_cluster_slots, read_slot_map};
use crate::shards::{Clear, Shards};
use crate::stats::{CacheStats, Counters, NodeCounters};
use crate::tracking::Tracking;
use crate::tracking::connection::{self, Timeouts};
use crate::tracking::invalidation::{self, Event};
use crate::wire::{self, Answer, Sending, entry_ttl, redirect_kind, redirection, server_reply};

/// Runs blocking work (compiling, instantiating, waiting on shard locks)
/// off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, Error> + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|error| {
        let reason = format!("the reload task failed: {error}");
        Err(Error::Backend { name: "reload".into(), source: crate::BackendError::Failed { call: "init", reason } })
    })
}

/// What the cache connects to.
pub(crate) enum Deployment {
    /// One Redis server.
    Single(ConnectionInfo),
    /// A Redis Cluster, found through any of these seed nodes.
    Cluster {
        seeds: Vec<ConnectionInfo>,
        /// How often the slot map is read again, to notice slots that moved.
        poll_every: Duration,
        /// A CA certificate (PEM) to trust instead of the platform's roots.
        tls_root: Option<Vec<u8>>,
    },
}

/// Everything a cache is made with but its backend, checked by
/// [`CacheBuilder::build`](crate::CacheBuilder::build).
pub(crate) struct Settings {
    pub(crate) deployment: Deployment,
    /// Where the cache connects, for messages (passwords masked).
    pub(crate) address: String,
    pub(crate) tracking: Tracking,
    pub(crate) policy: Policy,
    pub(crate) engines: Engines,
    pub(crate) warm_reloads: usize,
    pub(crate) sweep_interval: Duration,
    pub(crate) timeouts: Timeouts,
    pub(crate) max_backoff: Duration,
    pub(crate) liveness: Liveness,
    pub(crate) clock: Clock,
}

/// What a cluster needs beyond one server.
struct Cluster {
    /// The redis crate's cluster client: it routes writes, pass-through
    /// commands and reads redirected by MOVED or ASK, and follows
    /// redirections itself.
    passthrough: ClusterConnection,
    seeds: Vec<ConnectionInfo>,
    poll_every: Duration,
}

/// Why a connection is lost.
#[derive(Debug, Clone, Copy)]
enum Loss {
    /// It closed, failed, or a request on it timed out.
    Closed,
    /// It proved itself alive too long ago: [`Liveness`].
    Silent { silence_ms: u64 },
}

#[cfg(feature = "test-hooks")]
type FillHook = Arc<dyn Fn(&ReadCommand) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

pub(crate) struct Inner {
    /// Credentials, TLS and protocol of every node connection; a cluster
    /// node's host and port replace its address.
    info: ConnectionInfo,
    address: String,
    cluster: Option<Cluster>,
    tracking: Tracking,
    timeouts: Timeouts,
    max_backoff: Duration,
    /// How long a connection may go without proving itself alive while its
    /// entries serve.
    liveness: Liveness,
    policy: Policy,
    /// Whether the policy allows GET, known once so that a hit does not
    /// search the command list.
    get_cached: bool,
    /// The backend serving now, and any others that must see every
    /// invalidation meanwhile; replaced whole by a reload.
    backends: Published,
    /// The latest fills, replayed into a new backend before it serves;
    /// `None` unless [`CacheBuilder::warm_reloads`](crate::CacheBuilder::warm_reloads) is set.
    recent: Option<Mutex<RecentReads>>,
    /// What wasm sources of a reload are compiled with.
    engines: Engines,
    /// One reload at a time.
    reload_lock: tokio::sync::Mutex<()>,
    flights: Flights,
    /// The tracked connection to each node; replaced whole, under the
    /// flights lock.
    links: ArcSwap<Links>,
    /// Numbers every connection opened.
    serials: AtomicU64,
    /// Read on every hit: false from the moment a loss is handled until
    /// tracking is on again on a new connection to every node.
    connected: AtomicBool,
    connected_watch: watch::Sender<bool>,
    /// Connections lost so far, for callers that wait on one.
    losses: watch::Sender<u64>,
    /// Slot maps that moved a slot to another node, for callers that wait.
    topology_changes: watch::Sender<u64>,
    /// Wakes the supervisor: a node is lost, or the slot map is suspect.
    wake: Notify,
    /// A read met MOVED: read the slot map again.
    refresh_topology: AtomicBool,
    nodes: Mutex<HashMap<String, Arc<NodeCounters>>>,
    clock: Clock,
    counters: Counters,
    /// Set once, by a test; read by every fill, so without a lock.
    #[cfg(feature = "test-hooks")]
    fill_hook: std::sync::OnceLock<FillHook>,
}

/// A Redis client that serves allowlisted reads from a local backend and
/// stays coherent through server-assisted tracking.
///
/// Reads ([`get`](Cache::get), [`mget`](Cache::mget), [`cached`](Cache::cached))
/// are answered from the backend when it holds the reply, and otherwise sent
/// to Redis, with the reply stored unless an invalidation overtook it.
/// Writes ([`set`](Cache::set), [`del`](Cache::del), [`expire`](Cache::expire),
/// [`command`](Cache::command)) pass through and drop the entries they affect.
///
/// While the connection is down, every call fails with
/// [`Error::Disconnected`]; the backend was flushed when it dropped and
/// serves nothing until tracking is on again. On a Redis Cluster
/// ([`CacheBuilder::cluster`](crate::CacheBuilder::cluster)) the cache holds
/// a tracked connection to each master: while one is down, only reads of
/// the keys that master serves fail.
pub struct Cache {
    pub(crate) inner: Arc<Inner>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Cache {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.inner.backends.load().each(Shards::retire);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A reload that finished after the cache was dropped left its
        // backend here; retiring twice does nothing.
        self.backends.load().each(Shards::retire);
    }
}

/// Whether a read, or each read of a batch, was looked up in the cache
/// already.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Looked {
    NotYet,
    /// Just now, and every one missed: `get` looks its key up before it
    /// takes the miss path, and need not pay for a second lookup.
    Up,
}

/// How one read proceeds: answered from the backend, or sent.
enum Plan<'a> {
    Hit(Value),
    Lead(Ticket<'a>),
    Follow(Follower),
    Uncached,
}

impl Cache {
    /// Connects to `url` with the default options: native store, default
    /// tracking. See [`CacheBuilder`](crate::CacheBuilder) for the others.
    pub async fn connect(url: &str) -> Result<Cache, Error> {
        crate::CacheBuilder::new(url).build().await
    }

    /// Connects with `settings` and serves from `shards`.
    pub(crate) async fn start(settings: Settings, shards: Shards) -> Result<Cache, Error> {
        let Settings {
            deployment,
            address,
            tracking,
            policy,
            engines,
            warm_reloads,
            sweep_interval,
            timeouts,
            max_backoff,
            liveness,
            clock,
        } = settings;
        let (info, cluster, topology) = match deployment {
            Deployment::Single(info) => {
                let topology = Topology::single(address_of(&info));
                (info, None, topology)
            }
            Deployment::Cluster { seeds, poll_every, tls_root } => {
                let (passthrough, topology) = connect_cluster(&seeds, tls_root, timeouts)
                    .await
                    .map_err(|source| Error::Connect { address: address.clone(), source })?;
                (seeds[0].clone(), Some(Cluster { passthrough, seeds, poll_every }), topology)
            }
        };
        let inner = Arc::new(Inner {
            info,
            address,
            cluster,
            tracking,
            timeouts,
            max_backoff,
            liveness,
            get_cached: policy.allows("GET"),
            policy,
            backends: Published::new(Backends { serving: Arc::new(shards), others: Vec::new() }),
            recent: (warm_reloads > 0).then(|| Mutex::new(RecentReads::new(warm_reloads))),
            engines,
            reload_lock: tokio::sync::Mutex::new(()),
            flights: Flights::new(),
            links: ArcSwap::from_pointee(Links::unconnected(Arc::new(topology))),
            serials: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            connected_watch: watch::Sender::new(false),
            losses: watch::Sender::new(0),
            topology_changes: watch::Sender::new(0),
            wake: Notify::new(),
            refresh_topology: AtomicBool::new(false),
            nodes: Mutex::new(HashMap::new()),
            clock,
            counters: Counters::default(),
            #[cfg(feature = "test-hooks")]
            fill_hook: std::sync::OnceLock::new(),
        });
        for node in inner.links.load().missing() {
            let link = Inner::establish(&inner, &node).await.map_err(|source| Error::Connect {
                address: if inner.cluster.is_some() { node.clone() } else { inner.address.clone() },
                source,
            })?;
            inner.publish(&node, link);
        }
        let supervisor = tokio::spawn(Inner::supervise(Arc::clone(&inner)));
        let sweeper = tokio::spawn(Inner::sweep_every(Arc::downgrade(&inner), sweep_interval));
        let pinger = tokio::spawn(Inner::keep_alive(Arc::downgrade(&inner), liveness.ping_every()));
        liveness::start_watchdog(Arc::downgrade(&inner), liveness);
        Ok(Cache { inner, tasks: vec![supervisor, sweeper, pinger] })
    }

    /// `GET key`, cached. Refused with [`Error::NotEnabled`] when the
    /// command list leaves GET out.
    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Value, Error> {
        let key = key.as_ref();
        // The hot path: a hit costs one lookup and no batch bookkeeping.
        // Anything else (a miss, no connection, GET not cached) takes the
        // general path, which answers as `cached` would without looking
        // the key up again.
        crate::coop::spend_on_hit().await;
        {
            let mut other = None;
            if let Some(payload) = self.inner.get_hit(key, &mut other) {
                return Ok(Value::BulkString(payload.into_vec()));
            }
            if let Some(value) = other {
                return Ok(value);
            }
        }
        let read = ReadCommand::get(key.to_vec());
        self.inner.policy.check(&read)?;
        // Boxed: the miss path's future is large, and a hit should not pay
        // for moving it.
        Box::pin(self.inner.read_one(read, Looked::Up)).await
    }

    /// `GET` of each key, each its own entry: hits are answered locally and
    /// only the misses go to Redis, in one round trip.
    pub async fn mget<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Result<Vec<Value>, Error> {
        let reads: Vec<ReadCommand> = keys.into_iter().map(|k| ReadCommand::get(k.as_ref().to_vec())).collect();
        if let Some(read) = reads.first() {
            self.inner.policy.check(read)?;
        }
        self.inner.read(reads, Looked::NotYet).await
    }

    /// An allowlisted read command, cached. Anything else is refused with
    /// an error that names it; nothing is sent uncached in its place.
    pub async fn cached(&self, command: &redis::Cmd) -> Result<Value, Error> {
        let read = ReadCommand::parse(parts_of(command))?;
        self.inner.policy.check(&read)?;
        self.inner.read_one(read, Looked::NotYet).await
    }

    /// `SET key value`; this cache's entries of `key` are dropped.
    pub async fn set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), Error> {
        let mut command = redis::cmd("SET");
        command.arg(key.as_ref()).arg(value.as_ref());
        self.inner.write_one(command, &[key.as_ref().to_vec()]).await.map(drop)
    }

    /// `DEL keys...`; returns how many existed. Their entries are dropped.
    pub async fn del<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Result<i64, Error> {
        let keys: Vec<Vec<u8>> = keys.into_iter().map(|k| k.as_ref().to_vec()).collect();
        let mut command = redis::cmd("DEL");
        for key in &keys {
            command.arg(key.as_slice());
        }
        let reply = self.inner.write_one(command, &keys).await?;
        redis::from_redis_value(reply).map_err(|e| Error::Redis(e.into()))
    }

    /// `EXPIRE key seconds`; returns whether the key exists. Its entries are dropped.
    pub async fn expire(&self, key: impl AsRef<[u8]>, seconds: i64) -> Result<bool, Error> {
        let mut command = redis::cmd("EXPIRE");
        command.arg(key.as_ref()).arg(seconds);
        let reply = self.inner.write_one(command, &[key.as_ref().to_vec()]).await?;
        redis::from_redis_value(reply).map_err(|e| Error::Redis(e.into()))
    }

    /// Any other command, uncached. It returns once the invalidations it
    /// caused this cache have been applied, so a read after it sees its
    /// writes, whatever it wrote (`EVAL`, `FCALL`...).
    ///
    /// Refused with [`Error::Refused`], naming the command and why:
    /// commands that would change the shared connection's state (`SELECT`,
    /// `SUBSCRIBE`, `CLIENT`, `WATCH`, `MULTI` on its own...), that block it
    /// (`BLPOP` and the other blocking pops, `XREAD`/`XREADGROUP` with
    /// `BLOCK`, `WAIT`, `WAITAOF`), and `SWAPDB`, for which Redis sends no
    /// invalidation.
    pub async fn command(&self, command: &redis::Cmd) -> Result<Value, Error> {
        refuse_unsendable(command)?;
        self.inner.write_one(command.clone(), &[]).await
    }

    /// Sends a pipeline of commands that are not cached reads, as
    /// [`command`](Cache::command) sends one: in one round trip (and one
    /// transaction if the pipeline is [`atomic`](redis::Pipeline::atomic)),
    /// returning once the invalidations they caused this cache have been
    /// applied. Returns every command's reply in order (`ignore` marks are
    /// not applied); a command the server refused is a
    /// [`Value::ServerError`] in its place. A transaction the server
    /// aborted (`EXECABORT`) is an error. The same commands as
    /// [`command`](Cache::command)'s are refused, `MULTI` and `EXEC` too:
    /// make the pipeline atomic instead.
    pub async fn pipeline(&self, pipeline: &redis::Pipeline) -> Result<Vec<Value>, Error> {
        let commands: Vec<redis::Cmd> = pipeline.cmd_iter().cloned().collect();
        for command in &commands {
            refuse_unsendable(command)?;
        }
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        self.inner.write(&commands, pipeline.is_transaction(), &[]).await
    }

    /// What the cache and its backend have done. The backend's counters
    /// and errors are those of the backend serving now.
    pub fn stats(&self) -> CacheStats {
        let mut stats = self.inner.counters.snapshot();
        let shards = &self.inner.backends.load().serving;
        stats.backend = shards.stats();
        (stats.backend_errors, stats.last_backend_error) = shards.errors();
        let links = self.inner.links.load();
        let counters = self.inner.nodes.lock().unwrap_or_else(|p| p.into_inner());
        stats.nodes = (links.topology.nodes().iter().zip(&links.nodes))
            .map(|(node, link)| match counters.get(node) {
                Some(counters) => counters.snapshot(node, link.is_some()),
                None => NodeCounters::default().snapshot(node, link.is_some()),
            })
            .collect();
        stats.topology_changes = *self.inner.topology_changes.borrow();
        stats
    }

    /// The name of the backend serving now.
    pub fn backend_name(&self) -> String {
        self.inner.backends.load().serving.name().to_owned()
    }

    /// Replaces the backend while the cache serves: no request fails and
    /// no stale value is served.
    ///
    /// The new backend is loaded, instantiated, `init`ed with `options` and
    /// checked off the hot path while the old one serves; if any step
    /// fails, the old one keeps serving and the error says why. With
    /// [`CacheBuilder::warm_reloads`](crate::CacheBuilder::warm_reloads),
    /// the latest fills are then read again from Redis into the new
    /// backend. Then the new backend serves, and the old one is destroyed,
    /// shard by shard after the call in flight on each. Both see every
    /// invalidation until then, and every fill passes the in-flight check,
    /// so no invalidation is lost across the swap. One reload runs at a time.
    pub async fn reload_backend(
        &self,
        source: BackendSource,
        options: Vec<(String, String)>,
    ) -> Result<Reloaded, Error> {
        Inner::reload(&self.inner, source, options).await
    }

    /// Whether the connection is up with tracking on.
    pub fn is_connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire)
    }

    /// Waits until the connection is up with tracking on.
    pub async fn wait_connected(&self) {
        let mut watch = self.inner.connected_watch.subscribe();
        // The sender lives in `inner`, which `self` keeps alive.
        let _ = watch.wait_for(|&connected| connected).await;
    }

    /// Connections lost since the cache started.
    pub fn connection_losses(&self) -> u64 {
        *self.inner.losses.borrow()
    }

    /// Waits until `count` connections have been lost in all; each loss has
    /// flushed the cache by the time this returns.
    pub async fn wait_connection_losses(&self, count: u64) {
        let mut watch = self.inner.losses.subscribe();
        let _ = watch.wait_for(|&lost| lost >= count).await;
    }

    /// Returns once every invalidation that each node sent before now has
    /// been handled: a `PING` on each tracked connection, whose reply
    /// follows the pushes before it. After another client's write returns,
    /// this makes the next read see it.
    pub async fn sync_invalidations(&self) -> Result<(), Error> {
        self.inner.sync_invalidations().await
    }

    /// The `host:port` of each node the cache reads from: one for a single
    /// server, the masters for a cluster.
    pub fn nodes(&self) -> Vec<String> {
        self.inner.links.load().topology.nodes().to_vec()
    }

    /// Waits until the cache has seen `count` slot maps in all that moved a
    /// slot to another node; each has flushed the cache by the time this
    /// returns. The cache reads the slot map on every `MOVED` reply and
    /// every [`CacheBuilder::topology_poll`](crate::CacheBuilder::topology_poll).
    pub async fn wait_topology_changes(&self, count: u64) {
        let mut watch = self.inner.topology_changes.subscribe();
        let _ = watch.wait_for(|&changes| changes >= count).await;
    }

    /// Test hook: runs after a miss's reply arrives and before it is
    /// stored, so a test can write the key in between. Set once per cache;
    /// a second call panics.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn set_fill_hook(
        &self,
        hook: impl Fn(&ReadCommand) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static,
    ) {
        if self.inner.fill_hook.set(Arc::new(hook)).is_err() {
            panic!("the fill hook is set once per cache");
        }
    }
}

impl Inner {
    /// [`Cache::sync_invalidations`]: a `PING` on every tracked connection.
    async fn sync_invalidations(&self) -> Result<(), Error> {
        let links = self.links.load_full();
        let pings = links.topology.nodes().iter().zip(&links.nodes).map(|(node, link)| async move {
            let link = link.as_ref().ok_or(Error::Disconnected)?;
            self.ping(node, link).await
        });
        futures_util::future::join_all(pings).await.into_iter().collect()
    }

    /// A `PING` on `link`, the connection of `node`; its reply proves the
    /// connection alive as of when it was sent, and follows every push
    /// Redis sent on it before.
    async fn ping(&self, node: &str, link: &NodeLink) -> Result<(), Error> {
        let sent_at_ms = self.clock.now_ms();
        let (ping, mut connection) = (redis::cmd("PING"), link.connection.clone());
        let reply =
            link.unless_given_up(ping.query_async::<Value>(&mut connection)).await.ok_or(Error::Disconnected)?;
        reply.map_err(|error| self.request_failed(node, link, error))?;
        link.proof.replied(sent_at_ms);
        Ok(())
    }

    /// Opens a tracked connection to `node`; its pushes are handled as
    /// that node's, under a serial no other connection has.
    async fn establish(inner: &Arc<Inner>, node: &str) -> Result<Arc<NodeLink>, RedisError> {
        let info = inner.node_info(node)?;
        let serial = inner.serials.fetch_add(1, Ordering::Relaxed);
        let closed = Arc::new(AtomicBool::new(false));
        let counters = inner.node_counters(node);
        let (weak, name, flag, for_pushes) =
            (Arc::downgrade(inner), node.to_owned(), Arc::clone(&closed), Arc::clone(&counters));
        // Nothing is cached from a connection before it opens.
        let proof = Proof::new(inner.clock.now_ms());
        let connection = connection::open(&info, &inner.tracking, inner.timeouts, move |push: PushInfo| {
            if let Some(inner) = weak.upgrade() {
                inner.on_push(push, &name, serial, &flag, &for_pushes);
            }
        })
        .await?;
        let given_up = tokio::sync::watch::Sender::new(false);
        Ok(Arc::new(NodeLink { connection, serial, closed, counters, proof, given_up }))
    }

    /// The connection settings of `node`: the cache's own, at its address.
    fn node_info(&self, node: &str) -> Result<ConnectionInfo, RedisError> {
        if self.cluster.is_none() {
            return Ok(self.info.clone());
        }
        let invalid = || RedisError::from((ErrorKind::InvalidClientConfig, "bad node address", node.to_owned()));
        let (host, port) = node.rsplit_once(':').ok_or_else(invalid)?;
        let port: u16 = port.parse().map_err(|_| invalid())?;
        let mut addr = self.info.addr().clone();
        match &mut addr {
            ConnectionAddr::Tcp(h, p) | ConnectionAddr::TcpTls { host: h, port: p, .. } => {
                *h = host.to_owned();
                *p = port;
            }
            _ => return Err(invalid()),
        }
        Ok(self.info.clone().set_addr(addr))
    }

    fn node_counters(&self, node: &str) -> Arc<NodeCounters> {
        let mut nodes = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(nodes.entry(node.to_owned()).or_default())
    }

    /// Makes `links` current, and `connected` say whether every node has
    /// a connection. Called under the flights lock only.
    fn install(&self, links: Links) {
        let all_up = links.all_up();
        self.links.store(Arc::new(links));
        self.connected.store(all_up, Ordering::Release);
        self.connected_watch.send_if_modified(|up| std::mem::replace(up, all_up) != all_up);
    }

    /// Makes `link` the connection of `node`, unless it closed already or
    /// the node no longer serves; returns whether it did.
    fn publish(&self, node: &str, link: Arc<NodeLink>) -> bool {
        self.flights.with_generation(|generation| {
            let links = self.links.load();
            let Some(index) = links.index(node) else { return false };
            if links.nodes[index].is_some() || link.is_closed() {
                return false;
            }
            self.install(links.with(index, Some(link), generation));
            true
        })
    }

    /// Handles a push from `node`'s connection `serial`, in socket order,
    /// on the connection's driver.
    fn on_push(&self, push: PushInfo, node: &str, serial: u64, closed: &AtomicBool, counters: &NodeCounters) {
        match invalidation::parse(push) {
            Some(Event::Keys(keys)) => {
                self.invalidate_keys(&keys);
                Counters::add(&counters.invalidated_keys, keys.len() as u64);
            }
            Some(Event::All) => {
                // One node's FLUSHALL drops only its keys; flushing all is
                // simpler and as safe.
                Counters::bump(&self.counters.invalidate_all);
                self.flights.flush(|| self.backends.load().each(|shards| shards.clear(Clear::Invalidate)));
            }
            Some(Event::Disconnected | Event::RedirectBroken) => {
                closed.store(true, Ordering::Release);
                self.lose_connection(node, serial, Loss::Closed);
            }
            None => {}
        }
    }

    fn invalidate_keys(&self, keys: &[Vec<u8>]) {
        if keys.is_empty() {
            return;
        }
        self.flights.poison(keys);
        self.backends.load().each(|shards| shards.invalidate_refs(keys));
        Counters::add(&self.counters.invalidated_keys, keys.len() as u64);
    }

    /// `node`'s connection `serial` is gone, and its tracking with it:
    /// flush before anything else is served, and reconnect. Entries of the
    /// other nodes go too: the backend cannot drop one node's entries alone.
    /// Returns whether it was still the node's connection.
    fn lose_connection(&self, node: &str, serial: u64, loss: Loss) -> bool {
        let lost = self.flights.advance(
            || self.links.load().holds(node, serial),
            |generation| {
                let links = self.links.load();
                let index = links.index(node).expect("held above");
                if let Some(link) = &links.nodes[index] {
                    link.give_up();
                }
                self.install(links.with(index, None, generation));
                self.backends.load().each(|shards| shards.clear(Clear::Flush));
            },
        );
        if lost {
            Counters::bump(&self.counters.reconnect_flushes);
            Counters::bump(&self.node_counters(node).losses);
            match loss {
                Loss::Closed => {
                    tracing::warn!(address = %self.address, %node, "connection lost: cache flushed, reconnecting");
                }
                Loss::Silent { silence_ms } => {
                    Counters::bump(&self.counters.silent_losses);
                    let max_staleness_ms = self.liveness.max_silence.as_millis();
                    tracing::warn!(
                        address = %self.address, %node, silence_ms, max_staleness_ms,
                        "no reply within max_staleness: connection given up, cache flushed, reconnecting"
                    );
                }
            }
            // Counted before anyone waiting on a loss wakes.
            self.losses.send_modify(|n| *n += 1);
            self.wake.notify_one();
        }
        lost
    }

    /// Sends a `PING` on every connection silent for longer than
    /// [`Liveness::ping_every`], each in a task of its own: a connection
    /// busy with requests proves itself with their replies and is left
    /// alone. A `PING` that fails loses its connection as any request does.
    fn ping_idle(inner: &Arc<Inner>) {
        let now_ms = inner.clock.now_ms();
        let links = inner.links.load_full();
        for (index, link) in links.nodes.iter().enumerate() {
            let Some(link) = link else { continue };
            if link.proof.silence_ms(now_ms) < inner.liveness.ping_after_ms() {
                continue;
            }
            let (inner, links, link) = (Arc::clone(inner), Arc::clone(&links), Arc::clone(link));
            tokio::spawn(async move {
                let node = &links.topology.nodes()[index];
                match inner.ping(node, &link).await {
                    Ok(()) => Counters::bump(&link.counters.keepalive_pings),
                    Err(error) => tracing::debug!(address = %inner.address, %node, "keep-alive ping failed: {error}"),
                }
            });
        }
    }

    /// Reconnects lost nodes, with backoff, and in a cluster reads the slot
    /// map again every `poll_every` and whenever a read met MOVED.
    async fn supervise(inner: Arc<Inner>) {
        let mut delay = Duration::from_millis(5);
        let mut poll = inner.cluster.as_ref().map(|cluster| {
            let mut poll = tokio::time::interval(cluster.poll_every);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            poll
        });
        loop {
            if inner.refresh_topology.swap(false, Ordering::AcqRel)
                && let Err(error) = Inner::refresh_topology(&inner).await
            {
                tracing::debug!(address = %inner.address, "reading the slot map failed: {error}");
            }
            for node in inner.links.load().missing() {
                match Inner::establish(&inner, &node).await {
                    Ok(link) => {
                        if inner.publish(&node, link) {
                            Counters::bump(&inner.counters.reconnects);
                            tracing::info!(address = %inner.address, %node, "reconnected; tracking is on");
                        }
                    }
                    Err(error) => tracing::debug!(address = %inner.address, %node, "reconnect failed: {error}"),
                }
            }
            if !inner.links.load().all_up() {
                // A cluster node that stays away may have been replaced.
                if inner.cluster.is_some() {
                    inner.refresh_topology.store(true, Ordering::Release);
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(inner.max_backoff);
                continue;
            }
            delay = Duration::from_millis(5);
            match &mut poll {
                Some(poll) => tokio::select! {
                    () = inner.wake.notified() => {}
                    _ = poll.tick() => inner.refresh_topology.store(true, Ordering::Release),
                },
                None => inner.wake.notified().await,
            }
        }
    }

    /// Reads the slot map and makes it current. New nodes are connected
    /// first; if any slot has another owner, every fill in flight is
    /// poisoned and the backend flushed before the new map serves, since
    /// the old owner will not report writes the new one takes.
    async fn refresh_topology(inner: &Arc<Inner>) -> Result<(), RedisError> {
        let Some(cluster) = &inner.cluster else { return Ok(()) };
        let current = inner.links.load_full();
        let live: Vec<_> = current.nodes.iter().flatten().map(|link| link.connection.clone()).collect();
        let fresh = match read_slot_map(live).await {
            Ok(topology) => topology,
            Err(_) => connect_cluster_slots(&cluster.seeds, inner.timeouts).await?,
        };
        if *current.topology == fresh {
            return Ok(());
        }
        let mut opened = HashMap::new();
        for node in fresh.nodes() {
            if current.index(node).and_then(|i| current.nodes[i].as_ref()).is_none() {
                match Inner::establish(inner, node).await {
                    Ok(link) => {
                        opened.insert(node.clone(), link);
                    }
                    Err(error) => tracing::debug!(address = %inner.address, %node, "connect failed: {error}"),
                }
            }
        }
        let moved = !current.topology.same_owners(&fresh);
        let fresh = Arc::new(fresh);
        let install = |generation| {
            let links = inner.links.load();
            let nodes = fresh
                .nodes()
                .iter()
                .map(|node| {
                    // A kept link that closed meanwhile stays: its own loss
                    // report flushes and drops it. A new one that closed
                    // before serving is simply not used.
                    let kept = links.index(node).and_then(|i| links.nodes[i].clone());
                    kept.or_else(|| opened.remove(node).filter(|link| !link.is_closed()))
                })
                .collect();
            inner.install(Links { generation, topology: Arc::clone(&fresh), nodes });
            if moved {
                inner.backends.load().each(|shards| shards.clear(Clear::Flush));
            }
        };
        if moved {
            inner.flights.advance(|| true, install);
            inner.topology_changes.send_modify(|n| *n += 1);
            tracing::info!(address = %inner.address, nodes = ?fresh.nodes(), "slots moved: cache flushed");
        } else {
            inner.flights.with_generation(install);
        }
        Ok(())
    }

    /// Pings idle connections every [`Liveness::ping_every`]; a task of its
    /// own, so that a reconnection the supervisor waits on delays no other
    /// node's pings.
    async fn keep_alive(inner: Weak<Inner>, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(inner) = inner.upgrade() else { return };
            Inner::ping_idle(&inner);
        }
    }

    async fn sweep_every(inner: Weak<Inner>, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(inner) = inner.upgrade() else { return };
            inner.backends.load().serving.sweep(inner.clock.now_ms(), 1024);
        }
    }

    /// Prepares the new backend off the async threads, warms it if asked
    /// to, then swaps it in.
    pub(crate) async fn reload(
        inner: &Arc<Inner>,
        source: BackendSource,
        options: Vec<(String, String)>,
    ) -> Result<Reloaded, Error> {
        let _one_at_a_time = inner.reload_lock.lock().await;
        let name = source.to_string();
        let outcome = Inner::reload_serially(inner, source, options).await;
        match &outcome {
            Ok(done) => tracing::info!(
                previous = %done.previous,
                current = %done.current,
                warmed = done.warmed,
                took_ms = done.took.as_secs_f64() * 1e3,
                swap_ms = done.swap.as_secs_f64() * 1e3,
                "backend reloaded"
            ),
            Err(error) => {
                let serving = inner.backends.load().serving.name().to_owned();
                tracing::warn!(source = %name, %serving, "backend reload failed; still serving the old one: {error}");
            }
        }
        outcome
    }

    async fn reload_serially(
        inner: &Arc<Inner>,
        source: BackendSource,
        options: Vec<(String, String)>,
    ) -> Result<Reloaded, Error> {
        let started = Instant::now();
        let count = inner.backends.load().serving.len();
        let (task, now_ms) = (Arc::clone(inner), inner.clock.now_ms());
        let (fresh, current, from_artifact_cache) = blocking(move || {
            let (factory, from_artifact_cache) = reload::factory_of(source, &task.engines)?;
            let fresh = reload::prepare(factory.as_ref(), &options, count, reload::Check::EveryCall, now_ms)?;
            Ok((Arc::new(fresh), factory.name(), from_artifact_cache))
        })
        .await?;
        let prepare = started.elapsed();

        // Warm the new backend while the old one serves. From here on it
        // sees every invalidation, so a replayed fill is as safe as any.
        let mut warmed = 0;
        if let Some(recent) = &inner.recent {
            let reads = recent.lock().unwrap_or_else(|p| p.into_inner()).latest();
            let serving = Arc::clone(&inner.backends.load().serving);
            inner.backends.store(Backends { serving, others: vec![Arc::clone(&fresh)] });
            warmed = inner.warm(&fresh, reads).await;
        }
        let warm = started.elapsed() - prepare;

        let task = Arc::clone(inner);
        let previous = blocking(move || Ok(task.swap_in(fresh))).await?;
        Ok(Reloaded {
            previous,
            current,
            from_artifact_cache,
            warmed,
            prepare,
            warm,
            swap: started.elapsed() - prepare - warm,
            took: started.elapsed(),
        })
    }

    /// Makes `fresh` serve and retires the old backend; returns its name.
    fn swap_in(&self, fresh: Arc<Shards>) -> String {
        let old = Arc::clone(&self.backends.load().serving);
        // The old backend keeps seeing invalidations until it is retired,
        // so a reader that still holds it never finds a stale entry; once
        // retired it holds nothing, and such a reader misses.
        self.backends.store(Backends { serving: fresh, others: vec![Arc::clone(&old)] });
        old.retire();
        let serving = Arc::clone(&self.backends.load().serving);
        self.backends.store(Backends { serving, others: Vec::new() });
        old.name().to_owned()
    }

    /// Reads `reads` from Redis into `target`, through the same in-flight
    /// checks as any fill, in pipelines of a few hundred. Returns how many
    /// were stored. Best effort: a read that is in flight already, or any
    /// error, is skipped.
    async fn warm(&self, target: &Shards, reads: Vec<ReadCommand>) -> usize {
        let mut stored = 0;
        for batch in reads.chunks(256) {
            let links = self.links.load_full();
            let now_ms = self.clock.now_ms();
            let cache_keys: Vec<Vec<u8>> = batch.iter().map(ReadCommand::cache_key).collect();
            let mut leads = Vec::new();
            for (read, cache_key) in batch.iter().zip(&cache_keys) {
                if links.for_key(read.first_key()).is_none() {
                    continue;
                }
                match self.flights.begin(cache_key, read.key_args(), links.generation) {
                    Begin::Lead(ticket) => leads.push((read, cache_key, ticket)),
                    Begin::Follow(_) => {}
                    Begin::Stale => return stored,
                }
            }
            let sending: Vec<Sending<'_>> = leads.iter().map(|(read, _, _)| (*read, true)).collect();
            let Ok(answers) = self.send(&links, &sending, now_ms).await else { return stored };
            for ((read, cache_key, ticket), answer) in leads.into_iter().zip(answers) {
                // A redirected read is skipped; dropping its ticket ends it.
                if redirection(&answer.reply).is_none()
                    && self.store(Some(target), read, cache_key, ticket, &answer.reply, &answer.ttls, now_ms)
                {
                    stored += 1;
                }
            }
        }
        stored
    }

    /// Fails the request; a connection-level failure, or a reply that did
    /// not come within the response timeout, also loses the connection of
    /// `node` it was sent on: a tracked connection that cannot be trusted
    /// to deliver its invalidations is given up, not retried.
    fn request_failed(&self, node: &str, link: &NodeLink, error: RedisError) -> Error {
        if error.is_unrecoverable_error() || error.is_timeout() {
            self.lose_connection(node, link.serial, Loss::Closed);
        }
        Error::Redis(error)
    }

    /// Sends `commands` (one transaction if `atomic`) that are not
    /// cached reads, and returns once every invalidation they caused this
    /// cache has been applied, so that the caller reads its own writes
    /// whatever the commands were (`EVAL`, `FCALL` and transactions write
    /// keys no allowlist can name). The entries of `keys` are dropped as
    /// well, even if the commands failed (a failed write may have been
    /// applied). Returns one reply per command; a command the server
    /// refused is a [`Value::ServerError`] in its place.
    ///
    /// On one server the commands go on the tracked connection with a
    /// `PING` after them: Redis sends a client the invalidations of its own
    /// writes after the write's reply, and before the reply to the next
    /// command, so the `PING`'s reply follows them, and the connection's
    /// push handler has applied them by the time it arrives. In a cluster
    /// the redis crate's cluster client routes the commands, on connections
    /// without tracking; every tracked connection is then sent a `PING`,
    /// whose reply follows the invalidations the write sent it.
    async fn write(&self, commands: &[redis::Cmd], atomic: bool, keys: &[Vec<u8>]) -> Result<Vec<Value>, Error> {
        let result = match &self.cluster {
            Some(cluster) => {
                let mut passthrough = cluster.passthrough.clone();
                let sent = match commands {
                    // One command alone is routed as a command: the cluster
                    // client splits a multi-key one (DEL a b) by slot.
                    [command] if !atomic => passthrough.req_packed_command(command).await.map(|reply| vec![reply]),
                    _ => {
                        let mut wire = redis::pipe();
                        for command in commands {
                            wire.add_command(command.clone());
                        }
                        if atomic {
                            wire.atomic();
                        }
                        let (offset, count) = if atomic { (commands.len() + 1, 1) } else { (0, commands.len()) };
                        passthrough.req_packed_commands(&wire, offset, count).await
                    }
                };
                let replies = sent.map_err(Error::Redis);
                // Even after a failure: the write may have been applied.
                let synced = self.sync_invalidations().await;
                replies.and_then(|replies| synced.map(|()| replies))
            }
            None => self.write_tracked(commands, atomic).await,
        };
        // Even a failed write may have been applied.
        self.invalidate_keys(keys);
        let replies = result?;
        if !atomic {
            return Ok(replies);
        }
        match replies.into_iter().next() {
            Some(Value::Array(replies)) => Ok(replies),
            Some(Value::ServerError(error)) => Err(Error::Redis(error.into())),
            other => Err(Error::Redis(RedisError::from((
                ErrorKind::UnexpectedReturnType,
                "unexpected reply to EXEC",
                format!("{other:?}"),
            )))),
        }
    }

    /// [`write`](Inner::write) on a single server's tracked connection:
    /// `MULTI` and `EXEC` around the commands if `atomic`, then a `PING`.
    /// Returns the commands' replies, or for a transaction `EXEC`'s.
    async fn write_tracked(&self, commands: &[redis::Cmd], atomic: bool) -> Result<Vec<Value>, Error> {
        let links = self.links.load_full();
        let Some(link) = links.nodes[0].clone() else { return Err(Error::Disconnected) };
        let mut wire = redis::pipe();
        if atomic {
            wire.cmd("MULTI");
        }
        for command in commands {
            wire.add_command(command.clone());
        }
        if atomic {
            wire.cmd("EXEC");
        }
        wire.cmd("PING");
        let (offset, count) = if atomic { (commands.len() + 1, 2) } else { (0, commands.len() + 1) };
        let sent_at_ms = self.clock.now_ms();
        let mut connection = link.connection.clone();
        let sent = link.unless_given_up(connection.req_packed_commands(&wire, offset, count)).await;
        let mut replies = sent
            .ok_or(Error::Disconnected)?
            .map_err(|error| self.request_failed(&links.topology.nodes()[0], &link, error))
            .map_err(|error| self.not_a_cluster(error))?;
        link.proof.replied(sent_at_ms);
        // The PING's.
        replies.pop();
        // A redirection says the server is a cluster node.
        let redirected = replies.iter().find_map(|reply| match reply {
            Value::ServerError(error) => Some(RedisError::from(error.clone())).filter(|e| redirect_kind(e).is_some()),
            _ => None,
        });
        match redirected {
            Some(error) => Err(self.not_a_cluster(Error::Redis(error))),
            None => Ok(replies),
        }
    }

    /// [`write`](Inner::write) of one command: its reply, a server error
    /// as an error.
    async fn write_one(&self, command: redis::Cmd, keys: &[Vec<u8>]) -> Result<Value, Error> {
        let replies = self.write(std::slice::from_ref(&command), false, keys).await?;
        server_reply(replies.into_iter().next())
    }

    /// `GET key` from the backend alone. A bulk string, the commonest hit,
    /// is returned as its payload; any other cached reply (a nil, say) is
    /// put in `other` and `None` returned. `None` with nothing in `other`:
    /// it must go the general way (a miss, a lost connection, GET not
    /// cached at all).
    ///
    /// The payload comes back as a `Box<[u8]>`, which fits in two
    /// registers, through inlined layers, so that no layer returns an
    /// `Option<Value>` through memory: such copies, written and read back
    /// at other widths, stall the loads that read them.
    #[inline]
    fn get_hit(&self, key: &[u8], other: &mut Option<Value>) -> Option<Box<[u8]>> {
        if !self.connected.load(Ordering::Acquire) && self.links.load().for_key(key).is_none() {
            return None;
        }
        if !self.get_cached || !self.tracking.covers(key) {
            return None;
        }
        let now_ms = || self.clock.now_ms();
        let payload = crate::command::with_get_cache_key(key, |cache_key| {
            self.backends.with_serving(|shards| {
                let shard = shards.index(key);
                let mut corrupt = false;
                let payload = shards.get(shard, cache_key, &now_ms, |bytes| match reply::bulk_payload(&bytes) {
                    Some(payload) => Some(Box::from(payload)),
                    None => {
                        *other = reply::decode_lent(bytes);
                        corrupt = other.is_none();
                        None
                    }
                });
                if corrupt {
                    self.drop_corrupt(shards, shard, cache_key);
                }
                payload
            })
        });
        if payload.is_some() || other.is_some() {
            self.counters.hits.bump();
        }
        payload
    }

    /// Answers one read: a hit locally, a miss in one round trip to the
    /// node that serves its key. The batch path's steps without its
    /// bookkeeping: no vector per step, no grouping by node. It owns
    /// `read`, so that a caller that boxes it holds nothing else across the
    /// wait (`get`'s future then has no `ReadCommand` of its own to drop,
    /// and its drop stays inlined in every hit).
    async fn read_one(&self, read: ReadCommand, looked: Looked) -> Result<Value, Error> {
        // As in `read`: a hit must spend the task's cooperative budget.
        tokio::task::coop::consume_budget().await;
        for _ in 0..3 {
            if let Some(value) = self.read_one_on(&self.links.load_full(), &read, looked).await? {
                return Ok(value);
            }
        }
        Err(Error::Disconnected)
    }

    /// [`read_one`](Inner::read_one) on the connections of `links`; `None`
    /// if they were replaced before the read could begin.
    async fn read_one_on(&self, links: &Links, read: &ReadCommand, looked: Looked) -> Result<Option<Value>, Error> {
        let owner = links.for_key(read.first_key());
        if !self.connected.load(Ordering::Acquire) && owner.is_none() {
            return Err(Error::Disconnected);
        }
        let now_ms = self.clock.now_ms();
        let cache_key = read.cache_key();
        let ticket = match self.plan(links, read, &cache_key, looked, now_ms) {
            None => return Ok(None),
            Some(Plan::Hit(value)) => return Ok(Some(value)),
            Some(Plan::Follow(follower)) => return self.follow(read, follower).await.map(Some),
            Some(Plan::Lead(ticket)) => Some(ticket),
            Some(Plan::Uncached) => None,
        };
        let (node, _) = owner.ok_or(Error::Disconnected)?;
        let answer = self.send_one(links, node, read, ticket.is_some(), now_ms).await?;
        self.settle(read, &cache_key, ticket, answer, now_ms).await.map(Some)
    }

    /// Answers a batch of reads: hits locally, misses in one round trip to
    /// each node they live on.
    async fn read(&self, reads: Vec<ReadCommand>, looked: Looked) -> Result<Vec<Value>, Error> {
        // A hit completes without waiting on anything; spending the task's
        // cooperative budget makes a loop of hits yield now and then rather
        // than starve the connection's driver and timers on its thread.
        tokio::task::coop::consume_budget().await;
        // A read that loaded the links just before a loss or a slot move
        // starts again on the new ones.
        for _ in 0..3 {
            if let Some(values) = self.read_on(&self.links.load_full(), &reads, looked).await? {
                return Ok(values);
            }
        }
        Err(Error::Disconnected)
    }

    /// [`read`](Inner::read) on the connections of `links`; `None` if they
    /// were replaced before the reads could begin.
    async fn read_on(&self, links: &Links, reads: &[ReadCommand], looked: Looked) -> Result<Option<Vec<Value>>, Error> {
        if !self.connected.load(Ordering::Acquire) && reads.iter().any(|read| links.for_key(read.first_key()).is_none())
        {
            return Err(Error::Disconnected);
        }
        let now_ms = self.clock.now_ms();
        let cache_keys: Vec<Vec<u8>> = reads.iter().map(ReadCommand::cache_key).collect();
        let mut plans: Vec<Option<Plan<'_>>> = Vec::with_capacity(reads.len());
        for (read, cache_key) in reads.iter().zip(&cache_keys) {
            match self.plan(links, read, cache_key, looked, now_ms) {
                Some(plan) => plans.push(Some(plan)),
                None => return Ok(None),
            }
        }

        let sent: Vec<usize> =
            (0..reads.len()).filter(|&i| matches!(plans[i], Some(Plan::Lead(_) | Plan::Uncached))).collect();
        let mut answers: Vec<Option<Answer>> = (0..reads.len()).map(|_| None).collect();
        if !sent.is_empty() {
            let sending: Vec<Sending<'_>> =
                sent.iter().map(|&i| (&reads[i], matches!(plans[i], Some(Plan::Lead(_))))).collect();
            for (&i, answer) in sent.iter().zip(self.send(links, &sending, now_ms).await?) {
                answers[i] = Some(answer);
            }
        }

        // Leaders finish before anyone follows: a batch that leads one key
        // and follows another must never wait on a batch doing the reverse.
        let mut values: Vec<Option<Result<Value, Error>>> = Vec::with_capacity(reads.len());
        for (i, read) in reads.iter().enumerate() {
            let plan = plans[i].take_if(|plan| !matches!(plan, Plan::Follow(_)));
            values.push(match (plan, answers[i].take()) {
                (Some(Plan::Hit(value)), _) => Some(Ok(value)),
                (Some(Plan::Uncached), Some(answer)) => {
                    Some(self.settle(read, &cache_keys[i], None, answer, now_ms).await)
                }
                (Some(Plan::Lead(ticket)), Some(answer)) => {
                    Some(self.settle(read, &cache_keys[i], Some(ticket), answer, now_ms).await)
                }
                _ => None,
            });
        }
        let mut results = Vec::with_capacity(reads.len());
        for (i, read) in reads.iter().enumerate() {
            let value = match (values[i].take(), plans[i].take()) {
                (Some(value), _) => value,
                (None, Some(Plan::Follow(receiver))) => self.follow(read, receiver).await,
                _ => unreachable!("every read is answered or follows"),
            };
            results.push(value?);
        }
        Ok(Some(results))
    }

    /// How `read` proceeds after the links were loaded: answered from the
    /// backend, sent uncached (a key tracking does not cover), or led or
    /// followed as a pending fill; `None` if `links` were replaced before
    /// its fill could be registered.
    fn plan<'a>(
        &'a self,
        links: &Links,
        read: &'a ReadCommand,
        cache_key: &'a [u8],
        looked: Looked,
        now_ms: u64,
    ) -> Option<Plan<'a>> {
        if !read.keys().all(|key| self.tracking.covers(key)) {
            Counters::bump(&self.counters.uncached_reads);
            return Some(Plan::Uncached);
        }
        if looked == Looked::NotYet
            && let Some(value) = self.lookup(read.first_key(), cache_key, &|| now_ms)
        {
            self.counters.hits.bump();
            return Some(Plan::Hit(value));
        }
        Counters::bump(&self.counters.misses);
        match self.flights.begin(cache_key, read.key_args(), links.generation) {
            Begin::Lead(ticket) => Some(Plan::Lead(ticket)),
            Begin::Follow(follower) => {
                Counters::bump(&self.counters.single_flight_joins);
                Some(Plan::Follow(follower))
            }
            Begin::Stale => None,
        }
    }

    /// The value of a read that was sent: a leader's reply is stored unless
    /// something poisoned it. A reply not from the tracked connection of
    /// the key's owner (an uncached read's, or a redirection) is answered
    /// and never cached; dropping the ticket ends its flight.
    async fn settle(
        &self,
        read: &ReadCommand,
        cache_key: &[u8],
        ticket: Option<Ticket<'_>>,
        answer: Answer,
        sent_at_ms: u64,
    ) -> Result<Value, Error> {
        match ticket {
            Some(ticket) if redirection(&answer.reply).is_none() => {
                self.fill(read, cache_key, ticket, answer.reply, &answer.ttls, sent_at_ms).await
            }
            _ => self.unless_redirected(read, answer.reply).await,
        }
    }

    /// Sends `reads` in one pipeline per node, to the node that serves each
    /// read's first key, all at once; returns their answers in order. The
    /// clock read `sent_at_ms` no later than they were sent.
    async fn send(&self, links: &Links, reads: &[Sending<'_>], sent_at_ms: u64) -> Result<Vec<Answer>, Error> {
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for (at, (read, _)) in reads.iter().enumerate() {
            let (node, _) = links.for_key(read.first_key()).ok_or(Error::Disconnected)?;
            match groups.iter_mut().find(|(n, _)| *n == node) {
                Some((_, ats)) => ats.push(at),
                None => groups.push((node, vec![at])),
            }
        }
        let pipelines = groups.iter().map(|(node, ats)| async move {
            let group: Vec<Sending<'_>> = ats.iter().map(|&at| reads[at]).collect();
            self.send_to_node(links, *node, &group, sent_at_ms).await
        });
        // One node (always, but in a cluster) needs no join.
        let replies = if groups.len() == 1 {
            vec![pipelines.into_iter().next().expect("one group").await]
        } else {
            futures_util::future::join_all(pipelines).await
        };
        let mut answers: Vec<Option<Answer>> = (0..reads.len()).map(|_| None).collect();
        for ((_, ats), group_answers) in groups.iter().zip(replies) {
            for (&at, answer) in ats.iter().zip(group_answers?) {
                answers[at] = Some(answer);
            }
        }
        Ok(answers.into_iter().map(|answer| answer.expect("every read is in a group")).collect())
    }

    /// Sends `reads`, which node `node` of `links` serves, in one pipeline;
    /// returns their answers in order.
    async fn send_to_node(
        &self,
        links: &Links,
        node: usize,
        reads: &[Sending<'_>],
        sent_at_ms: u64,
    ) -> Result<Vec<Answer>, Error> {
        let pipe = wire::pipeline(&self.tracking, reads.iter().copied());
        let mut replies = self.query(links, node, &pipe, reads.len(), sent_at_ms).await?.into_iter();
        Ok(reads
            .iter()
            .map(|&(read, cached)| {
                let reply = server_reply(replies.next());
                let ttls = if cached { read.keys().map_while(|_| replies.next()).collect() } else { Vec::new() };
                Answer { reply, ttls }
            })
            .collect())
    }

    /// [`send_to_node`](Inner::send_to_node) for one read: the pipeline's
    /// replies become its answer without a vector of answers, and the
    /// vector they arrive in holds its `PTTL`s.
    async fn send_one(
        &self,
        links: &Links,
        node: usize,
        read: &ReadCommand,
        cached: bool,
        sent_at_ms: u64,
    ) -> Result<Answer, Error> {
        let pipe = wire::pipeline(&self.tracking, [(read, cached)]);
        let mut replies = self.query(links, node, &pipe, 1, sent_at_ms).await?;
        // The reply's place goes to the last PTTL: their order is not kept.
        let reply = server_reply((!replies.is_empty()).then(|| replies.swap_remove(0)));
        Ok(Answer { reply, ttls: replies })
    }

    /// Sends `pipe`, which holds `reads` reads, to node `node` of `links`;
    /// returns every reply, server errors among them. Its reply proves the
    /// connection alive as of `sent_at_ms`.
    async fn query(
        &self,
        links: &Links,
        node: usize,
        pipe: &redis::Pipeline,
        reads: usize,
        sent_at_ms: u64,
    ) -> Result<Vec<Value>, Error> {
        let address = &links.topology.nodes()[node];
        let link = links.nodes[node].as_ref().ok_or(Error::Disconnected)?;
        Counters::add(&link.counters.reads_sent, reads as u64);
        let mut connection = link.connection.clone();
        let request = pipe.query_async::<Vec<Value>>(&mut connection);
        let replies = link.unless_given_up(request).await.ok_or(Error::Disconnected)?;
        let replies = replies.map_err(|error| self.request_failed(address, link, error))?;
        link.proof.replied(sent_at_ms);
        Ok(replies)
    }

    /// A cluster redirection from the single server this cache was made
    /// for says so; any other error is returned as it is.
    fn not_a_cluster(&self, error: Error) -> Error {
        match error {
            Error::Redis(redis) if redirect_kind(&redis).is_some() => {
                Error::ClusterNode { address: self.address.clone(), redirect: redis.to_string() }
            }
            other => other,
        }
    }

    /// `reply`, or if it is a cluster redirection, the read sent again
    /// through the cluster client, which follows it. A MOVED also has the
    /// slot map read again.
    async fn unless_redirected(&self, read: &ReadCommand, reply: Result<Value, Error>) -> Result<Value, Error> {
        let Some(kind) = redirection(&reply) else { return reply };
        let Some(cluster) = &self.cluster else { return reply.map_err(|error| self.not_a_cluster(error)) };
        if kind == ServerErrorKind::Moved {
            self.refresh_topology.store(true, Ordering::Release);
            self.wake.notify_one();
        }
        Counters::bump(&self.counters.redirected_reads);
        read.to_cmd().query_async::<Value>(&mut cluster.passthrough.clone()).await.map_err(Error::Redis)
    }

    /// The decoded hit of `cache_key`, kept in the shard of `first_key`, if
    /// the backend holds one live at `now_ms` (read only for an entry with a
    /// deadline). Bytes this host never stored are dropped and counted,
    /// never served.
    #[inline]
    fn lookup(&self, first_key: &[u8], cache_key: &[u8], now_ms: &dyn Fn() -> u64) -> Option<Value> {
        self.backends.with_serving(|shards| {
            let shard = shards.index(first_key);
            let value = shards.get(shard, cache_key, now_ms, |bytes| Some(reply::decode_lent(bytes)))?;
            if value.is_none() {
                self.drop_corrupt(shards, shard, cache_key);
            }
            value
        })
    }

    /// Counts and removes an entry whose bytes did not decode.
    #[cold]
    fn drop_corrupt(&self, shards: &Shards, shard: usize, cache_key: &[u8]) {
        Counters::bump(&self.counters.corrupt_values);
        shards.remove(shard, cache_key);
    }

    /// Stores a leader's reply unless something poisoned it, and hands it
    /// to the followers.
    async fn fill(
        &self,
        read: &ReadCommand,
        cache_key: &[u8],
        ticket: Ticket<'_>,
        reply: Result<Value, Error>,
        ttls: &[Value],
        sent_at_ms: u64,
    ) -> Result<Value, Error> {
        #[cfg(feature = "test-hooks")]
        {
            if let Some(hook) = self.fill_hook.get() {
                hook(read).await;
            }
        }
        let stored = self.store(None, read, cache_key, ticket, &reply, ttls, sent_at_ms);
        if stored && let Some(recent) = &self.recent {
            recent.lock().unwrap_or_else(|p| p.into_inner()).record(read);
        }
        reply
    }

    /// Completes a leader's ticket: stores the reply in `target` (the
    /// serving backend for `None`) unless something poisoned it. Returns
    /// whether it was stored.
    #[expect(clippy::too_many_arguments, reason = "one fill's parts, each named at both call sites")]
    fn store(
        &self,
        target: Option<&Shards>,
        read: &ReadCommand,
        cache_key: &[u8],
        ticket: Ticket<'_>,
        reply: &Result<Value, Error>,
        ttls: &[Value],
        sent_at_ms: u64,
    ) -> bool {
        let ttl_ms = entry_ttl(self.policy.ttl_ms(read.name()), ttls);
        let mut encoded = false;
        let stored = ticket.complete(reply, |value, keys| {
            if let Some(bytes) = reply::encode(value) {
                encoded = true;
                // Deadlines count from when the read was sent: never later
                // than the key's own expiry.
                match target {
                    Some(shards) => shards.put(cache_key, keys, &bytes, ttl_ms, sent_at_ms),
                    None => self.backends.load().serving.put(cache_key, keys, &bytes, ttl_ms, sent_at_ms),
                }
            }
        });
        match (stored, encoded) {
            (true, true) => Counters::bump(&self.counters.fills),
            (false, _) if reply.is_ok() => Counters::bump(&self.counters.fills_skipped),
            _ => {}
        }
        stored && encoded
    }

    /// Waits for an identical read in flight; reads again if it ended
    /// without a reply.
    async fn follow(&self, read: &ReadCommand, follower: Follower) -> Result<Value, Error> {
        match follower.await {
            Ok(result) => result,
            // The leader was cancelled or failed before a reply, or a read
            // that started after an invalidation took its place.
            Err(_) => Box::pin(self.read_one(read.clone(), Looked::NotYet)).await,
        }
    }
}

/// [`Error::Refused`] if `command` may not go on the shared connection.
fn refuse_unsendable(command: &redis::Cmd) -> Result<(), Error> {
    let parts = parts_of(command);
    match refusal(&parts) {
        Some(why) => {
            let name = parts.first().map(|name| String::from_utf8_lossy(name).to_ascii_uppercase());
            Err(Error::Refused { command: name.unwrap_or_default(), reason: why.reason() })
        }
        None => Ok(()),
    }
}

impl Watched for Inner {
    fn give_up_silent(&self, give_up_after_ms: u64) {
        let now_ms = self.clock.now_ms();
        let links = self.links.load_full();
        for (node, link) in links.topology.nodes().iter().zip(&links.nodes) {
            let Some(link) = link else { continue };
            let silence_ms = link.proof.silence_ms(now_ms);
            if silence_ms > give_up_after_ms {
                self.lose_connection(node, link.serial, Loss::Silent { silence_ms });
            }
        }
    }
}
