//! Reward-model examples from labels records (built-in judge or imported):
//! the prompt of the user's history, the response re-encoded by the tokenizer
//! (plus EOS), each response token's class from its word (offsets), and the
//! sentence label.

use crate::data::User;
use crate::error::{Error, Result};
use crate::labeler::labels::LabelRecord;
use crate::model::batch::TailBatch;
use crate::model::prompt::{self, Special};
use crate::tokenize::{LabeledSpan, Tok};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct RmExample {
    pub prompt: Vec<u32>,
    /// Response tokens, ending with EOS.
    pub response: Vec<u32>,
    /// Class of each response token (EOS: 0).
    pub classes: Vec<u8>,
    /// Whether each response token lies in a query that repeats an earlier one
    /// ([`crate::text::repeats`]), for the margin the reward model gives repetition.
    pub repeated: Vec<bool>,
    /// 1 or 2.
    pub sentence: u8,
}

/// Examples of labels records, and the records left out for length.
#[derive(Debug, Default)]
pub struct RmExamples {
    pub examples: Vec<RmExample>,
    /// Records whose response re-encodes to more than `max_response` tokens (EOS
    /// included), left out: (1-based record number, tokens).
    pub too_long: Vec<(usize, usize)>,
}

impl RmExamples {
    /// One line on the records left out (`what`: the labels file), if any were.
    pub fn note(&self, what: &str, max_response: usize) -> Option<String> {
        self.too_long.first().map(|(i, n)| {
            format!(
                "{what}: {} labels records left out: their response is longer than {max_response} tokens (first: record {i}, {n} tokens)",
                self.too_long.len()
            )
        })
    }
}

/// Build examples for every label record whose user is in `users`.
/// A record naming an unknown user is an error (nothing is dropped silently); a
/// response longer than `max_response` tokens is left out and counted.
pub fn examples(
    tok: &Tok,
    sp: Special,
    users: &[User],
    labels: &[LabelRecord],
    max_prompt: usize,
    max_response: usize,
) -> Result<RmExamples> {
    let by_id: HashMap<&str, &User> = users.iter().map(|u| (u.user_id.as_str(), u)).collect();
    let mut prompts: HashMap<&str, Vec<u32>> = HashMap::new();
    let mut out = RmExamples::default();
    for (i, r) in labels.iter().enumerate() {
        let user = by_id.get(r.user_id.as_str()).ok_or_else(|| {
            Error::Invalid(format!(
                "labels record {}: user {:?} is not in the users file",
                i + 1,
                r.user_id
            ))
        })?;
        let p = match prompts.get(r.user_id.as_str()) {
            Some(p) => p.clone(),
            None => {
                let p = prompt::prompt(tok, sp, &user.history, max_prompt)?.0;
                prompts.insert(&r.user_id, p.clone());
                p
            }
        };
        let words: Vec<LabeledSpan> = r.words.iter().map(LabeledSpan::from).collect();
        let (enc, mut classes) = tok.encode_labeled(&r.response, &words)?;
        let spans = crate::text::query_spans(&r.response);
        let repeats = crate::text::repeats(&crate::text::split_response(&r.response));
        let rep: Vec<(usize, usize)> = spans
            .into_iter()
            .zip(repeats)
            .filter(|(_, k)| k.is_some())
            .map(|(s, _)| s)
            .collect();
        let mut repeated: Vec<bool> = enc
            .offsets
            .iter()
            .map(|&(a, b)| rep.iter().any(|&(s, e)| a >= s && b <= e))
            .collect();
        repeated.push(false);
        let mut response = enc.ids;
        response.push(sp.eos);
        classes.push(0);
        if response.len() > max_response {
            out.too_long.push((i + 1, response.len()));
            continue;
        }
        out.examples.push(RmExample {
            prompt: p,
            response,
            classes,
            repeated,
            sentence: r.sentence,
        });
    }
    Ok(out)
}

/// A batch of labeled responses, tail-aligned ([`TailBatch`]), with each tail
/// position's class and each response's sentence label.
pub struct RmBatch {
    pub tail: TailBatch,
    /// [B · r] class of each tail position (0 where it is not a response token).
    pub labels: Vec<u8>,
    /// [B] sentence labels (1.0 or 2.0).
    pub sentence: Vec<f32>,
}

impl RmBatch {
    /// [B · r] true for response tokens.
    pub fn response(&self) -> Vec<bool> {
        self.tail.mask.iter().map(|&m| m > 0.0).collect()
    }
}

pub fn batch(examples: &[&RmExample], pad: u32) -> RmBatch {
    let prompts: Vec<&[u32]> = examples.iter().map(|e| e.prompt.as_slice()).collect();
    let responses: Vec<&[u32]> = examples.iter().map(|e| e.response.as_slice()).collect();
    let tail = TailBatch::new(&prompts, &responses, pad);
    let r = tail.r;
    let mut labels = vec![0u8; examples.len() * r];
    for (b, e) in examples.iter().enumerate() {
        let start = r - e.response.len();
        labels[b * r + start..(b + 1) * r].copy_from_slice(&e.classes);
    }
    RmBatch {
        tail,
        labels,
        sentence: examples.iter().map(|e| f32::from(e.sentence)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_align_by_hand() {
        let a = RmExample {
            prompt: vec![1, 7],
            response: vec![9, 2],
            classes: vec![2, 0],
            repeated: vec![false; 2],
            sentence: 2,
        };
        let b = RmExample {
            prompt: vec![1],
            response: vec![3, 4, 2],
            classes: vec![1, 2, 0],
            repeated: vec![false; 3],
            sentence: 1,
        };
        let rb = batch(&[&a, &b], 0);
        assert_eq!(rb.tail.r, 3);
        assert_eq!(rb.labels, [0, 2, 0, 1, 2, 0]);
        assert_eq!(rb.response(), [false, true, true, true, true, true]);
        assert_eq!(rb.sentence, [2.0, 1.0]);
        // Both rows are 4 long (no padding). Row a: 1 7 9 2 → its tail (last 3) is 7 9 2,
        // where the prompt token 7 is not a response token; row b's tail is 3 4 2.
        assert_eq!(&rb.tail.seqs.tokens[1..4], &[7, 9, 2]);
        assert_eq!(&rb.tail.seqs.tokens[5..8], &[3, 4, 2]);
    }
}
