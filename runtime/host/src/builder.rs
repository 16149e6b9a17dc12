//! Configuring and connecting a [`Cache`].

use std::sync::Arc;
use std::time::Duration;

use redis::{ConnectionInfo, IntoConnectionInfo, ProtocolVersion};

use crate::backend::BackendFactory;
use crate::cache::{Cache, Deployment, Settings};
use crate::clock::Clock;
use crate::command::cacheable_commands;
use crate::error::{BackendError, Error};
use crate::liveness::Liveness;
use crate::policy::Policy;
use crate::reload::{self, BackendSource, Engines};
use crate::tracking::Tracking;
use crate::tracking::connection::Timeouts;

/// Options for a [`Cache`]; [`build`](CacheBuilder::build) checks them all
/// and connects.
///
/// ```no_run
/// # async fn demo() -> Result<(), nearcache::Error> {
/// use std::time::Duration;
/// let cache = nearcache::CacheBuilder::new("redis://127.0.0.1:6379/0")
///     .max_ttl(Duration::from_secs(60))
///     .build()
///     .await?;
/// let value = cache.get("user:1").await?;
/// # Ok(()) }
/// ```
pub struct CacheBuilder {
    url: String,
    /// `Some` for a Redis Cluster: URLs of some of its nodes.
    seeds: Option<Vec<String>>,
    topology_poll: Duration,
    tracking: Tracking,
    shards: Option<usize>,
    source: BackendSource,
    backend_options: Vec<(String, String)>,
    #[cfg(feature = "wasm")]
    wasm_engine: Option<crate::wasm::WasmEngine>,
    max_ttl: Option<Duration>,
    command_ttls: Vec<(String, Duration)>,
    commands: Option<Vec<String>>,
    sweep_interval: Duration,
    timeouts: Timeouts,
    max_backoff: Duration,
    max_staleness: Duration,
    clock: Clock,
    tls_root: Option<Vec<u8>>,
    warm_reloads: usize,
}

impl CacheBuilder {
    /// The staleness bound under a silent network failure, unless
    /// [`max_staleness`](Self::max_staleness) sets another: idle
    /// connections are pinged every 750 ms.
    pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(3);

    /// Shards when not set: four per core. A shard serves one call at a
    /// time (a wasm instance cannot do more), so there must be at least one
    /// per core; with only one, two threads reading at once meet on one
    /// shard half the time on two cores, and more shards make that rarer.
    /// At most [`MAX_SHARDS`](Self::MAX_SHARDS).
    pub fn default_shards() -> usize {
        (4 * std::thread::available_parallelism().map_or(2, |n| n.get())).min(Self::MAX_SHARDS)
    }

    /// The most shards [`shards`](Self::shards) accepts.
    pub const MAX_SHARDS: usize = 1024;

    /// A cache of the Redis at `url` (`redis://` or `rediss://`, with
    /// optional `user:password@` and `/db`), native store, default tracking.
    pub fn new(url: impl Into<String>) -> Self {
        CacheBuilder {
            url: url.into(),
            seeds: None,
            topology_poll: Duration::from_secs(1),
            tracking: Tracking::Default,
            shards: None,
            source: BackendSource::Native,
            backend_options: Vec::new(),
            #[cfg(feature = "wasm")]
            wasm_engine: None,
            max_ttl: None,
            command_ttls: Vec::new(),
            commands: None,
            sweep_interval: Duration::from_secs(1),
            timeouts: Timeouts { connect: Duration::from_secs(2), response: Duration::from_secs(5) },
            max_backoff: Duration::from_secs(1),
            max_staleness: Self::DEFAULT_MAX_STALENESS,
            clock: Clock::new(),
            tls_root: None,
            warm_reloads: 0,
        }
    }

