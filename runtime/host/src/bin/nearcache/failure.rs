//! Exit codes, and the one-line error a command stops with.

use std::fmt;
use std::process::ExitCode;

/// What a non-zero exit code means. Documented in `nearcache --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The run itself failed: a conformance check, a Redis error mid-run.
    Failed = 1,
    /// Bad flags or flag values (clap's own code for usage errors).
    Usage = 2,
    /// No Redis: nothing answers at the URL, or none could be started.
    Redis = 3,
    /// The backend could not be loaded or refused its options.
    Backend = 4,
    /// Stopped by Ctrl-C or SIGTERM (after printing what it had measured).
    Interrupted = 130,
}

impl Code {
    /// The process exit code.
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self as u8)
    }
}

/// The exit codes, for `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    the run failed (a conformance check, a Redis error during the run)
  2    bad flags or flag values
  3    no Redis: nothing answers at the URL, or none could be started
  4    the backend could not be loaded or refused its options
  130  interrupted (Ctrl-C or SIGTERM)";

/// Why a command stopped: an exit code and one readable line.
#[derive(Debug)]
pub struct Failure {
    /// What kind of failure, as an exit code.
    pub code: Code,
    /// The reason, on one line.
    pub message: String,
}

impl Failure {
    /// A failure with `code`; `message` is folded onto one line.
    pub fn new(code: Code, message: impl fmt::Display) -> Failure {
        Failure { code, message: one_line(&message.to_string()) }
    }

    /// Prints `error: <message>` to stderr and returns the exit code.
    pub fn report(self) -> ExitCode {
        eprintln!("error: {}", self.message);
        self.code.exit_code()
    }
}

impl From<nearcache::Error> for Failure {
    fn from(error: nearcache::Error) -> Failure {
        let code = match &error {
            nearcache::Error::InvalidUrl { .. } | nearcache::Error::InvalidOption { .. } => Code::Usage,
            nearcache::Error::Connect { .. } => Code::Redis,
            nearcache::Error::Backend { .. } | nearcache::Error::Load(_) => Code::Backend,
            _ => Code::Failed,
        };
        Failure::new(code, error)
    }
}

/// `text` with every run of whitespace, newlines included, made one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        let failure = Failure::new(Code::Failed, "first\n  second\tthird ");
        assert_eq!(failure.message, "first second third");
    }
}
