//! cargo-fuzz target `callback`: see `gw_fuzz::check_callback` (run it with `scripts/fuzz callback`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gw_fuzz::check_callback(data));
