//! Why a guest could not be built.

use std::path::PathBuf;

/// A toolchain that is not installed, and how to install it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// What was looked for and not found.
    pub what: String,
    /// The command that installs it.
    pub install: &'static str,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (install: {})", self.what, self.install)
    }
}

/// A build that was attempted and failed, or a toolchain that is required
/// and missing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A file or directory could not be read or written.
    #[error("{guest}: cannot {action} {}: {source}", path.display())]
    Io {
        /// The guest being built.
        guest: &'static str,
        /// What was being done: `read`, `write`, ...
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A toolchain command ran and failed.
    #[error("{guest}: `{command}` failed ({status}):\n{output}")]
    Command {
        /// The guest being built.
        guest: &'static str,
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed, stdout then stderr.
        output: String,
    },
    /// Generating the C bindings or wrapping the core module failed.
    #[error("{guest}: {step}: {message}")]
    Component {
        /// The guest being built.
        guest: &'static str,
        /// The step: `read the WIT`, `generate C bindings`, `make the component`.
        step: &'static str,
        /// The cause, with its chain.
        message: String,
    },
    /// The toolchain is missing and `NEARCACHE_REQUIRE_GUEST_TOOLCHAINS=1`.
    #[error("{guest}: required toolchain missing: {missing}")]
    Required {
        /// The guest that could not be built.
        guest: &'static str,
        /// What is missing.
        missing: Missing,
    },
}
