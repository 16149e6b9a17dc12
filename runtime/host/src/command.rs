//! Which read commands can be cached, which keys each reads, and the
//! canonical cache key of a call.

use std::fmt;
use std::ops::Range;

use crate::error::Error;

/// Where a command's keys are among its arguments (the name excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// The first argument.
    First,
    /// Every argument (EXISTS, SINTER...).
    All,
    /// The first argument counts the keys that follow it (ZUNION, SINTERCARD...).
    Counted,
}

/// A read-only command that may be cached, with its arity.
#[derive(Debug)]
struct Spec {
    name: &'static str,
    /// Fewest arguments, the name excluded.
    min_args: usize,
    /// Most arguments, or `None` for no limit.
    max_args: Option<usize>,
    keys: Keys,
}

const fn spec(name: &'static str, min_args: usize, max_args: Option<usize>, keys: Keys) -> Spec {
    Spec { name, min_args, max_args, keys }
}

use Keys::{All, Counted, First};

/// The allowlist. Only deterministic, read-only commands whose every key is
/// named here: a reply depends on nothing but the keys it reads, so a
/// tracking invalidation of those keys is all it takes to make it stale.
/// Random (SRANDMEMBER, HRANDFIELD) and time-dependent commands are out.
const ALLOWLIST: &[Spec] = &[
    spec("GET", 1, Some(1), First),
    spec("GETRANGE", 3, Some(3), First),
    spec("STRLEN", 1, Some(1), First),
    spec("GETBIT", 2, Some(2), First),
    spec("BITCOUNT", 1, Some(4), First),
    spec("BITPOS", 2, Some(5), First),
    spec("EXISTS", 1, None, All),
    spec("TYPE", 1, Some(1), First),
    spec("HGET", 2, Some(2), First),
    spec("HMGET", 2, None, First),
    spec("HGETALL", 1, Some(1), First),
    spec("HLEN", 1, Some(1), First),
    spec("HEXISTS", 2, Some(2), First),
    spec("HKEYS", 1, Some(1), First),
    spec("HVALS", 1, Some(1), First),
    spec("HSTRLEN", 2, Some(2), First),
    spec("LINDEX", 2, Some(2), First),
    spec("LLEN", 1, Some(1), First),
    spec("LRANGE", 3, Some(3), First),
    spec("LPOS", 2, Some(8), First),
    spec("SCARD", 1, Some(1), First),
    spec("SISMEMBER", 2, Some(2), First),
    spec("SMISMEMBER", 2, None, First),
    spec("SMEMBERS", 1, Some(1), First),
    spec("SINTER", 1, None, All),
    spec("SUNION", 1, None, All),
    spec("SDIFF", 1, None, All),
    spec("SINTERCARD", 2, None, Counted),
    spec("ZCARD", 1, Some(1), First),
    spec("ZSCORE", 2, Some(2), First),
    spec("ZMSCORE", 2, None, First),
    spec("ZRANK", 2, Some(3), First),
    spec("ZREVRANK", 2, Some(3), First),
    spec("ZRANGE", 3, Some(9), First),
    spec("ZRANGEBYSCORE", 3, Some(7), First),
    spec("ZREVRANGEBYSCORE", 3, Some(7), First),
    spec("ZRANGEBYLEX", 3, Some(6), First),
    spec("ZREVRANGE", 3, Some(4), First),
    spec("ZCOUNT", 3, Some(3), First),
    spec("ZLEXCOUNT", 3, Some(3), First),
    spec("ZUNION", 2, None, Counted),
    spec("ZINTER", 2, None, Counted),
    spec("ZDIFF", 2, None, Counted),
    spec("ZINTERCARD", 2, None, Counted),
];

/// The names of every command nearcache can cache.
pub fn cacheable_commands() -> impl Iterator<Item = &'static str> {
    ALLOWLIST.iter().map(|spec| spec.name)
}

/// Why a command may not be sent on the connection the cache shares among
/// all its callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// It changes the connection's state (a transaction, a subscription,
    /// the database, the client's tracking...), which every caller shares.
    ConnectionState,
    /// `MULTI`, `EXEC` or `DISCARD` on their own: a transaction must be
    /// sent whole, as an atomic pipeline.
    Transaction,
    /// It blocks the connection on the server until something happens, and
    /// every other caller's reads and writes wait behind it.
    Blocks,
    /// `SWAPDB`: Redis sends tracking clients no invalidation for it.
    NoInvalidation,
}

