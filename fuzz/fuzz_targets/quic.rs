#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acrscope_fuzz::quic(data));
