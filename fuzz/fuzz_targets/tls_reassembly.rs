#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acrscope_fuzz::tls_reassembly(data));