impl Refusal {
    /// The reason, for the error's message.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Refusal::ConnectionState => {
                "it would change the state of the connection the cache shares among all its callers; \
                 send it on a redis connection of its own"
            }
            Refusal::Transaction => "send a transaction whole, as an atomic pipeline (Cache::pipeline)",
            Refusal::Blocks => {
                "it blocks the connection the cache shares among all its callers, and every other \
                 caller's reads and writes would wait behind it; send it on a dedicated redis connection"
            }
            Refusal::NoInvalidation => {
                "Redis sends tracking clients no invalidation for it, so the client-side caches of \
                 both databases would go on serving their old values; run it on a connection of its \
                 own, then flush or restart every cache of those databases"
            }
        }
    }
}

/// Commands refused whatever their arguments, and why.
const REFUSED: &[(&str, Refusal)] = &[
    ("MULTI", Refusal::Transaction),
    ("EXEC", Refusal::Transaction),
    ("DISCARD", Refusal::Transaction),
    ("WATCH", Refusal::ConnectionState),
    ("UNWATCH", Refusal::ConnectionState),
    ("SUBSCRIBE", Refusal::ConnectionState),
    ("PSUBSCRIBE", Refusal::ConnectionState),
    ("SSUBSCRIBE", Refusal::ConnectionState),
    ("UNSUBSCRIBE", Refusal::ConnectionState),
    ("PUNSUBSCRIBE", Refusal::ConnectionState),
    ("SUNSUBSCRIBE", Refusal::ConnectionState),
    ("CLIENT", Refusal::ConnectionState),
    ("HELLO", Refusal::ConnectionState),
    ("SELECT", Refusal::ConnectionState),
    ("RESET", Refusal::ConnectionState),
    ("AUTH", Refusal::ConnectionState),
    ("QUIT", Refusal::ConnectionState),
    ("READONLY", Refusal::ConnectionState),
    ("READWRITE", Refusal::ConnectionState),
    ("ASKING", Refusal::ConnectionState),
    ("MONITOR", Refusal::ConnectionState),
    ("SYNC", Refusal::ConnectionState),
    ("PSYNC", Refusal::ConnectionState),
    ("REPLCONF", Refusal::ConnectionState),
    ("BLPOP", Refusal::Blocks),
    ("BRPOP", Refusal::Blocks),
    ("BLMOVE", Refusal::Blocks),
    ("BRPOPLPUSH", Refusal::Blocks),
    ("BLMPOP", Refusal::Blocks),
    ("BZPOPMIN", Refusal::Blocks),
    ("BZPOPMAX", Refusal::Blocks),
    ("BZMPOP", Refusal::Blocks),
    ("WAIT", Refusal::Blocks),
    ("WAITAOF", Refusal::Blocks),
    ("SWAPDB", Refusal::NoInvalidation),
];

/// Why the command `parts` (name first) may not be sent on the cache's
/// shared connection, if it may not: [`REFUSED`], and the stream reads
/// `XREAD` and `XREADGROUP` when they carry a `BLOCK` option.
pub(crate) fn refusal(parts: &[Vec<u8>]) -> Option<Refusal> {
    let (name, args) = parts.split_first()?;
    if let Some(&(_, why)) = REFUSED.iter().find(|(refused, _)| refused.as_bytes().eq_ignore_ascii_case(name)) {
        return Some(why);
    }
    // Options come before STREAMS (after it, every argument is a key or an
    // ID); XREADGROUP's start with `GROUP group consumer`, names that may
    // be anything, BLOCK included.
    let options = if name.eq_ignore_ascii_case(b"XREAD") {
        args
    } else if name.eq_ignore_ascii_case(b"XREADGROUP") {
        args.get(3..).unwrap_or_default()
    } else {
        return None;
    };
    let mut options = options.iter().take_while(|arg| !arg.eq_ignore_ascii_case(b"STREAMS"));
    options.any(|arg| arg.eq_ignore_ascii_case(b"BLOCK")).then_some(Refusal::Blocks)
}

/// `GET`'s place on the allowlist: the first byte of every `GET` cache key.
const GET_CODE: u8 = 0;
const _: () = assert!(matches!(ALLOWLIST[GET_CODE as usize].name.as_bytes(), b"GET"));
// One byte, and never 0xff, which starts the reload check's key.
const _: () = assert!(ALLOWLIST.len() < 0xff, "a command's place on the allowlist fits one byte, below 0xff");

