//! A backend component whose answers come from the fuzzer, run through the
//! real host: `WasmFactory` and `WasmBackend`, wasmtime's canonical-ABI lift
//! of what each call returns, and the host's checks after it.
//!
//! The component is `guest.wat` wrapped into the backend world (see that
//! file for how a plan steers it). Each fuzz input is a script of steps; a
//! step installs a plan, then makes one call with arguments from the input.
//! Whatever the guest answers (pointers out of bounds or misaligned, lengths
//! past the memory, invalid UTF-8, traps, endless loops, memory growth), the
//! host must return a value within its caps or a one-line error, and never
//! panic or abort.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;

use nearcache::fuzzing::{reply_decode_lent, sum_stats};
use nearcache::wasm::{Limits, Quarantine, WasmEngine, WasmFactory};
use nearcache::{Backend, BackendError};

/// The guest's source.
const WAT: &str = include_str!("guest.wat");
/// The backend world, which the component is wrapped into.
const WIT: &str = include_str!("../../../wit/backend.wit");

/// Where the guest keeps the plan of the next call.
pub const MAILBOX: u32 = 0x10000;
/// The payload's address: a plan's bytes after its 16-byte header.
pub const PAYLOAD: u32 = MAILBOX + 16;
/// `ttl` and `now` of the put that installs a plan.
const MAGIC: u64 = 0x6e65_6172_6361_636b;
/// The cache key plans are put under (never looked at by the guest).
const PLAN_KEY: &[u8] = b"\xffplan";

/// Most steps one input runs.
const MAX_STEPS: usize = 32;

/// The largest value the host accepts from `get` (and the bound on `stats`):
/// small, so fuzz inputs reach past it.
pub const VALUE_CAP: usize = 8 << 10;

/// What a plan tells the call to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Answer {
    /// Zeros: none, ok, an empty list, 0.
    Honest = 0,
    /// The plan's argument, as an address (or, for `sweep`, the count).
    Absolute = 1,
    /// The mailbox's address plus the plan's argument.
    InPlan = 2,
    /// A trap.
    Trap = 3,
    /// A loop that runs out of fuel.
    Spin = 4,
    /// The payload's address: the plan's bytes after its header.
    Payload = 5,
}

/// A plan: its header, then `payload` (at [`PAYLOAD`] in the guest).
#[derive(Debug, Clone)]
pub struct Plan {
    /// What the call answers.
    pub answer: Answer,
    /// Its argument.
    pub argument: u32,
    /// What the allocator answers when the host asks it for room for the
    /// call's arguments (`Honest`, `Absolute`, `InPlan` or `Trap`).
    pub alloc: Answer,
    /// The allocator's argument.
    pub alloc_argument: u32,
    /// Pages to grow the memory by first.
    pub grow: u32,
    /// The rest of the plan.
    pub payload: Vec<u8>,
}

impl Plan {
    /// A plan that answers `answer` with `payload` and allocates honestly.
    pub fn new(answer: Answer, argument: u32, payload: Vec<u8>) -> Plan {
        Plan { answer, argument, alloc: Answer::Honest, alloc_argument: 0, grow: 0, payload }
    }

    /// The plan's bytes, as the guest reads them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![self.answer as u8, self.alloc as u8, 0, 0];
        bytes.extend_from_slice(&self.argument.to_le_bytes());
        bytes.extend_from_slice(&self.alloc_argument.to_le_bytes());
        bytes.extend_from_slice(&self.grow.to_le_bytes());
        bytes.extend_from_slice(&self.payload);
        bytes
    }
}

/// The backend calls a step can make, by their tag in the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Call {
    /// `init`: a count (0-3), then per option a name and a value (u8 length, bytes).
    Init = 0,
    /// `get`: a key (u8 length, bytes), `now` (u64).
    Get = 1,
    /// `put`: a key, a value (u16 length, bytes), a ttl (u8 0 for none, u64), `now`.
    Put = 2,
    /// `put-with-ref`: a key, a Redis key, a value, a ttl, `now`.
    PutWithRef = 3,
    /// `invalidate`: u8 0 for none, or a count (1-8) of keys plus one.
    Invalidate = 4,
    /// `invalidate-refs`: as `invalidate`.
    InvalidateRefs = 5,
    /// `flush`.
    Flush = 6,
    /// `stats`.
    Stats = 7,
    /// `sweep`: `now` (u64), `max` (u32).
    Sweep = 8,
    /// `destroy`.
    Destroy = 9,
}

const CALLS: [Call; 10] = [
    Call::Init,
    Call::Get,
    Call::Put,
    Call::PutWithRef,
    Call::Invalidate,
    Call::InvalidateRefs,
    Call::Flush,
    Call::Stats,
    Call::Sweep,
    Call::Destroy,
];

/// Runs one script: each step is a call tag (u8), a plan (u16 length,
/// bytes), then the call's arguments (see [`Call`]). A short script reads
/// zeros past its end.
pub fn guest(data: &[u8]) {
    let mut backend = factory().instantiate().expect("a fresh instance of the fuzzed guest");
    let mut script = Script { data };
    for _ in 0..MAX_STEPS {
        if script.data.is_empty() {
            break;
        }
        let call = CALLS[usize::from(script.u8()) % CALLS.len()];
        let plan_len = usize::from(script.u16());
        let plan = script.bytes(plan_len).to_vec();
        if !install(&mut backend, &plan) {
            return;
        }
        step(&mut backend, call, &mut script);
    }
}

