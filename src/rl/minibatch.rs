//! The loss of one minibatch (eq. 6–9) and its gradient, computed in pieces side by
//! side on the CPU's threads ([`crate::cpu::par`]) and summed: each piece's means
//! are scaled by its share of the minibatch's response tokens, so the pieces add up
//! to the gradient and the statistics of the whole minibatch (a test checks it).

use super::config::PpoConfig;
use super::loss::{entropy, policy_loss, value_loss};
use super::rollout::Rollout;
use crate::cpu::par;
use crate::model::batch::TailBatch;
use crate::model::ops;
use crate::model::policy::Policy;
use crate::optim::grads;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};

/// The gradient of (policy loss + vf_coef · value loss) over the responses `idx` of
/// a rollout, and its statistics as one [`Stats::N`]-vector (policy loss, value
/// loss, clip fraction, approximate KL, value clip fraction, entropy), computed in
/// `cfg.grad_shards` pieces side by side.
pub(super) fn gradient(
    policy: &Policy,
    ro: &Rollout,
    idx: &[usize],
    cfg: &PpoConfig,
    pad: u32,
    device: &Device,
) -> (GradientsParams, Tensor<1>) {
    let total: usize = idx.iter().map(|&i| ro.responses[i].len()).sum();
    let pieces: Vec<&[usize]> = idx
        .chunks(idx.len().div_ceil(cfg.grad_shards.max(1)))
        .collect();
    let (grads, stats): (Vec<_>, Vec<_>) = par::map(pieces, |piece| {
        piece_grads(policy.valid().train(), ro, piece, total, cfg, pad, device)
    })
    .into_iter()
    .unzip();
    (grads::sum(policy, grads), Stats::sum(stats))
}

/// The statistics of one minibatch update (means over its response tokens), as TRL
/// logs them: the two losses, the clip fractions, approximate KL and entropy.
pub(super) struct Stats {
    policy_loss: Tensor<1>,
    value_loss: Tensor<1>,
    clipfrac: Tensor<1>,
    approxkl: Tensor<1>,
    value_clipfrac: Tensor<1>,
    entropy: Tensor<1>,
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

/// Logits [B, R, V] (at `temperature`), the chosen tokens' log-probs [B, R] and the
/// values V(s_t) [B, R]: the logits at position p predict the token at p + 1.
pub(super) fn score_tokens(
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
pub(super) fn piece_grads(
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
pub(super) fn value_grads(
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
