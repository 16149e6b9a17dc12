//! A Redis Cluster's slot map, read from its nodes, and the redis crate's
//! cluster client, which routes and follows redirections for everything
//! that is not a cached read.

use redis::cluster_async::ClusterConnection;
use redis::{ConnectionInfo, ErrorKind, RedisError, Value};

use super::Topology;
use crate::tracking::connection::Timeouts;

/// Connects the redis crate's cluster client through `seeds`, and reads
/// the slot map.
pub(crate) async fn connect_cluster(
    seeds: &[ConnectionInfo],
    tls_root: Option<Vec<u8>>,
    timeouts: Timeouts,
) -> Result<(ClusterConnection, Topology), RedisError> {
    let topology = connect_cluster_slots(seeds, timeouts).await?;
    let mut builder = redis::cluster::ClusterClient::builder(seeds.to_vec())
        .connection_timeout(timeouts.connect)
        .response_timeout(timeouts.response);
    if let Some(pem) = tls_root {
        builder = builder.certs(redis::TlsCertificates { client_tls: None, root_cert: Some(pem) });
    }
    Ok((builder.build()?.get_async_connection().await?, topology))
}

/// The slot map, from the first seed that answers.
pub(crate) async fn connect_cluster_slots(
    seeds: &[ConnectionInfo],
    timeouts: Timeouts,
) -> Result<Topology, RedisError> {
    let mut last = None;
    for seed in seeds {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeouts.connect))
            .set_response_timeout(Some(timeouts.response));
        let connection = match redis::Client::open(seed.clone()) {
            Ok(client) => client.get_multiplexed_async_connection_with_config(&config).await,
            Err(error) => Err(error),
        };
        match connection {
            Ok(connection) => match read_slot_map([connection]).await {
                Ok(topology) => return Ok(topology),
                Err(error) => last = Some(error),
            },
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| RedisError::from((ErrorKind::InvalidClientConfig, "no seed node given"))))
}

/// The slot map, from the first of `connections` that answers.
pub(crate) async fn read_slot_map(
    connections: impl IntoIterator<Item = redis::aio::MultiplexedConnection>,
) -> Result<Topology, RedisError> {
    let mut last = None;
    for mut connection in connections {
        match redis::cmd("CLUSTER").arg("SLOTS").query_async::<Value>(&mut connection).await {
            Ok(reply) => {
                return Topology::from_cluster_slots(&reply).map_err(|reason| {
                    RedisError::from((ErrorKind::UnexpectedReturnType, "unreadable slot map", reason))
                });
            }
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| RedisError::from((ErrorKind::Io, "no node is connected"))))
}
