//! The one data schema (DESIGN §2): one JSON object per line, one line per user.
//!
//! ```json
//! {"user_id": "u1", "history": [{"kind": "search", "text": "cheap flights", "time": "2006-03-01 07:17:12"},
//!                               {"kind": "click", "text": "www.expedia.com"}],
//!  "targets": ["orlando hotels", "disney tickets", "orlando weather"],
//!  "meta": {"interests": ["travel"]}}
//! ```
//!
//! Rules (checked by [`crate::data::jsonl`]): `user_id` non-empty and unique;
//! `history` 1..=[`MAX_HISTORY`] events; `kind` is `search` or `click`; `text`
//! non-empty, at most [`MAX_TEXT_BYTES`] bytes, no control characters; `time`
//! optional, `YYYY-MM-DD HH:MM:SS` (or ISO 8601 with `T`, optional `Z`), and
//! non-decreasing along the history when given; exactly [`N_TARGETS`] targets,
//! each a non-empty query without the response separator `;`. `meta` is free
//! for analysis (the generator's hidden interests): the labeler never reads it.
//! Any other field is an error, so a typo never silently drops data.
//!
//! Files are UTF-8. A leading byte-order mark (as spreadsheet tools and Windows
//! editors write it) is skipped, and lines may end in `\n` or `\r\n`; the same
//! holds for labels files and `tppo eval` outputs ([`crate::data::jsonl::lines`]).

use serde::{Deserialize, Serialize};

pub const N_TARGETS: usize = 3;
pub const MAX_HISTORY: usize = 1000;
pub const MAX_TEXT_BYTES: usize = 512;
pub const MAX_LINE_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Search,
    Click,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    pub history: Vec<Event>,
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
}

impl User {
    /// The targets as one response string `q1; q2; q3`.
    pub fn target_response(&self) -> String {
        crate::text::join_response(&self.targets)
    }

    /// The history's searches, in order (clicks left out).
    pub fn searches(&self) -> Vec<&str> {
        self.history
            .iter()
            .filter(|e| e.kind == EventKind::Search)
            .map(|e| e.text.as_str())
            .collect()
    }
}

/// `YYYY-MM-DD HH:MM:SS`, or the same with `T` and an optional `Z`.
pub fn is_valid_time(t: &str) -> bool {
    let b = t.as_bytes();
    let b = b.strip_suffix(b"Z").unwrap_or(b);
    if b.len() != 19 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| -> u32 {
        b[r].iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let shape = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b' ' || b[10] == b'T')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    shape
        && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 61
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats() {
        assert!(is_valid_time("2006-03-01 07:17:12"));
        assert!(is_valid_time("2006-03-01T07:17:12Z"));
        assert!(!is_valid_time("2006-13-01 07:17:12"));
        assert!(!is_valid_time("2006-03-01"));
        assert!(!is_valid_time("yesterday at noon!!"));
    }
}
