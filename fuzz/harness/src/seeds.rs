//! The seed corpus: a few small inputs per target that reach its main
//! paths, so a short run starts past the parsers' first checks. The
//! committed files in `fuzz/corpus/<target>/` are written by
//! `cargo run -p nearcache-fuzz-harness`.

use nearcache::fuzzing::reply_encode;
use redis::{Value, VerbatimFormat};

use crate::guest::{Answer, Call, MAILBOX, PAYLOAD, Plan};

/// Every seed: its target, its file name and its bytes.
pub fn all() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let mut add = |target: &'static str, named: Vec<(&str, Vec<u8>)>| {
        seeds.extend(named.into_iter().map(|(name, bytes)| (target, name.to_owned(), bytes)));
    };
    add("reply_decode", replies());
    add("cache_key", cache_keys());
    add("guest", guest_scripts());
    for target in ["reply_round_trip", "read_command", "push", "cluster_slots"] {
        add(target, choices());
    }
    seeds
}

/// Encodings of replies of every shape, as a backend would return them.
fn replies() -> Vec<(&'static str, Vec<u8>)> {
    let bulk = |bytes: &[u8]| Value::BulkString(bytes.to_vec());
    let values = [
        ("bulk", bulk(b"hello")),
        ("empty-bulk", bulk(b"")),
        ("nil", Value::Nil),
        ("int", Value::Int(-42)),
        ("okay", Value::Okay),
        ("simple", Value::SimpleString("PONG".into())),
        ("array", Value::Array(vec![bulk(b"a"), Value::Nil, Value::Int(7)])),
        ("map", Value::Map(vec![(bulk(b"field"), Value::Double(1.5))])),
        ("set", Value::Set(vec![bulk(b"x"), bulk(b"y")])),
        ("boolean", Value::Boolean(true)),
        ("verbatim", Value::VerbatimString { format: VerbatimFormat::Markdown, text: "# hi".into() }),
        ("big-number", Value::BigNumber(b"123456789012345678901234567890".to_vec())),
        (
            "attribute",
            Value::Attribute {
                data: Box::new(Value::Int(1)),
                attributes: vec![(Value::SimpleString("ttl".into()), Value::Int(3))],
            },
        ),
        ("nested", Value::Array(vec![Value::Array(vec![Value::Array(vec![bulk(b"deep")])])])),
    ];
    values.into_iter().map(|(name, value)| (name, reply_encode(&value).expect("a cacheable reply"))).collect()
}

/// Cache keys of a few commands (the code, then each argument's LEB128
/// length and bytes).
fn cache_keys() -> Vec<(&'static str, Vec<u8>)> {
    let mut long = vec![33, 0x80, 0x01];
    long.extend([b'k'; 128]);
    vec![
        ("get", b"\x00\x06user:1".to_vec()),
        ("hmget", b"\x09\x01h\x01a\x01b".to_vec()),
        ("no-args", vec![2]),
        ("two-byte-length", long),
        ("truncated", vec![0, 0x85]),
    ]
}

/// A few byte strings for the targets whose input is a sequence of choices
/// (`arbitrary`), not a format: any bytes make a value or a command.
fn choices() -> Vec<(&'static str, Vec<u8>)> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = |len: usize| {
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect::<Vec<u8>>()
    };
    vec![("zeros", vec![0; 64]), ("ones", vec![0xff; 64]), ("random-a", random(64)), ("random-b", random(256))]
}

/// One step of a guest script, encoded as [`crate::guest()`] reads it.
struct Step {
    call: Call,
    plan: Plan,
    args: Vec<u8>,
}

fn script(steps: &[Step]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for step in steps {
        let plan = step.plan.to_bytes();
        bytes.push(step.call as u8);
        bytes.extend_from_slice(&u16::try_from(plan.len()).expect("a short plan").to_le_bytes());
        bytes.extend_from_slice(&plan);
        bytes.extend_from_slice(&step.args);
    }
    bytes
}

fn honest(call: Call, args: Vec<u8>) -> Step {
    Step { call, plan: Plan::new(Answer::Honest, 0, Vec::new()), args }
}

fn answer(call: Call, plan: Plan) -> Step {
    Step { call, plan, args: Vec::new() }
}

/// `get key` at time 0.
fn get_args(key: &[u8]) -> Vec<u8> {
    let mut args = vec![u8::try_from(key.len()).expect("a short key")];
    args.extend_from_slice(key);
    args.extend_from_slice(&0u64.to_le_bytes());
    args
}

