//! Fuzz target: see `fuzzchecks::check_tai64_scan` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzchecks::check_tai64_scan(data));