/// Puts the plan in the guest's mailbox. A hostile allocator left armed by
/// a call whose arguments never reached the guest fails this put, and the
/// failure replaces the instance: one more try then goes to a fresh one.
fn install(backend: &mut dyn Backend, plan: &[u8]) -> bool {
    (0..2).any(|_| ok(backend.put(PLAN_KEY, plan, Some(MAGIC), MAGIC)).is_some())
}

fn step(backend: &mut dyn Backend, call: Call, script: &mut Script<'_>) {
    match call {
        Call::Init => {
            let count = script.u8() % 4;
            let options: Vec<(String, String)> = (0..count).map(|_| (script.text(), script.text())).collect();
            ok(backend.init(&options));
        }
        Call::Get => {
            let key = script.short();
            if let Some(Some(value)) = ok(backend.get(key, script.u64())) {
                assert!(value.len() <= VALUE_CAP, "get returned {} bytes, over the cap", value.len());
                let _ = reply_decode_lent(Cow::Borrowed(&value));
            }
        }
        Call::Put => {
            let (key, value, ttl, now) = (script.short(), script.long(), script.ttl(), script.u64());
            ok(backend.put(key, value, ttl, now));
        }
        Call::PutWithRef => {
            let (key, redis_key, value) = (script.short(), script.short(), script.long());
            let (ttl, now) = (script.ttl(), script.u64());
            ok(backend.put_with_ref(key, redis_key, value, ttl, now));
        }
        Call::Invalidate => {
            let keys = script.keys();
            ok(backend.invalidate(keys.as_deref()));
        }
        Call::InvalidateRefs => {
            let keys = script.keys();
            ok(backend.invalidate_refs(keys.as_deref()));
        }
        Call::Flush => {
            ok(backend.flush());
        }
        Call::Stats => {
            if let Some(stats) = ok(backend.stats()) {
                let size: usize = stats.iter().map(|(name, _)| name.len() + 8).sum();
                assert!(size <= VALUE_CAP, "stats of {size} bytes, over the cap");
                // As the cache sums them over its shards.
                sum_stats([stats.clone(), stats]);
            }
        }
        Call::Sweep => {
            let (now, max) = (script.u64(), script.u32());
            ok(backend.sweep(now, max));
        }
        Call::Destroy => {
            ok(backend.destroy());
        }
    }
}

/// The value of a call that succeeded; for one that failed, checks that
/// the error is one line.
fn ok<T>(result: Result<T, BackendError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            let message = error.to_string();
            assert!(!message.contains(['\n', '\r']), "an error on more than one line: {message:?}");
            None
        }
    }
}

/// The limits the guest runs under: small, so that the fuzzer reaches them,
/// and no quarantine or backoff, so that every step runs.
fn limits() -> Limits {
    let defaults = Limits::default();
    Limits {
        memory_bytes: 1 << 20,
        fuel_per_call: 100_000,
        wall_time_per_call: Duration::from_secs(10),
        max_value_bytes: VALUE_CAP,
        quarantine: Quarantine {
            max_failures: u32::MAX,
            backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            ..defaults.quarantine.clone()
        },
        ..defaults
    }
}

/// The fuzzed guest, compiled once per process.
fn factory() -> &'static WasmFactory {
    static FACTORY: OnceLock<WasmFactory> = OnceLock::new();
    FACTORY.get_or_init(|| {
        let engine = WasmEngine::new(limits()).expect("a wasm engine");
        WasmFactory::load_bytes(&engine, "fuzzed", &component()).expect("the fuzzed guest loads")
    })
}

/// `guest.wat` as a component of the backend world.
pub fn component() -> Vec<u8> {
    let mut module = wat::parse_str(WAT).expect("guest.wat parses");
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_str("backend.wit", WIT).expect("the WIT parses");
    let world = resolve.select_world(&[package], Some("backend")).expect("the backend world");
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8)
        .expect("the world embeds");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .expect("guest.wat makes a component of the backend world")
}

/// The fuzz input, read front to back; zeros once it runs out.
struct Script<'a> {
    data: &'a [u8],
}

impl<'a> Script<'a> {
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let bytes = self.bytes(N);
        out[..bytes.len()].copy_from_slice(bytes);
        out
    }

    fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    /// Up to 255 bytes.
    fn short(&mut self) -> &'a [u8] {
        let len = usize::from(self.u8());
        self.bytes(len)
    }

    /// Up to 64 KiB.
    fn long(&mut self) -> &'a [u8] {
        let len = usize::from(self.u16());
        self.bytes(len)
    }

    fn text(&mut self) -> String {
        String::from_utf8_lossy(self.short()).into_owned()
    }

    fn ttl(&mut self) -> Option<u64> {
        let some = self.u8() != 0;
        let ttl = self.u64();
        some.then_some(ttl)
    }

    fn keys(&mut self) -> Option<Vec<Vec<u8>>> {
        let count = self.u8() % 9;
        (count > 0).then(|| (1..count).map(|_| self.short().to_vec()).collect())
    }
}
