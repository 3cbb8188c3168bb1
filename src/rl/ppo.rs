//! One PPO / TPPO iteration (paper §3.4, Algorithm of eq. 6–9), in the order
//! TRL's trainer runs it:
//!
//! 1. rollout: sample responses from π_θ (KV cache, temperature);
//! 2. score: log π_old, V_old from π_θ, log π_ref from the frozen SFT copy, and the
//!    reward model — P(2) − P(1) at the last token (`sentence`, PPO) or on every
//!    token shaped by lwp (`token`, TPPO) — see [`super::rewards`];
//! 3. r_t = −β·kl_t (+ score), GAE, returns, advantages whitened over the batch;
//! 4. `ppo_epochs` passes over shuffled minibatches: clipped surrogate + vf_coef ·
//!    clipped value loss, Adam with gradient-norm clipping. A non-finite loss or
//!    gradient norm skips its update and is counted.
//!
//! Sequences are left-padded, so every response sits at the end of its row:
//! response tensors are [B, R] "tail-aligned", real tokens on the right.

use super::config::{Placement, PpoConfig, RewardMode};
use super::gae::{gae, whiten};
use super::loss::{entropy, policy_loss, value_loss};
use super::rewards::{Score, assemble, span_end, token_rewards};
use crate::backend::read;
use crate::cpu::par;
use crate::error::{Error, Result};
use crate::model::batch::TailBatch;
use crate::model::ops;
use crate::model::policy::{Policy, SampleConfig};
use crate::optim::{Stepper, grads};
use crate::reward::model::RewardModel;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// The word of each token of a response (for `--placement span-end`).
pub type WordOf = Box<dyn Fn(&[u32]) -> Vec<Option<usize>>>;

/// The statistics of one minibatch update (means over its response tokens), as TRL
/// logs them: the two losses, the clip fractions, approximate KL and entropy.
struct Stats {
    policy_loss: Tensor<1>,
    value_loss: Tensor<1>,
    clipfrac: Tensor<1>,
    approxkl: Tensor<1>,
    value_clipfrac: Tensor<1>,
    entropy: Tensor<1>,
}

/// [`Stats`] as read back, summed over the steps taken.
#[derive(Debug, Clone, Copy, Default)]
struct StatSums {
    policy_loss: f64,
    value_loss: f64,
    clipfrac: f64,
    approxkl: f64,
    value_clipfrac: f64,
    entropy: f64,
}

impl Stats {
    const N: usize = 6;

    /// Each statistic times `w` (a piece's share of the minibatch's tokens), detached.
    fn scaled(self, w: f32) -> Self {
        let f = |t: Tensor<1>| t.detach() * w;
        Self {
            policy_loss: f(self.policy_loss),
            value_loss: f(self.value_loss),
            clipfrac: f(self.clipfrac),
            approxkl: f(self.approxkl),
            value_clipfrac: f(self.value_clipfrac),
            entropy: f(self.entropy),
        }
    }

    /// The pieces' statistics summed into one [`Stats::N`]-vector (plain device).
    fn sum(pieces: Vec<Self>) -> Tensor<1> {
        let flat: Vec<Tensor<2>> = pieces
            .into_iter()
            .map(|s| {
                Tensor::cat(
                    vec![
                        s.policy_loss,
                        s.value_loss,
                        s.clipfrac,
                        s.approxkl,
                        s.value_clipfrac,
                        s.entropy,
                    ],
                    0,
                )
                .inner()
                .reshape([1, Self::N])
            })
            .collect();
        Tensor::cat(flat, 0).sum_dim(0).reshape([Self::N])
    }
}

impl StatSums {
    fn add(&mut self, v: &[f32]) {
        let v: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
        self.policy_loss += v[0];
        self.value_loss += v[1];
        self.clipfrac += v[2];
        self.approxkl += v[3];
        self.value_clipfrac += v[4];
        self.entropy += v[5];
    }
}

/// Logits [B, R, V] (at `temperature`), the chosen tokens' log-probs [B, R] and the
/// values V(s_t) [B, R]: the logits at position p predict the token at p + 1.
/// The responses `idx` of a rollout as one batch of tails.
fn tail_batch(ro: &Rollout, idx: &[usize], pad: u32) -> TailBatch {
    let p: Vec<&[u32]> = idx.iter().map(|&i| ro.prompts[i].as_slice()).collect();
    let x: Vec<&[u32]> = idx.iter().map(|&i| ro.responses[i].as_slice()).collect();
    TailBatch::new(&p, &x, pad)
}

