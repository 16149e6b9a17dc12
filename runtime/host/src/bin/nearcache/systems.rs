//! The systems a workload reads through: nearcache, the redis crate's own
//! client-side cache (`cache-aio`), and uncached GET through the redis crate.

use std::num::NonZeroUsize;
use std::time::Duration;

use nearcache::wasm::WasmEngine;
use nearcache::{Cache, CacheBuilder};
use redis::aio::MultiplexedConnection;
use redis::caching::CacheConfig;
use redis::{AsyncConnectionConfig, IntoConnectionInfo, ProtocolVersion, Value};

use crate::backend::Source;
use crate::failure::{Code, Failure};

/// Which system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// nearcache's `Cache`.
    Nearcache,
    /// The redis crate's `cache-aio` cache on a RESP3 multiplexed connection.
    CacheAio,
    /// Plain GET on a multiplexed connection.
    Uncached,
}

impl Kind {
    /// Every system, nearcache first.
    pub const ALL: [Kind; 3] = [Kind::Nearcache, Kind::CacheAio, Kind::Uncached];

    /// The name in tables.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Nearcache => "nearcache",
            Kind::CacheAio => "cache-aio",
            Kind::Uncached => "uncached",
        }
    }
}

/// Cache counters, for hit ratios and invalidation counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Reads answered locally.
    pub hits: u64,
    /// Reads that went to Redis.
    pub misses: u64,
    /// Entries or keys invalidated by Redis.
    pub invalidations: u64,
}

impl Counters {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: Counters) -> Counters {
        Counters {
            hits: self.hits.saturating_sub(earlier.hits),
            misses: self.misses.saturating_sub(earlier.misses),
            invalidations: self.invalidations.saturating_sub(earlier.invalidations),
        }
    }

    /// Hits over cacheable reads; 0 when nothing was read.
    pub fn hit_ratio(self) -> f64 {
        let reads = self.hits + self.misses;
        if reads == 0 { 0.0 } else { self.hits as f64 / reads as f64 }
    }
}

/// A connected system.
pub enum System {
    /// nearcache.
    Nearcache(Cache),
    /// The redis crate with its `cache-aio` cache.
    CacheAio(MultiplexedConnection),
    /// The redis crate, uncached.
    Uncached(MultiplexedConnection),
}

/// Timeouts of the redis crate's connections.
fn redis_config() -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(5)))
}

impl System {
    /// A nearcache `Cache` of `url` on `source`'s backend; `engine` runs it
    /// and every backend reloaded later.
    pub async fn nearcache(url: &str, source: &Source, engine: &WasmEngine) -> Result<System, Failure> {
        let cache = CacheBuilder::new(url)
            .wasm_engine(engine.clone())
            .backend_source(source.to_library(), source.options.clone())
            .build()
            .await?;
        Ok(System::Nearcache(cache))
    }

    /// The redis crate's cache over RESP3, sized for `capacity` entries.
    pub async fn cache_aio(url: &str, capacity: usize) -> Result<System, Failure> {
        let info = url.into_connection_info().map_err(|e| Failure::new(Code::Usage, e))?;
        let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
        let client =
            redis::Client::open(info.set_redis_settings(settings)).map_err(|e| Failure::new(Code::Usage, e))?;
        let size = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        let config = redis_config().set_cache_config(CacheConfig::new().set_size(size));
        let connection = client.get_multiplexed_async_connection_with_config(&config).await.map_err(connect_error)?;
        Ok(System::CacheAio(connection))
    }

    /// A plain connection.
    pub async fn uncached(url: &str) -> Result<System, Failure> {
        Ok(System::Uncached(plain(url).await?))
    }

    /// Which system this is.
    pub fn kind(&self) -> Kind {
        match self {
            System::Nearcache(_) => Kind::Nearcache,
            System::CacheAio(_) => Kind::CacheAio,
            System::Uncached(_) => Kind::Uncached,
        }
    }

    /// The backend in use: nearcache's, else the system's name.
    pub fn backend(&self) -> String {
        match self {
            System::Nearcache(cache) => cache.backend_name(),
            other => other.kind().label().to_owned(),
        }
    }

    /// The cache, if this is nearcache.
    pub fn cache(&self) -> Option<&Cache> {
        match self {
            System::Nearcache(cache) => Some(cache),
            _ => None,
        }
    }

    /// `GET key`; the value.
    pub async fn get(&self, key: &[u8]) -> Result<Vec<u8>, String> {
        let reply = match self {
            System::Nearcache(cache) => cache.get(key).await.map_err(|e| e.to_string())?,
            System::CacheAio(connection) | System::Uncached(connection) => redis::cmd("GET")
                .arg(key)
                .query_async::<Value>(&mut connection.clone())
                .await
                .map_err(|e| e.to_string())?,
        };
        match reply {
            Value::BulkString(bytes) => Ok(bytes),
            other => Err(format!("GET returned {other:?}, not a string")),
        }
    }

    /// A round trip on the system's own connection: every invalidation
    /// Redis sent it before has been handled when this returns.
    pub async fn sync(&self) -> Result<(), String> {
        let ping = redis::cmd("PING");
        match self {
            System::Nearcache(cache) => cache.command(&ping).await.map(drop).map_err(|e| e.to_string()),
            System::CacheAio(connection) | System::Uncached(connection) => {
                ping.query_async::<()>(&mut connection.clone()).await.map_err(|e| e.to_string())
            }
        }
    }

    /// The cache's counters so far (zero for uncached GET).
    pub fn counters(&self) -> Counters {
        match self {
            System::Nearcache(cache) => {
                let stats = cache.stats();
                Counters { hits: stats.hits, misses: stats.misses, invalidations: stats.invalidated_keys }
            }
            System::CacheAio(connection) => connection.get_cache_statistics().map_or_else(Counters::default, |s| {
                Counters { hits: s.hit as u64, misses: s.miss as u64, invalidations: s.invalidate as u64 }
            }),
            System::Uncached(_) => Counters::default(),
        }
    }
}

/// A plain multiplexed connection (RESP2), for writers and set-up.
pub async fn plain(url: &str) -> Result<MultiplexedConnection, Failure> {
    let client = redis::Client::open(url).map_err(|e| Failure::new(Code::Usage, e))?;
    client.get_multiplexed_async_connection_with_config(&redis_config()).await.map_err(connect_error)
}

fn connect_error(error: redis::RedisError) -> Failure {
    Failure::new(Code::Redis, format!("cannot connect to Redis: {error}"))
}
