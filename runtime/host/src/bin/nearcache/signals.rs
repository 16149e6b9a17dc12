//! The signals the long-running commands handle: Ctrl-C and SIGTERM stop
//! the run in order (results printed, keys deleted, private server stopped);
//! SIGHUP reloads the backend from its source.

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::failure::{Code, Failure};

/// A signal that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Ctrl-C or SIGTERM: stop.
    Stop,
    /// SIGHUP: reload the backend.
    Hangup,
}

/// The handlers, installed for the life of a command.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
    stopped: bool,
}

impl Signals {
    /// Installs the handlers; from now on these signals no longer end the
    /// process by themselves.
    pub fn install() -> Result<Signals, Failure> {
        let handler =
            |kind| signal(kind).map_err(|e| Failure::new(Code::Failed, format!("cannot handle signals: {e}")));
        Ok(Signals {
            interrupt: handler(SignalKind::interrupt())?,
            terminate: handler(SignalKind::terminate())?,
            hangup: handler(SignalKind::hangup())?,
            stopped: false,
        })
    }

    /// The next signal; once a stop has arrived, always [`Event::Stop`].
    pub async fn next(&mut self) -> Event {
        if self.stopped {
            return Event::Stop;
        }
        let event = tokio::select! {
            _ = self.interrupt.recv() => Event::Stop,
            _ = self.terminate.recv() => Event::Stop,
            _ = self.hangup.recv() => Event::Hangup,
        };
        self.stopped = event == Event::Stop;
        event
    }
}
