//! The backend world's `host.log` import: records into `tracing`,
//! rate-limited per instance by a token bucket, and paid for by the guest.
//!
//! Fuel counts only wasm instructions, so a call into the host would be free
//! to the guest however much work it made the host do. Each `log` call
//! therefore takes [`FUEL_PER_CALL`] plus [`FUEL_PER_BYTE`] for each byte
//! of its message from the calling guest's fuel, before anything else; a
//! guest that floods the log runs out of fuel in its own call. The message
//! is taken as a string that is bounds-checked but not read ([`Message`]):
//! a record the rate limit drops is dropped without its bytes being read,
//! validated or copied.

use std::time::Instant;

use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
use wasmtime::component::{ComponentType, Lift, Linker, WasmStr};
use wasmtime::{StoreContextMut, Trap, ValRaw};

use super::bindings::{HOST_INSTANCE, Level};
use super::state::State;

/// Fuel a `log` call costs whatever its message. The host's share of a
/// call (crossing into the host and back, the rate limiter's clock read)
/// takes about as long as the guest takes to run several hundred
/// instructions; rounded up to a thousand, a call costs its guest at least
/// what it costs the host, while a guest logging at the rate limit spends a
/// negligible part of its fuel on it.
const FUEL_PER_CALL: u64 = 1_000;

/// Fuel per byte of a message, kept or dropped. Reading a byte costs the
/// host less than an instruction, but the bytes are the part of a call a
/// guest can inflate without bound, so they are not free: with the default
/// 50 M fuel per call, a call may pass about 50 MB of messages in all (750
/// of 64 KiB), whatever the rate limit keeps of them.
const FUEL_PER_BYTE: u64 = 1;

/// The longest message kept; the rest is cut at a character boundary.
const MAX_MESSAGE_BYTES: usize = 1024;

/// A token bucket: `rate` records a second, bursts of up to `rate`.
pub(crate) struct LogLimiter {
    rate: f64,
    tokens: f64,
    refilled: Instant,
    /// Records dropped since the last one written; reported with the next.
    dropped: u64,
    /// Records dropped over the instance's life.
    dropped_total: u64,
}

impl LogLimiter {
    pub(crate) fn new(records_per_second: u32) -> LogLimiter {
        let rate = f64::from(records_per_second);
        LogLimiter { rate, tokens: rate, refilled: Instant::now(), dropped: 0, dropped_total: 0 }
    }

    /// Whether a record may be written now; if so, how many were dropped
    /// before it.
    fn admit(&mut self, now: Instant) -> Option<u64> {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Some(std::mem::take(&mut self.dropped))
        } else {
            self.dropped += 1;
            self.dropped_total += 1;
            None
        }
    }

    /// Records dropped over the instance's life.
    pub(crate) fn dropped_total(&self) -> u64 {
        self.dropped_total
    }
}

