//! RLAIF labels (paper §3.2): the judge's word and sentence labels on responses,
//! the reward models' training data. The responses are the users' targets and the
//! policy's own samples (the loop of Fig. 2); a response the models cannot take (empty,
//! too long in bytes, or more than `max_response` tokens) is left out and counted.

use crate::data::User;
use crate::error::Result;
use crate::kit::Kit;
use crate::labeler::labels::LabelRecord;
use crate::model::policy::{Policy, SampleConfig};
use burn::tensor::Device;

/// A response to label: the user (index), the text, and where it came from.
#[derive(Debug, Clone)]
pub struct Response {
    pub user: usize,
    pub text: String,
    pub source: &'static str,
}

/// Each user's target response.
pub fn targets(users: &[User]) -> Vec<Response> {
    users
        .iter()
        .enumerate()
        .map(|(i, u)| Response {
            user: i,
            text: u.target_response(),
            source: "tppo-judge/target",
        })
        .collect()
}

/// Each user's target response with one query repeated: the last query replaced by
/// an earlier one (user i: query i mod 2), so that the reward models see what
/// repetition is worth (the judge labels a repeated query's words class 1).
pub fn repeated_targets(users: &[User]) -> Vec<Response> {
    users
        .iter()
        .enumerate()
        .filter_map(|(i, u)| {
            let mut q = u.targets.clone();
            if q.len() < 2 {
                return None;
            }
            let last = q.len() - 1;
            q[last] = q[i % last].clone();
            Some(Response {
                user: i,
                text: crate::text::join_response(&q),
                source: "tppo-judge/target-repeat",
            })
        })
        .collect()
}

/// `samples` responses per user from `policy` with `sample`'s temperature and top-k,
/// up to 48 tokens (sample k draws with seed `sample.seed·1000 + k·100003`, in
/// batches of 64).
pub async fn samples(
    kit: &Kit,
    policy: &Policy,
    users: &[User],
    samples: usize,
    sample: SampleConfig,
    device: &Device,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Response>> {
    let prompter = kit.prompter();
    let mut out = Vec::with_capacity(samples * users.len());
    for k in 0..samples {
        let cfg = SampleConfig {
            max_new: 48,
            // The policy's own samples, repeats and all: the reward models learn
            // what a repeated query is worth.
            no_repeat_query: false,
            seed: sample
                .seed
                .wrapping_mul(1000)
                .wrapping_add(k as u64 * 100_003),
            ..sample
        };
        for (c, chunk) in users.chunks(64).enumerate() {
            let texts =
                crate::model::respond::respond(policy, &prompter, chunk, &cfg, 64, device).await?;
            out.extend(texts.into_iter().enumerate().map(|(j, text)| Response {
                user: c * 64 + j,
                text,
                source: "tppo-judge/sft-sample",
            }));
            progress(chunk.len());
        }
    }
    Ok(out)
}

/// The labels of `responses`, and how many were left out.
#[derive(Debug, Default)]
pub struct Labeled {
    pub records: Vec<LabelRecord>,
    /// Responses the judge called relevant (sentence label 2).
    pub relevant: usize,
    /// Responses left out: empty, too long in bytes, or over `max_response` tokens.
    pub skipped: usize,
}

/// Label every response with the judge.
pub fn label(
    kit: &Kit,
    users: &[User],
    responses: &[Response],
    max_response: usize,
) -> Result<Labeled> {
    let mut out = Labeled::default();
    for r in responses {
        if r.text.trim().is_empty()
            || r.text.len() > crate::data::schema::MAX_TEXT_BYTES
            || kit.tok.encode(&r.text)?.ids.len() + 1 > max_response
        {
            out.skipped += 1;
            continue;
        }
        let u = &users[r.user];
        let j = kit.labeler.judge(&u.history, &r.text);
        out.relevant += usize::from(j.sentence == 2);
        out.records
            .push(LabelRecord::from_judgement(&u.user_id, &j, r.source));
    }
    Ok(out)
}
