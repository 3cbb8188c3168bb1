//! Strict JSONL reader and writer for the user schema ([`super::schema`]).
//!
//! Every line is checked field by field; each problem becomes an
//! [`InputError`] naming the file, the line, the field and what was expected.
//! A reader returns every error it found, never a silently shortened list.

use super::schema::*;
use crate::error::{InputError, InputErrors};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The result of checking a whole file: the valid users, and the errors of the rest.
#[derive(Debug, Default)]
pub struct Checked {
    pub users: Vec<User>,
    /// The line of each of `users`.
    pub user_lines: Vec<usize>,
    pub errors: Vec<InputError>,
    /// Number of non-empty lines read.
    pub lines: usize,
}

/// The UTF-8 byte-order mark that spreadsheet tools and Windows editors put first.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Split a byte buffer into lines (`\n` or `\r\n`), with 1-based numbers.
/// A leading UTF-8 byte-order mark is skipped; a final newline does not make an
/// extra line. Every reader of JSONL and TSV input goes through here.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = body.is_empty();
    body.split(|&b| b == b'\n')
        .enumerate()
        .filter(move |_| !empty)
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
}

/// Decode one line as a JSON object, with a clear error otherwise.
pub fn parse_line(
    file: &str,
    line_no: usize,
    raw: &[u8],
) -> Result<Map<String, Value>, InputError> {
    let err = |m: String| InputError::new(file, line_no, "", m);
    if raw.len() > MAX_LINE_BYTES {
        return Err(err(format!(
            "line is {} bytes, more than the limit of {MAX_LINE_BYTES}",
            raw.len()
        )));
    }
    let text = std::str::from_utf8(raw).map_err(|e| {
        err(format!(
            "expected UTF-8 text, found an invalid byte at column {}",
            e.valid_up_to() + 1
        ))
    })?;
    if text.trim().is_empty() {
        return Err(err("expected a JSON object, found an empty line".into()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(err(format!(
            "expected a JSON object, found {}",
            kind_of(&other)
        ))),
        Err(e) => Err(err(format!("invalid JSON at column {}: {e}", e.column()))),
    }
}

pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Field checks that share one file/line.
pub struct Fields<'a> {
    pub file: &'a str,
    pub line: usize,
    pub errors: Vec<InputError>,
}

impl<'a> Fields<'a> {
    pub fn new(file: &'a str, line: usize) -> Self {
        Self {
            file,
            line,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors
            .push(InputError::new(self.file, self.line, field, message));
    }

    /// Reject fields outside `allowed`.
    pub fn only(&mut self, obj: &Map<String, Value>, prefix: &str, allowed: &[&str]) {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                self.error(
                    format!("{prefix}{k}"),
                    format!("unknown field; expected one of {}", allowed.join(", ")),
                );
            }
        }
    }

    /// A required string field that must be clean text (non-empty, bounded, no control characters).
    pub fn text(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        match obj.get(key) {
            None => {
                self.error(path, "missing; expected a non-empty string");
                None
            }
            Some(v) => self.text_value(v, path),
        }
    }

    pub fn text_value(&mut self, v: &Value, path: &str) -> Option<String> {
        let Value::String(s) = v else {
            self.error(path, format!("expected a string, found {}", kind_of(v)));
            return None;
        };
        if s.trim().is_empty() {
            self.error(path, "expected a non-empty string, found an empty one");
            None
        } else if s.len() > MAX_TEXT_BYTES {
            self.error(
                path,
                format!("expected at most {MAX_TEXT_BYTES} bytes, found {}", s.len()),
            );
            None
        } else if s.chars().any(char::is_control) {
            self.error(
                path,
                "expected text without control characters (tab, newline, ...)",
            );
            None
        } else {
            Some(s.clone())
        }
    }

    pub fn array<'v>(&mut self, obj: &'v Map<String, Value>, key: &str) -> Option<&'v Vec<Value>> {
        match obj.get(key) {
            None => {
                self.error(key, "missing; expected an array");
                None
            }
            Some(Value::Array(a)) => Some(a),
            Some(v) => {
                self.error(key, format!("expected an array, found {}", kind_of(v)));
                None
            }
        }
    }
}