fn truncated(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

/// The fuel a `log` call with a message of `bytes` bytes costs.
fn cost(bytes: usize) -> u64 {
    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    FUEL_PER_CALL.saturating_add(bytes.saturating_mul(FUEL_PER_BYTE))
}

/// Defines `log` in `linker`, by hand rather than through `bindgen!`, whose
/// generated import lifts the message into a `String` before the host sees
/// the call.
pub(crate) fn add_to_linker(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker
        .instance(HOST_INSTANCE)?
        .func_wrap("log", |store, (level, message): (Level, Message)| log(store, level, &message))
}

fn log(mut store: StoreContextMut<'_, State>, level: Level, message: &Message) -> wasmtime::Result<()> {
    charge(&mut store, cost(message.len))?;
    let Some(dropped) = store.data_mut().log.admit(Instant::now()) else { return Ok(()) };
    let text = message.text.to_str(&store)?;
    let message = truncated(&text);
    let backend = &*store.data().name;
    match level {
        Level::Trace => tracing::trace!(backend, dropped, "{message}"),
        Level::Debug => tracing::debug!(backend, dropped, "{message}"),
        Level::Info => tracing::info!(backend, dropped, "{message}"),
        Level::Warn => tracing::warn!(backend, dropped, "{message}"),
        Level::Error => tracing::error!(backend, dropped, "{message}"),
    }
    Ok(())
}

/// Takes `fuel` from the calling guest, or ends its call as out of fuel,
/// as wasm code that ran out would be.
fn charge(store: &mut StoreContextMut<'_, State>, fuel: u64) -> wasmtime::Result<()> {
    match store.get_fuel()?.checked_sub(fuel) {
        Some(left) => store.set_fuel(left),
        None => {
            store.set_fuel(0)?;
            Err(Trap::OutOfFuel.into())
        }
    }
}

/// A `string` argument whose place in the guest's memory has been checked,
/// but whose bytes have not been read: they are validated and read only if
/// the record is kept. Its length comes from the canonical ABI's
/// pointer/length pair, which is all the charge needs.
struct Message {
    text: WasmStr,
    /// Code units: bytes for a UTF-8 guest, 16-bit units for a UTF-16 one.
    len: usize,
}

impl Message {
    fn new(text: WasmStr, raw_len: u32) -> Message {
        // A UTF-16 string's length may carry the canonical ABI's
        // Latin-1-or-UTF-16 tag in its top bit; it is not part of the length.
        Message { text, len: usize::try_from(raw_len & !(1 << 31)).unwrap_or(usize::MAX) }
    }
}

// SAFETY: every item the trait asks for is `WasmStr`'s, whose `Lift` this
// type's delegates to: the same flat representation, size, alignment and
// type check (a `string`), so the two lift exactly the same values.
#[expect(unsafe_code, reason = "wasmtime's lifting traits are unsafe to implement; this one forwards to WasmStr's")]
unsafe impl ComponentType for Message {
    type Lower = <WasmStr as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <WasmStr as ComponentType>::ABI;
    const MAY_REQUIRE_REALLOC: bool = <WasmStr as ComponentType>::MAY_REQUIRE_REALLOC;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <WasmStr as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: as above; the length is read from the same pair `WasmStr` just
// lifted and bounds-checked.
#[expect(unsafe_code, reason = "wasmtime's lifting traits are unsafe to implement; this one forwards to WasmStr's")]
unsafe impl Lift for Message {
    fn linear_lift_from_flat(cx: &mut LiftContext<'_>, ty: InterfaceType, src: &Self::Lower) -> wasmtime::Result<Self> {
        let text = WasmStr::linear_lift_from_flat(cx, ty, src)?;
        let [_ptr, len]: &[ValRaw; 2] = src;
        Ok(Message::new(text, len.get_u32()))
    }

    fn linear_lift_from_memory(cx: &mut LiftContext<'_>, ty: InterfaceType, bytes: &[u8]) -> wasmtime::Result<Self> {
        let text = WasmStr::linear_lift_from_memory(cx, ty, bytes)?;
        let len = bytes.get(4..8).and_then(|len| <[u8; 4]>::try_from(len).ok()).map_or(u32::MAX, u32::from_le_bytes);
        Ok(Message::new(text, len))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bucket_admits_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut limiter = LogLimiter::new(10);
        let burst = (0..20).filter(|_| limiter.admit(start).is_some()).count();
        assert_eq!(burst, 10);
        // A tenth of a second later, one more record; it reports the 10 dropped.
        assert_eq!(limiter.admit(start + Duration::from_millis(100)), Some(10));
        assert_eq!(limiter.admit(start + Duration::from_millis(100)), None);
    }

    #[test]
    fn a_call_costs_a_fixed_fee_and_one_fuel_per_byte() {
        assert_eq!(cost(0), FUEL_PER_CALL);
        assert_eq!(cost(64 << 10), FUEL_PER_CALL + (64 << 10));
        assert_eq!(cost(usize::MAX), u64::MAX, "saturates rather than wraps");
        // The flood of the issue (10 000 messages of 64 KiB) is far over a
        // call's default fuel; 10 000 messages of 2 KiB fit in it.
        let fuel = crate::wasm::Limits::default().fuel_per_call;
        assert!(10_000 * cost(64 << 10) > 10 * fuel);
        assert!(10_000 * cost(2 << 10) < fuel);
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let message = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = truncated(&message);
        assert!(cut.len() <= MAX_MESSAGE_BYTES && cut.len() >= MAX_MESSAGE_BYTES - 1);
        assert_eq!(truncated("short"), "short");
    }
}
