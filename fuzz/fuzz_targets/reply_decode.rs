#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| nearcache_fuzz_harness::reply_decode(data));
