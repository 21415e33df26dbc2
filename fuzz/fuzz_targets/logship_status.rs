//! Fuzz target: see `fuzzchecks::check_logship_status` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzchecks::check_logship_status(data));
