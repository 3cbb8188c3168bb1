//! The labels file: one JSON object per line, one line per (user, response).
//!
//! ```json
//! {"user_id": "train-000001", "response": "cheap flights; orlando hotels",
//!  "words": [{"text": "cheap", "class": 1, "evidence": "unrelated to the history"},
//!            {"text": "flights", "class": 2}, {"text": ";", "class": 0}, ...],
//!  "sentence": 2, "source": "tppo-judge"}
//! ```
//!
//! - `words`: the labeled words of `response`, in order. Each `text` must be
//!   found in the response after the previous word (so an external labeler may
//!   split words its own way); `start`/`end` (byte offsets) are optional and,
//!   when given, must point at that text. Response text covered by no labeled
//!   word gets class 0 when mapped to tokens.
//! - `class`: 0 non-reward, 1 irrelevant, 2 relevant. `sentence`: 1 or 2.
//! - `evidence` (string) and `source` (who labeled) are optional.
//! - A leading UTF-8 byte-order mark is skipped; lines may end in `\r\n`.
//!
//! This is how labels from an external LLM (the paper's LLaMA-3-70B with its
//! Appendix-B prompt) come in: anything that reads labels reads this format.

use super::{Evidence, Judgement, WordLabel};
use crate::data::jsonl::{Fields, kind_of, lines, parse_line};
use crate::error::{InputError, InputErrors};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct LabelRecord {
    pub user_id: String,
    pub response: String,
    pub words: Vec<WordLabel>,
    pub sentence: u8,
    pub source: Option<String>,
}

impl LabelRecord {
    pub fn from_judgement(user_id: &str, j: &Judgement, source: &str) -> Self {
        Self {
            user_id: user_id.into(),
            response: j.response.clone(),
            words: j.words.clone(),
            sentence: j.sentence,
            source: Some(source.into()),
        }
    }

    pub fn to_json(&self) -> Value {
        let words: Vec<Value> = self
            .words
            .iter()
            .map(|w| json!({"text": w.text, "start": w.start, "end": w.end, "class": w.class, "evidence": w.evidence.to_string()}))
            .collect();
        let mut v = json!({"user_id": self.user_id, "response": self.response, "words": words, "sentence": self.sentence});
        if let Some(s) = &self.source {
            v["source"] = json!(s);
        }
        v
    }
}

fn small_int(v: Option<&Value>, allowed: &[u64]) -> Result<u8, String> {
    let want = allowed
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    match v {
        None => Err(format!("missing; expected {want}")),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(x) if allowed.contains(&x) => Ok(x as u8),
            _ => Err(format!("expected {want}, found {n}")),
        },
        Some(other) => Err(format!("expected {want}, found {}", kind_of(other))),
    }
}

/// Validate one line of a labels file.
pub fn validate(obj: &serde_json::Map<String, Value>, f: &mut Fields) -> Option<LabelRecord> {
    f.only(
        obj,
        "",
        &["user_id", "response", "words", "sentence", "source"],
    );
    let user_id = f.text(obj, "user_id", "user_id");
    let response = f.text(obj, "response", "response");
    let sentence = small_int(obj.get("sentence"), &[1, 2])
        .map_err(|m| f.error("sentence", m))
        .ok();
    let source = match obj.get("source") {
        None => None,
        Some(v) => f.text_value(v, "source"),
    };
    let mut words = Vec::new();
    if let (Some(ws), Some(resp)) = (f.array(obj, "words"), response.as_ref()) {
        let mut pos = 0;
        for (i, w) in ws.iter().enumerate() {
            let p = format!("words[{i}]");
            let Value::Object(w) = w else {
                f.error(&p, format!("expected an object, found {}", kind_of(w)));
                continue;
            };
            f.only(
                w,
                &format!("{p}."),
                &["text", "class", "start", "end", "evidence"],
            );
            let class = small_int(w.get("class"), &[0, 1, 2])
                .map_err(|m| f.error(format!("{p}.class"), m))
                .ok();
            let Some(text) = f.text(w, "text", &format!("{p}.text")) else {
                continue;
            };
            let note = match w.get("evidence") {
                None => None,
                Some(v) => f.text_value(v, &format!("{p}.evidence")),
            };
            let start = match (w.get("start"), w.get("end")) {
                (None, None) => resp
                    .get(pos..)
                    .and_then(|r| r.find(text.as_str()))
                    .map(|s| s + pos),
                (Some(s), Some(e)) => match (s.as_u64(), e.as_u64()) {
                    (Some(s), Some(e))
                        if s as usize >= pos
                            && resp.get(s as usize..e as usize) == Some(text.as_str()) =>
                    {
                        Some(s as usize)
                    }
                    _ => {
                        f.error(format!("{p}.start"), format!("expected byte offsets of \"{text}\" in the response at or after byte {pos}, found start={s}, end={e}"));
                        continue;
                    }
                },
                _ => {
                    f.error(
                        format!("{p}.start"),
                        "expected both start and end, or neither",
                    );
                    continue;
                }
            };
            let Some(start) = start else {
                f.error(format!("{p}.text"), format!("expected a word of the response after byte {pos}, found \"{text}\" (words must be in order)"));
                continue;
            };
            let end = start + text.len();
            pos = end;
            if let Some(class) = class {
                words.push(WordLabel {
                    text,
                    start,
                    end,
                    class,
                    evidence: Evidence::Imported { note },
                });
            }
        }
    }
    if !f.errors.is_empty() {
        return None;
    }
    Some(LabelRecord {
        user_id: user_id?,
        response: response?,
        words,
        sentence: sentence?,
        source,
    })
}

