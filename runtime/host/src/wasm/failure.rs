//! Why a call into a guest failed, read from a wasmtime error.

use std::fmt;

use wasmtime::{Trap, WasmBacktrace};

use super::budget::{BudgetScope, Refusal};
use super::state::Denied;

/// The cause of a failed call, as the host reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// The call used its whole fuel budget.
    OutOfFuel {
        /// The budget.
        fuel: u64,
    },
    /// The call ran past its wall-clock deadline.
    OutOfTime {
        /// The deadline, in milliseconds.
        limit_ms: u64,
    },
    /// The guest asked for more linear memory than its limit.
    MemoryLimit {
        /// The size the guest asked to grow to, all memories together.
        requested: usize,
        /// The limit.
        limit: usize,
    },
    /// The guest asked for linear memory that its instance's cap allowed,
    /// but a budget shared with other instances did not.
    MemoryBudget {
        /// The backend's budget (all its instances) or the engine's (all
        /// its backends).
        scope: BudgetScope,
        /// What the budget's instances held when the guest asked.
        held: usize,
        /// The growth asked for, in bytes.
        asked: usize,
        /// The budget.
        budget: usize,
    },
    /// The wasm stack overflowed.
    StackOverflow {
        /// The stack size.
        limit: usize,
    },
    /// `get` returned a value larger than the cap.
    ValueOverCap {
        /// The value's size.
        size: usize,
        /// The cap.
        cap: usize,
    },
    /// The guest panicked (a Rust guest's panic is an `unreachable` trap
    /// whose backtrace runs through the panic machinery).
    Panic,
    /// Any other trap (wasmtime's message, `wasm trap: ...`) or error from
    /// a host function (its own message, e.g. a forbidden sleep).
    Trap(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::OutOfFuel { fuel } => write!(f, "out of CPU: used all {fuel} fuel allowed per call"),
            Cause::OutOfTime { limit_ms } => {
                write!(f, "out of CPU: ran past the {limit_ms} ms wall-clock limit per call")
            }
            Cause::MemoryLimit { requested, limit } => {
                write!(f, "memory limit: asked for {requested} bytes of linear memory, the limit is {limit}")
            }
            Cause::MemoryBudget { scope, held, asked, budget } => write!(
                f,
                "memory budget: asked for {asked} more bytes of linear memory, but the {scope}'s instances hold {held} of its {budget}-byte budget"
            ),
            Cause::StackOverflow { limit } => write!(f, "stack overflow: the wasm stack is {limit} bytes"),
            Cause::ValueOverCap { size, cap } => write!(f, "value over cap: returned {size} bytes, the cap is {cap}"),
            Cause::Panic => {
                write!(f, "panic: the guest panicked (wasm `unreachable` reached through its panic handler)")
            }
            Cause::Trap(message) => f.write_str(message),
        }
    }
}

/// A failed call: which callback, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The callback, as named in the WIT.
    pub call: &'static str,
    /// Why it failed.
    pub cause: Cause,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` failed: {}", self.call, self.cause)
    }
}

/// What the host knew when a call failed, besides the error itself.
pub(crate) struct Context {
    pub fuel: u64,
    pub wall_ms: u64,
    pub max_wasm_stack: usize,
    /// The instance's memory cap.
    pub memory_bytes: usize,
    /// Memory growth the limiter denied during the call, if any.
    pub denied_memory: Option<Denied>,
}

/// Reads the cause of a failed call out of wasmtime's error.
pub(crate) fn classify(error: &wasmtime::Error, context: &Context) -> Cause {
    // A guest whose allocator cannot grow its memory aborts: the trap is
    // `unreachable`, but the cause is the memory limit.
    match context.denied_memory {
        Some(Denied::Instance { requested }) => return Cause::MemoryLimit { requested, limit: context.memory_bytes },
        Some(Denied::Budget(Refusal { scope, held, asked, budget })) => {
            return Cause::MemoryBudget { scope, held, asked, budget };
        }
        None => {}
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Cause::OutOfFuel { fuel: context.fuel },
        Some(Trap::Interrupt) => Cause::OutOfTime { limit_ms: context.wall_ms },
        Some(Trap::StackOverflow) => Cause::StackOverflow { limit: context.max_wasm_stack },
        Some(Trap::UnreachableCodeReached) if went_through_panic(error) => Cause::Panic,
        Some(trap) => Cause::Trap(with_frame(trap.to_string(), error)),
        // A host function's error (a sleep, an exit): its own message,
        // without the backtrace wasmtime attaches as context.
        None => Cause::Trap(with_frame(one_line(&error.root_cause().to_string()), error)),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The longest text of a guest's own (an `init` refusal) the host keeps.
const MAX_GUEST_TEXT: usize = 1024;

/// Text a guest wrote, as the host reports it: on one line (every run of
/// whitespace, line breaks included, becomes one space) and at most
/// [`MAX_GUEST_TEXT`] bytes, cut at a character boundary, so a backend
/// can neither forge log lines nor fill the log.
pub(crate) fn guest_text(text: &str) -> String {
    let mut line = one_line(text);
    if line.len() > MAX_GUEST_TEXT {
        let mut end = MAX_GUEST_TEXT;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
    }
    line
}

fn went_through_panic(error: &wasmtime::Error) -> bool {
    error.downcast_ref::<WasmBacktrace>().is_some_and(|trace| {
        trace.frames().iter().filter_map(|frame| frame.func_name()).any(|name| name.contains("panic"))
    })
}

/// Adds the innermost named wasm function, when the component kept names.
fn with_frame(message: String, error: &wasmtime::Error) -> String {
    let innermost = error
        .downcast_ref::<WasmBacktrace>()
        .and_then(|trace| trace.frames().iter().find_map(|frame| frame.func_name().map(str::to_owned)));
    match innermost {
        // The name is the guest's own (its name section): one short line.
        Some(name) => format!("{message} (in wasm function `{}`)", guest_text(&name)),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_text_is_one_short_line() {
        // Found by the guest fuzz target: an `init` refusal of
        // "\n\0\0\0\u{2}\0elhl" made an error of two lines.
        assert_eq!(guest_text("\n\0\0\0\u{2}\0elhl"), "\0\0\0\u{2}\0elhl");
        assert_eq!(guest_text("bad\r\noption\u{2028}`x`"), "bad option `x`");
        let long = "\u{e9}".repeat(MAX_GUEST_TEXT);
        assert_eq!(guest_text(&long).len(), MAX_GUEST_TEXT);
        assert_eq!(guest_text(&format!("x{long}")).len(), MAX_GUEST_TEXT - 1, "cut at a character boundary");
    }
}
