//! The encoding of the replies a backend stores: what `get` returns is
//! whatever bytes the guest chose, and is decoded before it is served.

use std::borrow::Cow;

use arbitrary::Unstructured;
use nearcache::fuzzing::{
    reply_bulk_payload, reply_decode as decode, reply_decode_lent, reply_decode_owned, reply_encode,
};
use redis::{Value, VerbatimFormat};

use crate::values::{same_opt, value};

/// Bytes a backend returned: the decoders never panic, agree with each
/// other, and accept only what the encoder writes (a decoded value encodes
/// back to exactly the bytes it came from).
pub fn reply_decode(data: &[u8]) {
    let decoded = decode(data);
    assert!(same_opt(&reply_decode_owned(data.to_vec()), &decoded), "decode_owned disagrees with decode");
    assert!(same_opt(&reply_decode_lent(Cow::Borrowed(data)), &decoded), "decode_lent (lent) disagrees");
    assert!(same_opt(&reply_decode_lent(Cow::Owned(data.to_vec())), &decoded), "decode_lent (owned) disagrees");
    if let Some(payload) = reply_bulk_payload(data) {
        assert_eq!(decoded, Some(Value::BulkString(payload.to_vec())), "bulk_payload found a payload decode did not");
    }
    if let Some(value) = decoded {
        assert_eq!(reply_encode(&value).as_deref(), Some(data), "a decoded value encodes to other bytes");
    }
}

/// Any reply: it encodes unless it holds an error or a push, and what
/// encodes decodes, by every decoder, to the same reply.
pub fn reply_round_trip(data: &[u8]) {
    let Ok(reply) = value(&mut Unstructured::new(data)) else { return };
    let Some(bytes) = reply_encode(&reply) else {
        assert!(!cacheable(&reply), "a cacheable reply did not encode: {reply:?}");
        return;
    };
    assert!(cacheable(&reply), "an error or a push was encoded: {reply:?}");
    let expected = Some(as_parsed(reply));
    assert!(same_opt(&decode(&bytes), &expected), "decode did not give back {expected:?}");
    assert!(same_opt(&reply_decode_lent(Cow::Borrowed(&bytes)), &expected), "decode_lent (lent) differs");
    assert!(same_opt(&reply_decode_lent(Cow::Owned(bytes.clone())), &expected), "decode_lent (owned) differs");
    assert!(same_opt(&reply_decode_owned(bytes), &expected), "decode_owned differs");
}

/// Whether the cache may store `value`: no error reply, no push, anywhere.
fn cacheable(value: &Value) -> bool {
    match value {
        Value::ServerError(_) | Value::Push { .. } => false,
        Value::Array(items) | Value::Set(items) => items.iter().all(cacheable),
        Value::Map(pairs) => pairs.iter().all(|(k, v)| cacheable(k) && cacheable(v)),
        Value::Attribute { data, attributes } => {
            cacheable(data) && attributes.iter().all(|(k, v)| cacheable(k) && cacheable(v))
        }
        _ => true,
    }
}

/// `value` as the redis crate's parser would have made it: it never makes
/// `Unknown("txt")` or `Unknown("mkd")`, only `Text` and `Markdown`, so the
/// encoding need not tell them apart.
fn as_parsed(value: Value) -> Value {
    let all = |items: Vec<Value>| items.into_iter().map(as_parsed).collect();
    let pairs = |pairs: Vec<(Value, Value)>| pairs.into_iter().map(|(k, v)| (as_parsed(k), as_parsed(v))).collect();
    match value {
        Value::VerbatimString { format: VerbatimFormat::Unknown(format), text } => {
            let format = match format.as_str() {
                "txt" => VerbatimFormat::Text,
                "mkd" => VerbatimFormat::Markdown,
                _ => VerbatimFormat::Unknown(format),
            };
            Value::VerbatimString { format, text }
        }
        Value::Array(items) => Value::Array(all(items)),
        Value::Set(items) => Value::Set(all(items)),
        Value::Map(items) => Value::Map(pairs(items)),
        Value::Attribute { data, attributes } => {
            Value::Attribute { data: Box::new(as_parsed(*data)), attributes: pairs(attributes) }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::same;

    #[test]
    fn same_tells_nan_payloads_apart() {
        let nan = |bits| Value::Double(f64::from_bits(bits));
        assert!(same(&nan(0x7ff8_0000_0000_0001), &nan(0x7ff8_0000_0000_0001)));
        assert!(!same(&nan(0x7ff8_0000_0000_0001), &nan(0x7ff8_0000_0000_0002)));
    }
}
