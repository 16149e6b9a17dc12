//! A private `redis-server` on a free loopback port, stopped by pid on drop.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A redis-server process this test owns.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
    /// Serve TLS only, with this certificate and key.
    tls: Option<(PathBuf, PathBuf)>,
}

/// Whether `redis-server` is on PATH.
pub fn available() -> bool {
    Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// A loopback port nothing listens on (at the moment of asking).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("bind a free port")
}

/// Spawns `command` (a redis-server and its arguments) and waits until it
/// logs "Ready to accept connections"; `None` if it exited first (a port
/// taken meanwhile). Its log is drained from then on, so the server never
/// blocks on a full pipe.
pub(crate) fn spawn_until_ready(mut command: Command) -> Option<Child> {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn redis-server");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    if lines.by_ref().map_while(Result::ok).any(|line| line.contains("Ready to accept connections")) {
        std::thread::spawn(move || lines.for_each(drop));
        Some(child)
    } else {
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

/// A fresh directory for one server, after checking redis-server is there.
fn server_dir(kind: &str) -> PathBuf {
    assert!(available(), "redis-server is not on PATH: install it (apt-get install redis-server)");
    let dir = std::env::temp_dir().join(format!("nearcache-redis-{kind}-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).expect("create the server's directory");
    dir
}

impl RedisServer {
    /// Starts a server; `extra` are more `--option value` arguments.
    ///
    /// # Panics
    /// If `redis-server` is not on PATH or does not start.
    pub fn start(extra: &[&str]) -> RedisServer {
        let dir = server_dir("plain");
        let mut server = RedisServer {
            port: 0,
            dir,
            child: None,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            tls: None,
        };
        server.run_on_a_free_port();
        server
    }

    /// Starts a server that speaks only TLS, with a fresh certificate for
    /// 127.0.0.1 signed by a fresh CA (made with `openssl`). Returns the
    /// server and the CA certificate (PEM), which clients must trust.
    pub fn start_tls() -> (RedisServer, Vec<u8>) {
        let dir = server_dir("tls");
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").expect("write the SAN extension");
        // A CA, and a server certificate for 127.0.0.1 that it signs.
        let steps = [
            "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=nearcache-test-ca -keyout ca.key -out ca.pem",
            "req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout key.pem -out server.csr",
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile san.cnf -out cert.pem",
        ];
        for step in steps {
            let made = Command::new("openssl")
                .args(step.split_whitespace())
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(made, "openssl {step} failed: install openssl (apt-get install openssl)");
        }
        let pem = std::fs::read(dir.join("ca.pem")).expect("read the CA certificate");
        let mut server = RedisServer { port: 0, dir, child: None, extra: Vec::new(), tls: Some((cert, key)) };
        server.run_on_a_free_port();
        (server, pem)
    }

    fn run_on_a_free_port(&mut self) {
        for _ in 0..5 {
            self.port = free_port();
            if self.spawn() {
                return;
            }
        }
        panic!("redis-server did not start");
    }

    /// Starts the process on `self.port`; waits for "Ready to accept connections".
    fn spawn(&mut self) -> bool {
        let mut command = Command::new("redis-server");
        match &self.tls {
            None => command.args(["--port", &self.port.to_string()]),
            Some((cert, key)) => command
                .args(["--port", "0", "--tls-port", &self.port.to_string(), "--tls-auth-clients", "no"])
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key),
        };
        command
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--enable-debug-command", "yes"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra);
        self.child = spawn_until_ready(command);
        self.child.is_some()
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A plain client (no tracking, no cache) for writing behind the cache's back.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("a valid URL")
    }

    /// Kills the process and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server and starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        assert!(self.spawn(), "redis-server did not restart on port {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Kills the connections that have tracking on (a cache's), not the others,
/// through `admin`; returns how many it killed.
pub async fn kill_tracking_clients(admin: &mut redis::aio::MultiplexedConnection) -> usize {
    let list: String = redis::cmd("CLIENT").arg("LIST").query_async(admin).await.expect("CLIENT LIST");
    let ids = tracking_client_ids(&list);
    for id in &ids {
        let _: redis::Value =
            redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id).query_async(admin).await.expect("CLIENT KILL");
    }
    ids.len()
}

/// The ids of the connections with tracking on (flag `t`) in a `CLIENT
/// LIST` reply.
pub(crate) fn tracking_client_ids(list: &str) -> Vec<String> {
    list.lines()
        .filter(|line| line.split(' ').any(|field| field.strip_prefix("flags=").is_some_and(|f| f.contains('t'))))
        .filter_map(|line| line.split(' ').find_map(|field| field.strip_prefix("id=")).map(str::to_owned))
        .collect()
}
