//! The default store as a component: `nearcache_store::Store` behind the
//! `store` exports of `wit/backend.wit`. The same code the host runs natively,
//! so the conformance suite compares the sandbox and nothing else.

wit_bindgen::generate!({
    path: "../../wit",
    world: "backend",
    // `get` is exported by hand below, to return the value without copying
    // it and without a post-return call.
    skip: ["get"],
});

use std::cell::RefCell;

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};
use nearcache_store::Store;

thread_local! {
    /// All state of the instance. A component instance is single-threaded
    /// and never re-entered, so the borrow below never fails.
    static STORE: RefCell<Store> = RefCell::new(Store::new());
}

fn with_store<R>(f: impl FnOnce(&mut Store) -> R) -> R {
    STORE.with(|store| f(&mut store.borrow_mut()))
}

struct RustStore;

impl Guest for RustStore {
    fn init(options: Vec<(String, String)>) -> Result<(), String> {
        with_store(|store| store.init(options).map_err(|e| e.to_string()))
    }

    fn put(key: CacheKey, value: Value, ttl_ms: Option<u64>, now_ms: u64) {
        with_store(|store| store.put(&key, &value, ttl_ms, now_ms));
    }

    fn put_with_ref(key: CacheKey, redis_key: RedisKey, value: Value, ttl_ms: Option<u64>, now_ms: u64) {
        with_store(|store| store.put_with_ref(&key, &redis_key, &value, ttl_ms, now_ms));
    }

    fn invalidate(keys: Option<Vec<CacheKey>>) {
        with_store(|store| store.invalidate(keys.as_deref()));
    }

    fn invalidate_refs(redis_keys: Option<Vec<RedisKey>>) {
        with_store(|store| store.invalidate_refs(redis_keys.as_deref()));
    }

    fn flush() {
        with_store(Store::flush);
    }

    fn stats() -> Vec<(String, u64)> {
        with_store(|store| store.stats().to_pairs().iter().map(|&(name, value)| (name.to_owned(), value)).collect())
    }

    fn sweep(now_ms: u64, max: u32) -> u32 {
        with_store(|store| store.sweep(now_ms, max))
    }

    fn destroy() {
        with_store(Store::destroy);
    }
}

export!(RustStore);

/// `get` in the canonical ABI, written by hand: the bindings wit-bindgen
/// generates copy the value into a fresh allocation, return that, and free
/// it in a post-return call, which costs the host a second call into the
/// instance. Here the result points at the value inside the store: the
/// host copies it out as soon as `get` returns, before anything else runs
/// in the instance, so the pointer only has to stay valid until then, and
/// the store is not touched in between. No `cabi_post_` export is given,
/// so the host makes no post-return call.
mod get_export {
    use super::with_store;

    /// `option<list<u8>>`: discriminant at 0, then the list's pointer and
    /// length at 4 and 8.
    #[repr(C, align(4))]
    struct ReturnArea([u32; 3]);

    static mut RETURN_AREA: ReturnArea = ReturnArea([0; 3]);

    /// `get: func(key: list<u8>, now-ms: u64) -> option<list<u8>>`.
    ///
    /// # Safety
    ///
    /// Called only by the component's canonical lift: `key` and `key_len`
    /// are an allocation of `key_len` bytes the host made with
    /// `cabi_realloc`, whose ownership passes to this function.
    #[unsafe(export_name = "nearcache:backend/store@0.1.0#get")]
    unsafe extern "C" fn get(key: *mut u8, key_len: usize, now_ms: i64) -> *mut u8 {
        wit_bindgen::rt::run_ctors_once();
        // SAFETY: the canonical ABI hands over an allocation of `key_len`
        // bytes from `cabi_realloc` (the global allocator), as the
        // generated bindings assume too.
        let key = unsafe { Vec::from_raw_parts(key, key_len, key_len) };
        #[expect(clippy::cast_sign_loss, reason = "the canonical ABI passes a u64 as an i64")]
        let found = with_store(|store| store.get(&key, now_ms as u64).map(|value| (value.as_ptr(), value.len())));
        drop(key);
        let area = match found {
            // wasm32: pointers and lengths are 32 bits.
            Some((ptr, len)) => [1, ptr as u32, len as u32],
            None => [0, 0, 0],
        };
        let ret = &raw mut RETURN_AREA;
        // SAFETY: an instance is single-threaded and never re-entered, and
        // the host reads the area before its next call.
        unsafe {
            (*ret).0 = area;
        }
        ret.cast()
    }
}

