//! The users JSONL reader: any bytes give users and errors, never a panic; every
//! error names a line of the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let c = tppo::data::jsonl::check_bytes("fuzz.jsonl", data);
    let lines = data.split(|&b| b == b'\n').count();
    for e in &c.errors {
        assert!(e.line <= lines, "{e}");
    }
    // What was read writes back and reads again to the same users.
    if c.users.is_empty() {
        return;
    }
    let again = tppo::data::jsonl::to_jsonl(&c.users);
    let back = tppo::data::jsonl::read_users_bytes("again.jsonl", again.as_bytes());
    assert_eq!(back.as_ref().ok(), Some(&c.users), "{back:?}");
});
