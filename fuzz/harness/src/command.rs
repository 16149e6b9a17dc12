//! The allowlist and the cache key: commands come from the application,
//! and the cache key must tell every two different calls apart.

use arbitrary::{Result, Unstructured};
use nearcache::ReadCommand;
use nearcache::cacheable_commands;
use nearcache::fuzzing::{cache_key_decode, cache_key_encode, command_parts, get_cache_key, with_get_cache_key};

use crate::values::mixed_case;

/// Any bytes as a cache key: the decoder never panics, and what it reads
/// encodes to a key that reads back the same. `GET`'s two key builders
/// agree with the general encoding.
pub fn cache_key(data: &[u8]) {
    if let Some((code, args)) = cache_key_decode(data) {
        let again = cache_key_encode(code, &args);
        assert_eq!(cache_key_decode(&again), Some((code, args)), "a decoded key re-encodes to another");
    }
    let key = get_cache_key(data);
    with_get_cache_key(data, |on_stack| assert_eq!(on_stack, key, "the stack-built GET key differs"));
    assert_eq!(cache_key_decode(&key), Some((0, vec![data.to_vec()])), "a GET key does not read back");
}

/// Two commands made from the input: each that parses has a cache key that
/// decodes to exactly its name and arguments, keys that are among its
/// arguments, and the parts the redis crate sends; two that share a cache
/// key are the same call.
pub fn read_command(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let (Ok(a), Ok(b)) = (parts(&mut u), parts(&mut u)) else { return };
    let a = check(a);
    let b = check(b);
    if let (Some((a, key_a)), Some((b, key_b))) = (a, b) {
        assert_eq!(key_a == key_b, a == b, "cache keys {key_a:?} and {key_b:?} for {a:?} and {b:?}");
    }
}

/// Parses `parts`; if it is cacheable, checks it and returns it and its key.
fn check(parts: Vec<Vec<u8>>) -> Option<(ReadCommand, Vec<u8>)> {
    let read = match ReadCommand::parse(parts.clone()) {
        Ok(read) => read,
        Err(error) => {
            let message = error.to_string();
            assert!(!message.contains('\n'), "a refusal on more than one line: {message:?}");
            return None;
        }
    };
    let _ = format!("{read:?}");
    let name = read.name();
    assert!(name.as_bytes().eq_ignore_ascii_case(&parts[0]), "{name} parsed from {:?}", parts[0]);
    let args = &parts[1..];

    let key = read.cache_key();
    let (code, decoded) = cache_key_decode(&key).expect("a cache key decodes");
    assert_eq!(cacheable_commands().nth(usize::from(code)), Some(name), "the key's code names another command");
    assert_eq!(decoded, args, "the key's arguments differ");
    if name == "GET" {
        assert_eq!(get_cache_key(&args[0]), key, "get_cache_key differs from the parsed GET's key");
    }

    let keys: Vec<&[u8]> = read.keys().collect();
    assert!(!keys.is_empty(), "{read:?} reads no key");
    assert!(
        args.windows(keys.len()).any(|window| window.iter().zip(&keys).all(|(arg, key)| arg.as_slice() == *key)),
        "keys {keys:?} are not consecutive arguments of {read:?}"
    );

    let sent = command_parts(&read);
    assert_eq!(sent[0], name.as_bytes(), "the redis crate sends another name");
    assert_eq!(sent[1..], *args, "the redis crate sends other arguments");
    let reparsed = ReadCommand::parse(sent).expect("the parts sent parse again");
    assert_eq!(reparsed.cache_key(), key, "the parts sent have another cache key");
    Some((read, key))
}

/// A command: usually an allowlisted name in any case, then a few
/// arguments, often short numbers (ZUNION-like commands count their keys).
fn parts(u: &mut Unstructured<'_>) -> Result<Vec<Vec<u8>>> {
    let names: Vec<&str> = cacheable_commands().chain(["SET", "CLIENT", ""]).collect();
    let name = if u.ratio(7, 8)? {
        let name = *u.choose(&names)?;
        mixed_case(u, name)?.into_bytes()
    } else {
        u.arbitrary()?
    };
    let count = u.int_in_range(0..=10)?;
    let mut parts = vec![name];
    for _ in 0..count {
        parts.push(match u.int_in_range(0..=3)? {
            0 => u.int_in_range(0..=12u8)?.to_string().into_bytes(),
            1 => vec![b'k'; u.int_in_range(0..=200)?],
            _ => u.arbitrary()?,
        });
    }
    Ok(parts)
}
