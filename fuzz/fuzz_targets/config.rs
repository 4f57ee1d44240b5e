//! cargo-fuzz target `config`: see `gw_fuzz::check_config` (run it with `scripts/fuzz config`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gw_fuzz::check_config(data));
