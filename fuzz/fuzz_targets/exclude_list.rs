#![no_main]
// The body is dane_fuzz::exclude_list (crates/dane-fuzz), which the corpus replay test runs too.
libfuzzer_sys::fuzz_target!(|data: &[u8]| dane_fuzz::exclude_list(data));