/// Read a labels file; every bad line is reported.
pub fn read_bytes(file: &str, bytes: &[u8]) -> Result<Vec<LabelRecord>, InputErrors> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (n, raw) in lines(bytes) {
        match parse_line(file, n, raw) {
            Ok(obj) => {
                let mut f = Fields::new(file, n);
                if let Some(r) = validate(&obj, &mut f) {
                    out.push(r);
                }
                errors.append(&mut f.errors);
            }
            Err(e) => errors.push(e),
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(InputError::new(
            file,
            0,
            "",
            "expected at least one label line, found an empty file",
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(InputErrors(errors))
    }
}

pub fn read(path: &std::path::Path) -> crate::Result<Vec<LabelRecord>> {
    let bytes = crate::io::read_file(path)?;
    Ok(read_bytes(&path.display().to_string(), &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_external_labels_and_finds_offsets() {
        let line = br#"{"user_id":"u1","response":"cheap flights; orlando","words":[{"text":"cheap","class":1},{"text":"flights","class":2},{"text":";","class":0},{"text":"orlando","class":2,"evidence":"LLM says so"}],"sentence":2,"source":"llama-3-70b"}"#;
        let recs = read_bytes("labels.jsonl", line).unwrap();
        let w = &recs[0].words;
        assert_eq!((w[1].start, w[1].end), (6, 13));
        assert_eq!((w[3].start, w[3].end), (15, 22));
        assert_eq!(recs[0].sentence, 2);
    }

    #[test]
    fn errors_name_line_and_field() {
        let bad = [
            (
                r#"{"user_id":"u","response":"a b","words":[{"text":"b","class":1},{"text":"a","class":1}],"sentence":2}"#,
                "words[1].text",
            ),
            (
                r#"{"user_id":"u","response":"a b","words":[{"text":"a","class":3}],"sentence":2}"#,
                "words[0].class",
            ),
            (
                r#"{"user_id":"u","response":"a b","words":[],"sentence":0}"#,
                "sentence",
            ),
            (
                r#"{"user_id":"u","response":"a b","words":[{"text":"a","class":1,"start":1,"end":2}],"sentence":1}"#,
                "words[0].start",
            ),
            (
                r#"{"user_id":"u","response":"a b","words":"a","sentence":1}"#,
                "words",
            ),
        ];
        for (line, field) in bad {
            let input = format!(
                "{{\"user_id\":\"ok\",\"response\":\"x\",\"words\":[],\"sentence\":1}}\n{line}\n"
            );
            let err = read_bytes("l.jsonl", input.as_bytes()).unwrap_err();
            assert_eq!(err.0.len(), 1, "{line}: {err}");
            assert_eq!(err.0[0].line, 2);
            assert_eq!(err.0[0].field, field, "{err}");
            assert!(err.to_string().contains("l.jsonl:2"));
        }
    }
}
