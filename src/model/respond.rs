//! Text responses from the policy for users: prompts in batches, generation
//! with the KV cache, decoding to `q1; q2; q3` text.

use super::policy::{Policy, SampleConfig};
use super::prompt::Prompter;
use crate::data::User;
use crate::error::Result;
use burn::tensor::Device;

/// Control characters to spaces, whitespace collapsed: what a labels file accepts.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Generate one response per user (in batches of `batch`); an empty string where the
/// policy ended at once. The prompter bounds the prompt as in training.
pub async fn respond(
    policy: &Policy,
    prompter: &Prompter<'_>,
    users: &[User],
    cfg: &SampleConfig,
    batch: usize,
    device: &Device,
) -> Result<Vec<String>> {
    let (tok, sp) = (prompter.tok, prompter.sp);
    let mut out = Vec::with_capacity(users.len());
    for (i, chunk) in users.chunks(batch.max(1)).enumerate() {
        let prompts: Vec<Vec<u32>> = chunk
            .iter()
            .map(|u| prompter.prompt(&u.history).map(|p| p.0))
            .collect::<Result<_>>()?;
        let c = SampleConfig {
            seed: cfg.seed.wrapping_add(i as u64),
            ..*cfg
        };
        for ids in policy
            .generate(&prompts, &c, sp.eos, sp.pad, true, device)
            .await
        {
            let body: Vec<u32> = ids.into_iter().filter(|&t| t != sp.eos).collect();
            out.push(clean(&tok.decode(&body)?));
        }
    }
    Ok(out)
}
