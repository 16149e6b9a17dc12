//! The cache against a real 3-master Redis Cluster: hits and invalidations
//! on every node, mget across slots, slot migration, the loss of one node's
//! connection, and the coherence checker.

use std::sync::Arc;
use std::time::Duration;

use nearcache::{Cache, CacheBuilder, Error, Tracking, Value};
use nearcache_tests::redis_cluster::RedisCluster;
use nearcache_tests::relay::Relay;

/// Long enough that only a MOVED reply makes the cache read the slot map.
const NEVER: Duration = Duration::from_secs(3600);

async fn cache(cluster: &RedisCluster, poll: Duration) -> Cache {
    CacheBuilder::cluster(cluster.urls())
        .topology_poll(poll)
        .max_backoff(Duration::from_millis(20))
        .build()
        .await
        .expect("cache connects to the cluster")
}

fn bulk(value: &str) -> Value {
    Value::BulkString(value.as_bytes().to_vec())
}

/// The cache's stats of each of the cluster's nodes, in the harness's order.
fn node_stats(cluster: &RedisCluster, cache: &Cache) -> Vec<nearcache::NodeStats> {
    let stats = cache.stats();
    cluster
        .ports()
        .iter()
        .map(|port| {
            let address = format!("127.0.0.1:{port}");
            stats.nodes.iter().find(|n| n.address == address).cloned().unwrap_or_else(|| panic!("no {address}"))
        })
        .collect()
}

