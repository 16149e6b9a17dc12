//! Watching a running workload: a status tick at a time until the phase's
//! time is up or a stop arrives; SIGHUP, and a change to the backend's
//! component file, reload it meanwhile.

use std::time::{Duration, Instant};

use nearcache::watch::BackendWatch;

use crate::args::BackendArg;
use crate::backend::Source;
use crate::reload;
use crate::signals::{Event, Signals};
use crate::status::{Line, Status};
use crate::systems::Counters;
use crate::workload::Running;

/// Why a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The phase's time is up.
    Elapsed,
    /// Ctrl-C or SIGTERM.
    Stopped,
}

/// What a watch reports to and listens to.
pub struct Monitor<'a> {
    /// Where ticks and events go.
    pub status: &'a Status,
    /// Stop and reload requests.
    pub signals: &'a mut Signals,
    /// When the whole run began (ticks show time since then).
    pub run_started: Instant,
    /// The system's counters when the run began.
    pub base: Counters,
    /// What SIGHUP reloads, if the system is nearcache.
    pub hangup: Option<&'a Source>,
}

impl Monitor<'_> {
    /// Ticks until `length` has passed or a stop arrives.
    pub async fn watch(&mut self, running: &Running, length: Duration) -> Ended {
        let phase_started = Instant::now();
        let deadline = tokio::time::Instant::from_std(phase_started + length);
        let mut ticks = tokio::time::interval(self.status.tick_every());
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        let mut last = (Instant::now(), running.system().counters());
        let mut file_watch = self.watch_file(running);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return Ended::Elapsed,
                _ = ticks.tick() => {
                    let now = (Instant::now(), running.system().counters());
                    let tally = running.take_interval();
                    let seconds = now.0.duration_since(last.0).as_secs_f64().max(1e-9);
                    let line = Line {
                        elapsed: self.run_started.elapsed(),
                        backend: running.system().backend(),
                        ops_per_sec: tally.ops() as f64 / seconds,
                        hit_ratio: now.1.since(last.1).hit_ratio(),
                        invalidations: now.1.since(self.base).invalidations,
                        p50_us: tally.quantile_us(0.5),
                        p99_us: tally.quantile_us(0.99),
                    };
                    self.status.tick(&line);
                    last = now;
                }
                Some(outcome) = next_file_change(&mut file_watch) => {
                    let text = match &outcome {
                        Ok(done) => format!("{} -> {} in {:.1?}", done.previous, done.current, done.took),
                        Err(error) => format!("failed, the backend in use keeps serving: {error}"),
                    };
                    self.status.say(&format!("backend file changed: reload {text}"));
                }
                event = self.signals.next() => match event {
                    Event::Stop => return Ended::Stopped,
                    Event::Hangup => self.on_hangup(running).await,
                },
            }
        }
    }

    /// A watch of the backend's component file, if it has one.
    fn watch_file(&self, running: &Running) -> Option<BackendWatch> {
        let (Some(source), Some(cache)) = (self.hangup, running.system().cache()) else { return None };
        let BackendArg::Wasm(path) = &source.backend else { return None };
        match cache.watch_backend(path, source.options.clone(), Duration::from_millis(200)) {
            Ok(watch) => {
                self.status.say(&format!("watching {} for changes", path.display()));
                Some(watch)
            }
            Err(error) => {
                self.status.say(&format!("not watching the backend file: {error}"));
                None
            }
        }
    }

    async fn on_hangup(&self, running: &Running) {
        let (Some(source), Some(cache)) = (self.hangup, running.system().cache()) else {
            self.status.say("SIGHUP: this system has no backend to reload");
            return;
        };
        let outcome = reload::reload(cache, source).await;
        let text = reload::describe(&outcome);
        match &outcome {
            Ok(_) => tracing::info!("SIGHUP reload: {text}"),
            Err(_) => tracing::warn!("SIGHUP reload: {text}"),
        }
        self.status.say(&format!("SIGHUP: reload {text}"));
    }
}

/// The outcome of the next reload a file change caused; never, without a watch.
async fn next_file_change(watch: &mut Option<BackendWatch>) -> Option<Result<nearcache::Reloaded, nearcache::Error>> {
    match watch {
        Some(watch) => watch.next_outcome().await,
        None => std::future::pending().await,
    }
}
