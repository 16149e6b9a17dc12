//! Coherence when the network lies, against real redis-server processes:
//! a partition that closes nothing (a relay that stops forwarding), in both
//! directions and in one; read-your-writes through every write path, from
//! a caller polled on its own thread; and the commands the shared
//! connection refuses.

use std::net::SocketAddr;
use std::time::Duration;

use nearcache::{Cache, CacheBuilder, Error, ManualClock, Value};
use nearcache_tests::redis_server::RedisServer;
use nearcache_tests::relay::{Direction, Relay};
use redis::aio::MultiplexedConnection;

/// The staleness bound the partition tests give their caches.
const BOUND: Duration = Duration::from_secs(1);

fn address(server: &RedisServer) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], server.port()))
}

/// A cache behind `relay`, on a clock the test moves, bounded by [`BOUND`].
async fn cache_through(relay: &Relay, clock: &ManualClock) -> Cache {
    CacheBuilder::new(relay.url())
        .shards(2)
        .max_staleness(BOUND)
        .clock(clock.clone())
        .timeouts(Duration::from_millis(300), Duration::from_secs(30))
        .max_backoff(Duration::from_millis(50))
        .build()
        .await
        .expect("cache connects through the relay")
}

/// A plain connection straight to the server, past the relay.
async fn direct(server: &RedisServer) -> MultiplexedConnection {
    server.client().get_multiplexed_async_connection().await.expect("direct connection")
}

async fn set(connection: &mut MultiplexedConnection, key: &str, value: &str) {
    redis::cmd("SET").arg(key).arg(value).query_async::<()>(connection).await.expect("SET");
}

fn bulk(value: &str) -> Value {
    Value::BulkString(value.as_bytes().to_vec())
}

