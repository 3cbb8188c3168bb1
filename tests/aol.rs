//! AOL import on a small hand-written log with its expected output (worked out by hand:
//! see the comments).
#![cfg(not(target_arch = "wasm32"))]

use tppo::data::aol::{AolSummary, convert};
use tppo::data::jsonl::to_jsonl;

#[test]
fn converts_the_fixture_to_the_expected_users() {
    let input = include_bytes!("fixtures/aol-small.tsv");
    let expected = include_str!("fixtures/aol-small.expected.jsonl");
    let (users, summary) = convert("aol-small.tsv", input, 3).unwrap();
    // 142: the two westchester.gov rows at one time are one search with two clicks; walking
    //      back, dfdf, vaniqa.comh, (dfdf again), then westchester.gov is the third distinct
    //      query: its search and clicks start the target window, the 5 searches before are history.
    // 217: only two distinct queries → skipped.
    // 993: "Cheap Flights" is normalised; orlando weather is a target although it was also searched before.
    assert_eq!(to_jsonl(&users), expected);
    assert_eq!(
        summary,
        AolSummary {
            rows: 23,
            users_seen: 3,
            users_written: 2,
            skipped_fewer_than_3_distinct_queries: 1,
            skipped_short_history: 0,
            rows_empty_query: 1,
            rows_text_too_long: 0,
            repeated_rows_merged: 2,
        }
    );
    // The output is valid input.
    tppo::data::jsonl::read_users_bytes("out", expected.as_bytes()).unwrap();
}

#[test]
fn short_histories_are_skipped_and_counted() {
    let input = include_bytes!("fixtures/aol-small.tsv");
    let (users, summary) = convert("aol-small.tsv", input, 6).unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].user_id, "aol-993");
    assert_eq!(summary.skipped_short_history, 1);
}

#[test]
fn malformed_rows_name_line_and_column() {
    let cases: &[(&str, &str)] = &[
        ("142\tq\t2006-03-01 07:17:12\t1", ""),
        ("abc\tq\t2006-03-01 07:17:12\t\t", "AnonID"),
        ("142\tq\tmarch first\t\t", "QueryTime"),
        ("142\tq\t2006-03-01 07:17:12\tfirst\thttp://x", "ItemRank"),
        ("142\tq\t2006-03-01 07:17:12\t1\t", "ClickURL"),
    ];
    for (row, field) in cases {
        let input = format!(
            "AnonID\tQuery\tQueryTime\tItemRank\tClickURL\n142\tok\t2006-03-01 07:00:00\t\t\n{row}\n"
        );
        let err = convert("log.tsv", input.as_bytes(), 1).unwrap_err();
        assert_eq!(err.0.len(), 1, "{row}");
        assert_eq!(
            (err.0[0].line, err.0[0].field.as_str()),
            (3, *field),
            "{row}: {err}"
        );
    }
    let err = convert("log.tsv", b"id\tquery\n", 1).unwrap_err();
    assert_eq!(err.0[0].field, "header");
}