    /// A cache of a Redis Cluster, found through any of `seeds`: URLs of
    /// some of its nodes (`redis://host:port` or `rediss://`, with optional
    /// `user:password@`; database 0 only). The cache reads the slot map,
    /// turns tracking on at every master it reads from, and sends each
    /// cacheable read to the master that owns its key's slot. Writes and
    /// other commands go through the redis crate's cluster client, which
    /// follows MOVED and ASK.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), nearcache::Error> {
    /// let cache = nearcache::CacheBuilder::cluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
    ///     .build()
    ///     .await?;
    /// let value = cache.get("user:1").await?;
    /// # Ok(()) }
    /// ```
    pub fn cluster<S: Into<String>>(seeds: impl IntoIterator<Item = S>) -> Self {
        let seeds: Vec<String> = seeds.into_iter().map(Into::into).collect();
        let mut builder = CacheBuilder::new(seeds.first().cloned().unwrap_or_default());
        builder.seeds = Some(seeds);
        builder
    }

    /// In a cluster, how often the slot map is read again (default 1 s),
    /// besides whenever a read meets MOVED. This bounds how long an entry
    /// can outlive a change of its slot's owner that nothing else reported
    /// (a key that did not exist when it was read, then moved and written
    /// on its new owner): every slot move flushes the cache.
    pub fn topology_poll(mut self, every: Duration) -> Self {
        self.topology_poll = every;
        self
    }

    /// The tracking mode.
    pub fn tracking(mut self, tracking: Tracking) -> Self {
        self.tracking = tracking;
        self
    }

    /// How many backend instances serve in parallel (1 to
    /// [`MAX_SHARDS`](Self::MAX_SHARDS); default
    /// [`default_shards`](Self::default_shards)). Each is `init`ed with the
    /// same options, so `max-entries` and `max-bytes` bound each shard, and
    /// each wasm instance has its own memory, up to the engine's limit.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Where entries live, and the options each instance is `init`ed with.
    pub fn backend(self, factory: Arc<dyn BackendFactory>, options: Vec<(String, String)>) -> Self {
        self.backend_source(BackendSource::Factory(factory), options)
    }

    /// Where entries live, by source (the native store, a component file or
    /// its bytes), and the options each instance is `init`ed with.
    pub fn backend_source(mut self, source: BackendSource, options: Vec<(String, String)>) -> Self {
        self.source = source;
        self.backend_options = options;
        self
    }

    /// The engine, with its limits and artifact cache, that wasm sources
    /// are compiled with, here and in every reload. Without it, a default
    /// engine ([`Limits::default`](crate::wasm::Limits), no artifact cache)
    /// is made when first needed.
    #[cfg(feature = "wasm")]
    pub fn wasm_engine(mut self, engine: crate::wasm::WasmEngine) -> Self {
        self.wasm_engine = Some(engine);
        self
    }