/// Cuts `direction` (or both, for `None`) while another client writes,
/// and checks the cache stops serving the old value once its clock passes
/// the bound, and serves the new one once the relay heals.
async fn partition_case(cut: Option<Direction>) {
    let server = RedisServer::start(&[]);
    let relay = Relay::start(address(&server)).await;
    let clock = ManualClock::new();
    let cache = cache_through(&relay, &clock).await;
    let mut writer = direct(&server).await;
    set(&mut writer, "k", "old").await;
    assert_eq!(cache.get("k").await.unwrap(), bulk("old"));
    assert_eq!(cache.get("k").await.unwrap(), bulk("old"));
    assert_eq!(cache.stats().hits, 1);

    match cut {
        Some(direction) => relay.pause(direction),
        None => relay.partition(),
    }
    set(&mut writer, "k", "new").await;
    // Below the bound (less the watchdog's tick of an eighth) the cache
    // may serve what it holds. (With only the requests cut, the write's
    // invalidation still arrives, and a read of the key then is a miss that
    // waits for a reply: it is not made here.)
    clock.advance(BOUND / 2);
    if cut != Some(Direction::ToServer) {
        assert_eq!(cache.get("k").await.unwrap(), bulk("old"), "below the bound, the entry still serves");
    }
    assert_eq!(cache.connection_losses(), 0);

    // Past the bound, the connection is given up and the cache flushed.
    clock.advance(BOUND);
    tokio::time::timeout(Duration::from_secs(30), cache.wait_connection_losses(1))
        .await
        .expect("the watchdog gives the silent connection up");
    assert_eq!(cache.stats().silent_losses, 1);
    assert!(!cache.is_connected());
    for _ in 0..100 {
        match cache.get("k").await {
            Err(Error::Disconnected) => {}
            other => panic!("past the bound and partitioned, a read gave {other:?}"),
        }
    }

    relay.heal();
    tokio::time::timeout(Duration::from_secs(30), cache.wait_connected()).await.expect("reconnects once healed");
    assert_eq!(cache.get("k").await.unwrap(), bulk("new"));
    assert_eq!(cache.get("k").await.unwrap(), bulk("new"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_both_ways_stops_hits_once_the_bound_passes() {
    partition_case(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_of_the_replies_stops_hits_once_the_bound_passes() {
    partition_case(Some(Direction::ToClient)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_of_the_requests_stops_hits_once_the_bound_passes() {
    partition_case(Some(Direction::ToServer)).await;
}

/// An idle connection is pinged, and its replies keep it serving however
/// far the clock moves: a healthy connection is never given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_healthy_connection_keeps_serving() {
    let server = RedisServer::start(&[]);
    let relay = Relay::start(address(&server)).await;
    let clock = ManualClock::new();
    let cache = cache_through(&relay, &clock).await;
    let mut writer = direct(&server).await;
    set(&mut writer, "k", "v").await;
    assert_eq!(cache.get("k").await.unwrap(), bulk("v"));
    let reads = cache.stats().nodes[0].reads_sent;
    // Twenty steps of just over a quarter of the bound each: five bounds
    // in all. Each step's silence passes the keep-alive's threshold, so
    // the connection is pinged, and must have its answer before the next
    // step or the watchdog gives it up.
    for step in 1..=20 {
        clock.advance(BOUND / 4 + Duration::from_millis(1));
        tokio::time::timeout(Duration::from_secs(30), async {
            while cache.stats().nodes[0].keepalive_pings < step {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the idle connection is pinged");
    }
    assert_eq!(cache.stats().nodes[0].reads_sent, reads, "a keep-alive PING is not a read");
    assert_eq!((cache.connection_losses(), cache.stats().silent_losses), (0, 0));
    assert_eq!(cache.get("k").await.unwrap(), bulk("v"));
    assert_eq!(cache.stats().hits, 1, "the entry outlived five bounds of idle time");
}

/// A step of a round, on the cache: a future borrowing it.
type Step<'c, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// One kind of write through the cache, and the read that must see it.
struct WriteCase {
    name: &'static str,
    /// Sends the write of round `round` through the cache.
    write: for<'c> fn(&'c Cache, u64) -> Step<'c, ()>,
    /// The read through the cache, and what it must give after round `round`.
    read: for<'c> fn(&'c Cache, u64) -> Step<'c, (Value, Value)>,
}

fn cmd(parts: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd(parts[0]);
    for part in &parts[1..] {
        cmd.arg(*part);
    }
    cmd
}

const WRITES: &[WriteCase] = &[
    WriteCase {
        name: "SET",
        write: |cache, round| Box::pin(async move { command(cache, &["SET", "s", &round.to_string()]).await }),
        read: |cache, round| Box::pin(async move { (cache.get("s").await.unwrap(), bulk(&round.to_string())) }),
    },
    WriteCase {
        name: "HSET",
        write: |cache, round| Box::pin(async move { command(cache, &["HSET", "h", "f", &round.to_string()]).await }),
        read: |cache, round| {
            Box::pin(async move { (cache.cached(&cmd(&["HGET", "h", "f"])).await.unwrap(), bulk(&round.to_string())) })
        },
    },
    WriteCase {
        name: "LPUSH",
        write: |cache, round| Box::pin(async move { command(cache, &["LPUSH", "l", &round.to_string()]).await }),
        read: |cache, round| {
            Box::pin(
                async move { (cache.cached(&cmd(&["LINDEX", "l", "0"])).await.unwrap(), bulk(&round.to_string())) },
            )
        },
    },
    WriteCase {
        name: "EVAL",
        write: |cache, round| {
            Box::pin(async move {
                command(cache, &["EVAL", "redis.call('SET', KEYS[1], ARGV[1])", "1", "e", &round.to_string()]).await
            })
        },
        read: |cache, round| Box::pin(async move { (cache.get("e").await.unwrap(), bulk(&round.to_string())) }),
    },
    WriteCase {
        name: "MULTI/EXEC",
        write: |cache, round| {
            Box::pin(async move {
                let mut pipe = redis::pipe();
                pipe.atomic().cmd("SET").arg("m1").arg(round).cmd("SET").arg("m2").arg(round);
                let replies = cache.pipeline(&pipe).await.expect("transaction");
                assert_eq!(replies, vec![Value::Okay, Value::Okay]);
            })
        },
        read: |cache, round| {
            Box::pin(async move {
                let values = cache.mget(["m1", "m2"]).await.unwrap();
                (Value::Array(values), Value::Array(vec![bulk(&round.to_string()), bulk(&round.to_string())]))
            })
        },
    },
    WriteCase {
        name: "pipeline",
        write: |cache, round| {
            Box::pin(async move {
                let mut pipe = redis::pipe();
                pipe.cmd("SET").arg("p1").arg(round).cmd("INCR").arg("p2");
                let replies = cache.pipeline(&pipe).await.expect("pipeline");
                assert_eq!(replies[0], Value::Okay);
            })
        },
        read: |cache, round| Box::pin(async move { (cache.get("p1").await.unwrap(), bulk(&round.to_string())) }),
    },
];

async fn command(cache: &Cache, parts: &[&str]) {
    cache.command(&cmd(parts)).await.unwrap_or_else(|e| panic!("{parts:?}: {e}"));
}

/// Rounds per kind of write: six kinds make 12,000 in all.
const ROUNDS: u64 = 2_000;

/// Each round reads a key (caching it), writes it through the cache, and
/// reads it back, all polled on a thread of its own, outside the runtime
/// whose worker drives the connection: the reply to the write wakes the
/// caller at once, so a read-back that raced the write's own invalidation
/// would find the old entry.
#[test]
fn a_caller_reads_its_own_writes_through_every_write_path() {
    let server = RedisServer::start(&[]);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let cache = runtime.block_on(CacheBuilder::new(server.url()).shards(2).build()).expect("cache connects");
    let mut missed = Vec::new();
    let handle = runtime.handle().clone();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                for case in WRITES {
                    for round in 1..=ROUNDS {
                        // Polled here, not on the runtime's worker.
                        handle.block_on(async {
                            // Cache the key as it is now.
                            let _ = (case.read)(&cache, round - 1).await;
                            (case.write)(&cache, round).await;
                            let (got, want) = (case.read)(&cache, round).await;
                            if got != want {
                                missed.push(format!("{} round {round}: read {got:?}, wrote {want:?}", case.name));
                            }
                        });
                    }
                }
            })
            .join()
            .unwrap();
    });
    assert!(
        missed.is_empty(),
        "{} of {} rounds missed their own write: {:?}",
        missed.len(),
        ROUNDS * 6,
        &missed[..5.min(missed.len())]
    );
    let stats = cache.stats();
    assert!(stats.hits >= ROUNDS * 6 / 2, "the reads before the writes were served from the cache: {stats:?}");
    drop(runtime);
}

#[tokio::test]
async fn commands_that_would_wedge_or_stale_the_shared_connection_are_refused() {
    let server = RedisServer::start(&[]);
    let cache = CacheBuilder::new(server.url()).shards(2).build().await.unwrap();
    let refused: &[&[&str]] = &[
        &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"],
        &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"],
        &["BLPOP", "l", "0"],
        &["BRPOP", "l", "0"],
        &["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"],
        &["BRPOPLPUSH", "a", "b", "0"],
        &["BLMPOP", "0", "1", "l", "LEFT"],
        &["BZPOPMIN", "z", "0"],
        &["BZPOPMAX", "z", "0"],
        &["BZMPOP", "0", "1", "z", "MIN"],
        &["WAIT", "1", "0"],
        &["WAITAOF", "1", "0", "0"],
        &["SWAPDB", "0", "1"],
        &["MONITOR"],
        &["CLIENT", "PAUSE", "1000"],
        &["CLIENT", "TRACKING", "OFF"],
        &["SUBSCRIBE", "c"],
        &["SELECT", "1"],
        &["MULTI"],
        &["EXEC"],
        &["WATCH", "k"],
        &["HELLO", "2"],
        &["READONLY"],
        &["RESET"],
    ];
    for parts in refused {
        let error = cache.command(&cmd(parts)).await.expect_err(&format!("{parts:?} is refused"));
        let Error::Refused { command, reason } = &error else { panic!("{parts:?}: {error:?}") };
        assert_eq!(command, &parts[0].to_ascii_uppercase());
        let line = error.to_string();
        assert!(!line.contains('\n') && line.contains(parts[0]) && !reason.is_empty(), "{line}");
        if parts[0].starts_with('B') || parts[0].starts_with('X') || parts[0].starts_with('W') && parts[0] != "WATCH" {
            assert!(line.contains("dedicated"), "a blocking command's error says where to send it: {line}");
        }
        // Refused inside a pipeline too.
        let mut pipe = redis::pipe();
        pipe.cmd("SET").arg("k").arg("v").add_command(cmd(parts));
        assert!(matches!(cache.pipeline(&pipe).await, Err(Error::Refused { .. })), "{parts:?} in a pipeline");
    }
    // Nothing was sent: the pipelines' SETs did not run.
    assert_eq!(cache.get("k").await.unwrap(), Value::Nil);
    // Stream reads without BLOCK, and the rest, are sent.
    cache.command(&cmd(&["XADD", "s", "*", "f", "v"])).await.unwrap();
    let streams = cache.command(&cmd(&["XREAD", "COUNT", "1", "STREAMS", "s", "0"])).await.unwrap();
    assert!(matches!(&streams, Value::Map(streams) if streams.len() == 1), "XREAD without BLOCK answers: {streams:?}");
}

/// A Redis limitation, kept in a test so the documentation's claim stays
/// true: SWAPDB by another client sends tracking clients nothing, and the
/// cache goes on serving the swapped-out database's value.
#[tokio::test]
async fn swapdb_by_another_client_leaves_the_cache_stale_a_redis_limitation() {
    let server = RedisServer::start(&[]);
    let cache = CacheBuilder::new(server.url()).shards(2).build().await.unwrap();
    let mut other = direct(&server).await;
    set(&mut other, "k", "db0").await;
    redis::cmd("SELECT").arg(1).query_async::<()>(&mut other).await.unwrap();
    set(&mut other, "k", "db1").await;
    assert_eq!(cache.get("k").await.unwrap(), bulk("db0"));
    redis::cmd("SWAPDB").arg(0).arg(1).query_async::<()>(&mut other).await.unwrap();
    cache.sync_invalidations().await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), bulk("db0"), "Redis sent no invalidation for SWAPDB");
    assert_eq!(cache.stats().invalidated_keys, 0);
    assert_eq!(cache.command(&cmd(&["GET", "k"])).await.unwrap(), bulk("db1"), "while Redis holds the other");
}
