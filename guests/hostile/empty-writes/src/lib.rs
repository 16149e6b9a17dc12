//! A hostile guest. In `get` of the trigger key, makes 200,000 empty
//! (zero-length) writes and flushes to WASI stdout and stderr, straight
//! through the imports rather than through `std`, which would skip them.
//! A host whose output stream queues each write, even an empty one, holds
//! on to memory for each (GHSA-5m8g-xhq4-4h93, fixed in wasmtime-wasi
//! 48.0.9); the host must not grow.
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

/// Rounds of writes per `get`: each makes five calls on each stream.
const ROUNDS: u32 = 20_000;

/// The WASI 0.2 imports, as the canonical ABI lowers them. The component's
/// types for them come from the WASI types `std` links in.
mod wasi {
    #[link(wasm_import_module = "wasi:cli/stdout@0.2.0")]
    unsafe extern "C" {
        #[link_name = "get-stdout"]
        pub fn get_stdout() -> i32;
    }

    #[link(wasm_import_module = "wasi:cli/stderr@0.2.0")]
    unsafe extern "C" {
        #[link_name = "get-stderr"]
        pub fn get_stderr() -> i32;
    }

    // Each returns `result<_, stream-error>` through `ret`.
    #[link(wasm_import_module = "wasi:io/streams@0.2.0")]
    unsafe extern "C" {
        #[link_name = "[method]output-stream.write"]
        pub fn write(stream: i32, bytes: *const u8, len: usize, ret: *mut u8);
        #[link_name = "[method]output-stream.blocking-write-and-flush"]
        pub fn blocking_write_and_flush(stream: i32, bytes: *const u8, len: usize, ret: *mut u8);
        #[link_name = "[method]output-stream.write-zeroes"]
        pub fn write_zeroes(stream: i32, len: u64, ret: *mut u8);
        #[link_name = "[method]output-stream.flush"]
        pub fn flush(stream: i32, ret: *mut u8);
        #[link_name = "[method]output-stream.blocking-flush"]
        pub fn blocking_flush(stream: i32, ret: *mut u8);
    }
}

/// Where each call's `result<_, stream-error>` goes: a tag byte, then the
/// error's tag and handle.
#[repr(C, align(4))]
struct Ret([u8; 12]);

struct Hostile;

impl Guest for Hostile {
    guest_support::well_behaved!(init, put, put_with_ref, invalidate, invalidate_refs, flush, stats, sweep, destroy);

    fn get(key: CacheKey, now_ms: u64) -> Option<Value> {
        if guest_support::is_trigger(&key) {
            let mut ret = Ret([0; 12]);
            let ret = ret.0.as_mut_ptr();
            let empty: &[u8] = &[];
            // SAFETY: the imports take a stream handle this instance owns,
            // an empty slice, and a return area of the size and alignment
            // the canonical ABI lays `result<_, stream-error>` out in.
            unsafe {
                let streams = [wasi::get_stdout(), wasi::get_stderr()];
                for _ in 0..ROUNDS {
                    for stream in streams {
                        wasi::write(stream, empty.as_ptr(), 0, ret);
                        wasi::blocking_write_and_flush(stream, empty.as_ptr(), 0, ret);
                        wasi::write_zeroes(stream, 0, ret);
                        wasi::flush(stream, ret);
                        wasi::blocking_flush(stream, ret);
                    }
                }
            }
            return Some(b"written".to_vec());
        }
        guest_support::get(&key, now_ms)
    }
}

export!(Hostile);