/// A write by another client, and the cache's handling of what it caused.
async fn write_behind(cluster: &RedisCluster, cache: &Cache, key: &str, value: &str) {
    cluster.write(key.as_bytes(), value.as_bytes());
    cache.sync_invalidations().await.expect("every node answers PING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_and_invalidations_on_every_node() {
    let cluster = RedisCluster::start();
    let cache = cache(&cluster, NEVER).await;
    assert_eq!(cache.nodes().len(), 3, "the cache reads from each master");

    for node in 0..3 {
        let key = cluster.key_on_node(node, "every");
        cluster.write(key.as_bytes(), b"v1");
        let hits = cache.stats().hits;
        assert_eq!(cache.get(&key).await.unwrap(), bulk("v1"));
        assert_eq!(cache.get(&key).await.unwrap(), bulk("v1"));
        assert_eq!(cache.stats().hits, hits + 1, "the second read of {key} is a hit");

        write_behind(&cluster, &cache, &key, "v2").await;
        assert_eq!(cache.get(&key).await.unwrap(), bulk("v2"), "node {node} invalidated {key}");
    }
    let stats = cache.stats();
    for node in &stats.nodes {
        assert!(node.connected && node.reads_sent >= 2, "{node:?}");
        assert_eq!(node.invalidated_keys, 1, "each node reported its own key: {node:?}");
    }
}

#[test]
fn key_slots_match_the_server() {
    let cluster = RedisCluster::start();
    let mut admin = cluster.client(0).get_connection().unwrap();
    let mut keys: Vec<Vec<u8>> = ["", "foo", "{user}.a", "foo{}{bar}", "foo{{bar}}zap", "}{", "{a", "a{b}c{d}"]
        .iter()
        .map(|k| k.as_bytes().to_vec())
        .collect();
    keys.extend((0..500u32).map(|n| format!("key:{n}:{}", n * 7919).into_bytes()));
    keys.push(vec![0, 255, b'{', 1, b'}', 254]);
    for key in keys {
        let slot: u16 = redis::cmd("CLUSTER").arg("KEYSLOT").arg(&key).query(&mut admin).unwrap();
        assert_eq!(nearcache::key_slot(&key), slot, "{key:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mget_splits_by_slot_and_caches_each_key() {
    let cluster = RedisCluster::start();
    let cache = cache(&cluster, NEVER).await;
    let keys: Vec<String> = (0..3).map(|node| cluster.key_on_node(node, "mget")).collect();
    for key in &keys[..2] {
        cluster.write(key.as_bytes(), key.as_bytes());
    }
    let expected = vec![bulk(&keys[0]), bulk(&keys[1]), Value::Nil];
    assert_eq!(cache.mget(&keys).await.unwrap(), expected, "keys of three slots in one call");
    let sent: Vec<u64> = node_stats(&cluster, &cache).iter().map(|n| n.reads_sent).collect();
    assert_eq!(sent, [1, 1, 1], "one read per node");

    let hits = cache.stats().hits;
    assert_eq!(cache.mget(&keys).await.unwrap(), expected);
    assert_eq!(cache.stats().hits, hits + 3, "each key, nil included, is its own entry");

    write_behind(&cluster, &cache, &keys[2], "now").await;
    let third = cache.mget(&keys).await.unwrap();
    assert_eq!(third[2], bulk("now"));
    let sent: Vec<u64> = node_stats(&cluster, &cache).iter().map(|n| n.reads_sent).collect();
    assert_eq!(sent, [1, 1, 2], "only the invalidated key went to the server");
}

/// A key read from its old owner, then moved with its slot and written on
/// the new owner, is never served stale, even one that did not exist when
/// it was read, whose old owner never reports anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_slot_flushes_its_entries_before_reads_resume() {
    let cluster = RedisCluster::start();
    let cache = cache(&cluster, NEVER).await;
    let (present, absent, fresh) = ("{moving}present", "{moving}absent", "{moving}fresh");
    let slot = RedisCluster::slot_of(present.as_bytes());
    let from = cluster.owner_of(slot);
    let to = (from + 1) % 3;
    cluster.write(present.as_bytes(), b"old");
    assert_eq!(cache.get(present).await.unwrap(), bulk("old"));
    assert_eq!(cache.get(absent).await.unwrap(), Value::Nil);

    cluster.migrate_slot(slot, to);
    cluster.write(present.as_bytes(), b"new");
    cluster.write(absent.as_bytes(), b"new");
    cluster.write(fresh.as_bytes(), b"new");
    assert_eq!(cache.stats().topology_changes, 0, "nothing told the cache yet");

    // The cache still sends this slot's reads to the old owner, which
    // answers MOVED: the read is answered through the cluster client, and
    // the slot map is read again.
    assert_eq!(cache.get(fresh).await.unwrap(), bulk("new"), "a MOVED read is followed");
    cache.wait_topology_changes(1).await;
    assert_eq!(cache.get(absent).await.unwrap(), bulk("new"), "the nil entry went with the move");
    assert_eq!(cache.get(present).await.unwrap(), bulk("new"));
    let stats = cache.stats();
    assert!(stats.redirected_reads >= 1, "{stats:?}");

    // Reads now go to the new owner, and are cached and tracked there.
    let hits = stats.hits;
    assert_eq!(cache.get(absent).await.unwrap(), bulk("new"));
    assert_eq!(cache.stats().hits, hits + 1);
    write_behind(&cluster, &cache, absent, "newer").await;
    assert_eq!(cache.get(absent).await.unwrap(), bulk("newer"), "the new owner reports writes");
}

/// A failover promotes a replica while the old master stays up (and
/// connected): the cache notices the new owner, flushes, and tracks on the
/// new master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_moves_reads_to_the_new_master() {
    let cluster = RedisCluster::start_with_replicas(1);
    let cache = cache(&cluster, Duration::from_millis(50)).await;
    let master = cluster.masters()[0];
    let present = cluster.key_on_node(master, "failover:");
    let absent = format!("{{{present}}}absent");
    cluster.write(present.as_bytes(), b"old");
    assert_eq!(cache.get(&present).await.unwrap(), bulk("old"));
    assert_eq!(cache.get(&absent).await.unwrap(), Value::Nil);

    let promoted = tokio::task::block_in_place(|| cluster.failover(master));
    cluster.write(absent.as_bytes(), b"new");
    cache.wait_topology_changes(1).await;
    let address = |node: usize| format!("127.0.0.1:{}", cluster.ports()[node]);
    assert!(cache.nodes().contains(&address(promoted)), "{:?}", cache.nodes());
    assert!(!cache.nodes().contains(&address(master)), "the old master is a replica now");
    assert_eq!(cache.get(&absent).await.unwrap(), bulk("new"), "the nil entry went with the failover");
    assert_eq!(cache.get(&present).await.unwrap(), bulk("old"));
    write_behind(&cluster, &cache, &present, "newer").await;
    assert_eq!(cache.get(&present).await.unwrap(), bulk("newer"), "the new master reports writes");
}

/// Without any read, the periodic look at the slot map notices the move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slot_map_poll_notices_a_move_no_read_met() {
    let cluster = RedisCluster::start();
    let cache = cache(&cluster, Duration::from_millis(50)).await;
    let key = "{polled}absent";
    let slot = RedisCluster::slot_of(key.as_bytes());
    assert_eq!(cache.get(key).await.unwrap(), Value::Nil);
    cluster.migrate_slot(slot, (cluster.owner_of(slot) + 1) % 3);
    cluster.write(key.as_bytes(), b"written on the new owner");
    cache.wait_topology_changes(1).await;
    assert_eq!(cache.get(key).await.unwrap(), bulk("written on the new owner"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_one_nodes_connection_flushes_and_reconnects_it() {
    let cluster = RedisCluster::start();
    let cache = cache(&cluster, NEVER).await;
    let keys: Vec<String> = (0..3).map(|node| cluster.key_on_node(node, "lost")).collect();
    for key in &keys {
        cluster.write(key.as_bytes(), b"before");
        assert_eq!(cache.get(key).await.unwrap(), bulk("before"));
    }

    assert_eq!(cluster.kill_tracking_clients(1), 1, "the cache has one tracked connection to node 1");
    cache.wait_connection_losses(1).await;
    // Written while the cache could not hear of it.
    cluster.write(keys[1].as_bytes(), b"after");
    cache.wait_connected().await;

    let misses = cache.stats().misses;
    for key in &keys {
        let expected = if *key == keys[1] { "after" } else { "before" };
        assert_eq!(cache.get(key).await.unwrap(), bulk(expected), "{key}");
    }
    let stats = cache.stats();
    assert_eq!(stats.misses, misses + 3, "the loss flushed every entry");
    assert_eq!(node_stats(&cluster, &cache)[1].losses, 1);
    assert_eq!(stats.nodes.iter().map(|n| n.losses).sum::<u64>(), 1, "the other nodes kept their connections");
    write_behind(&cluster, &cache, &keys[1], "tracked again").await;
    assert_eq!(cache.get(&keys[1]).await.unwrap(), bulk("tracked again"), "tracking is on again on node 1");
}

/// A node that goes down takes only its own keys' reads with it: the
/// other nodes keep serving, and its keys are read again once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_nodes_serve_while_one_restarts() {
    let mut cluster = RedisCluster::start();
    let cache = cache(&cluster, NEVER).await;
    let keys: Vec<String> = (0..3).map(|node| cluster.key_on_node(node, "restart")).collect();
    for key in &keys {
        cluster.write(key.as_bytes(), b"before");
        assert_eq!(cache.get(key).await.unwrap(), bulk("before"));
    }

    tokio::task::block_in_place(|| cluster.stop_node(2));
    cache.wait_connection_losses(1).await;
    assert!(matches!(cache.get(&keys[2]).await, Err(Error::Disconnected)), "its node is down");
    for key in &keys[..2] {
        assert_eq!(cache.get(key).await.unwrap(), bulk("before"), "{key} is on a node that is up");
    }
    let hits = cache.stats().hits;
    assert_eq!(cache.get(&keys[0]).await.unwrap(), bulk("before"));
    assert_eq!(cache.stats().hits, hits + 1, "the other nodes' reads are cached again");

    // The restarted node kept nothing (no persistence): its key is gone.
    tokio::task::block_in_place(|| cluster.restart_node(2));
    cache.wait_connected().await;
    assert_eq!(cache.get(&keys[2]).await.unwrap(), Value::Nil);
    write_behind(&cluster, &cache, &keys[2], "after").await;
    assert_eq!(cache.get(&keys[2]).await.unwrap(), bulk("after"), "tracked again on the restarted node");
}

/// A read of several keys in one slot is cached and dropped by a write to
/// any of them; keys in different slots are the cluster's CROSSSLOT error,
/// never cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_key_reads_need_one_slot() {
    let cluster = RedisCluster::start();
    let cache = cache(&cluster, NEVER).await;
    let sadd = |key: &str, members: &[&str]| {
        let mut connection =
            cluster.client(cluster.owner_of(RedisCluster::slot_of(key.as_bytes()))).get_connection().unwrap();
        let _: i64 = redis::cmd("SADD").arg(key).arg(members).query(&mut connection).unwrap();
    };
    sadd("{tag}a", &["x", "y"]);
    sadd("{tag}b", &["y"]);
    let mut sinter = redis::cmd("SINTER");
    sinter.arg("{tag}a").arg("{tag}b");
    assert_eq!(cache.cached(&sinter).await.unwrap(), Value::Set(vec![bulk("y")]));
    let hits = cache.stats().hits;
    assert_eq!(cache.cached(&sinter).await.unwrap(), Value::Set(vec![bulk("y")]));
    assert_eq!(cache.stats().hits, hits + 1);
    sadd("{tag}b", &["x"]);
    cache.sync_invalidations().await.unwrap();
    let mut both = cache.cached(&sinter).await.unwrap();
    if let Value::Set(members) = &mut both {
        members.sort_by_key(|m| format!("{m:?}"));
    }
    assert_eq!(both, Value::Set(vec![bulk("x"), bulk("y")]), "a write to the second key dropped the entry");

    let (a, b) = (cluster.key_on_node(0, "cross"), cluster.key_on_node(1, "cross"));
    let mut cross = redis::cmd("SINTER");
    cross.arg(&a).arg(&b);
    for _ in 0..2 {
        let error = cache.cached(&cross).await.expect_err("keys in two slots");
        assert!(error.to_string().contains("same slot"), "{error}");
    }
}

/// Opt-in and broadcast tracking work on every node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_in_and_broadcast_tracking_on_every_node() {
    let cluster = RedisCluster::start();
    for tracking in [Tracking::OptIn, Tracking::Broadcast { prefixes: vec![b"mode:".to_vec()] }] {
        let cache = CacheBuilder::cluster(cluster.urls()).tracking(tracking.clone()).build().await.unwrap();
        for node in 0..3 {
            let key = cluster.key_on_node(node, "mode:");
            // Broadcast invalidations leave the server just before it
            // sleeps, possibly after the writer's reply: wait for this one
            // so it cannot overtake (and skip) the first fill.
            write_behind(&cluster, &cache, &key, "v1").await;
            assert_eq!(cache.get(&key).await.unwrap(), bulk("v1"));
            let hits = cache.stats().hits;
            assert_eq!(cache.get(&key).await.unwrap(), bulk("v1"));
            assert_eq!(cache.stats().hits, hits + 1, "{tracking:?}: {key} is cached");
            write_behind(&cluster, &cache, &key, "v2").await;
            assert_eq!(cache.get(&key).await.unwrap(), bulk("v2"), "{tracking:?}: node {node} invalidated {key}");
        }
    }
}