    /// A client-side cap on how long any entry lives. Entries never outlive
    /// their key's expiry in Redis either way.
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = Some(ttl);
        self
    }

    /// A cap for the entries of one command, e.g. `("HGETALL", 5 s)`.
    pub fn command_ttl(mut self, command: impl Into<String>, ttl: Duration) -> Self {
        self.command_ttls.push((command.into(), ttl));
        self
    }

    /// Narrows caching to these commands; the others are refused.
    pub fn commands<S: Into<String>>(mut self, commands: impl IntoIterator<Item = S>) -> Self {
        self.commands = Some(commands.into_iter().map(Into::into).collect());
        self
    }

    /// How often expired entries are swept.
    pub fn sweep_interval(mut self, every: Duration) -> Self {
        self.sweep_interval = every;
        self
    }

    /// Connect and response timeouts. A request on a tracked connection
    /// that gets no reply within `response` loses that connection (the
    /// cache is flushed and it reconnects).
    pub fn timeouts(mut self, connect: Duration, response: Duration) -> Self {
        self.timeouts = Timeouts { connect, response };
        self
    }

    /// The staleness bound when the network fails silently (default
    /// [`DEFAULT_MAX_STALENESS`](Self::DEFAULT_MAX_STALENESS), at least
    /// 8 ms): a hit is served only while its node's tracked connection has
    /// proved itself alive within this long, so a partition, a dead switch
    /// or a paused server that closes nothing makes the cache serve stale
    /// values for at most about this long.
    ///
    /// A connection proves itself with each reply: a reply to a request
    /// sent at time T shows every invalidation Redis sent before it has
    /// been applied. A busy connection needs nothing more; an idle one is
    /// sent a `PING` every quarter of the bound. A watchdog thread gives up
    /// a connection silent for longer (the cache flushes, refuses reads of
    /// that node with [`Error::Disconnected`] and reconnects), and counts it
    /// in [`CacheStats::silent_losses`](crate::CacheStats::silent_losses).
    /// A server busy with one command for longer than this (a long `EVAL`,
    /// `DEBUG SLEEP`) looks the same, and costs a flush: raise the bound
    /// where such commands run.
    pub fn max_staleness(mut self, bound: Duration) -> Self {
        self.max_staleness = bound;
        self
    }

    /// Test hook: the cache's clock reads `clock`, which moves only when
    /// the test advances it.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn clock(mut self, clock: crate::clock::ManualClock) -> Self {
        self.clock = Clock::manual(clock);
        self
    }

    /// The longest wait between reconnection attempts.
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff = max;
        self
    }

    /// Warm a reloaded backend before it serves: the cache remembers its
    /// latest `reads` fills (at most; 0, the default, turns this off) and
    /// reads them again from Redis into the new backend while the old one
    /// serves, so a reload does not start from an empty cache. Costs one
    /// pipelined round trip per 256 reads at each reload, and a little
    /// bookkeeping on each miss.
    pub fn warm_reloads(mut self, reads: usize) -> Self {
        self.warm_reloads = reads;
        self
    }

    /// For `rediss://`: trust this CA certificate (PEM) instead of the
    /// platform's roots, e.g. for a server with a private CA.
    pub fn tls_root_certificate(mut self, pem: Vec<u8>) -> Self {
        self.tls_root = Some(pem);
        self
    }

    /// Checks the options, makes the backend's shards, connects, and turns
    /// tracking on.
    pub async fn build(mut self) -> Result<Cache, Error> {
        let tls_root = self.tls_root.take();
        let connection_info = |url: &str| -> Result<ConnectionInfo, Error> {
            let info = parse_url(url)?;
            let Some(pem) = tls_root.clone() else { return Ok(info) };
            let certificates = redis::TlsCertificates { client_tls: None, root_cert: Some(pem) };
            let client = redis::Client::build_with_tls(info, certificates)
                .map_err(|e| Error::InvalidOption { option: "tls_root_certificate", reason: e.to_string() })?;
            Ok(client.get_connection_info().clone())
        };
        let (deployment, address) = match &self.seeds {
            None => (Deployment::Single(connection_info(&self.url)?), masked_url(&self.url)),
            Some(seeds) if seeds.is_empty() => {
                return Err(Error::InvalidOption { option: "cluster", reason: "give at least one seed node".into() });
            }
            Some(seeds) => {
                let infos = seeds
                    .iter()
                    .map(|url| match connection_info(url)? {
                        info if info.redis_settings().db() != 0 => Err(Error::InvalidUrl {
                            url: masked_url(url),
                            reason: format!("a Redis Cluster has database 0 only, not {}", info.redis_settings().db()),
                        }),
                        info => Ok(info),
                    })
                    .collect::<Result<Vec<_>, Error>>()?;
                if self.topology_poll.is_zero() {
                    let reason = "must be more than zero".into();
                    return Err(Error::InvalidOption { option: "topology_poll", reason });
                }
                let address = seeds.iter().map(|url| masked_url(url)).collect::<Vec<_>>().join(",");
                (Deployment::Cluster { seeds: infos, poll_every: self.topology_poll, tls_root }, address)
            }
        };
        let shards = self.shards.unwrap_or_else(Self::default_shards);
        if !(1..=Self::MAX_SHARDS).contains(&shards) {
            let reason = format!("expected 1 to {}, got {shards}", Self::MAX_SHARDS);
            return Err(Error::InvalidOption { option: "shards", reason });
        }
        let policy = Policy {
            enabled: self
                .commands
                .as_deref()
                .map(|names| names.iter().map(|n| known_command("commands", n)).collect())
                .transpose()?,
            max_ttl_ms: self.max_ttl.map(|ttl| positive_ms("max_ttl", ttl)).transpose()?,
            command_ttls: self
                .command_ttls
                .iter()
                .map(|(name, ttl)| Ok((known_command("command_ttl", name)?, positive_ms("command_ttl", *ttl)?)))
                .collect::<Result<_, Error>>()?,
        };
        if self.max_staleness < Liveness::MIN {
            let reason = format!("expected at least {:?}, got {:?}", Liveness::MIN, self.max_staleness);
            return Err(Error::InvalidOption { option: "max_staleness", reason });
        }
        if self.sweep_interval.is_zero() {
            return Err(Error::InvalidOption { option: "sweep_interval", reason: "must be more than zero".into() });
        }
        #[cfg(feature = "wasm")]
        let engines = Engines::with_wasm(self.wasm_engine.take());
        #[cfg(not(feature = "wasm"))]
        let engines = Engines::default();
        let (source, options) = (self.source, self.backend_options);
        let name = source.to_string();
        // Compiling a component and initializing its instances block.
        let (backend, engines) = tokio::task::spawn_blocking(move || {
            let (factory, _) = reload::factory_of(source, &engines)?;
            let backend = reload::prepare(factory.as_ref(), &options, shards, reload::Check::InitOnly, 0)?;
            Ok::<_, Error>((backend, engines))
        })
        .await
        .map_err(|error| Error::Backend {
            name,
            source: BackendError::Failed { call: "init", reason: format!("the setup task failed: {error}") },
        })??;
        let settings = Settings {
            deployment,
            address,
            tracking: self.tracking,
            policy,
            engines,
            warm_reloads: self.warm_reloads,
            sweep_interval: self.sweep_interval,
            timeouts: self.timeouts,
            max_backoff: self.max_backoff,
            liveness: Liveness { max_silence: self.max_staleness },
            clock: self.clock,
        };
        Cache::start(settings, backend).await
    }
}

