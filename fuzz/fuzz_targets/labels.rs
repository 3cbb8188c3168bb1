//! The labels reader: any bytes give records or errors, never a panic; every word
//! of an accepted record is the text at its offsets in the response.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = tppo::labeler::labels::read_bytes("fuzz.jsonl", data) {
        for r in records {
            for w in &r.words {
                assert_eq!(r.response.get(w.start..w.end), Some(w.text.as_str()));
            }
        }
    }
});