/// An allowlisted read, checked and ready to send or look up.
#[derive(Clone, PartialEq, Eq)]
pub struct ReadCommand {
    /// The command's place on the allowlist: its name, and what stands for
    /// the name in the cache key.
    code: u8,
    /// Arguments after the name.
    args: Vec<Vec<u8>>,
    /// Where in `args` the keys it reads are, first key first: every
    /// allowlisted command's keys are consecutive arguments.
    keys: Range<usize>,
}

impl fmt::Debug for ReadCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        for arg in &self.args {
            write!(f, " {}", String::from_utf8_lossy(arg))?;
        }
        Ok(())
    }
}

impl ReadCommand {
    /// Checks a command (name first) against the allowlist and its arity.
    pub fn parse(parts: Vec<Vec<u8>>) -> Result<ReadCommand, Error> {
        let mut parts = parts.into_iter();
        let name = parts.next().ok_or_else(|| Error::NotCacheable("(empty command)".to_owned()))?;
        let code = ALLOWLIST
            .iter()
            .position(|spec| spec.name.as_bytes().eq_ignore_ascii_case(&name))
            // Escaped, so the refusal stays on one line whatever the name holds.
            .ok_or_else(|| Error::NotCacheable(String::from_utf8_lossy(&name).escape_debug().to_string()))?;
        let spec = &ALLOWLIST[code];
        let args: Vec<Vec<u8>> = parts.collect();
        let arity = |expected: String| Error::WrongArity { command: spec.name, expected, got: args.len() };
        if args.len() < spec.min_args || spec.max_args.is_some_and(|max| args.len() > max) {
            let expected = match spec.max_args {
                Some(max) if max == spec.min_args => format!("{max}"),
                Some(max) => format!("{} to {max}", spec.min_args),
                None => format!("at least {}", spec.min_args),
            };
            return Err(arity(expected));
        }
        let keys = match spec.keys {
            First => 0..1,
            All => 0..args.len(),
            Counted => {
                let count = std::str::from_utf8(&args[0]).ok().and_then(|s| s.parse::<usize>().ok());
                match count {
                    Some(n) if n >= 1 && n < args.len() => 1..n + 1,
                    _ => return Err(arity("a key count of at least 1, followed by that many keys".to_owned())),
                }
            }
        };
        Ok(ReadCommand { code: code as u8, args, keys })
    }

    /// `GET key`.
    pub(crate) fn get(key: Vec<u8>) -> ReadCommand {
        ReadCommand { code: GET_CODE, args: vec![key], keys: 0..1 }
    }

    /// The command's name, upper case.
    pub fn name(&self) -> &'static str {
        ALLOWLIST[usize::from(self.code)].name
    }

    /// The Redis keys the command reads, first key first.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.key_args().iter().map(Vec::as_slice)
    }

    /// The Redis keys the command reads, as the arguments that hold them.
    pub(crate) fn key_args(&self) -> &[Vec<u8>] {
        &self.args[self.keys.clone()]
    }

    /// The first key: the one that picks the shard.
    pub(crate) fn first_key(&self) -> &[u8] {
        &self.args[self.keys.start]
    }

    /// The canonical, unambiguous cache key: the command's place on the
    /// allowlist as one byte, then each argument as its length (LEB128) and
    /// its bytes. Two calls share an entry only if their parts are
    /// identical: `HMGET h a b` and `HMGET h ab` concatenate alike but
    /// encode apart. Short, so that hashing and comparing it is cheap: the
    /// key of `GET user:1` is 8 bytes. It lives as long as the process, so
    /// the codes need not be stable across versions.
    pub fn cache_key(&self) -> Vec<u8> {
        encode_parts(self.code, self.args.iter().map(Vec::as_slice))
    }

    /// The command as the redis crate sends it.
    pub(crate) fn to_cmd(&self) -> redis::Cmd {
        let mut cmd = redis::cmd(self.name());
        for arg in &self.args {
            cmd.arg(arg.as_slice());
        }
        cmd
    }
}

/// The cache key of `GET key`, without building a [`ReadCommand`].
pub(crate) fn get_cache_key(key: &[u8]) -> Vec<u8> {
    encode_parts(GET_CODE, std::iter::once(key))
}

/// Longest Redis key whose `GET` cache key [`with_get_cache_key`] builds on
/// the stack: the code and a one-byte length take two of the buffer's 64
/// bytes, which holds most keys.
const STACK_KEY_MAX: usize = 62;