fn known_command(option: &'static str, name: &str) -> Result<&'static str, Error> {
    cacheable_commands().find(|c| c.eq_ignore_ascii_case(name)).ok_or_else(|| Error::InvalidOption {
        option,
        reason: format!("`{name}` is not a cacheable command (see nearcache::cacheable_commands)"),
    })
}

fn positive_ms(option: &'static str, ttl: Duration) -> Result<u64, Error> {
    match u64::try_from(ttl.as_millis()) {
        Ok(ms) if ms > 0 => Ok(ms),
        _ => Err(Error::InvalidOption { option, reason: format!("expected at least 1 ms, got {ttl:?}") }),
    }
}

/// The Redis URL with any password replaced by `***`, for messages and logs.
pub fn masked_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

fn parse_url(url: &str) -> Result<ConnectionInfo, Error> {
    let invalid = |reason: String| Error::InvalidUrl { url: masked_url(url), reason };
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("redis") => {}
        Some("rediss") => install_tls_provider(),
        Some(other) => return Err(invalid(format!("unsupported scheme `{other}`; use redis:// or rediss://"))),
        None => return Err(invalid("expected redis://host:port/db or rediss://...".into())),
    }
    let info = url.into_connection_info().map_err(|e| invalid(e.to_string()))?;
    let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
    Ok(info.set_redis_settings(settings))
}

/// rustls needs a process-wide crypto provider; install ring's unless the
/// application already installed one.
fn install_tls_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords() {
        assert_eq!(masked_url("redis://user:secret@host:6379/0"), "redis://user:***@host:6379/0");
        assert_eq!(masked_url("redis://host:6379"), "redis://host:6379");
    }

    #[test]
    fn bad_urls_are_named() {
        let error = |url| parse_url(url).unwrap_err().to_string();
        assert_eq!(
            error("http://localhost"),
            "invalid Redis URL `http://localhost`: unsupported scheme `http`; use redis:// or rediss://"
        );
        assert!(error("localhost:6379").starts_with("invalid Redis URL `localhost:6379`: expected"));
        assert!(error("redis://:pw@host:notaport").contains("***"));
    }
}
