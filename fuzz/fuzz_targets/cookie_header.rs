#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| consentry::fuzzing::cookie_header(data));
