//! cargo-fuzz target `token_response`: see `gw_fuzz::check_token_response` (run it with `scripts/fuzz token_response`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gw_fuzz::check_token_response(data));
