//! cargo-fuzz target `state_file`: see `gw_fuzz::check_state_file` (run it with `scripts/fuzz state_file`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gw_fuzz::check_state_file(data));