/// The payload of a plan that answers with a return area at [`PAYLOAD`]
/// holding `words`, followed by `data` at `PAYLOAD + 4 * words.len()`.
fn area(words: &[u32], data: &[u8]) -> Vec<u8> {
    let mut payload: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    payload.extend_from_slice(data);
    payload
}

/// Guest scripts: honest calls, each kind of answer the host lifts, and
/// each way a call can fail.
fn guest_scripts() -> Vec<(&'static str, Vec<u8>)> {
    let hello = reply_encode(&Value::BulkString(b"hello".to_vec())).expect("a bulk string encodes");
    // option<list<u8>>: a discriminant, then the list's pointer and length.
    let some = |data: &[u8]| area(&[1, PAYLOAD + 12, data.len() as u32], data);
    // list<tuple<string, u64>>: the list's pointer and length, 8-aligned
    // elements of (pointer, length, value), then the names.
    let stats = |names: &[&[u8]], value: u64| {
        let list = PAYLOAD + 8;
        let mut names_at = list + 16 * names.len() as u32;
        let mut elements = Vec::new();
        let mut text = Vec::new();
        for name in names {
            elements.extend_from_slice(&names_at.to_le_bytes());
            elements.extend_from_slice(&(name.len() as u32).to_le_bytes());
            elements.extend_from_slice(&value.to_le_bytes());
            text.extend_from_slice(name);
            names_at += name.len() as u32;
        }
        let mut payload = area(&[list, names.len() as u32], &elements);
        payload.extend_from_slice(&text);
        payload
    };
    // result<_, string>: a discriminant, then the string's pointer and length.
    let refused = |message: &[u8]| area(&[1, PAYLOAD + 12, message.len() as u32], message);
    let mut init = vec![1, 11];
    init.extend_from_slice(b"max-entries");
    init.extend_from_slice(&[2, b'1', b'0']);

    let mut hostile_alloc = Plan::new(Answer::Honest, 0, Vec::new());
    hostile_alloc.alloc = Answer::Absolute;
    hostile_alloc.alloc_argument = 0xffff_fff0;
    let mut grow = Plan::new(Answer::Honest, 0, Vec::new());
    grow.grow = 100;

    vec![
        (
            "honest",
            script(&[
                honest(Call::Init, init),
                honest(Call::Get, get_args(b"k")),
                honest(Call::Stats, Vec::new()),
                honest(Call::Sweep, vec![0; 12]),
                honest(Call::Flush, Vec::new()),
                honest(Call::Invalidate, vec![2, 1, b'k']),
                honest(Call::Destroy, Vec::new()),
            ]),
        ),
        ("get-bulk", script(&[answer(Call::Get, Plan::new(Answer::Payload, 0, some(&hello)))])),
        ("get-raw-bytes", script(&[answer(Call::Get, Plan::new(Answer::Payload, 0, some(b"not an encoding")))])),
        (
            "get-out-of-bounds",
            script(&[answer(Call::Get, Plan::new(Answer::Payload, 0, area(&[1, MAILBOX, 0x00ff_0000], &[])))]),
        ),
        ("get-misaligned", script(&[answer(Call::Get, Plan::new(Answer::InPlan, 17, some(&hello)))])),
        ("get-area-past-memory", script(&[answer(Call::Get, Plan::new(Answer::Absolute, 0xffff_fffc, Vec::new()))])),
        ("stats", script(&[answer(Call::Stats, Plan::new(Answer::Payload, 0, stats(&[b"hits", b"misses"], 7)))])),
        ("stats-bad-utf8", script(&[answer(Call::Stats, Plan::new(Answer::Payload, 0, stats(&[b"h\xe9"], 1)))])),
        ("init-refused", script(&[answer(Call::Init, Plan::new(Answer::Payload, 0, refused(b"no such option")))])),
        ("sweep-count", script(&[answer(Call::Sweep, Plan::new(Answer::Absolute, 12, Vec::new()))])),
        ("trap", script(&[answer(Call::Get, Plan::new(Answer::Trap, 0, Vec::new()))])),
        ("spin", script(&[answer(Call::Flush, Plan::new(Answer::Spin, 0, Vec::new()))])),
        ("grow", script(&[answer(Call::Get, grow)])),
        ("hostile-alloc", script(&[Step { call: Call::Get, plan: hostile_alloc, args: get_args(b"key") }])),
    ]
}
