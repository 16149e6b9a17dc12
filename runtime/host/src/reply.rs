//! Server replies to bytes and back, so a backend stores opaque values and a
//! hit decodes to exactly what the server returned.
//!
//! Each value is a tag byte and its payload; lengths and counts are 4-byte
//! little endian. Error replies are never encoded: they are never cached.

use std::borrow::Cow;

use redis::{Value, VerbatimFormat};

const NIL: u8 = 0;
const INT: u8 = 1;
const BULK: u8 = 2;
const ARRAY: u8 = 3;
const SIMPLE: u8 = 4;
const OKAY: u8 = 5;
const MAP: u8 = 6;
const SET: u8 = 7;
const DOUBLE: u8 = 8;
const BOOLEAN: u8 = 9;
const VERBATIM: u8 = 10;
const BIG_NUMBER: u8 = 11;
const ATTRIBUTE: u8 = 12;

/// Encodes `value`, or returns `None` if it holds something that must not
/// be cached (an error reply, a push).
pub(crate) fn encode(value: &Value) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(16);
    encode_into(value, &mut out).then_some(out)
}

fn put_len(out: &mut Vec<u8>, len: usize) -> bool {
    match u32::try_from(len) {
        Ok(len) => {
            out.extend_from_slice(&len.to_le_bytes());
            true
        }
        Err(_) => false,
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    put_len(out, bytes.len()) && {
        out.extend_from_slice(bytes);
        true
    }
}

fn encode_into(value: &Value, out: &mut Vec<u8>) -> bool {
    match value {
        Value::Nil => out.push(NIL),
        Value::Int(n) => {
            out.push(INT);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::BulkString(bytes) => {
            out.push(BULK);
            return put_bytes(out, bytes);
        }
        Value::Array(items) => {
            out.push(ARRAY);
            return put_len(out, items.len()) && items.iter().all(|item| encode_into(item, out));
        }
        Value::SimpleString(s) => {
            out.push(SIMPLE);
            return put_bytes(out, s.as_bytes());
        }
        Value::Okay => out.push(OKAY),
        Value::Map(pairs) => {
            out.push(MAP);
            return put_len(out, pairs.len()) && pairs.iter().all(|(k, v)| encode_into(k, out) && encode_into(v, out));
        }
        Value::Set(items) => {
            out.push(SET);
            return put_len(out, items.len()) && items.iter().all(|item| encode_into(item, out));
        }
        Value::Double(d) => {
            out.push(DOUBLE);
            out.extend_from_slice(&d.to_bits().to_le_bytes());
        }
        Value::Boolean(b) => {
            out.push(BOOLEAN);
            out.push(u8::from(*b));
        }
        Value::VerbatimString { format, text } => {
            out.push(VERBATIM);
            let format = match format {
                VerbatimFormat::Text => "txt",
                VerbatimFormat::Markdown => "mkd",
                VerbatimFormat::Unknown(other) => other.as_str(),
                // A format added later is not cached until it is encoded.
                _ => return false,
            };
            return put_bytes(out, format.as_bytes()) && put_bytes(out, text.as_bytes());
        }
        Value::BigNumber(digits) => {
            out.push(BIG_NUMBER);
            return put_bytes(out, digits);
        }
        Value::Attribute { data, attributes } => {
            out.push(ATTRIBUTE);
            return encode_into(data, out)
                && put_len(out, attributes.len())
                && attributes.iter().all(|(k, v)| encode_into(k, out) && encode_into(v, out));
        }
        Value::ServerError(_) | Value::Push { .. } => return false,
        // Value is non-exhaustive: anything new is not cached until encoded.
        #[allow(unreachable_patterns)]
        _ => return false,
    }
    true
}

/// Decodes bytes written by [`encode`]. `None` means they were not: a
/// backend returned bytes the host never stored, which is treated as a
/// backend failure, never served.
pub(crate) fn decode(bytes: &[u8]) -> Option<Value> {
    let mut reader = Reader { bytes };
    let value = reader.value(0)?;
    reader.bytes.is_empty().then_some(value)
}

/// As [`decode`], reusing the buffer for the commonest reply, a bulk string.
pub(crate) fn decode_owned(mut bytes: Vec<u8>) -> Option<Value> {
    const HEADER: usize = 5;
    if bytes.first() == Some(&BULK) && bytes.len() >= HEADER {
        let len = u32::from_le_bytes(bytes[1..HEADER].try_into().ok()?) as usize;
        if len == bytes.len() - HEADER {
            bytes.drain(..HEADER);
            return Some(Value::BulkString(bytes));
        }
        return None;
    }
    decode(&bytes)
}

/// As [`decode`], for bytes lent by a backend or owned: the payload of a
/// bulk string is copied once from lent bytes, and kept in place in owned ones.
#[inline]
pub(crate) fn decode_lent(bytes: Cow<'_, [u8]>) -> Option<Value> {
    match bytes {
        Cow::Borrowed(bytes) => match bulk_payload(bytes) {
            Some(payload) => Some(Value::BulkString(payload.to_vec())),
            None => decode(bytes),
        },
        Cow::Owned(bytes) => decode_owned(bytes),
    }
}

/// The payload of a well-formed encoded bulk string, the commonest reply,
/// found without the general decoder; `None` for anything else.
#[inline]
pub(crate) fn bulk_payload(bytes: &[u8]) -> Option<&[u8]> {
    let (&BULK, rest) = bytes.split_first()? else { return None };
    let (len, payload) = rest.split_first_chunk::<4>()?;
    (u32::from_le_bytes(*len) as usize == payload.len()).then_some(payload)
}

/// Deeper nesting than any server reply has is taken as corruption.
const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn len(&mut self) -> Option<usize> {
        let bytes = self.take(4)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?) as usize)
    }

    fn eight(&mut self) -> Option<[u8; 8]> {
        self.take(8)?.try_into().ok()
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let len = self.len()?;
        self.take(len).map(<[u8]>::to_vec)
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?).ok()
    }

    fn values(&mut self, depth: usize) -> Option<Vec<Value>> {
        let count = self.len()?;
        // Each value takes at least one byte: a count beyond what is left is corrupt.
        if count > self.bytes.len() {
            return None;
        }
        (0..count).map(|_| self.value(depth + 1)).collect()
    }

    fn pairs(&mut self, depth: usize) -> Option<Vec<(Value, Value)>> {
        let count = self.len()?;
        if count > self.bytes.len() / 2 {
            return None;
        }
        (0..count).map(|_| Some((self.value(depth + 1)?, self.value(depth + 1)?))).collect()
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match self.u8()? {
            NIL => Value::Nil,
            INT => Value::Int(i64::from_le_bytes(self.eight()?)),
            BULK => Value::BulkString(self.bytes()?),
            ARRAY => Value::Array(self.values(depth)?),
            SIMPLE => Value::SimpleString(self.string()?),
            OKAY => Value::Okay,
            MAP => Value::Map(self.pairs(depth)?),
            SET => Value::Set(self.values(depth)?),
            DOUBLE => Value::Double(f64::from_bits(u64::from_le_bytes(self.eight()?))),
            BOOLEAN => Value::Boolean(match self.u8()? {
                0 => false,
                1 => true,
                _ => return None,
            }),
            VERBATIM => {
                let format = match self.string()?.as_str() {
                    "txt" => VerbatimFormat::Text,
                    "mkd" => VerbatimFormat::Markdown,
                    other => VerbatimFormat::Unknown(other.to_owned()),
                };
                Value::VerbatimString { format, text: self.string()? }
            }
            BIG_NUMBER => Value::BigNumber(self.bytes()?),
            ATTRIBUTE => {
                let data = Box::new(self.value(depth + 1)?);
                Value::Attribute { data, attributes: self.pairs(depth)? }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reply_shape_round_trips() {
        let values = [
            Value::Nil,
            Value::Int(-42),
            Value::BulkString(b"\0binary\xff".to_vec()),
            Value::Array(vec![Value::Nil, Value::BulkString(vec![]), Value::Array(vec![])]),
            Value::SimpleString("string".into()),
            Value::Okay,
            Value::Map(vec![(Value::BulkString(b"f".to_vec()), Value::Double(1.5))]),
            Value::Set(vec![Value::Int(1), Value::Int(2)]),
            Value::Double(f64::NEG_INFINITY),
            Value::Boolean(true),
            Value::VerbatimString { format: VerbatimFormat::Markdown, text: "# hi".into() },
            Value::BigNumber(b"123456789012345678901234567890".to_vec()),
            Value::Attribute {
                data: Box::new(Value::Int(1)),
                attributes: vec![(Value::SimpleString("ttl".into()), Value::Int(3))],
            },
        ];
        for value in values {
            let bytes = encode(&value).unwrap();
            assert_eq!(decode(&bytes), Some(value.clone()));
            assert_eq!(decode_lent(Cow::Borrowed(&bytes)), Some(value.clone()));
            assert_eq!(decode_lent(Cow::Owned(bytes.clone())), Some(value.clone()));
            assert_eq!(decode_owned(bytes), Some(value));
        }
    }

    #[test]
    fn errors_are_never_encoded() {
        let error = redis::parse_redis_value(b"-ERR oops\r\n").unwrap();
        assert!(matches!(error, Value::ServerError(_)));
        assert_eq!(encode(&error), None);
        assert_eq!(encode(&Value::Array(vec![Value::Int(1), error])), None);
    }

    #[test]
    fn corrupt_bytes_do_not_decode() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[BULK, 9, 0, 0, 0, b'x']), None);
        assert_eq!(decode(&[ARRAY, 255, 255, 255, 255]), None);
        assert_eq!(decode(&[NIL, NIL]), None);
        assert_eq!(decode(&[99]), None);
        assert_eq!(decode_owned(vec![BULK, 9, 0, 0, 0, b'x']), None);
        assert_eq!(decode_lent(Cow::Borrowed(&[BULK, 9, 0, 0, 0, b'x'])), None);
        assert_eq!(decode_lent(Cow::Borrowed(&[BULK, 0, 0, 0])), None);
        assert_eq!(decode(&[ARRAY, 1, 0, 0, 0].repeat(100)), None);
    }
}