/// A per-token rollout quantity `v` (log-probs, values, advantages, returns) of the
/// responses `idx`, laid out as the tail batch `t`.
fn rows_of(t: &TailBatch, v: &[Vec<f32>], idx: &[usize], device: &Device) -> Tensor<2> {
    let r: Vec<&[f32]> = idx.iter().map(|&i| v[i].as_slice()).collect();
    t.tensor(t.rows(&r), device)
}

fn score_tokens(
    policy: &Policy,
    t: &TailBatch,
    temperature: f32,
    device: &Device,
) -> (Tensor<3>, Tensor<2>, Tensor<2>) {
    let out = policy.forward_tail(&t.seqs, t.r + 1, device);
    let logits = out.logits.narrow(1, 0, t.r) / (temperature + 1e-7);
    let chosen = ops::token_logprobs(logits.clone(), &t.tokens);
    (logits, chosen, out.values.narrow(1, 0, t.r))
}

/// Eq. 6–9 on the responses `idx` of a rollout: the gradient of
/// (policy loss + vf_coef · value loss) · n/total and the statistics · n/total,
/// where n counts the piece's response tokens and `total` the minibatch's.
fn piece_grads(
    policy: Policy,
    ro: &Rollout,
    idx: &[usize],
    total: usize,
    cfg: &PpoConfig,
    pad: u32,
    device: &Device,
) -> (GradientsParams, Stats) {
    let t = tail_batch(ro, idx, pad);
    let rows = |v: &[Vec<f32>]| rows_of(&t, v, idx, device);
    let mask = t.tensor(t.mask.clone(), device);
    let (old_lp, old_v) = (rows(&ro.logprobs), rows(&ro.values));
    let (adv, ret) = (rows(&ro.advantages), rows(&ro.returns));
    let (logits, new_lp, new_v) = score_tokens(&policy, &t, cfg.temperature, device);
    let pg = policy_loss(new_lp, old_lp, adv, mask.clone(), cfg.cliprange);
    let vf = value_loss(new_v, old_v, ret, mask.clone(), cfg.cliprange_value);
    let share = t.mask.iter().sum::<f32>() / total.max(1) as f32;
    let loss = (pg.loss.clone() + vf.loss.clone() * cfg.vf_coef) * share;
    let stats = Stats {
        policy_loss: pg.loss,
        value_loss: vf.loss,
        clipfrac: pg.clipfrac,
        approxkl: pg.approxkl,
        value_clipfrac: vf.clipfrac,
        entropy: entropy(logits, mask),
    }
    .scaled(share);
    let grads = GradientsParams::from_grads(loss.backward(), &policy);
    (grads, stats)
}

/// The critic's warm-up loss on the responses `idx`: ½·mean (V − R)² over their
/// tokens, unclipped (the value clip of eq. 9 is for the policy's updates).
fn value_grads(
    policy: Policy,
    ro: &Rollout,
    idx: &[usize],
    pad: u32,
    device: &Device,
) -> (GradientsParams, Tensor<1>) {
    let t = tail_batch(ro, idx, pad);
    let rows = |v: &[Vec<f32>]| rows_of(&t, v, idx, device);
    let mask = t.tensor(t.mask.clone(), device);
    // The values only, on a detached trunk: no vocabulary projection, no backward
    // through the trunk (the warm-up keeps only the value head's gradients).
    let new_v = policy
        .values_tail_detached(&t.seqs, t.r + 1, device)
        .narrow(1, 0, t.r);
    let old_v = rows(&ro.values);
    let vf = value_loss(new_v, old_v, rows(&ro.returns), mask, f32::MAX / 4.0);
    let value = vf.loss.clone().detach().inner();
    let grads = GradientsParams::from_grads(vf.loss.backward(), &policy);
    (policy.value_head_only(grads), value)
}

/// What the critic's warm-up did: its mean value loss per iteration, and the
/// explained variance of each rollout's returns before it trained on them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Warmup {
    pub value_loss: Vec<f32>,
    pub var_explained: Vec<f32>,
}

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

fn mean_std(xs: &[f32]) -> (f32, f32) {
    let n = xs.len().max(1) as f32;
    let mean = xs.iter().sum::<f32>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n;
    (mean, var.sqrt())
}

