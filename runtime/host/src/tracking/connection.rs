//! Opening a RESP3 connection with tracking on.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ConnectionInfo, PushInfo, RedisError};

use super::mode::Tracking;

/// Timeouts of a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    /// A request on a tracked connection unanswered for this long loses
    /// the connection.
    pub(crate) response: Duration,
}

/// Connects, speaks RESP3 (HELLO 3), and turns tracking on. `on_push` is
/// called for every push message, in socket order, from the connection's
/// driver, before any reply that follows the push is handed out; it must
/// not block.
pub(crate) async fn open(
    info: &ConnectionInfo,
    tracking: &Tracking,
    timeouts: Timeouts,
    on_push: impl Fn(PushInfo) + Send + Sync + 'static,
) -> Result<MultiplexedConnection, RedisError> {
    let client = Client::open(info.clone())?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeouts.connect))
        .set_response_timeout(Some(timeouts.response))
        .set_push_sender(move |push: PushInfo| {
            on_push(push);
            Ok::<(), std::convert::Infallible>(())
        });
    let mut connection = client.get_multiplexed_async_connection_with_config(&config).await?;
    let mut command = redis::cmd("CLIENT");
    command.arg("TRACKING").arg("ON");
    for argument in tracking.arguments() {
        command.arg(argument);
    }
    command.query_async::<()>(&mut connection).await?;
    Ok(connection)
}
