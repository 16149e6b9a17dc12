//! Which Redis a command talks to: the one at `--redis`, the default one,
//! or a private redis-server this program starts.
//!
//! A private server is started only when `--redis` is not given and nothing
//! answers at the default URL (or always, with `--start-redis always`). A
//! URL given explicitly is never replaced: if it does not answer, that is
//! the error.

use std::time::Duration;

use redis::AsyncConnectionConfig;

use crate::failure::{Code, Failure};
use crate::redis_server::{self, RedisServer};

/// Where Redis is expected when `--redis` is not given.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// How long a probe waits for an answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// When to start a private redis-server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StartRedis {
    /// When `--redis` is not given and nothing answers at the default URL.
    Auto,
    /// Always, ignoring the default URL.
    Always,
    /// Never.
    Never,
}

/// The flags that choose the Redis.
#[derive(Debug, Clone, clap::Args)]
pub struct RedisArgs {
    /// The Redis to use [default: redis://127.0.0.1:6379, or a private
    /// redis-server if nothing answers there].
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// When to start a private redis-server on a free loopback port
    /// (stopped on exit).
    #[arg(long, value_enum, default_value_t = StartRedis::Auto, conflicts_with = "redis", value_name = "WHEN")]
    pub start_redis: StartRedis,
}

/// The Redis in use, and the private server behind it if this program started one.
#[derive(Debug)]
pub struct Target {
    /// Where to connect.
    pub url: String,
    /// Kept alive for the run; dropping it stops the server.
    pub server: Option<RedisServer>,
    /// One line that says which Redis this is, for the user.
    pub note: String,
}

impl Target {
    /// Stops the private server, if there is one; says so.
    pub fn stop(self) -> Option<String> {
        let server = self.server?;
        let pid = server.pid();
        drop(server);
        Some(format!("stopped the private redis-server (pid {pid})"))
    }
}

/// What to do, from what is known.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Use the URL.
    Use,
    /// Start a private server.
    Start,
    /// Fail: the URL does not answer.
    Unreachable,
    /// Fail: nothing answers and no server can be started.
    NoRedis,
}

fn plan(given: bool, start: StartRedis, answers: impl Fn() -> bool, on_path: impl Fn() -> bool) -> Plan {
    match start {
        StartRedis::Always if on_path() => Plan::Start,
        StartRedis::Always => Plan::NoRedis,
        _ if answers() => Plan::Use,
        StartRedis::Auto if !given && on_path() => Plan::Start,
        StartRedis::Auto if !given => Plan::NoRedis,
        _ => Plan::Unreachable,
    }
}

/// Finds or starts the Redis to use.
pub async fn resolve(args: &RedisArgs) -> Result<Target, Failure> {
    let url = args.redis.clone().unwrap_or_else(|| DEFAULT_URL.to_owned());
    let shown = masked(&url);
    if let Err(error) = redis::Client::open(url.as_str()) {
        return Err(Failure::new(Code::Usage, format!("invalid Redis URL `{shown}`: {error}")));
    }
    let probe = match args.start_redis {
        StartRedis::Always => Ok(()),
        _ => probe(&url).await,
    };
    let reason = probe.as_ref().err().cloned().unwrap_or_default();
    match plan(args.redis.is_some(), args.start_redis, || probe.is_ok(), redis_server::on_path) {
        Plan::Use => Ok(Target { note: format!("Redis at {shown}"), url, server: None }),
        Plan::Start => {
            let server = tokio::task::spawn_blocking(RedisServer::start)
                .await
                .map_err(|e| Failure::new(Code::Redis, e))?
                .map_err(|reason| Failure::new(Code::Redis, reason))?;
            let why = match args.start_redis {
                StartRedis::Always => String::new(),
                _ => format!("nothing answers at {shown}; "),
            };
            let note = format!(
                "{why}started a private redis-server at {} (pid {}), stopped on exit",
                server.url(),
                server.pid()
            );
            Ok(Target { url: server.url(), server: Some(server), note })
        }
        Plan::Unreachable => Err(Failure::new(Code::Redis, format!("cannot connect to Redis at {shown}: {reason}"))),
        Plan::NoRedis => Err(Failure::new(
            Code::Redis,
            format!(
                "nothing answers at {shown} and redis-server is not on PATH: install Redis \
                 (e.g. `apt-get install redis-server`) or pass --redis URL"
            ),
        )),
    }
}

/// Connects and sends `PING`; the reason if that fails.
async fn probe(url: &str) -> Result<(), String> {
    // rustls needs a process-wide crypto provider for rediss:// URLs.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(PROBE_TIMEOUT))
        .set_response_timeout(Some(PROBE_TIMEOUT));
    let mut connection =
        client.get_multiplexed_async_connection_with_config(&config).await.map_err(|e| e.to_string())?;
    redis::cmd("PING").query_async::<()>(&mut connection).await.map_err(|e| e.to_string())
}

/// The URL with any password replaced, for messages.
pub use nearcache::masked_url as masked;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_a_server_only_for_the_default_url() {
        use StartRedis::*;
        // The default URL (not given): use it if it answers, else start one if possible.
        assert_eq!(plan(false, Auto, || true, || true), Plan::Use);
        assert_eq!(plan(false, Auto, || false, || true), Plan::Start);
        assert_eq!(plan(false, Auto, || false, || false), Plan::NoRedis);
        // An explicit URL is never replaced.
        assert_eq!(plan(true, Auto, || false, || true), Plan::Unreachable);
        assert_eq!(plan(true, Auto, || true, || true), Plan::Use);
        assert_eq!(plan(false, Never, || false, || true), Plan::Unreachable);
        assert_eq!(plan(false, Always, || true, || true), Plan::Start);
        assert_eq!(plan(false, Always, || true, || false), Plan::NoRedis);
    }
}
