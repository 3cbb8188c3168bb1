//! AOL query-log import (paper §4: the open data set was built from AOL).
//!
//! Input: the AOL log format, tab-separated with a header line
//! `AnonID  Query  QueryTime  ItemRank  ClickURL`; the last two columns are
//! empty (or absent) for a search without a click. Output: users in the
//! schema of [`super::schema`], in order of first appearance in the log.
//!
//! Rule (paper §4): per user, events in time order (stable for equal times);
//! a row with a click URL is a search followed by a click; repeated rows of the
//! same query at the same time (one per click) make one search. The newest
//! [`N_TARGETS`] distinct queries are the targets: walking back from the end,
//! the cut is at the search that brings the third distinct query; the targets
//! are those queries in order, and everything before the cut is the history
//! (searches and clicks inside the target window are answers to the targets,
//! so they are left out of the history to avoid a leak). Users with fewer than
//! 3 distinct queries or with fewer than `min_history` history events are
//! skipped and counted; nothing is dropped without a count in [`AolSummary`].

use super::schema::*;
use crate::error::{InputError, InputErrors};
use crate::text::normalize_query;

pub const HEADER: [&str; 5] = ["AnonID", "Query", "QueryTime", "ItemRank", "ClickURL"];

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AolSummary {
    pub rows: usize,
    pub users_seen: usize,
    pub users_written: usize,
    pub skipped_fewer_than_3_distinct_queries: usize,
    pub skipped_short_history: usize,
    pub rows_empty_query: usize,
    pub rows_text_too_long: usize,
    pub repeated_rows_merged: usize,
}

struct Row {
    time: String,
    query: String,
    click: Option<String>,
}

/// Convert an AOL log (as bytes) to users. Malformed rows are errors with line and column.
pub fn convert(
    file: &str,
    bytes: &[u8],
    min_history: usize,
) -> Result<(Vec<User>, AolSummary), InputErrors> {
    let mut errors = Vec::new();
    let mut summary = AolSummary::default();
    let mut order: Vec<String> = Vec::new();
    let mut rows: std::collections::HashMap<String, Vec<Row>> = Default::default();

    let mut lines = super::jsonl::lines(bytes);
    match lines.next() {
        Some((_, h)) if split_cols(h).as_slice() == HEADER => {}
        Some((n, h)) => errors.push(InputError::new(
            file,
            n,
            "header",
            format!(
                "expected the header \"{}\", found \"{}\"",
                HEADER.join("\\t"),
                String::from_utf8_lossy(h).replace('\t', "\\t")
            ),
        )),
        None => errors.push(InputError::new(
            file,
            0,
            "",
            "expected a header line, found an empty file",
        )),
    }

    for (n, raw) in lines {
        summary.rows += 1;
        let err = |field: &str, m: String| InputError::new(file, n, field, m);
        let Ok(line) = std::str::from_utf8(raw) else {
            errors.push(err("", "expected UTF-8 text".into()));
            continue;
        };
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 3 && cols.len() != 5 {
            errors.push(err(
                "",
                format!(
                    "expected 5 tab-separated columns (or 3 without a click), found {}",
                    cols.len()
                ),
            ));
            continue;
        }
        let (id, query, time) = (cols[0].trim(), cols[1], cols[2].trim());
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(err(
                "AnonID",
                format!("expected a numeric user id, found \"{id}\""),
            ));
            continue;
        }
        if !is_valid_time(time) {
            errors.push(err(
                "QueryTime",
                format!("expected \"YYYY-MM-DD HH:MM:SS\", found \"{time}\""),
            ));
            continue;
        }
        let (rank, url) = if cols.len() == 5 {
            (cols[3].trim(), cols[4].trim())
        } else {
            ("", "")
        };
        if !rank.is_empty() && rank.parse::<u32>().is_err() {
            errors.push(err(
                "ItemRank",
                format!("expected a whole number or nothing, found \"{rank}\""),
            ));
            continue;
        }
        if rank.is_empty() != url.is_empty() {
            errors.push(err(
                "ClickURL",
                "expected ItemRank and ClickURL both present or both empty".into(),
            ));
            continue;
        }
        let query = normalize_query(query);
        if query.is_empty() || query == "-" {
            summary.rows_empty_query += 1;
            continue;
        }
        if query.len() > MAX_TEXT_BYTES || url.len() > MAX_TEXT_BYTES {
            summary.rows_text_too_long += 1;
            continue;
        }
        let click = (!url.is_empty()).then(|| url.to_string());
        let user = format!("aol-{id}");
        if !rows.contains_key(&user) {
            order.push(user.clone());
        }
        rows.entry(user).or_default().push(Row {
            time: time.to_string(),
            query,
            click,
        });
    }
    if !errors.is_empty() {
        return Err(InputErrors(errors));
    }

    summary.users_seen = order.len();
    let mut users = Vec::new();
    for id in order {
        let mut rs = rows.remove(&id).unwrap_or_default();
        rs.sort_by(|a, b| a.time.cmp(&b.time)); // stable: equal times keep log order
        let mut events: Vec<Event> = Vec::new();
        let mut last_search: Option<(String, String)> = None;
        for r in rs {
            let key = (r.query.clone(), r.time.clone());
            if last_search.as_ref() == Some(&key) {
                summary.repeated_rows_merged += 1;
            } else {
                events.push(Event {
                    kind: EventKind::Search,
                    text: r.query,
                    time: Some(r.time.clone()),
                });
                last_search = Some(key);
            }
            if let Some(url) = r.click {
                events.push(Event {
                    kind: EventKind::Click,
                    text: url,
                    time: Some(r.time),
                });
            }
        }
        // Walk back to the search that brings the third distinct query.
        let mut targets: Vec<String> = Vec::new();
        let mut cut = None;
        for (i, e) in events.iter().enumerate().rev() {
            if e.kind == EventKind::Search && !targets.contains(&e.text) {
                targets.push(e.text.clone());
                if targets.len() == N_TARGETS {
                    cut = Some(i);
                    break;
                }
            }
        }
        let Some(cut) = cut else {
            summary.skipped_fewer_than_3_distinct_queries += 1;
            continue;
        };
        if cut < min_history.max(1) {
            summary.skipped_short_history += 1;
            continue;
        }
        targets.reverse();
        events.truncate(cut);
        users.push(User {
            user_id: id,
            history: events,
            targets,
            meta: None,
        });
    }
    summary.users_written = users.len();
    Ok((users, summary))
}

fn split_cols(h: &[u8]) -> Vec<&str> {
    std::str::from_utf8(h)
        .map(|s| s.split('\t').map(str::trim).collect())
        .unwrap_or_default()
}
