//! Redis values made from fuzz input: every shape a reply or a push can
//! take, errors and pushes included, nested a few levels deep.

use arbitrary::{Result, Unstructured};
use redis::{PushKind, Value, VerbatimFormat};

/// Deeper than this, only scalars are made.
const MAX_DEPTH: usize = 6;

/// Most items in one aggregate.
const MAX_ITEMS: usize = 12;

/// A value of any shape.
pub fn value(u: &mut Unstructured<'_>) -> Result<Value> {
    value_at(u, 0)
}

fn value_at(u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
    let last = if depth >= MAX_DEPTH { 8 } else { 14 };
    Ok(match u.int_in_range(0..=last)? {
        0 => Value::Nil,
        1 => Value::Int(u.arbitrary()?),
        2 => Value::BulkString(u.arbitrary()?),
        3 => Value::SimpleString(u.arbitrary()?),
        4 => Value::Okay,
        5 => Value::Double(f64::from_bits(u.arbitrary()?)),
        6 => Value::Boolean(u.arbitrary()?),
        7 => Value::VerbatimString { format: verbatim_format(u)?, text: u.arbitrary()? },
        8 => Value::BigNumber(u.arbitrary()?),
        9 => Value::Array(values_at(u, depth)?),
        10 => Value::Set(values_at(u, depth)?),
        11 => Value::Map(pairs_at(u, depth)?),
        12 => Value::Attribute { data: Box::new(value_at(u, depth + 1)?), attributes: pairs_at(u, depth)? },
        13 => Value::Push { kind: push_kind(u)?, data: values_at(u, depth)? },
        _ => server_error(u)?,
    })
}

/// A few values, each of any shape.
pub fn values(u: &mut Unstructured<'_>) -> Result<Vec<Value>> {
    values_at(u, 0)
}

fn values_at(u: &mut Unstructured<'_>, depth: usize) -> Result<Vec<Value>> {
    let count = u.int_in_range(0..=MAX_ITEMS)?;
    (0..count).map(|_| value_at(u, depth + 1)).collect()
}

fn pairs_at(u: &mut Unstructured<'_>, depth: usize) -> Result<Vec<(Value, Value)>> {
    let count = u.int_in_range(0..=MAX_ITEMS / 2)?;
    (0..count).map(|_| Ok((value_at(u, depth + 1)?, value_at(u, depth + 1)?))).collect()
}

fn verbatim_format(u: &mut Unstructured<'_>) -> Result<VerbatimFormat> {
    Ok(match u.int_in_range(0..=2)? {
        0 => VerbatimFormat::Text,
        1 => VerbatimFormat::Markdown,
        _ => VerbatimFormat::Unknown(u.arbitrary()?),
    })
}

/// Any kind of push, the ones the cache acts on most often.
pub fn push_kind(u: &mut Unstructured<'_>) -> Result<PushKind> {
    Ok(match u.int_in_range(0..=13)? {
        0 | 1 => PushKind::Invalidate,
        2 => PushKind::Disconnection,
        3 => PushKind::Other(mixed_case(u, "tracking-redir-broken")?),
        4 => PushKind::Other(u.arbitrary()?),
        5 => PushKind::Message,
        6 => PushKind::PMessage,
        7 => PushKind::SMessage,
        8 => PushKind::Unsubscribe,
        9 => PushKind::PUnsubscribe,
        10 => PushKind::SUnsubscribe,
        11 => PushKind::Subscribe,
        12 => PushKind::PSubscribe,
        _ => PushKind::SSubscribe,
    })
}

/// `word` with each letter's case picked by the input.
pub fn mixed_case(u: &mut Unstructured<'_>, word: &str) -> Result<String> {
    word.chars().map(|c| Ok(if u.arbitrary()? { c.to_ascii_uppercase() } else { c })).collect()
}

/// An error reply, as the redis crate parses one (its type has no public
/// constructor).
fn server_error(u: &mut Unstructured<'_>) -> Result<Value> {
    let code = *u.choose(&["ERR", "WRONGTYPE", "MOVED", "ASK", "NOSCRIPT", "LOADING", "X"])?;
    let detail: String = u.arbitrary()?;
    let detail: String = detail.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let reply = format!("-{code} {detail}\r\n");
    Ok(redis::parse_redis_value(reply.as_bytes()).unwrap_or(Value::Nil))
}

/// Whether two values are the same reply: as `==`, but doubles compare by
/// their bits, so a NaN equals itself.
pub fn same(a: &Value, b: &Value) -> bool {
    let all = |a: &[Value], b: &[Value]| a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b));
    let pairs = |a: &[(Value, Value)], b: &[(Value, Value)]| {
        a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
    };
    match (a, b) {
        (Value::Double(a), Value::Double(b)) => a.to_bits() == b.to_bits(),
        (Value::Array(a), Value::Array(b)) | (Value::Set(a), Value::Set(b)) => all(a, b),
        (Value::Map(a), Value::Map(b)) => pairs(a, b),
        (Value::Attribute { data: a, attributes: x }, Value::Attribute { data: b, attributes: y }) => {
            same(a, b) && pairs(x, y)
        }
        (Value::Push { kind: ka, data: a }, Value::Push { kind: kb, data: b }) => ka == kb && all(a, b),
        (a, b) => a == b,
    }
}

/// As [`same`], for optional values.
pub fn same_opt(a: &Option<Value>, b: &Option<Value>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}
