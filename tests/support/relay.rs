//! A TCP relay between a client and a server on loopback, which a test can
//! silence: it stops forwarding in one direction or both without closing
//! anything (no FIN, no RST), as a dead switch, a partition or a paused VM
//! would. Bytes sent meanwhile wait in the relay and the kernel's buffers,
//! and flow again, in order, when the direction is resumed.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Which way bytes travel through the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client (the side that connected to the relay) to the server.
    ToServer,
    /// From the server back to the client.
    ToClient,
}

/// A relay listening on a free loopback port, forwarding every connection
/// it accepts to `target`. Stops on drop; connections it carried are cut
/// then (their sockets dropped).
pub struct Relay {
    port: u16,
    to_server: Arc<watch::Sender<bool>>,
    to_client: Arc<watch::Sender<bool>>,
    accept: JoinHandle<()>,
}

impl Relay {
    /// Starts a relay to `target`, forwarding in both directions. Must be
    /// called inside a tokio runtime, which runs the relay's tasks.
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the relay");
        let port = listener.local_addr().expect("the relay's address").port();
        let to_server = Arc::new(watch::Sender::new(true));
        let to_client = Arc::new(watch::Sender::new(true));
        let (up, down) = (Arc::clone(&to_server), Arc::clone(&to_client));
        let accept = tokio::spawn(async move {
            let mut pumps = Vec::new();
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else { continue };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                pumps.push(AbortOnDrop(tokio::spawn(pump(client_read, server_write, up.subscribe()))));
                pumps.push(AbortOnDrop(tokio::spawn(pump(server_read, client_write, down.subscribe()))));
            }
        });
        Relay { port, to_server, to_client, accept }
    }

    /// The relay's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops forwarding in `direction`, without closing anything.
    pub fn pause(&self, direction: Direction) {
        self.switch(direction).send_replace(false);
    }

    /// Forwards in `direction` again, starting with what waited.
    pub fn resume(&self, direction: Direction) {
        self.switch(direction).send_replace(true);
    }

    /// Stops forwarding both ways.
    pub fn partition(&self) {
        self.pause(Direction::ToServer);
        self.pause(Direction::ToClient);
    }

    /// Forwards both ways again.
    pub fn heal(&self) {
        self.resume(Direction::ToServer);
        self.resume(Direction::ToClient);
    }

    fn switch(&self, direction: Direction) -> &watch::Sender<bool> {
        match direction {
            Direction::ToServer => &self.to_server,
            Direction::ToClient => &self.to_client,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Dropping the accept task drops its pumps, which abort.
        self.accept.abort();
    }
}

/// Aborts its task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Copies `from` to `to` while `open` says so; a chunk read while open is
/// held, not written, if the direction closed meanwhile. Ends when either
/// side closes.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut open: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        if open.wait_for(|&open| open).await.is_err() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if open.wait_for(|&open| open).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
