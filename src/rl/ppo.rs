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
pub use super::metrics::Metrics;
use super::metrics::{self, StatSums};
use super::minibatch;
use super::rewards::{Score, assemble, shuffled, span_end, spread, token_rewards};
pub use super::rollout::{Credit, Rollout};

/// Ragged per-token rows, one per response.
type Rows = Vec<Vec<f32>>;
use crate::backend::read;
use crate::cpu::par;
use crate::error::{Error, Result};
use crate::model::batch::TailBatch;
use crate::model::policy::{Policy, SampleConfig};
use crate::optim::Stepper;
use crate::reward::model::RewardModel;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use rand::SeedableRng;
use rand::seq::SliceRandom;

/// The judge's score of each response of a rollout ([`RewardMode::Judge`]).
pub type Judge<'a> = dyn Fn(&Rollout) -> Result<Vec<f32>> + 'a;

/// The word of each token of a response (for `--placement span-end`).
pub type WordOf = Box<dyn Fn(&[u32]) -> Vec<Option<usize>>>;

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

    /// Rollout then update.
    pub async fn iteration(&mut self, prompts: &[Vec<u32>]) -> Result<(Metrics, Rollout)> {
        self.iteration_judged(prompts, None).await
    }

    /// Rollout then update, the judge's scores of the rollout's responses (`judge`)
    /// as the reward of [`RewardMode::Judge`].
    pub async fn iteration_judged(
        &mut self,
        prompts: &[Vec<u32>],
        judge: Option<&Judge<'_>>,
    ) -> Result<(Metrics, Rollout)> {
        let ro = self.rollout_judged(prompts, judge).await?;
        let m = self.update(&ro).await?;
        Ok((m, ro))
    }

    /// Steps 1–3: sample a rollout batch, score it, and assign its credit.
    pub async fn rollout(&self, prompts: &[Vec<u32>]) -> Result<Rollout> {
        self.rollout_judged(prompts, None).await
    }

    /// [`Self::rollout`], with the judge's scores for [`RewardMode::Judge`].
    pub async fn rollout_judged(
        &self,
        prompts: &[Vec<u32>],
        judge: Option<&Judge<'_>>,
    ) -> Result<Rollout> {
        let mut out = self.sample(prompts).await?;
        let judged = match (self.cfg.reward, judge) {
            (RewardMode::Judge, Some(f)) => Some(f(&out)?),
            (RewardMode::Judge, None) => {
                return Err(Error::Invalid(
                    "reward judge: the run gives no judge to score its rollouts".into(),
                ));
            }
            _ => None,
        };
        self.credit(&mut out, judged.as_deref());
        whiten(&mut out.advantages);
        Ok(out)
    }

    /// One given response to `prompt` under this run, as a rollout would score it and
    /// assign its credit: per token the reward r_t (the KL term and the run's reward
    /// source), the critic's value V(s_t) and GAE's advantage (before the batch's
    /// whitening). The page's "where the credit goes" view.
    pub async fn explain(&self, prompt: &[u32], response: &[u32]) -> Result<Credit> {
        if response.is_empty() {
            return Err(Error::Invalid("explain: an empty response".into()));
        }
        let mut out = self
            .scored(&[prompt.to_vec()], vec![response.to_vec()], None)
            .await?;
        self.credit(&mut out, None);
        Ok(Credit {
            score: out.scores[0],
            rm_margin: out.rm_margin.swap_remove(0),
            kl: out.kl.swap_remove(0),
            rewards: out.rewards.swap_remove(0),
            values: out.values.swap_remove(0),
            advantages: out.advantages.swap_remove(0),
        })
    }

    /// Steps 1–2: sample responses and score them (log-probs, values, π_ref, the
    /// reward model's margins); no rewards yet.
    async fn sample(&self, prompts: &[Vec<u32>]) -> Result<Rollout> {
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
            .await?;
        let responses = generated.tokens;
        if let Some(i) = responses.iter().position(Vec::is_empty) {
            return Err(Error::Invalid(format!(
                "prompt {i} ({} tokens) leaves no room for a response within the policy's {} positions",
                prompts[i].len(),
                actor.max_len()
            )));
        }
        self.scored(
            prompts,
            responses,
            Some((generated.logprobs, generated.values)),
        )
        .await
    }

    /// Step 2 on given responses: π_ref's log-probs and the reward model's margins,
    /// and the policy's log-probs and values (`own`: those of the generation, else a
    /// forward pass of the policy); no rewards yet.
    async fn scored(
        &self,
        prompts: &[Vec<u32>],
        responses: Vec<Vec<u32>>,
        own: Option<(Rows, Rows)>,
    ) -> Result<Rollout> {
        let cfg = &self.cfg;
        let plain = self.device.clone().inner();
        let p: Vec<&[u32]> = prompts.iter().map(Vec::as_slice).collect();
        let x: Vec<&[u32]> = responses.iter().map(Vec::as_slice).collect();
        let t = TailBatch::new(&p, &x, self.pad);
        let r = t.r;
        let (reference, rm, temperature) = (&self.reference, &self.rm, cfg.temperature);
        let (ref_lp, margin) = par::join(
            || minibatch::score_tokens(reference, &t, temperature, &plain).1,
            || rm.margins_tail(&t.seqs, r, &plain),
        );
        let (lp, values) = match own {
            Some(own) => own,
            None => {
                let (_, lp, v) =
                    minibatch::score_tokens(&self.policy.valid(), &t, temperature, &plain);
                (t.untail(&read(lp).await?), t.untail(&read(v).await?))
            }
        };
        let (ref_lp, margin) = (
            t.untail(&read(ref_lp).await?),
            t.untail(&read(margin).await?),
        );
        let out = Rollout {
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
        Ok(out)
    }

    /// Step 3: the per-token rewards r_t = −β·kl_t plus the score of the run's reward
    /// source — the sentence score at the last token (PPO), the lwp-shaped token
    /// rewards (TPPO, eq. 4–5), the judge's score (`judged`, the positive control), or
    /// a negative control (TPPO's rewards shuffled within the response; the sentence
    /// score spread over it) — then GAE's advantages and returns (whitened over the
    /// batch by the caller, [`Self::rollout_judged`]).
    fn credit(&self, out: &mut Rollout, judged: Option<&[f32]>) {
        let cfg = &self.cfg;
        for i in 0..out.responses.len() {
            let margins = &out.rm_margin[i];
            let sentence = *margins.last().unwrap_or(&0.0);
            let tokens = || {
                let r = token_rewards(margins, cfg.lwp);
                match (cfg.placement, &self.word_of) {
                    (Placement::SpanEnd, Some(f)) => span_end(&r, &f(&out.responses[i])),
                    _ => r,
                }
            };
            // A seed per run, iteration and response for the shuffled control.
            let seed = cfg.seed ^ ((self.iter as u64) << 32) ^ i as u64;
            let shaped: Vec<f32>;
            let score = match cfg.reward {
                RewardMode::Sentence => Score::Sentence(sentence),
                RewardMode::Judge => Score::Sentence(judged.map_or(0.0, |j| j[i])),
                RewardMode::Token => {
                    shaped = tokens();
                    Score::Token(&shaped)
                }
                RewardMode::TokenShuffled => {
                    shaped = shuffled(&tokens(), seed);
                    Score::Token(&shaped)
                }
                RewardMode::SentenceSpread => {
                    shaped = spread(sentence, margins.len());
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
                // Eq. 6–9 on the minibatch, its gradient in pieces side by side.
                let (grads, stats) =
                    minibatch::gradient(&self.policy, ro, idx, &cfg, self.pad, &self.device);
                // One read: the statistics with the gradient norm; a non-finite one skips.
                let (policy, stepped) = self
                    .stepper
                    .step(self.policy.clone(), grads, cfg.lr, vec![stats])
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
        if let Some(target) = cfg.kl_target {
            let kl = metrics::sequence_kl(ro);
            self.kl_coef = super::config::adapt_kl_coef(beta, kl, target, n, cfg.kl_horizon);
        }
        Ok(Metrics::of(
            self.iter, ro, &sums, steps, skipped, beta, self.eos,
        ))
    }

    /// The gradient of one minibatch of a rollout (the responses `idx`), as an update
    /// would take it before clipping: for diagnostics and the backend parity tests.
    pub fn minibatch_grads(&self, ro: &Rollout, idx: &[usize]) -> GradientsParams {
        let total: usize = idx.iter().map(|&i| ro.responses[i].len()).sum();
        let policy = self.policy.valid().train();
        minibatch::piece_grads(policy, ro, idx, total, &self.cfg, self.pad, &self.device).0
    }

    /// π_ref: the frozen SFT policy.
    pub fn reference(&self) -> &Policy {
        &self.reference
    }

    /// The reward model the run reads.
    pub fn rm(&self) -> &RewardModel {
        &self.rm
    }

    /// The device the policy trains on (autodiff).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// β of the KL term now.
    pub fn kl_coef(&self) -> f32 {
        self.kl_coef
    }

    pub fn iteration_count(&self) -> usize {
        self.iter
    }
}

mod warmup;
pub use warmup::{BatchJudge, Warmup};

#[cfg(test)]
mod tests;
