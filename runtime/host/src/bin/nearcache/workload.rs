//! The workload: a key space under a prefix, client tasks that read through
//! the system under test and write through a second, plain client, and the
//! tally of what they did (counts, read latency histogram).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use redis::aio::MultiplexedConnection;
use tokio::task::JoinHandle;

use crate::args::WorkloadArgs;
use crate::systems::System;
use crate::zipf::{EXPONENT, Rng, Zipf};

/// Keys written, read or deleted per round trip outside the workload.
pub const BATCH: usize = 1000;

/// Every key expires after this long, so keys left behind by a killed run
/// do not stay; writes keep the expiry (`SET ... KEEPTTL`).
const KEY_EXPIRY_SECS: u64 = 3600;

/// How often a client hands its tally over (for the live status line).
const HAND_OVER_EVERY: Duration = Duration::from_millis(50);

/// The keys of one run, all under one prefix nothing else uses.
#[derive(Debug)]
pub struct KeySpace {
    prefix: String,
    keys: Vec<Vec<u8>>,
}

impl KeySpace {
    /// `count` keys named `nearcache:<command>:<pid>-<start time>:<n>`.
    pub fn new(command: &str, count: u32) -> KeySpace {
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let prefix = format!("nearcache:{command}:{}-{started}:", std::process::id());
        let keys = (0..count).map(|n| format!("{prefix}{n}").into_bytes()).collect();
        KeySpace { prefix, keys }
    }

    /// The prefix every key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys.
    pub fn keys(&self) -> &[Vec<u8>] {
        &self.keys
    }

    /// Writes every key with a `value_size`-byte value.
    pub async fn populate(&self, connection: &mut MultiplexedConnection, value_size: usize) -> redis::RedisResult<()> {
        let value = vec![b'v'; value_size];
        for chunk in self.keys.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for key in chunk {
                pipe.cmd("SET").arg(key).arg(&value).arg("EX").arg(KEY_EXPIRY_SECS).ignore();
            }
            pipe.query_async::<()>(connection).await?;
        }
        Ok(())
    }

    /// Deletes every key; returns how many existed.
    pub async fn delete(&self, connection: &mut MultiplexedConnection) -> redis::RedisResult<u64> {
        let mut deleted = 0;
        for chunk in self.keys.chunks(BATCH) {
            deleted += redis::cmd("DEL").arg(chunk).query_async::<u64>(connection).await?;
        }
        Ok(deleted)
    }
}

/// What some clients did over some time.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Reads through the system under test.
    pub reads: u64,
    /// SETs through the writer.
    pub writes: u64,
    /// Operations that failed.
    pub errors: u64,
    /// The first failure's reason.
    pub first_error: Option<String>,
    /// Read latency in nanoseconds.
    pub latency: Histogram<u64>,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Tally {
        // 1 ns to 60 s at 3 significant digits: a hit and a slow miss alike.
        let latency = Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds");
        Tally { reads: 0, writes: 0, errors: 0, first_error: None, latency }
    }

    /// Adds `other` into this tally.
    pub fn add(&mut self, other: &Tally) {
        self.reads += other.reads;
        self.writes += other.writes;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }

    /// Reads plus writes.
    pub fn ops(&self) -> u64 {
        self.reads + self.writes
    }

    /// A read latency quantile in microseconds; 0 with no reads.
    pub fn quantile_us(&self, quantile: f64) -> f64 {
        if self.latency.is_empty() { 0.0 } else { self.latency.value_at_quantile(quantile) as f64 / 1e3 }
    }

    fn error(&mut self, reason: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(reason);
        }
    }

    fn clear(&mut self) {
        self.reads = 0;
        self.writes = 0;
        self.errors = 0;
        self.first_error = None;
        self.latency.reset();
    }
}

impl Default for Tally {
    fn default() -> Tally {
        Tally::new()
    }
}

/// Where clients hand their tallies: one for the status line's interval,
/// one for the current phase.
#[derive(Debug, Default)]
struct Recorder {
    interval: Tally,
    phase: Tally,
}

/// The workload's settings.
#[derive(Debug, Clone)]
pub struct Workload {
    keys: Arc<KeySpace>,
    zipf: Arc<Zipf>,
    clients: u32,
    value_size: usize,
    read_ratio: f64,
}

impl Workload {
    /// The workload `args` describe over `keys`.
    pub fn new(args: &WorkloadArgs, keys: Arc<KeySpace>) -> Workload {
        let zipf = Arc::new(Zipf::new(keys.len(), EXPONENT));
        Workload {
            keys,
            zipf,
            clients: args.clients,
            value_size: args.value_size as usize,
            read_ratio: args.read_ratio,
        }
    }