/// A warm reload on a cluster replays the latest fills from every node into
/// the new backend, and they stay tracked on their nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_reload_replays_fills_from_every_node() {
    let cluster = RedisCluster::start();
    let cache = CacheBuilder::cluster(cluster.urls()).warm_reloads(16).build().await.unwrap();
    let keys: Vec<String> = (0..3).map(|node| cluster.key_on_node(node, "warm")).collect();
    for key in &keys {
        cluster.write(key.as_bytes(), b"v");
        assert_eq!(cache.get(key).await.unwrap(), bulk("v"));
    }
    let source = nearcache::BackendSource::WasmFile(nearcache_tests::guests::RUST_STORE.into());
    let reloaded = cache.reload_backend(source, Vec::new()).await.unwrap();
    assert_eq!(reloaded.warmed, 3, "one fill per node");
    let hits = cache.stats().hits;
    for key in &keys {
        assert_eq!(cache.get(key).await.unwrap(), bulk("v"));
    }
    assert_eq!(cache.stats().hits, hits + 3, "the new backend serves them at once");
    for key in &keys {
        write_behind(&cluster, &cache, key, "v2").await;
        assert_eq!(cache.get(key).await.unwrap(), bulk("v2"), "{key} is tracked on its node");
    }
}

/// The wasm backends work on a cluster as on one server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wasm_backend_serves_the_cluster() {
    let cluster = RedisCluster::start();
    let source = nearcache::BackendSource::WasmFile(nearcache_tests::guests::RUST_STORE.into());
    let cache = CacheBuilder::cluster(cluster.urls()).backend_source(source, Vec::new()).build().await.unwrap();
    assert!(cache.backend_name().contains("rust"), "{}", cache.backend_name());
    for node in 0..3 {
        let key = cluster.key_on_node(node, "wasm");
        cluster.write(key.as_bytes(), b"v1");
        assert_eq!(cache.get(&key).await.unwrap(), bulk("v1"));
        let hits = cache.stats().hits;
        assert_eq!(cache.get(&key).await.unwrap(), bulk("v1"));
        assert_eq!(cache.stats().hits, hits + 1);
        write_behind(&cluster, &cache, &key, "v2").await;
        assert_eq!(cache.get(&key).await.unwrap(), bulk("v2"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_the_cache_are_routed_and_read_back() {
    let cluster = RedisCluster::start();
    let cache = cache(&cluster, NEVER).await;
    for node in 0..3 {
        let key = cluster.key_on_node(node, "own");
        assert_eq!(cache.get(&key).await.unwrap(), Value::Nil);
        cache.set(&key, "mine").await.unwrap();
        assert_eq!(cache.get(&key).await.unwrap(), bulk("mine"), "read your own write");
        assert_eq!(cluster.read(key.as_bytes()).as_deref(), Some(&b"mine"[..]));
    }
    // DEL of keys on two nodes: the cluster client splits it by slot, and
    // the entries of both keys go.
    let (a, b) = (cluster.key_on_node(0, "del"), cluster.key_on_node(1, "del"));
    cache.set(&a, "x").await.unwrap();
    cache.set(&b, "y").await.unwrap();
    assert_eq!(cache.mget([&a, &b]).await.unwrap(), [bulk("x"), bulk("y")]);
    assert_eq!(cache.del([&a, &b]).await.unwrap(), 2);
    assert_eq!(cache.mget([&a, &b]).await.unwrap(), [Value::Nil, Value::Nil]);
}

#[tokio::test]
async fn a_server_without_cluster_support_is_a_clear_error() {
    let server = nearcache_tests::redis_server::RedisServer::start(&[]);
    let error = CacheBuilder::cluster([server.url()]).build().await.err().expect("not a cluster");
    let message = error.to_string();
    assert!(message.contains("cluster support disabled"), "{message}");
    let error = CacheBuilder::cluster(["redis://127.0.0.1:1/2"]).build().await.err().expect("db 2");
    assert!(error.to_string().contains("database 0 only"), "{error}");
    let error = CacheBuilder::cluster(Vec::<String>::new()).build().await.err().expect("no seeds");
    assert!(error.to_string().contains("at least one seed"), "{error}");
    let error =
        CacheBuilder::cluster(["redis://127.0.0.1:1", "http://127.0.0.1:2"]).build().await.err().expect("scheme");
    assert!(matches!(error, Error::InvalidUrl { .. }) && error.to_string().contains("http"), "{error}");
    let zero = CacheBuilder::cluster(["redis://127.0.0.1:1"]).topology_poll(Duration::ZERO);
    let error = zero.build().await.err().expect("a zero poll interval");
    assert!(error.to_string().contains("topology_poll"), "{error}");
}

/// A single-server cache pointed at one cluster node serves that node's
/// keys and says what is wrong for the others, reads and writes alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_server_cache_on_a_cluster_node_says_to_use_cluster() {
    let cluster = RedisCluster::start();
    let cache = CacheBuilder::new(cluster.node_url(0)).build().await.unwrap();
    let (here, elsewhere) = (cluster.key_on_node(0, "single"), cluster.key_on_node(1, "single"));
    cache.set(&here, "v").await.unwrap();
    assert_eq!(cache.get(&here).await.unwrap(), bulk("v"));
    for error in [cache.get(&elsewhere).await.unwrap_err(), cache.set(&elsewhere, "v").await.unwrap_err()] {
        assert!(matches!(error, Error::ClusterNode { .. }), "{error:?}");
        assert!(error.to_string().contains("CacheBuilder::cluster"), "{error}");
    }
}

/// The coherence checker of the tracking tests, on the cluster: writers
/// through the redis crate's cluster client, readers through the cache,
/// and one node's tracked connection killed every 400 ms, each node in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_entry_is_stale_on_a_cluster_after_writes_and_kills() {
    let cluster = RedisCluster::start();
    let cache = Arc::new(cache(&cluster, Duration::from_millis(200)).await);
    let client = redis::cluster::ClusterClient::new(cluster.urls()).unwrap();
    let mut writers = Vec::new();
    for _ in 0..3 {
        writers.push(client.get_async_connection().await.unwrap());
    }
    let check = client.get_async_connection().await.unwrap();
    let mut node = 0;
    let report = nearcache_tests::coherence::run(Arc::clone(&cache), writers, check, || {
        let killed = tokio::task::block_in_place(|| cluster.kill_tracking_clients(node));
        node = (node + 1) % 3;
        async move { killed }
    })
    .await;
    println!("cluster coherence: {report}");
    report.assert_coherent();
    let nodes = &report.stats.nodes;
    assert!(nodes.iter().all(|n| n.invalidated_keys > 0 && n.losses > 0), "every node took part: {nodes:?}");
}

/// One node behind a relay that stops forwarding without closing: once the
/// cache's clock passes its staleness bound, that node's connection is
/// given up and its keys' reads fail, while the other nodes serve; once
/// the relay heals, the node's new value is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_node_stops_serving_once_the_bound_passes_and_the_others_go_on() {
    let cluster = RedisCluster::start();
    let keys: Vec<String> = (0..3).map(|node| cluster.key_on_node(node, "cut")).collect();
    for key in &keys {
        cluster.write(key.as_bytes(), b"old");
    }
    let relay = Relay::start(([127, 0, 0, 1], cluster.ports()[1]).into()).await;
    tokio::task::block_in_place(|| cluster.announce_port(1, relay.port()));
    let clock = nearcache::ManualClock::new();
    let bound = Duration::from_secs(1);
    let cache = CacheBuilder::cluster(cluster.urls())
        .topology_poll(NEVER)
        .max_backoff(Duration::from_millis(20))
        .timeouts(Duration::from_millis(300), Duration::from_secs(30))
        .max_staleness(bound)
        .clock(clock.clone())
        .build()
        .await
        .expect("cache connects to the cluster");
    assert!(cache.nodes().contains(&format!("127.0.0.1:{}", relay.port())), "node 1 is read through the relay");
    for key in &keys {
        assert_eq!(cache.get(key).await.unwrap(), bulk("old"));
    }

    relay.partition();
    let mut node1 = cluster.client(1).get_multiplexed_async_connection().await.unwrap();
    redis::cmd("SET").arg(&keys[1]).arg("new").query_async::<()>(&mut node1).await.unwrap();
    // The clock moves past the bound in steps of just over a quarter of
    // it: after each, the nodes that answer are pinged and answer, while
    // the partitioned one stays silent.
    let behind_relay = format!("127.0.0.1:{}", relay.port());
    for step in 1..=4 {
        clock.advance(bound / 4 + Duration::from_millis(1));
        tokio::time::timeout(Duration::from_secs(30), async {
            let answered = |stats: nearcache::CacheStats| {
                stats.nodes.iter().filter(|node| node.address != behind_relay).all(|node| node.keepalive_pings >= step)
            };
            while !answered(cache.stats()) {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the nodes that answer are pinged");
    }
    tokio::time::timeout(Duration::from_secs(30), cache.wait_connection_losses(1))
        .await
        .expect("the watchdog gives the silent node up");
    assert_eq!(cache.stats().silent_losses, 1, "only the partitioned node was given up");
    assert!(matches!(cache.get(&keys[1]).await, Err(Error::Disconnected)), "the partitioned node's key");
    for key in [&keys[0], &keys[2]] {
        assert_eq!(cache.get(key).await.unwrap(), bulk("old"), "{key} is on a node that answers");
    }

    relay.heal();
    tokio::time::timeout(Duration::from_secs(30), cache.wait_connected()).await.expect("reconnects once healed");
    assert_eq!(cache.get(&keys[1]).await.unwrap(), bulk("new"));
}

/// Writes through `command` and `pipeline` go through the cluster client,
/// on connections without tracking; the cache still reads them back at
/// once, for keys on every node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_command_are_read_back_on_every_node() {
    let cluster = RedisCluster::start();
    let cache = cache(&cluster, NEVER).await;
    let keys: Vec<String> = (0..3).map(|node| cluster.key_on_node(node, "ryw")).collect();
    for round in 0..300 {
        let key = &keys[round % 3];
        let _ = cache.get(key).await.unwrap();
        let value = round.to_string();
        if round % 2 == 0 {
            cache.command(redis::cmd("SET").arg(key).arg(&value)).await.unwrap();
        } else {
            let mut pipe = redis::pipe();
            pipe.cmd("SET").arg(key).arg(&value);
            assert_eq!(cache.pipeline(&pipe).await.unwrap(), [Value::Okay]);
        }
        assert_eq!(cache.get(key).await.unwrap(), bulk(&value), "round {round}");
    }
}
