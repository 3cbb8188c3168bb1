//! Malformed user lines: each gives an error that names the file, the line and
//! the field, and the valid lines around it are still read.
#![cfg(not(target_arch = "wasm32"))]

use tppo::data::jsonl::check_bytes;

const GOOD: &str = r#"{"user_id":"ok-1","history":[{"kind":"search","text":"cheap flights","time":"2006-03-01 07:17:12"}],"targets":["a","b","c"]}"#;
const GOOD2: &str = r#"{"user_id":"ok-2","history":[{"kind":"click","text":"www.expedia.com"}],"targets":["d","e","f"]}"#;

/// (bad line, field the error must name ("" for a whole-line error), a word the message must contain)
const CASES: &[(&str, &str, &str)] = &[
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"x"}],"targets":["a","b","c"]"#,
        "",
        "invalid JSON",
    ),
    (r#"[1,2,3]"#, "", "expected a JSON object"),
    (r#""just a string""#, "", "expected a JSON object"),
    (
        r#"{"history":[{"kind":"search","text":"x"}],"targets":["a","b","c"]}"#,
        "user_id",
        "missing",
    ),
    (
        r#"{"user_id":42,"history":[{"kind":"search","text":"x"}],"targets":["a","b","c"]}"#,
        "user_id",
        "expected a string",
    ),
    (
        r#"{"user_id":"  ","history":[{"kind":"search","text":"x"}],"targets":["a","b","c"]}"#,
        "user_id",
        "non-empty",
    ),
    (
        r#"{"user_id":"u","targets":["a","b","c"]}"#,
        "history",
        "missing",
    ),
    (
        r#"{"user_id":"u","history":{},"targets":["a","b","c"]}"#,
        "history",
        "expected an array",
    ),
    (
        r#"{"user_id":"u","history":[],"targets":["a","b","c"]}"#,
        "history",
        "at least one event",
    ),
    (
        r#"{"user_id":"u","history":["cheap flights"],"targets":["a","b","c"]}"#,
        "history[0]",
        "event object",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"serach","text":"x"}],"targets":["a","b","c"]}"#,
        "history[0].kind",
        "\"search\" or \"click\"",
    ),
    (
        r#"{"user_id":"u","history":[{"text":"x"}],"targets":["a","b","c"]}"#,
        "history[0].kind",
        "missing",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search"}],"targets":["a","b","c"]}"#,
        "history[0].text",
        "missing",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":""}],"targets":["a","b","c"]}"#,
        "history[0].text",
        "non-empty",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"a\tb"}],"targets":["a","b","c"]}"#,
        "history[0].text",
        "control characters",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"x","time":"yesterday"}],"targets":["a","b","c"]}"#,
        "history[0].time",
        "YYYY-MM-DD",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"x","time":"2006-03-02 00:00:00"},{"kind":"search","text":"y","time":"2006-03-01 00:00:00"}],"targets":["a","b","c"]}"#,
        "history[1].time",
        "time order",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"x","clicks":3}],"targets":["a","b","c"]}"#,
        "history[0].clicks",
        "unknown field",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"x"}]}"#,
        "targets",
        "missing",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"x"}],"targets":["a","b"]}"#,
        "targets",
        "exactly 3",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"x"}],"targets":["a","b","c","d"]}"#,
        "targets",
        "exactly 3",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"x"}],"targets":["a",7,"c"]}"#,
        "targets[1]",
        "expected a string",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"x"}],"targets":["a","b; c","d"]}"#,
        "targets[1]",
        "separator",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"x"}],"targets":["a","b","c"],"meta":"x"}"#,
        "meta",
        "expected an object",
    ),
    (
        r#"{"user_id":"u","history":[{"kind":"search","text":"x"}],"targets":["a","b","c"],"target":["a"]}"#,
        "target",
        "unknown field",
    ),
    (
        r#"{"user_id":"ok-1","history":[{"kind":"search","text":"x"}],"targets":["a","b","c"]}"#,
        "user_id",
        "already used on line 1",
    ),
    ("", "", "empty line"),
];

