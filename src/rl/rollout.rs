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

impl Credit {
    /// Tokens whose reward carries the run's reward source beside the KL term
    /// (|r_t + β·KL_t| > 1e-6, β the coefficient the rewards were assembled with): a
    /// sentence score lands on the last token only, token rewards on every token.
    pub fn rm_tokens(&self, kl_coef: f32) -> usize {
        self.rewards
            .iter()
            .zip(&self.kl)
            .filter(|(r, k)| (**r + kl_coef * **k).abs() > 1e-6)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rl::rewards::{Score, assemble};

    fn credit(kl_coef: f32, score: Score) -> Credit {
        let lp = [-1.0, -2.0, -0.5, -3.0];
        let ref_lp = [-1.5, -1.0, -0.7, -2.0];
        let a = assemble(&lp, &ref_lp, kl_coef, score);
        Credit {
            score: 0.0,
            rm_margin: vec![0.0; 4],
            kl: a.kl,
            rewards: a.rewards,
            values: vec![0.0; 4],
            advantages: vec![0.0; 4],
        }
    }

    #[test]
    fn a_sentence_score_lands_on_one_token_token_rewards_on_all() {
        assert_eq!(credit(0.05, Score::Sentence(0.7)).rm_tokens(0.05), 1);
        assert_eq!(credit(0.0, Score::Sentence(0.7)).rm_tokens(0.0), 1);
        let r = [0.2, -0.1, 0.3, 0.05];
        assert_eq!(credit(0.05, Score::Token(&r)).rm_tokens(0.05), 4);
        // A zero score: only the KL term is left.
        assert_eq!(credit(0.05, Score::Sentence(0.0)).rm_tokens(0.05), 0);
    }
}
