//! The numbers one PPO iteration logs, named as TRL's trainer names them: the
//! rollout's scores, KL and lengths, and the minibatch updates' losses, clip
//! fractions and entropy averaged over the steps taken.

use super::rollout::Rollout;
use serde::{Deserialize, Serialize};

/// Per-iteration metrics, named as TRL's PPO trainer logs them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Metrics {
    pub iter: usize,
    #[serde(rename = "objective/scores")]
    pub scores: f32,
    #[serde(rename = "objective/scores_std")]
    pub scores_std: f32,
    /// Mean over responses of Σ_t kl_t.
    #[serde(rename = "objective/kl")]
    pub kl: f32,
    /// Mean over responses of Σ_t −log π_old(a_t|s_t).
    #[serde(rename = "objective/entropy")]
    pub entropy: f32,
    #[serde(rename = "objective/non_score_reward")]
    pub non_score_reward: f32,
    #[serde(rename = "objective/rlhf_reward")]
    pub rlhf_reward: f32,
    #[serde(rename = "policy/approxkl_avg")]
    pub approxkl: f32,
    #[serde(rename = "policy/clipfrac_avg")]
    pub clipfrac: f32,
    #[serde(rename = "policy/entropy_avg")]
    pub entropy_avg: f32,
    #[serde(rename = "loss/policy_avg")]
    pub policy_loss: f32,
    #[serde(rename = "loss/value_avg")]
    pub value_loss: f32,
    #[serde(rename = "val/clipfrac_avg")]
    pub value_clipfrac: f32,
    #[serde(rename = "val/num_eos_tokens")]
    pub num_eos: usize,
    #[serde(rename = "response/length")]
    pub response_length: f32,
    /// Updates skipped because the loss was not finite.
    #[serde(rename = "train/skipped_updates")]
    pub skipped_updates: usize,
    /// Wall time of the iteration (set by the caller, who owns the clock).
    #[serde(rename = "time/iteration_s")]
    pub seconds: f64,
    /// The judge's relevance rate of this iteration's rollouts (set by the caller).
    #[serde(
        rename = "objective/judge_relevance",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub judge_relevance: Option<f32>,
    /// The gold score of this iteration's rollouts (per query, mean over the users the
    /// world knows; set by the caller where the kit has a gold score): the ground
    /// truth beside the judge, so that a judge gain the gold does not share shows.
    #[serde(
        rename = "objective/gold",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub gold: Option<f32>,
    /// β of this iteration's KL term (it moves under adaptive KL control).
    #[serde(rename = "objective/kl_coef", default)]
    pub kl_coef: f32,
    /// 1 − Var(returns − values) / Var(returns) over the rollout's tokens: how much of
    /// the returns the critic explains.
    #[serde(rename = "val/var_explained", default)]
    pub var_explained: f32,
    /// Responses cut at `max_new` without EOS (penalised when `missing_eos_penalty` is set).
    #[serde(rename = "response/missing_eos", default)]
    pub missing_eos: usize,
}

pub(super) fn mean_std(xs: &[f32]) -> (f32, f32) {
    let n = xs.len().max(1) as f32;
    let mean = xs.iter().sum::<f32>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n;
    (mean, var.sqrt())
}

/// 1 − Var(returns − values) / Var(returns) over every response token (TRL's
/// `val/var_explained`); 0 when the returns do not vary.
pub(super) fn var_explained(returns: &[Vec<f32>], values: &[Vec<f32>]) -> f32 {
    let r: Vec<f32> = returns.iter().flatten().copied().collect();
    let d: Vec<f32> = returns
        .iter()
        .flatten()
        .zip(values.iter().flatten())
        .map(|(r, v)| r - v)
        .collect();
    let (_, sr) = mean_std(&r);
    let (_, sd) = mean_std(&d);
    if sr > 0.0 {
        1.0 - (sd * sd) / (sr * sr)
    } else {
        0.0
    }
}

/// [`Stats`] as read back, summed over the steps taken.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct StatSums {
    policy_loss: f64,
    value_loss: f64,
    clipfrac: f64,
    approxkl: f64,
    value_clipfrac: f64,
    entropy: f64,
}

impl StatSums {
    pub(super) fn add(&mut self, v: &[f32]) {
        let v: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
        self.policy_loss += v[0];
        self.value_loss += v[1];
        self.clipfrac += v[2];
        self.approxkl += v[3];
        self.value_clipfrac += v[4];
        self.entropy += v[5];
    }
}

impl Metrics {
    /// The metrics of iteration `iter` (1-based): the rollout `ro` scored with β =
    /// `beta`, and `sums` of the `steps` updates applied (`skipped` not applied).
    pub(super) fn of(
        iter: usize,
        ro: &Rollout,
        sums: &StatSums,
        steps: usize,
        skipped: usize,
        beta: f32,
        eos: u32,
    ) -> Self {
        let avg = |x: f64| (x / steps.max(1) as f64) as f32;
        let (scores, scores_std) = mean_std(&ro.scores);
        let kl = sequence_kl(ro);
        let neg_lp: Vec<f32> = ro.logprobs.iter().map(|r| -r.iter().sum::<f32>()).collect();
        let ended = ro
            .responses
            .iter()
            .filter(|r| r.last() == Some(&eos))
            .count();
        let lengths: Vec<f32> = ro.responses.iter().map(|r| r.len() as f32).collect();
        Self {
            iter,
            scores,
            scores_std,
            kl,
            entropy: mean_std(&neg_lp).0,
            non_score_reward: -beta * kl,
            rlhf_reward: scores - beta * kl,
            approxkl: avg(sums.approxkl),
            clipfrac: avg(sums.clipfrac),
            entropy_avg: avg(sums.entropy),
            policy_loss: avg(sums.policy_loss),
            value_loss: avg(sums.value_loss),
            value_clipfrac: avg(sums.value_clipfrac),
            num_eos: ended,
            response_length: mean_std(&lengths).0,
            skipped_updates: skipped,
            seconds: 0.0,
            judge_relevance: None,
            gold: None,
            kl_coef: beta,
            var_explained: var_explained(&ro.returns, &ro.values),
            missing_eos: ro.responses.len() - ended,
        }
    }
}

/// Mean over the rollout's responses of Σ_t kl_t (what adaptive KL control reads).
pub(super) fn sequence_kl(ro: &Rollout) -> f32 {
    let per_seq: Vec<f32> = ro.kl.iter().map(|r| r.iter().sum::<f32>()).collect();
    mean_std(&per_seq).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explained_variance_by_hand() {
        let returns = vec![vec![1.0, 2.0], vec![3.0]];
        // Perfect values: 1. Values off by a constant: still 1 (the variance of the error is 0).
        assert!((var_explained(&returns, &returns) - 1.0).abs() < 1e-6);
        let shifted = vec![vec![0.0, 1.0], vec![2.0]];
        assert!((var_explained(&returns, &shifted) - 1.0).abs() < 1e-6);
        // Errors [1, 0, 1]: Var = 2/9 against Var(returns) = 2/3, so 1 − 1/3 = 2/3.
        let values = vec![vec![0.0, 2.0], vec![2.0]];
        assert!((var_explained(&returns, &values) - 2.0 / 3.0).abs() < 1e-5);
        // Constant values: errors vary as the returns do, so 0; constant returns: 0.
        assert!(var_explained(&returns, &[vec![1.0, 1.0], vec![1.0]]).abs() < 1e-6);
        assert_eq!(var_explained(&[vec![2.0, 2.0]], &[vec![0.0, 1.0]]), 0.0);
    }
}