/// Calls `f` with the cache key of `GET key` (the bytes of
/// [`get_cache_key`]), built in a stack buffer when the key is short, so a
/// hit allocates nothing for it.
#[inline]
pub(crate) fn with_get_cache_key<R>(key: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    if key.len() > STACK_KEY_MAX {
        return f(&get_cache_key(key));
    }
    let mut buffer = [0u8; 64];
    // Under 128, so the length is one LEB128 byte.
    buffer[..2].copy_from_slice(&[GET_CODE, key.len() as u8]);
    buffer[2..2 + key.len()].copy_from_slice(key);
    f(&buffer[..2 + key.len()])
}

/// The command's code, then each argument as its LEB128 length and its bytes.
pub(crate) fn encode_parts<'a>(code: u8, args: impl Iterator<Item = &'a [u8]> + Clone) -> Vec<u8> {
    let size = 1 + args.clone().map(|a| leb128_len(a.len()) + a.len()).sum::<usize>();
    let mut key = Vec::with_capacity(size);
    key.push(code);
    for arg in args {
        push_leb128(&mut key, arg.len());
        key.extend_from_slice(arg);
    }
    key
}

/// Bytes `n` takes in LEB128.
fn leb128_len(n: usize) -> usize {
    (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize
}

/// Appends `n` in LEB128: seven bits a byte, low bits first, the high bit
/// set on every byte but the last. No encoding is a prefix of another, so
/// a length always ends where it should.
fn push_leb128(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The parts (name and arguments) of a redis crate command.
pub(crate) fn parts_of(cmd: &redis::Cmd) -> Vec<Vec<u8>> {
    cmd.args_iter()
        .map(|arg| match arg {
            redis::Arg::Simple(bytes) => bytes.to_vec(),
            // A cursor argument only appears in SCAN-like commands, none of
            // which is cacheable; a placeholder serves the error message.
            _ => b"<cursor>".to_vec(),
        })
        .collect()
}

/// Reads a cache key back into the command's code and its arguments, or
/// `None` if the bytes are not one whole encoding. The host never needs it
/// (a cache key is only compared); it proves in tests and under the fuzzer
/// that no two calls encode alike.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn decode_cache_key(mut key: &[u8]) -> Option<(u8, Vec<Vec<u8>>)> {
    let (&code, rest) = key.split_first()?;
    key = rest;
    let mut args = Vec::new();
    while !key.is_empty() {
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let (&byte, rest) = key.split_first()?;
            key = rest;
            // A length with more bits than a usize is not one the encoder
            // wrote (and shifting past them would overflow).
            let bits = usize::from(byte & 0x7f);
            if shift >= usize::BITS || (bits << shift) >> shift != bits {
                return None;
            }
            len |= bits << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        args.push(key.get(..len)?.to_vec());
        key = &key[len..];
    }
    Some((code, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(parts: &[&str]) -> Result<ReadCommand, Error> {
        ReadCommand::parse(parts.iter().map(|p| p.as_bytes().to_vec()).collect())
    }

    #[test]
    fn blocking_stream_reads_are_refused_and_others_are_not() {
        let refusal = |parts: &[&str]| refusal(&parts.iter().map(|p| p.as_bytes().to_vec()).collect::<Vec<_>>());
        assert_eq!(refusal(&["xread", "BLOCK", "0", "STREAMS", "s", "$"]), Some(Refusal::Blocks));
        assert_eq!(refusal(&["XREAD", "COUNT", "1", "block", "10", "STREAMS", "s", "0"]), Some(Refusal::Blocks));
        assert_eq!(
            refusal(&["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"]),
            Some(Refusal::Blocks)
        );
        // A stream, group or consumer named BLOCK is not the option.
        assert_eq!(refusal(&["XREAD", "STREAMS", "BLOCK", "0"]), None);
        assert_eq!(refusal(&["XREADGROUP", "GROUP", "BLOCK", "BLOCK", "STREAMS", "s", ">"]), None);
        assert_eq!(refusal(&["XREAD", "COUNT", "5", "STREAMS", "s", "0"]), None);
        assert_eq!(refusal(&["swapdb", "0", "1"]), Some(Refusal::NoInvalidation));
        assert_eq!(refusal(&["Multi"]), Some(Refusal::Transaction));
        assert_eq!(refusal(&["BZMPOP", "0", "1", "z", "MIN"]), Some(Refusal::Blocks));
        assert_eq!(refusal(&["SET", "k", "v"]), None);
        assert_eq!(refusal(&[]), None);
    }

    #[test]
    fn keys_by_position() {
        let keys = |parts: &[&str]| parse(parts).unwrap().keys().map(<[u8]>::to_vec).collect::<Vec<_>>();
        assert_eq!(keys(&["hmget", "h", "a", "b"]), vec![b"h".to_vec()]);
        assert_eq!(keys(&["EXISTS", "a", "b"]), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(keys(&["ZUNION", "2", "a", "b", "WITHSCORES"]), vec![b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn cache_keys_never_collide_on_concatenation() {
        let key = |parts: &[&str]| parse(parts).unwrap().cache_key();
        assert_ne!(key(&["HMGET", "h", "a", "b"]), key(&["HMGET", "h", "ab"]));
        assert_ne!(key(&["LRANGE", "l", "1", "10"]), key(&["LRANGE", "l", "11", "0"]));
        assert_ne!(key(&["HGET", "ab", "c"]), key(&["HGET", "a", "bc"]));
        assert_eq!(key(&["get", "k"]), key(&["GET", "k"]));
        assert_ne!(key(&["HGET", "h", "f"]), key(&["HSTRLEN", "h", "f"]));
        assert_eq!(get_cache_key(b"k"), key(&["GET", "k"]));
        assert_eq!(get_cache_key(b"user:1"), b"\0\x06user:1", "a short key costs two bytes more");
        for len in [0, 1, STACK_KEY_MAX - 1, STACK_KEY_MAX, STACK_KEY_MAX + 1, 1000] {
            let redis_key = vec![b'x'; len];
            with_get_cache_key(&redis_key, |on_stack| assert_eq!(on_stack, get_cache_key(&redis_key)));
        }
    }

    #[test]
    fn a_cache_key_decodes_to_exactly_its_command() {
        // Decoding recovers the parts, so two different calls can never
        // encode alike, at every length where LEB128 takes another byte.
        for len in [0, 1, 127, 128, 129, 16_383, 16_384, 70_000] {
            let parts = vec![b"ZRANGE".to_vec(), vec![b'k'; len], b"0".to_vec(), vec![0x80; len / 2]];
            let read = ReadCommand::parse(parts.clone()).unwrap();
            let key = read.cache_key();
            assert_eq!(key.capacity(), key.len(), "sized exactly at {len}");
            let (code, args) = decode_cache_key(&key).expect("a whole encoding");
            assert_eq!(ALLOWLIST[usize::from(code)].name, "ZRANGE");
            assert_eq!(args, parts[1..]);
        }
    }

    #[test]
    fn a_length_longer_than_a_usize_does_not_decode() {
        // Found by the cache_key fuzz target: eleven LEB128 bytes shifted a
        // length past 64 bits, and the decoder panicked.
        let key = b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x85";
        assert_eq!(decode_cache_key(key), None);
        let mut longest = vec![0];
        push_leb128(&mut longest, usize::MAX);
        assert_eq!(longest.len(), 11, "usize::MAX takes ten LEB128 bytes");
        assert_eq!(decode_cache_key(&longest), None, "a length past the key's end");
    }

    #[test]
    fn a_refused_name_is_one_line() {
        // Found by the read_command fuzz target: a name with a newline made
        // a refusal of two lines.
        assert_eq!(
            parse(&["GE\nT", "k"]).unwrap_err().to_string(),
            "`GE\\nT` cannot be cached: it is not a read-only command on the allowlist"
        );
    }

    #[test]
    fn refuses_what_it_cannot_cache() {
        assert_eq!(
            parse(&["SET", "k", "v"]).unwrap_err().to_string(),
            "`SET` cannot be cached: it is not a read-only command on the allowlist"
        );
        assert_eq!(
            parse(&["SRANDMEMBER", "s"]).unwrap_err().to_string(),
            "`SRANDMEMBER` cannot be cached: it is not a read-only command on the allowlist"
        );
        assert_eq!(
            parse(&["GET", "a", "b"]).unwrap_err().to_string(),
            "wrong number of arguments for `GET`: expected 1, got 2"
        );
        assert_eq!(
            parse(&["HGET", "h"]).unwrap_err().to_string(),
            "wrong number of arguments for `HGET`: expected 2, got 1"
        );
        assert_eq!(
            parse(&["HMGET", "h"]).unwrap_err().to_string(),
            "wrong number of arguments for `HMGET`: expected at least 2, got 1"
        );
        assert!(parse(&["ZUNION", "3", "a", "b"]).is_err());
        assert!(parse(&["ZUNION", "0", "a"]).is_err());
    }
}
