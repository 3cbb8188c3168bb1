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

/// One response's credit under a run ([`crate::rl::ppo::Ppo::explain`]): per token
/// the reward model's margin P(2) − P(1), the KL to the reference, the reward r_t,
/// the critic's value V(s_t) and GAE's advantage (not whitened), with the response's
/// score (the sentence score, or the sum of its token rewards).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credit {
    pub score: f32,
    pub rm_margin: Vec<f32>,
    pub kl: Vec<f32>,
    pub rewards: Vec<f32>,
    pub values: Vec<f32>,
    pub advantages: Vec<f32>,
}
