//! The AOL log converter: any bytes give users or errors, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tppo::data::aol::convert("fuzz.txt", data, 1);
});
