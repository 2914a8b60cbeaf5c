#![no_main]
// The body is dane_fuzz::ca_families (crates/dane-fuzz), which the corpus replay test runs too.
libfuzzer_sys::fuzz_target!(|data: &[u8]| dane_fuzz::ca_families(data));
