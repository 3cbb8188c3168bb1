//! What one rollout batch holds: the prompts, the sampled responses and, per token,
//! everything the update reads (log-probs, values, KL, rewards, advantages, returns).
//! Rows are ragged: one per response, as long as the response.

use serde::{Deserialize, Serialize};

/// Everything one rollout batch produced, per response (ragged rows).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rollout {
    pub prompts: Vec<Vec<u32>>,
    /// Generated tokens (ending with EOS when it was produced).
    pub responses: Vec<Vec<u32>>,
    pub logprobs: Vec<Vec<f32>>,
    pub ref_logprobs: Vec<Vec<f32>>,
    pub values: Vec<Vec<f32>>,
    /// The reward model's P(2) − P(1) on every token (both modes, for the views).
    pub rm_margin: Vec<Vec<f32>>,
    /// The score of each response: the sentence score, or the sum of its token rewards.
    pub scores: Vec<f32>,
    pub kl: Vec<Vec<f32>>,
    pub rewards: Vec<Vec<f32>>,
    pub advantages: Vec<Vec<f32>>,
    pub returns: Vec<Vec<f32>>,
}