/// 1 − Var(returns − values) / Var(returns) over every response token (TRL's
/// `val/var_explained`); 0 when the returns do not vary.
fn var_explained(returns: &[Vec<f32>], values: &[Vec<f32>]) -> f32 {
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

/// The trainer: π_θ (on an autodiff device), the frozen π_ref and reward model, Adam.
pub struct Ppo {
    pub cfg: PpoConfig,
    policy: Policy,
    reference: Policy,
    rm: RewardModel,
    stepper: Stepper,
    /// β of the KL term now (cfg.kl_coef at the start; adapted with `kl_target`).
    kl_coef: f32,
    eos: u32,
    pad: u32,
    device: Device,
    iter: usize,
    word_of: Option<WordOf>,
}

impl Ppo {
    /// `policy` on `device` (autodiff), `reference` and `rm` on its inner device.
    /// `word_of` is needed for [`Placement::SpanEnd`].
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: PpoConfig,
        policy: Policy,
        reference: Policy,
        rm: RewardModel,
        eos: u32,
        pad: u32,
        device: Device,
        word_of: Option<WordOf>,
    ) -> Result<Self> {
        cfg.validate()?;
        if cfg.max_new >= policy.max_len() {
            return Err(Error::Invalid(format!(
                "PPO setting max_new: {} leaves no room for a prompt within the policy's {} positions",
                cfg.max_new,
                policy.max_len()
            )));
        }
        if cfg.reward == RewardMode::Token
            && cfg.placement == Placement::SpanEnd
            && word_of.is_none()
        {
            return Err(Error::Invalid(
                "placement span-end needs the tokenizer's word boundaries".into(),
            ));
        }
        Ok(Self {
            cfg,
            policy,
            reference,
            rm,
            stepper: Stepper::new(cfg.max_grad_norm),
            kl_coef: cfg.kl_coef,
            eos,
            pad,
            device,
            iter: 0,
            word_of,
        })
    }

    /// The current policy without autodiff (for sampling, evaluation, saving).
    pub fn policy(&self) -> Policy {
        self.policy.valid()
    }

    /// The critic's warm-up (`cfg.value_warmup` iterations; see [`PpoConfig`]): each
    /// samples a rollout of `prompts[k]` from the current (SFT) policy, scored with the
    /// run's own rewards, then trains the value head alone on its returns
    /// (`ppo_epochs` passes over the minibatches, unclipped loss, Adam at
    /// `value_warmup_lr`). The policy itself does not change.
    pub async fn warm_up_value(&mut self, prompts: &[Vec<Vec<u32>>]) -> Result<Warmup> {
        let cfg = self.cfg;
        let mut stepper = Stepper::new(cfg.max_grad_norm);
        let mut out = Warmup::default();
        for batch in prompts.iter().take(cfg.value_warmup) {
            let ro = self.rollout(batch).await?;
            out.var_explained
                .push(var_explained(&ro.returns, &ro.values));
            let n = ro.responses.len();
            let mb = n.div_ceil(cfg.minibatches.max(1)).max(1);
            let (mut sum, mut count) = (0.0f32, 0usize);
            for _ in 0..cfg.ppo_epochs {
                for idx in (0..n).collect::<Vec<_>>().chunks(mb) {
                    let (grads, value) = value_grads(
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

    /// The gradient of one minibatch of a rollout (the responses `idx`), as an update
    /// would take it before clipping: for diagnostics and the backend parity tests.
    pub fn minibatch_grads(&self, ro: &Rollout, idx: &[usize]) -> GradientsParams {
        let total: usize = idx.iter().map(|&i| ro.responses[i].len()).sum();
        let policy = self.policy.valid().train();
        piece_grads(policy, ro, idx, total, &self.cfg, self.pad, &self.device).0
    }

    /// The device the policy trains on (autodiff).
    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn iteration_count(&self) -> usize {
        self.iter
    }

    /// Steps 1–3: sample and score a rollout batch.
    pub async fn rollout(&self, prompts: &[Vec<u32>]) -> Result<Rollout> {
        let cfg = &self.cfg;
        let plain = self.device.clone().inner();
        let actor = self.policy.valid();
        let sample = SampleConfig {
            temperature: cfg.temperature,
            top_k: 0,
            max_new: cfg.max_new,
            seed: cfg
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(self.iter as u64),
            // Rollouts sample the policy as it is; the rule is the evaluation's.
            no_repeat_query: false,
        };
        // log π_old and V_old come with the samples, from the generation's own forward
        // passes (as in TRL); π_ref and the reward model read the finished sequences.
        let generated = actor
            .generate_scored(prompts, &sample, self.eos, self.pad, true, &plain, None)
            .await;
        let responses = generated.tokens;
        if let Some(i) = responses.iter().position(Vec::is_empty) {
            return Err(Error::Invalid(format!(
                "prompt {i} ({} tokens) leaves no room for a response within the policy's {} positions",
                prompts[i].len(),
                actor.max_len()
            )));
        }
        let p: Vec<&[u32]> = prompts.iter().map(Vec::as_slice).collect();
        let x: Vec<&[u32]> = responses.iter().map(Vec::as_slice).collect();
        let t = TailBatch::new(&p, &x, self.pad);
        let [b, r] = [t.seqs.batch, t.r];
        let (reference, rm, temperature) = (&self.reference, &self.rm, cfg.temperature);
        let (ref_lp, margin) = par::join(
            || score_tokens(reference, &t, temperature, &plain).1,
            || rm.margins_tail(&t.seqs, r, &plain),
        );
        let (lp, values) = (generated.logprobs, generated.values);
        let (ref_lp, margin) = (
            t.untail(&read(ref_lp).await?),
            t.untail(&read(margin).await?),
        );
        let mut out = Rollout {
            prompts: prompts.to_vec(),
            responses,
            logprobs: lp,
            ref_logprobs: ref_lp,
            values,
            rm_margin: margin,
            scores: Vec::new(),
            kl: Vec::new(),
            rewards: Vec::new(),
            advantages: Vec::new(),
            returns: Vec::new(),
        };
        for i in 0..b {
            let shaped;
            let score = match cfg.reward {
                RewardMode::Sentence => Score::Sentence(*out.rm_margin[i].last().unwrap_or(&0.0)),
                RewardMode::Token => {
                    let r = token_rewards(&out.rm_margin[i], cfg.lwp);
                    shaped = match (cfg.placement, &self.word_of) {
                        (Placement::SpanEnd, Some(f)) => span_end(&r, &f(&out.responses[i])),
                        _ => r,
                    };
                    Score::Token(&shaped)
                }
            };
            // TRL's missing_eos_penalty: a response cut at the cap loses it from its
            // score, at its last token.
            let cut = out.responses[i].last() != Some(&self.eos);
            let penalty = cfg.missing_eos_penalty.filter(|_| cut).unwrap_or(0.0);
            out.scores.push(
                match score {
                    Score::Sentence(s) => s,
                    Score::Token(r) => r.iter().sum(),
                } - penalty,
            );
            let mut a = assemble(&out.logprobs[i], &out.ref_logprobs[i], self.kl_coef, score);
            if let Some(last) = a.rewards.last_mut() {
                *last -= penalty;
            }
            let (adv, ret) = gae(&a.rewards, &out.values[i], cfg.gamma, cfg.lam);
            out.kl.push(a.kl);
            out.rewards.push(a.rewards);
            out.advantages.push(adv);
            out.returns.push(ret);
        }
        whiten(&mut out.advantages);
        Ok(out)
    }

    /// Step 4 on a rollout: `ppo_epochs` passes of minibatch updates.
    pub async fn update(&mut self, ro: &Rollout) -> Result<Metrics> {
        let cfg = self.cfg;
        let n = ro.responses.len();
        let mb = n.div_ceil(cfg.minibatches.max(1)).max(1);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
            cfg.seed ^ (self.iter as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let mut sums = StatSums::default();
        let (steps_before, skipped_before) = (self.stepper.steps, self.stepper.skipped);
        for _ in 0..cfg.ppo_epochs {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            for idx in order.chunks(mb) {
                // The minibatch's gradient in `grad_shards` pieces, side by side (crate::cpu::par);
                // each piece's means are scaled by its share of the minibatch's tokens, so the
                // pieces sum to the gradient and statistics of the whole minibatch.
                let total: usize = idx.iter().map(|&i| ro.responses[i].len()).sum();
                let pieces: Vec<&[usize]> = idx
                    .chunks(idx.len().div_ceil(cfg.grad_shards.max(1)))
                    .collect();
                let (policy, device, pad) = (&self.policy, &self.device, self.pad);
                let (grads, stats): (Vec<_>, Vec<_>) = par::map(pieces, |piece| {
                    piece_grads(policy.valid().train(), ro, piece, total, &cfg, pad, device)
                })
                .into_iter()
                .unzip();
                let grads = grads::sum(&self.policy, grads);
                // One read: the statistics with the gradient norm; a non-finite one skips.
                let (policy, stepped) = self
                    .stepper
                    .step(self.policy.clone(), grads, cfg.lr, vec![Stats::sum(stats)])
                    .await?;
                self.policy = policy;
                if stepped.applied {
                    sums.add(&stepped.values);
                }
            }
        }
        let steps = self.stepper.steps - steps_before;
        let skipped = self.stepper.skipped - skipped_before;
        self.iter += 1;
        let beta = self.kl_coef;
        let avg = |x: f64| (x / steps.max(1) as f64) as f32;
        let per_seq =
            |v: &Vec<Vec<f32>>| v.iter().map(|r| r.iter().sum::<f32>()).collect::<Vec<_>>();
        let (scores, scores_std) = mean_std(&ro.scores);
        let kl = mean_std(&per_seq(&ro.kl)).0;
        if let Some(target) = cfg.kl_target {
            self.kl_coef = super::config::adapt_kl_coef(beta, kl, target, n, cfg.kl_horizon);
        }
        let neg_lp: Vec<f32> = ro.logprobs.iter().map(|r| -r.iter().sum::<f32>()).collect();
        let missing_eos = ro
            .responses
            .iter()
            .filter(|r| r.last() != Some(&self.eos))
            .count();
        Ok(Metrics {
            iter: self.iter,
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
            num_eos: ro
                .responses
                .iter()
                .filter(|r| r.last() == Some(&self.eos))
                .count(),
            response_length: mean_std(
                &ro.responses
                    .iter()
                    .map(|r| r.len() as f32)
                    .collect::<Vec<_>>(),
            )
            .0,
            skipped_updates: skipped,
            seconds: 0.0,
            judge_relevance: None,
            kl_coef: beta,
            var_explained: var_explained(&ro.returns, &ro.values),
            missing_eos,
        })
    }

    /// Rollout then update.
    pub async fn iteration(&mut self, prompts: &[Vec<u32>]) -> Result<(Metrics, Rollout)> {
        let ro = self.rollout(prompts).await?;
        let m = self.update(&ro).await?;
        Ok((m, ro))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{block_on, cpu};
    use crate::model::batch::Padded;
    use crate::model::policy::PolicyConfig;
    use crate::model::trunk::TrunkConfig;
    use crate::reward::model::{Level, RewardModelConfig};

    const EOS: u32 = 2;
    const PAD: u32 = 0;

    fn tiny() -> PolicyConfig {
        PolicyConfig::of(TrunkConfig {
            vocab: 24,
            d_model: 32,
            n_layers: 1,
            n_heads: 2,
            d_ff: 64,
            max_len: 24,
        })
    }

    fn tiny_trunk() -> TrunkConfig {
        tiny().trunk
    }

    /// Train on one fixed prompt from a random policy and a random (frozen) reward model.
    fn train(cfg: PpoConfig, iters: usize) -> Vec<Metrics> {
        let device = cpu().autodiff();
        let plain = cpu();
        let policy = tiny().init(&device);
        let reference = policy.valid();
        let trunk = tiny_trunk();
        let level = match cfg.reward {
            RewardMode::Token => Level::Token,
            RewardMode::Sentence => Level::Sentence,
        };
        let rm = RewardModelConfig { trunk, level }.init(&plain);
        let mut ppo = Ppo::new(cfg, policy, reference, rm, EOS, PAD, device, None).unwrap();
        let prompts = vec![vec![1, 5, 6, 7]; 16];
        (0..iters)
            .map(|_| block_on(ppo.iteration(&prompts)).unwrap().0)
            .collect()
    }

    fn cfg(reward: RewardMode, kl_coef: f32) -> PpoConfig {
        PpoConfig {
            reward,
            kl_coef,
            batch_size: 16,
            max_new: 8,
            lr: 3e-3,
            lwp: crate::reward::lwp::LwpConfig {
                alpha: 1.0,
                sl: 8.0,
            },
            ..PpoConfig::default()
        }
    }

    fn mean(ms: &[Metrics], f: impl Fn(&Metrics) -> f32) -> f32 {
        ms.iter().map(f).sum::<f32>() / ms.len() as f32
    }

    #[test]
    fn with_beta_zero_the_score_rises_for_a_frozen_reward_model() {
        for reward in [RewardMode::Token, RewardMode::Sentence] {
            let ms = train(cfg(reward, 0.0), 30);
            let (early, late) = (mean(&ms[..3], |m| m.scores), mean(&ms[27..], |m| m.scores));
            let spread = mean(&ms[..3], |m| m.scores_std);
            assert!(
                // By more than half the batch's spread (random models: a margin for luck).
                late > early + 0.5 * spread,
                "{reward:?}: score {early} → {late} (std {spread})"
            );
            assert!(ms.iter().all(|m| m.skipped_updates == 0));
        }
    }

    #[test]
    fn with_beta_large_the_policy_stays_near_the_reference() {
        let free = train(cfg(RewardMode::Token, 0.0), 30);
        let held = train(cfg(RewardMode::Token, 5.0), 30);
        let (kl_free, kl_held) = (mean(&free[25..], |m| m.kl), mean(&held[25..], |m| m.kl));
        assert!(kl_held < 0.3 * kl_free, "KL β=0 {kl_free}, β=5 {kl_held}");
        // Summed over up to 8 tokens: about 0.1 nats per token at most.
        assert!(kl_held < 1.0, "{kl_held}");
    }

    #[test]
    fn same_config_and_seed_give_identical_metrics_on_the_cpu() {
        // The same initial weights (burn's initialiser draws from a global RNG that other
        // tests share), then everything else from the config's seed.
        let device = cpu().autodiff();
        let plain = cpu();
        let p0 = tiny().init(&device);
        let trunk = tiny_trunk();
        let rm0 = RewardModelConfig {
            trunk,
            level: Level::Token,
        }
        .init(&plain);
        let prompts = vec![vec![1, 5, 6, 7], vec![1, 8, 9]];
        let run = || {
            let c = cfg(RewardMode::Token, 0.05);
            let mut ppo = Ppo::new(
                c,
                p0.clone(),
                p0.valid(),
                rm0.clone(),
                EOS,
                PAD,
                device.clone(),
                None,
            )
            .unwrap();
            (0..3)
                .map(|_| {
                    serde_json::to_string(&block_on(ppo.iteration(&prompts)).unwrap().0).unwrap()
                })
                .collect::<Vec<_>>()
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b);
        assert_ne!(a[0], a[2]);
    }

    #[test]
    fn a_non_finite_loss_skips_the_update_and_leaves_the_policy_intact() {
        let device = cpu().autodiff();
        let plain = cpu();
        let policy = tiny().init(&device);
        let reference = policy.valid();
        let trunk = tiny_trunk();
        let rm = RewardModelConfig {
            trunk,
            level: Level::Token,
        }
        .init(&plain);
        let c = cfg(RewardMode::Token, 0.05);
        let mut ppo = Ppo::new(c, policy, reference, rm, EOS, PAD, device, None).unwrap();
        let prompts = vec![vec![1, 5, 6, 7]; 4];
        let mut ro = block_on(ppo.rollout(&prompts)).unwrap();
        // Inject a NaN advantage (as a diverged reward model would give).
        ro.advantages[0][0] = f32::NAN;
        let probe = Padded::left(&[vec![1, 5, 6, 7]], PAD);
        let before = ppo.policy().forward_full(&probe, &plain).logits.into_data();
        let m = block_on(ppo.update(&ro)).unwrap();
        let after = ppo.policy().forward_full(&probe, &plain).logits.into_data();
        // Every minibatch holding the NaN is skipped and counted; the others still update.
        let per_epoch = c.minibatches;
        assert_eq!(
            m.skipped_updates, c.ppo_epochs,
            "{m:?} ({per_epoch} minibatches per epoch)"
        );
        assert!(m.policy_loss.is_finite());
        // Now all advantages NaN: nothing may change.
        for row in &mut ro.advantages {
            row.iter_mut().for_each(|x| *x = f32::NAN);
        }
        let m = block_on(ppo.update(&ro)).unwrap();
        assert_eq!(m.skipped_updates, c.ppo_epochs * c.minibatches);
        let again = ppo.policy().forward_full(&probe, &plain).logits.into_data();
        assert_eq!(after, again);
        assert_ne!(before, after);
    }

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

    #[test]
    fn the_critic_warm_up_trains_the_value_head_alone_and_lowers_its_loss() {
        let device = cpu().autodiff();
        let plain = cpu();
        let policy = tiny().init(&device);
        let reference = policy.valid();
        let rm = RewardModelConfig {
            trunk: tiny_trunk(),
            level: Level::Token,
        }
        .init(&plain);
        let c = PpoConfig {
            value_warmup: 8,
            value_warmup_lr: 1e-2,
            ..cfg(RewardMode::Token, 0.05)
        };
        let mut ppo = Ppo::new(c, policy, reference, rm, EOS, PAD, device, None).unwrap();
        let probe = Padded::left(&[vec![1, 5, 6, 7, 9, 3]], PAD);
        let before = ppo.policy().forward_full(&probe, &plain);
        let prompts = vec![vec![vec![1, 5, 6, 7]; 16]; 8];
        let w = block_on(ppo.warm_up_value(&prompts)).unwrap();
        let after = ppo.policy().forward_full(&probe, &plain);
        // The policy (logits) is exactly as it was; the critic (values) moved.
        assert_eq!(before.logits.into_data(), after.logits.into_data());
        assert_ne!(before.values.into_data(), after.values.into_data());
        // The value loss on fresh rollouts of the same prompt falls: the last two
        // iterations' mean below the first's.
        assert_eq!(w.value_loss.len(), 8);
        let late = (w.value_loss[6] + w.value_loss[7]) / 2.0;
        assert!(late < w.value_loss[0], "value loss {:?}", w.value_loss);
    }

    #[test]
    fn a_gradient_in_pieces_is_the_gradient_of_the_whole_minibatch() {
        let device = cpu().autodiff();
        let plain = cpu();
        let p0 = tiny().init(&device);
        let rm = RewardModelConfig {
            trunk: tiny_trunk(),
            level: Level::Token,
        }
        .init(&plain);
        // Ragged prompts, so the pieces hold different token counts.
        let prompts: Vec<Vec<u32>> = (0..6).map(|i| (1..4 + i).collect()).collect();
        let run = |shards: usize| {
            let c = PpoConfig {
                grad_shards: shards,
                minibatches: 1,
                ppo_epochs: 1,
                ..cfg(RewardMode::Token, 0.05)
            };
            let mut ppo = Ppo::new(
                c,
                p0.clone(),
                p0.valid(),
                rm.clone(),
                EOS,
                PAD,
                device.clone(),
                None,
            )
            .unwrap();
            let ro = block_on(ppo.rollout(&prompts)).unwrap();
            block_on(ppo.update(&ro)).unwrap()
        };
        let whole = run(1);
        for shards in [2, 3] {
            let m = run(shards);
            for (a, b) in [
                (whole.policy_loss, m.policy_loss),
                (whole.value_loss, m.value_loss),
                (whole.approxkl, m.approxkl),
                (whole.entropy_avg, m.entropy_avg),
            ] {
                assert!(
                    (a - b).abs() < 1e-5 * (1.0 + a.abs()),
                    "{shards} pieces: {a} vs {b}"
                );
            }
        }
        // The gradients themselves (Adam's step would hide a wrong scale).
        let c = cfg(RewardMode::Token, 0.05);
        let ppo = Ppo::new(
            c,
            p0.clone(),
            p0.valid(),
            rm,
            EOS,
            PAD,
            device.clone(),
            None,
        )
        .unwrap();
        let mut ro = block_on(ppo.rollout(&prompts)).unwrap();
        // Advantages far from zero, so the policy term's gradient is large.
        ro.advantages.iter_mut().flatten().for_each(|a| *a += 1.0);
        let idx: Vec<usize> = (0..prompts.len()).collect();
        let total: usize = ro.responses.iter().map(Vec::len).sum();
        let flat = |g: &GradientsParams| grads::flat(&p0, g);
        let grads = |piece: &[usize]| {
            piece_grads(p0.valid().train(), &ro, piece, total, &c, PAD, &device).0
        };
        let whole = flat(&grads(&idx));
        let parts = grads::sum(
            &p0,
            vec![grads(&idx[..1]), grads(&idx[1..4]), grads(&idx[4..])],
        );
        let parts = flat(&parts);
        assert_eq!(whole.len(), parts.len());
        let scale = whole.iter().fold(0.0f32, |m, g| m.max(g.abs()));
        let worst = whole
            .iter()
            .zip(&parts)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(scale > 1e-3, "{scale}");
        assert!(
            worst < 1e-5 * scale,
            "largest gradient {scale}, pieces differ by {worst}"
        );
    }
}