    /// The key space.
    pub fn keys(&self) -> &KeySpace {
        &self.keys
    }

    /// The share of reads that go to the keys at `indices`.
    pub fn read_share(&self, indices: &[usize]) -> f64 {
        self.zipf.share(indices)
    }

    /// Starts the clients: they read through `system` and write through `writer`.
    pub fn start(&self, system: Arc<System>, writer: MultiplexedConnection) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let recorder = Arc::new(Mutex::new(Recorder::default()));
        let tasks = (0..self.clients)
            .map(|id| {
                let client = Client {
                    id,
                    workload: self.clone(),
                    system: Arc::clone(&system),
                    writer: writer.clone(),
                    stop: Arc::clone(&stop),
                    recorder: Arc::clone(&recorder),
                };
                tokio::spawn(client.run())
            })
            .collect();
        Running { stop, recorder, tasks, system, phase_started: Instant::now() }
    }
}

/// Clients at work.
pub struct Running {
    stop: Arc<AtomicBool>,
    recorder: Arc<Mutex<Recorder>>,
    tasks: Vec<JoinHandle<()>>,
    system: Arc<System>,
    phase_started: Instant,
}

impl Running {
    /// The system the clients read through.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// What was handed over since the last call.
    pub fn take_interval(&self) -> Tally {
        let mut recorder = self.recorder.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut recorder.interval)
    }

    /// What was handed over since the phase began, and how long ago that
    /// was; a new phase begins.
    pub fn take_phase(&mut self) -> (Tally, Duration) {
        let mut recorder = self.recorder.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = self.phase_started.elapsed();
        self.phase_started = Instant::now();
        (std::mem::take(&mut recorder.phase), elapsed)
    }

    /// Stops the clients, waits for them, and returns the last phase.
    pub async fn stop(&mut self) -> (Tally, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let elapsed = self.phase_started.elapsed();
        for task in std::mem::take(&mut self.tasks) {
            if let Err(error) = task.await {
                let mut recorder = self.recorder.lock().unwrap_or_else(|p| p.into_inner());
                recorder.phase.error(format!("a client task failed: {error}"));
            }
        }
        let (tally, _) = self.take_phase();
        (tally, elapsed)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// One client task.
struct Client {
    id: u32,
    workload: Workload,
    system: Arc<System>,
    writer: MultiplexedConnection,
    stop: Arc<AtomicBool>,
    recorder: Arc<Mutex<Recorder>>,
}

impl Client {
    async fn run(mut self) {
        let workload = &self.workload;
        let mut rng = Rng::new(0x6e65_6172_6361_6368 ^ u64::from(self.id));
        // A read when the next 64 random bits fall under this.
        let read_below = (workload.read_ratio * u64::MAX as f64) as u64;
        let mut value = vec![b'w'; workload.value_size];
        let mut written = 0u64;
        let mut tally = Tally::new();
        let mut handed_over = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            // A cached read may never return Pending: spend the coop budget
            // in every system's loop alike so the tasks yield to the timers.
            tokio::task::coop::consume_budget().await;
            let key = &workload.keys.keys[workload.zipf.sample(&mut rng)];
            let started = Instant::now();
            if workload.read_ratio >= 1.0 || rng.next_u64() < read_below {
                match self.system.get(key).await {
                    Ok(value) if value.len() == workload.value_size => {
                        tally.reads += 1;
                        let nanos = started.elapsed().as_nanos();
                        tally.latency.saturating_record(u64::try_from(nanos).unwrap_or(u64::MAX).max(1));
                    }
                    Ok(value) => tally.error(format!("read {} bytes, expected {}", value.len(), workload.value_size)),
                    Err(error) => tally.error(format!("GET: {error}")),
                }
            } else {
                written += 1;
                // A new value each time, of the same size.
                let stamp = written.to_le_bytes();
                let n = stamp.len().min(value.len());
                value[..n].copy_from_slice(&stamp[..n]);
                let set =
                    redis::cmd("SET").arg(key).arg(&value).arg("KEEPTTL").query_async::<()>(&mut self.writer).await;
                match set {
                    Ok(()) => tally.writes += 1,
                    Err(error) => tally.error(format!("SET: {error}")),
                }
            }
            if started.duration_since(handed_over) >= HAND_OVER_EVERY {
                self.hand_over(&mut tally);
                handed_over = started;
            }
        }
        self.hand_over(&mut tally);
    }

    fn hand_over(&self, tally: &mut Tally) {
        let mut recorder = self.recorder.lock().unwrap_or_else(|p| p.into_inner());
        recorder.interval.add(tally);
        recorder.phase.add(tally);
        drop(recorder);
        tally.clear();
    }
}
