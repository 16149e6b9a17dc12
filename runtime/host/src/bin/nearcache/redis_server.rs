//! A private `redis-server` on a free loopback port, for when no Redis
//! answers: started in its own process group (so a Ctrl-C in the terminal
//! reaches this program, which stops in order), killed by pid on drop.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A redis-server process this program started and owns.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Child,
}

/// Whether `redis-server` is on PATH.
pub fn on_path() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl RedisServer {
    /// Starts redis-server on a free loopback port, without persistence,
    /// in a fresh temporary directory; waits until it accepts connections.
    pub fn start() -> Result<RedisServer, String> {
        let mut last = String::new();
        // A port free when asked may be taken by the time the server binds.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("cannot find a free loopback port: {e}"))?
                .port();
            match RedisServer::start_on(port) {
                Ok(server) => return Ok(server),
                Err(reason) => last = reason,
            }
        }
        Err(last)
    }

    fn start_on(port: u16) -> Result<RedisServer, String> {
        let dir = std::env::temp_dir().join(format!("nearcache-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run redis-server: {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (ready_tx, ready_rx) = mpsc::channel();
        // Reads the log until ready, then keeps draining it so the server
        // never blocks on a full pipe; ends when the server exits.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
            let ready = lines.by_ref().any(|line| line.contains("Ready to accept connections"));
            let _ = ready_tx.send(ready);
            lines.for_each(drop);
        });
        let server = RedisServer { port, dir, child };
        match ready_rx.recv_timeout(READY_TIMEOUT) {
            Ok(true) => Ok(server),
            Ok(false) | Err(_) => Err(format!("redis-server did not start on port {port}")),
        }
    }

    /// `redis://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        tracing::debug!(pid = self.child.id(), port = self.port, "private redis-server stopped");
    }
}
