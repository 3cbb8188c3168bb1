//! Exports for training the method in another RL engine (issue 17, "beyond one
//! machine"): the judge's labels as a Hugging Face token-classification dataset, and
//! the SFT data as prompt/completion pairs. Both are JSONL that
//! `datasets.load_dataset("json", data_files=…)` reads: one object per line, the same
//! keys with the same types on every line (checked by tests/export.rs).
//!
//! A labels row:
//! ```json
//! {"user_id": "train-000001", "response": "cheap flights; orlando hotels",
//!  "words": ["cheap", "flights", ";", "orlando", "hotels"], "word_labels": [1, 2, 0, 2, 2],
//!  "sentence_label": 2, "tokens": ["cheap", "Ġflights", …, "<eos>"],
//!  "input_ids": [812, 1203, …, 2], "token_labels": [1, 2, …, 0],
//!  "source": "tppo-judge", "tokenizer": "<fingerprint>"}
//! ```
//! Classes as everywhere in the lab: 0 non-reward (separators, EOS), 1 irrelevant,
//! 2 relevant; `sentence_label` 1 or 2. The token labels are the word → token mapping
//! the reward models train on ([`crate::reward::data`]), for the tokenizer given, with
//! the EOS token appended (class 0), as the token reward model sees a response.
//!
//! An SFT row: `{"user_id", "prompt", "completion"}`; the prompt is the history as
//! text, one event per line (`<search> text` / `<click> text`), ending with `<resp>`,
//! the lab's special tokens spelled out; the completion is the targets joined by "; ".

use crate::data::{EventKind, User};
use crate::error::Result;
use crate::labeler::labels::LabelRecord;
use crate::model::prompt::Special;
use crate::tokenize::{LabeledSpan, Tok};
use serde::Serialize;

/// One labels row of the token-classification dataset.
#[derive(Debug, Clone, Serialize)]
pub struct LabelRow {
    pub user_id: String,
    pub response: String,
    pub words: Vec<String>,
    pub word_labels: Vec<u8>,
    pub sentence_label: u8,
    pub tokens: Vec<String>,
    pub input_ids: Vec<u32>,
    pub token_labels: Vec<u8>,
    pub source: String,
    pub tokenizer: String,
}

/// The labels records as dataset rows, token labels for `tok`.
pub fn label_rows(tok: &Tok, sp: Special, labels: &[LabelRecord]) -> Result<Vec<LabelRow>> {
    labels
        .iter()
        .map(|r| {
            let spans: Vec<LabeledSpan> = r.words.iter().map(LabeledSpan::from).collect();
            let (enc, mut classes) = tok.encode_labeled(&r.response, &spans)?;
            let mut tokens = enc.tokens;
            let mut ids = enc.ids;
            tokens.push("<eos>".into());
            ids.push(sp.eos);
            classes.push(0);
            Ok(LabelRow {
                user_id: r.user_id.clone(),
                response: r.response.clone(),
                words: r.words.iter().map(|w| w.text.clone()).collect(),
                word_labels: r.words.iter().map(|w| w.class).collect(),
                sentence_label: r.sentence,
                tokens,
                input_ids: ids,
                token_labels: classes,
                source: r.source.clone().unwrap_or_default(),
                tokenizer: tok.fingerprint(),
            })
        })
        .collect()
}

/// One SFT row.
#[derive(Debug, Clone, Serialize)]
pub struct SftRow {
    pub user_id: String,
    pub prompt: String,
    pub completion: String,
}

/// The users as prompt/completion rows.
pub fn sft_rows(users: &[User]) -> Vec<SftRow> {
    users
        .iter()
        .map(|u| {
            let mut prompt = String::new();
            for e in &u.history {
                let kind = match e.kind {
                    EventKind::Search => "<search>",
                    EventKind::Click => "<click>",
                };
                prompt.push_str(kind);
                prompt.push(' ');
                prompt.push_str(&e.text);
                prompt.push('\n');
            }
            prompt.push_str("<resp>");
            SftRow {
                user_id: u.user_id.clone(),
                prompt,
                completion: u.targets.join("; "),
            }
        })
        .collect()
}
