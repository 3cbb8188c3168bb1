//! The critic's warm-up before PPO (`PpoConfig::value_warmup`): the value head
//! trained alone on the SFT policy's returns, so the first advantages are not the
//! noise of an untrained critic. Part of the trainer ([`Ppo`]), in its own file so
//! that `ppo.rs` reads as one iteration.

use super::{Judge, Ppo, Rollout};
use crate::error::Result;
use crate::optim::Stepper;
use crate::rl::metrics::var_explained;
use crate::rl::minibatch;
use burn::module::Module;
use serde::{Deserialize, Serialize};

/// The judge's scores of the rollout of the critic's warm-up batch k.
pub type BatchJudge<'a> = dyn Fn(usize, &Rollout) -> Result<Vec<f32>> + 'a;

/// What the critic's warm-up did: its mean value loss per iteration, and the
/// explained variance of each rollout's returns before it trained on them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Warmup {
    pub value_loss: Vec<f32>,
    pub var_explained: Vec<f32>,
}

impl Ppo {
    /// The critic's warm-up (`cfg.value_warmup` iterations; see [`PpoConfig`]): each
    /// samples a rollout of `prompts[k]` from the current (SFT) policy, scored with the
    /// run's own rewards (`judge(k, rollout)`: the judge's scores, for [`RewardMode::Judge`]), then trains the value head alone on its returns
    /// (`ppo_epochs` passes over the minibatches, unclipped loss, Adam at
    /// `value_warmup_lr`). The policy itself does not change.
    pub async fn warm_up_value(
        &mut self,
        prompts: &[Vec<Vec<u32>>],
        judge: Option<&BatchJudge<'_>>,
    ) -> Result<Warmup> {
        let cfg = self.cfg;
        let mut stepper = Stepper::new(cfg.max_grad_norm);
        let mut out = Warmup::default();
        for (k, batch) in prompts.iter().take(cfg.value_warmup).enumerate() {
            let of_batch = judge.map(|j| move |ro: &Rollout| j(k, ro));
            let ro = self
                .rollout_judged(batch, of_batch.as_ref().map(|f| f as &Judge<'_>))
                .await?;
            out.var_explained
                .push(var_explained(&ro.returns, &ro.values));
            let n = ro.responses.len();
            let mb = n.div_ceil(cfg.minibatches.max(1)).max(1);
            let (mut sum, mut count) = (0.0f32, 0usize);
            for _ in 0..cfg.ppo_epochs {
                for idx in (0..n).collect::<Vec<_>>().chunks(mb) {
                    let (grads, value) = minibatch::value_grads(
                        self.policy.valid().train(),
                        &ro,
                        idx,
                        self.pad,
                        &self.device,
                    );
                    let (policy, stepped) = stepper
                        .step(self.policy.clone(), grads, cfg.value_warmup_lr, vec![value])
                        .await?;
                    self.policy = policy;
                    if stepped.applied {
                        sum += stepped.values[0];
                        count += 1;
                    }
                }
            }
            out.value_loss.push(sum / count.max(1) as f32);
        }
        Ok(out)
    }
}
