//! cargo-fuzz target `endpoint_request`: see `gw_fuzz::check_endpoint_request` (run it with `scripts/fuzz endpoint_request`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gw_fuzz::check_endpoint_request(data));