/// Validate one parsed line as a [`User`].
pub fn validate_user(obj: &Map<String, Value>, f: &mut Fields) -> Option<User> {
    f.only(obj, "", &["user_id", "history", "targets", "meta"]);
    let user_id = f.text(obj, "user_id", "user_id");

    let mut history = Vec::new();
    if let Some(events) = f.array(obj, "history") {
        if events.is_empty() {
            f.error(
                "history",
                "expected at least one event, found an empty history",
            );
        } else if events.len() > MAX_HISTORY {
            f.error(
                "history",
                format!(
                    "expected at most {MAX_HISTORY} events, found {}",
                    events.len()
                ),
            );
        }
        let mut last_time: Option<String> = None;
        for (i, ev) in events.iter().enumerate().take(MAX_HISTORY) {
            let p = format!("history[{i}]");
            let Value::Object(ev) = ev else {
                f.error(
                    &p,
                    format!("expected an event object, found {}", kind_of(ev)),
                );
                continue;
            };
            f.only(ev, &format!("{p}."), &["kind", "text", "time"]);
            let kind = match ev.get("kind") {
                Some(Value::String(k)) if k == "search" => Some(EventKind::Search),
                Some(Value::String(k)) if k == "click" => Some(EventKind::Click),
                Some(v) => {
                    f.error(
                        format!("{p}.kind"),
                        format!("expected \"search\" or \"click\", found {v}"),
                    );
                    None
                }
                None => {
                    f.error(
                        format!("{p}.kind"),
                        "missing; expected \"search\" or \"click\"",
                    );
                    None
                }
            };
            let text = f.text(ev, "text", &format!("{p}.text"));
            let time = match ev.get("time") {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) if is_valid_time(t) => {
                    let key = |t: &str| t.replace('T', " ").trim_end_matches('Z').to_string();
                    if let Some(prev) = &last_time
                        && key(t) < key(prev)
                    {
                        f.error(
                            format!("{p}.time"),
                            format!("expected events in time order, found {t} after {prev}"),
                        );
                    }
                    last_time = Some(t.clone());
                    Some(t.clone())
                }
                Some(v) => {
                    f.error(
                        format!("{p}.time"),
                        format!("expected \"YYYY-MM-DD HH:MM:SS\", found {v}"),
                    );
                    None
                }
            };
            if let (Some(kind), Some(text)) = (kind, text) {
                history.push(Event { kind, text, time });
            }
        }
    }

    let mut targets = Vec::new();
    if let Some(ts) = f.array(obj, "targets") {
        if ts.len() != N_TARGETS {
            f.error(
                "targets",
                format!(
                    "expected exactly {N_TARGETS} target queries, found {}",
                    ts.len()
                ),
            );
        }
        for (i, t) in ts.iter().enumerate() {
            let p = format!("targets[{i}]");
            if let Some(q) = f.text_value(t, &p) {
                if q.contains(crate::text::SEP) {
                    f.error(
                        &p,
                        format!(
                            "expected a query without '{}' (the response separator)",
                            crate::text::SEP
                        ),
                    );
                } else {
                    targets.push(q);
                }
            }
        }
    }

    let meta = match obj.get("meta") {
        None => None,
        Some(Value::Object(m)) => Some(Value::Object(m.clone())),
        Some(v) => {
            f.error("meta", format!("expected an object, found {}", kind_of(v)));
            None
        }
    };

    if !f.errors.is_empty() {
        return None;
    }
    Some(User {
        user_id: user_id?,
        history,
        targets,
        meta,
    })
}

/// Check a whole JSONL buffer: every line is validated, user ids must be unique.
pub fn check_bytes(file: &str, bytes: &[u8]) -> Checked {
    let mut out = Checked::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line_no, raw) in lines(bytes) {
        out.lines += 1;
        let obj = match parse_line(file, line_no, raw) {
            Ok(o) => o,
            Err(e) => {
                out.errors.push(e);
                continue;
            }
        };
        let mut f = Fields::new(file, line_no);
        let user = validate_user(&obj, &mut f);
        out.errors.append(&mut f.errors);
        if let Some(u) = user {
            if let Some(first) = seen.insert(u.user_id.clone(), line_no) {
                out.errors.push(InputError::new(
                    file,
                    line_no,
                    "user_id",
                    format!(
                        "expected a unique id, \"{}\" is already used on line {first}",
                        u.user_id
                    ),
                ));
            } else {
                out.users.push(u);
                out.user_lines.push(line_no);
            }
        }
    }
    if out.lines == 0 {
        out.errors.push(InputError::new(
            file,
            0,
            "",
            "expected at least one user line, found an empty file",
        ));
    }
    out
}

/// Read users from a JSONL buffer; any error fails the whole read (all errors are returned).
pub fn read_users_bytes(file: &str, bytes: &[u8]) -> Result<Vec<User>, InputErrors> {
    let c = check_bytes(file, bytes);
    if c.errors.is_empty() {
        Ok(c.users)
    } else {
        Err(InputErrors(c.errors))
    }
}

/// Read users from a file.
pub fn read_users(path: &std::path::Path) -> crate::Result<Vec<User>> {
    let bytes = crate::io::read_file(path)?;
    Ok(read_users_bytes(&path.display().to_string(), &bytes)?)
}

/// The first `n` users of a file (0: all).
pub fn read_first_users(path: &std::path::Path, n: usize) -> crate::Result<Vec<User>> {
    let mut users = read_users(path)?;
    if n > 0 {
        users.truncate(n);
    }
    Ok(users)
}

/// Serialise users as JSONL (one compact line each, fields in schema order).
pub fn to_jsonl(users: &[User]) -> String {
    let mut s = String::new();
    for u in users {
        s.push_str(&serde_json::to_string(u).expect("a User always serialises"));
        s.push('\n');
    }
    s
}