#[test]
fn every_malformed_line_is_named_and_no_valid_line_is_lost() {
    assert!(CASES.len() >= 15);
    for (bad, field, word) in CASES {
        let input = format!("{GOOD}\n{bad}\n{GOOD2}\n");
        let c = check_bytes("users.jsonl", input.as_bytes());
        assert_eq!(c.errors.len(), 1, "case {bad}: {:?}", c.errors);
        let e = &c.errors[0];
        assert_eq!((e.file.as_str(), e.line), ("users.jsonl", 2), "case {bad}");
        assert_eq!(e.field, *field, "case {bad}: {e}");
        assert!(
            e.message.contains(word),
            "case {bad}: message {:?} lacks {word:?}",
            e.message
        );
        let shown = e.to_string();
        assert!(shown.starts_with("users.jsonl:2"), "{shown}");
        if !field.is_empty() {
            assert!(shown.contains(&format!("`{field}`")), "{shown}");
        }
        let ids: Vec<&str> = c.users.iter().map(|u| u.user_id.as_str()).collect();
        assert_eq!(ids, ["ok-1", "ok-2"], "case {bad}: valid lines lost");
    }
}

#[test]
fn invalid_utf8_and_enormous_lines_are_errors_not_truncations() {
    let mut input = format!("{GOOD}\n").into_bytes();
    input.extend_from_slice(b"{\"user_id\":\"\xff\xfe\"}\n");
    input.extend_from_slice(
        format!("{}\n", "x".repeat(tppo::data::schema::MAX_LINE_BYTES + 1)).as_bytes(),
    );
    input.extend_from_slice(format!("{GOOD2}\n").as_bytes());
    let c = check_bytes("f.jsonl", &input);
    assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
    assert_eq!(c.errors[0].line, 2);
    assert!(c.errors[0].message.contains("UTF-8"));
    assert_eq!(c.errors[1].line, 3);
    assert!(c.errors[1].message.contains("limit"));
    assert_eq!(c.users.len(), 2);
}

#[test]
fn one_line_can_carry_several_errors() {
    let c = check_bytes(
        "f.jsonl",
        br#"{"user_id":"","history":[{"kind":"x","text":""}],"targets":[]}"#,
    );
    let fields: Vec<&str> = c.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["user_id", "history[0].kind", "history[0].text", "targets"]
    );
}

#[test]
fn a_file_round_trips_through_the_writer() {
    let input = format!("{GOOD}\n{GOOD2}\n");
    let users = tppo::data::jsonl::read_users_bytes("f", input.as_bytes()).unwrap();
    let again = tppo::data::jsonl::to_jsonl(&users);
    assert_eq!(
        tppo::data::jsonl::read_users_bytes("f", again.as_bytes()).unwrap(),
        users
    );
}

#[test]
fn a_leading_byte_order_mark_and_crlf_line_ends_are_accepted() {
    // As spreadsheet tools and Windows editors write a file.
    let text = format!("\u{feff}{GOOD}\r\n{GOOD2}\r\n");
    let c = check_bytes("bom.jsonl", text.as_bytes());
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.users.len(), 2);
    assert_eq!(c.users[0].user_id, "ok-1");
    assert_eq!(c.users[1].user_id, "ok-2");
    // A byte-order mark anywhere else is still an error, named at its line.
    let text = format!("{GOOD}\n\u{feff}{GOOD2}\n");
    let c = check_bytes("bom.jsonl", text.as_bytes());
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    assert_eq!(c.errors[0].line, 2);
    // The labels reader and the outputs reader share the line splitter.
    let lines: Vec<_> = tppo::data::jsonl::lines(b"\xEF\xBB\xBFa\r\nb").collect();
    assert_eq!(lines, vec![(1, &b"a"[..]), (2, &b"b"[..])]);
}