/// The global allocator: free lists for small blocks in front of the
/// system allocator (wasi-libc's dlmalloc).
///
/// Every call the host makes with a list argument first calls
/// `cabi_realloc` for it, and the guest frees it when the call returns; the
/// store allocates one block per entry. These are small blocks of a few
/// sizes over and over, and a free list serves them in a few instructions,
/// where dlmalloc takes a hundred or more. Only blocks of up to
/// [`small::MAX`] bytes, with alignment of at most 8, go through the lists,
/// rounded up to a multiple of 16 bytes: larger ones go to dlmalloc as
/// before, so big values waste nothing. A freed small block stays on its
/// list for the next block of its size.
mod small {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::UnsafeCell;
    use std::ptr;

    /// The largest block the free lists serve.
    pub const MAX: usize = 512;
    const GRAIN: usize = 16;
    const CLASSES: usize = MAX / GRAIN;

    pub struct Allocator {
        /// The head of each size class's free list; a free block holds the
        /// pointer to the next.
        free: UnsafeCell<[*mut u8; CLASSES]>,
    }

    // SAFETY: an instance runs on one thread (wasm32-wasip2 has no threads).
    unsafe impl Sync for Allocator {}

    impl Allocator {
        pub const fn new() -> Allocator {
            Allocator { free: UnsafeCell::new([ptr::null_mut(); CLASSES]) }
        }
    }

    /// The size class of `layout`, if the free lists serve it.
    fn class(layout: Layout) -> Option<usize> {
        (layout.size() <= MAX && layout.align() <= 8).then(|| layout.size().saturating_sub(1) / GRAIN)
    }

    fn class_layout(class: usize) -> Layout {
        // Cannot fail: the size is a small multiple of 16, the alignment 8.
        Layout::from_size_align((class + 1) * GRAIN, 8).unwrap_or(Layout::new::<u64>())
    }

    // SAFETY: blocks on a free list are blocks of the class's layout from
    // `System`, not in use: each is handed out to one owner at a time.
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let Some(class) = class(layout) else {
                return unsafe { System.alloc(layout) };
            };
            // SAFETY: single-threaded, and no reference to the lists
            // outlives this call.
            let head = unsafe { &mut (*self.free.get())[class] };
            if head.is_null() {
                return unsafe { System.alloc(class_layout(class)) };
            }
            let block = *head;
            // SAFETY: a free block holds the next free block's address.
            *head = unsafe { block.cast::<*mut u8>().read() };
            block
        }

        unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
            let Some(class) = class(layout) else {
                return unsafe { System.dealloc(block, layout) };
            };
            // SAFETY: as in `alloc`; the block is at least 16 bytes and
            // 8-aligned, room for the link.
            unsafe {
                let head = &mut (*self.free.get())[class];
                block.cast::<*mut u8>().write(*head);
                *head = block;
            }
        }

        unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: `layout` and `new_size` come from the caller, who
            // upholds `GlobalAlloc::realloc`'s contract.
            unsafe {
                let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                match (class(layout), class(new_layout)) {
                    // The block already has room.
                    (Some(old), Some(new)) if old == new => block,
                    (None, None) => System.realloc(block, layout, new_size),
                    _ => {
                        let new = self.alloc(new_layout);
                        if !new.is_null() {
                            ptr::copy_nonoverlapping(block, new, layout.size().min(new_size));
                            self.dealloc(block, layout);
                        }
                        new
                    }
                }
            }
        }
    }
}

#[global_allocator]
static ALLOCATOR: small::Allocator = small::Allocator::new();

/// `memcmp` and `bcmp`, eight bytes at a time.
///
/// Every lookup compares the key it was given with the stored one, and
/// Rust compares byte slices with `memcmp`. wasi-libc's compares one byte
/// per loop iteration, each iteration metered by the sandbox's fuel: about
/// 500 instructions for a 16-byte key, a third of a get. These definitions
/// come first at link time, so libc's are not linked.
mod compare {
    /// The sign of the first differing byte, as `memcmp`.
    ///
    /// # Safety
    ///
    /// `a` and `b` must be valid for reads of `n` bytes.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: `i + 8 <= n`, and both are valid for `n` bytes.
            let (x, y) = unsafe { (a.add(i).cast::<u64>().read_unaligned(), b.add(i).cast::<u64>().read_unaligned()) };
            if x != y {
                // Big-endian order makes the first byte the most significant.
                return if u64::from_be(x) < u64::from_be(y) { -1 } else { 1 };
            }
            i += 8;
        }
        while i < n {
            // SAFETY: `i < n`.
            let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
            if x != y {
                return i32::from(x) - i32::from(y);
            }
            i += 1;
        }
        0
    }

    /// Zero if the `n` bytes at `a` and `b` are equal, as `bcmp`.
    ///
    /// # Safety
    ///
    /// As [`memcmp`].
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: the same contract.
        unsafe { memcmp(a, b, n) }
    }
}
