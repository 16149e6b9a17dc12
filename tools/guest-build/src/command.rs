//! Running a toolchain command with its output captured: a build script's
//! stdout is read by cargo, so nothing a tool prints may reach it.

use std::process::Command;

use crate::error::BuildError;

/// Runs `command`; on failure the error carries the command line and
/// everything it printed.
pub(crate) fn run(guest: &'static str, mut command: Command) -> Result<(), BuildError> {
    let line = describe(&command);
    let output = command.output().map_err(|source| BuildError::Io {
        guest,
        action: "run",
        path: command.get_program().into(),
        source,
    })?;
    if output.status.success() {
        return Ok(());
    }
    let mut printed = String::from_utf8_lossy(&output.stdout).into_owned();
    printed.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(BuildError::Command { guest, command: line, status: output.status.to_string(), output: printed })
}

/// The command line, for messages and build stamps.
pub(crate) fn describe(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}
