//! Supervised fine-tuning: teacher forcing on history → targets, with the loss
//! on response tokens only.
//!
//! ```text
//! L_SFT = −(1/|R|) Σ_{t∈R} log π_θ(y_t | x, y_<t)     R: the response tokens of the batch
//! ```
//!
//! Adam with gradient-norm clipping at 1.0, and the learning rate decayed along a
//! cosine from `lr` to `lr / 10` over all steps (warm-up epochs included). The
//! language-model warm-up epochs matter most on this data: a history is itself a
//! sequence of queries on the user's interests, so next-token prediction over the
//! whole history teaches what SFT needs with ten times the tokens per example
//! (docs/results.md has the probe runs that chose the shipped recipe).

use super::policy::{Padded, Policy, PolicyConfig};
use super::prompt::Example;
use super::trunk::TrunkConfig;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SftConfig {
    pub policy: PolicyConfig,
    /// Train users used (0: all).
    pub users: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub max_prompt: usize,
    pub max_response: usize,
    pub seed: u64,
    /// Language-model warm-up epochs before SFT: the loss on every token (history
    /// and response), standing in for the pretraining of the paper's LLM (1 in `default`, 0 in `quick`).
    #[serde(default)]
    pub warmup_epochs: usize,
}

impl SftConfig {
    /// `quick`: minutes on 2 CPU cores. `default`: the run of the shipped checkpoint
    /// (20,000 users: 1 language-model epoch, then 1 SFT epoch); the checkpoint
    /// shipped is its first epoch, chosen on the validation users by the rule of
    /// `scripts/make-models.sh` (docs/results.md).
    pub fn preset(name: &str, vocab: usize) -> Option<Self> {
        let base = Self {
            policy: PolicyConfig::shipped(vocab),
            users: 20_000,
            epochs: 1,
            batch_size: 32,
            lr: 6e-3,
            max_prompt: super::prompt::MAX_PROMPT,
            max_response: super::prompt::MAX_RESPONSE,
            seed: 1,
            warmup_epochs: 1,
        };
        match name {
            "default" => Some(base),
            "quick" => Some(Self {
                policy: PolicyConfig::of(TrunkConfig {
                    d_model: 64,
                    n_layers: 2,
                    d_ff: 128,
                    ..base.policy.trunk
                }),
                users: 2000,
                epochs: 1,
                batch_size: 16,
                lr: 1e-3,
                warmup_epochs: 0,
                ..base
            }),
            _ => None,
        }
    }

    /// Every setting in its domain, or an error naming the first that is not.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |name: &str, want: &str, v: String| {
            Err(crate::Error::Invalid(format!(
                "SFT setting {name}: expected {want}, found {v}"
            )))
        };
        for (name, v) in [
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("max_prompt", self.max_prompt),
            ("max_response", self.max_response),
        ] {
            if v == 0 {
                return bad(name, "at least 1", v.to_string());
            }
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", "a positive number", self.lr.to_string());
        }
        Ok(())
    }
}

/// A teacher-forced batch: left-padded sequences; at position j the target is
/// the token at j + 1, weighted 1 when that token belongs to the response.
pub struct SftBatch {
    pub seqs: Padded,
    pub targets: Vec<i64>,
    pub weight: Vec<f32>,
}

pub fn batch(examples: &[&Example], pad: u32) -> SftBatch {
    make_batch(examples, pad, false)
}

/// The language-model warm-up batch: every real next token is a target.
pub fn lm_batch(examples: &[&Example], pad: u32) -> SftBatch {
    make_batch(examples, pad, true)
}

fn make_batch(examples: &[&Example], pad: u32, every_token: bool) -> SftBatch {
    let seqs: Vec<Vec<u32>> = examples
        .iter()
        .map(|e| e.prompt.iter().chain(&e.response).copied().collect())
        .collect();
    let padded = Padded::left(&seqs, pad);
    let t = padded.len;
    let mut targets = vec![i64::from(pad); padded.batch * t];
    let mut weight = vec![0.0f32; padded.batch * t];
    for (b, (s, e)) in seqs.iter().zip(examples).enumerate() {
        let start = t - s.len(); // first real position
        let first_response = start + e.prompt.len();
        for j in start..t - 1 {
            targets[b * t + j] = padded.tokens[b * t + j + 1];
            weight[b * t + j] = if every_token || j + 1 >= first_response {
                1.0
            } else {
                0.0
            };
        }
    }
    SftBatch {
        seqs: padded,
        targets,
        weight,
    }
}

/// Mean negative log-likelihood of the response tokens. Only the last positions,
/// where responses sit (left padding), go through the vocabulary projection.
pub fn loss(policy: &Policy, batch: &SftBatch, device: &Device) -> Tensor<1> {
    let (b, t) = (batch.seqs.batch, batch.seqs.len);
    // The first position with weight, over the batch: everything before it has weight 0.
    let first = (0..t)
        .find(|&j| (0..b).any(|r| batch.weight[r * t + j] > 0.0))
        .unwrap_or(t - 1);
    let n = t - first;
    let tail = |v: &[f32]| -> Vec<f32> {
        (0..b)
            .flat_map(|r| v[r * t + first..(r + 1) * t].to_vec())
            .collect()
    };
    let targets: Vec<i64> = (0..b)
        .flat_map(|r| batch.targets[r * t + first..(r + 1) * t].to_vec())
        .collect();
    let weight = tail(&batch.weight);
    let logits = policy.logits_tail(&batch.seqs, n, device);
    let targets = Tensor::<2, Int>::from_data(TensorData::new(targets, [b, n]), device);
    let w = Tensor::<2>::from_data(TensorData::new(weight, [b, n]), device);
    let log_p: Tensor<2> = log_softmax(logits, 2)
        .gather(2, targets.unsqueeze_dim::<3>(2))
        .squeeze_dim(2);
    let count: f32 = batch.weight.iter().sum();
    (log_p * w).sum().neg().div_scalar(count.max(1.0))
}

#[derive(Debug, Clone, Serialize)]
pub struct StepMetrics {
    pub epoch: usize,
    pub step: usize,
    pub loss: f32,
    pub tokens: usize,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    /// A language-model warm-up epoch (loss on every token); the eval loss is SFT's.
    pub warmup: bool,
    pub train_loss: f32,
    pub eval_loss: f32,
    pub seconds: f64,
}

/// Mean response-token loss over `examples` (no gradients).
pub fn eval_loss(
    policy: &Policy,
    examples: &[Example],
    batch_size: usize,
    pad: u32,
    device: &Device,
) -> f32 {
    let (mut total, mut n) = (0.0f64, 0.0f64);
    for chunk in examples.chunks(batch_size.max(1)) {
        let refs: Vec<&Example> = chunk.iter().collect();
        let b = batch(&refs, pad);
        let w: f32 = b.weight.iter().sum();
        let l = loss(policy, &b, device).into_scalar::<f32>();
        total += f64::from(l) * f64::from(w);
        n += f64::from(w);
    }
    (total / n.max(1.0)) as f32
}

/// The learning rate at `step` (0-based) of `total`: a cosine from `lr` down to `lr / 10`.
pub fn cosine_lr(lr: f64, step: usize, total: usize) -> f64 {
    let progress = step as f64 / total.max(1) as f64;
    let floor = lr / 10.0;
    floor + 0.5 * (lr - floor) * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
}

/// Train `policy` (on an autodiff device) through the shared training step
/// ([`crate::optim::Stepper`]: Adam, global-norm clipping at 1.0, non-finite steps
/// skipped), with a cosine learning rate. `on_step` sees every step, `on_epoch` every
/// epoch's end (metrics and weights). Returns the policy of the epoch with the lowest
/// response-token loss on `eval` (the validation users; not the last epoch's, and a
/// warm-up epoch's when it is the lowest: its eval loss is the same SFT loss), and the
/// per-epoch metrics.
#[allow(clippy::too_many_arguments)]
pub fn train(
    mut policy: Policy,
    train: &[Example],
    eval: &[Example],
    cfg: &SftConfig,
    pad: u32,
    device: &Device,
    mut on_step: impl FnMut(&StepMetrics),
    mut on_epoch: impl FnMut(&EpochMetrics, &Policy) -> crate::Result<()>,
) -> crate::Result<(Policy, Vec<EpochMetrics>)> {
    use burn::module::Module;
    use burn::optim::GradientsParams;
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut stepper = crate::optim::Stepper::new(1.0);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut epochs: Vec<EpochMetrics> = Vec::new();
    let mut best: Option<(f32, Policy)> = None;
    let mut step = 0;
    let total = (cfg.warmup_epochs + cfg.epochs) * train.len().div_ceil(cfg.batch_size.max(1));
    for epoch in 0..cfg.warmup_epochs + cfg.epochs {
        let warmup = epoch < cfg.warmup_epochs;
        let t0 = web_time::Instant::now();
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut rng);
        let (mut sum, mut count) = (0.0f64, 0usize);
        for chunk in order.chunks(cfg.batch_size.max(1)) {
            let ts = web_time::Instant::now();
            let refs: Vec<&Example> = chunk.iter().map(|&i| &train[i]).collect();
            let b = if warmup {
                lm_batch(&refs, pad)
            } else {
                batch(&refs, pad)
            };
            let l = loss(&policy, &b, device);
            let value = l.clone().detach().inner();
            let grads = GradientsParams::from_grads(l.backward(), &policy);
            let lr = cosine_lr(cfg.lr, step, total);
            let (next, stepped) =
                crate::backend::block_on(stepper.step(policy, grads, lr, vec![value]))?;
            policy = next;
            step += 1;
            let value = stepped.values.first().copied().unwrap_or(f32::NAN);
            if stepped.applied {
                sum += f64::from(value);
                count += 1;
            }
            on_step(&StepMetrics {
                epoch,
                step,
                loss: value,
                tokens: b.seqs.batch * b.seqs.len,
                seconds: ts.elapsed().as_secs_f64(),
            });
        }
        let eval_loss = eval_loss(
            &policy.valid(),
            eval,
            cfg.batch_size,
            pad,
            &device.clone().inner(),
        );
        let metrics = EpochMetrics {
            epoch,
            warmup,
            train_loss: (sum / count.max(1) as f64) as f32,
            eval_loss,
            seconds: t0.elapsed().as_secs_f64(),
        };
        on_epoch(&metrics, &policy)?;
        epochs.push(metrics);
        let better = best.as_ref().is_none_or(|(l, _)| eval_loss < *l);
        if eval_loss.is_finite() && better {
            best = Some((eval_loss, policy.clone()));
        }
    }
    Ok((best.map_or(policy, |(_, p)| p), epochs))
}

/// The epoch [`train`] keeps: the lowest validation loss (warm-up epochs included).
pub fn best_epoch(epochs: &[EpochMetrics]) -> Option<usize> {
    epochs
        .iter()
        .filter(|e| e.eval_loss.is_finite())
        .min_by(|a, b| a.eval_loss.total_cmp(&b.eval_loss))
        .map(|e| e.epoch)
}

/// What `tppo sft` writes beside the checkpoint (`OUT.metrics.json`).
#[derive(Debug, Clone, Serialize)]
pub struct SftReport {
    pub config: SftConfig,
    pub train_users: usize,
    pub eval_users: usize,
    pub epochs: Vec<EpochMetrics>,
    /// The epoch whose weights were kept (lowest validation loss), 0-based.
    pub best_epoch: Option<usize>,
    pub seconds: f64,
    /// Users cut or left out for length (see [`super::prompt::Examples`]).
    pub left_out: LeftOut,
    pub checkpoint: std::path::PathBuf,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct LeftOut {
    pub train_histories_cut: usize,
    pub eval_histories_cut: usize,
    pub train_too_long: usize,
    pub eval_too_long: usize,
}

/// The whole SFT run: examples from the users (over-long histories cut, over-long
/// targets skipped; `note` hears about both), a fresh policy trained with [`train`]
/// on the CPU, the checkpoint written to `out` (`.safetensors`, `.json`) with its
/// report (`.metrics.json`). With `save_epochs`, every epoch's weights are also written
/// to `out-epochN` (N from 1), to compare them on the validation users.
#[allow(clippy::too_many_arguments)]
pub fn run(
    tok: &crate::tokenize::Tok,
    users: &[crate::data::User],
    eval_users: &[crate::data::User],
    cfg: &SftConfig,
    out: &std::path::Path,
    mut note: impl FnMut(String),
    on_step: impl FnMut(&StepMetrics),
    save_epochs: bool,
) -> crate::Result<SftReport> {
    use super::prompt::{self, Special};
    let sp = Special::of(tok)?;
    let fit =
        |us: &[crate::data::User]| prompt::examples(tok, sp, us, cfg.max_prompt, cfg.max_response);
    let (train_set, eval_set) = (fit(users)?, fit(eval_users)?);
    for (what, set) in [("train", &train_set), ("eval", &eval_set)] {
        if let Some(n) = set.note(what, cfg.max_prompt, cfg.max_response) {
            note(n);
        }
    }
    if train_set.examples.is_empty() {
        return Err(crate::Error::Invalid("no train user fits the model".into()));
    }
    let left_out = LeftOut {
        train_histories_cut: train_set.histories_cut,
        eval_histories_cut: eval_set.histories_cut,
        train_too_long: train_set.too_long.len(),
        eval_too_long: eval_set.too_long.len(),
    };
    let device = crate::backend::cpu().autodiff();
    let t0 = web_time::Instant::now();
    let info = super::checkpoint::CheckpointInfo {
        kind: "policy".into(),
        config: cfg.policy,
        tokenizer: tok.fingerprint(),
    };
    let (policy, epochs) = train(
        cfg.policy.init(&device),
        &train_set.examples,
        &eval_set.examples,
        cfg,
        sp.pad,
        &device,
        on_step,
        |e, p| {
            if !save_epochs {
                return Ok(());
            }
            let name = format!("{}-epoch{}", out.display(), e.epoch + 1);
            super::checkpoint::save(p, &info, std::path::Path::new(&name))
        },
    )?;
    super::checkpoint::save(&policy, &info, out)?;
    let report = SftReport {
        config: *cfg,
        train_users: train_set.examples.len(),
        eval_users: eval_set.examples.len(),
        best_epoch: best_epoch(&epochs),
        epochs,
        seconds: t0.elapsed().as_secs_f64(),
        left_out,
        checkpoint: out.with_extension("safetensors"),
    };
    crate::io::write_json(&out.with_extension("metrics.json"), &report)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::module::Module;

    #[test]
    fn targets_and_weights_by_hand() {
        // prompt [7, 8], response [9, 2]; prompt [7], response [3, 4, 2]; pad 0.
        let a = Example {
            prompt: vec![7, 8],
            response: vec![9, 2],
            events_left_out: 0,
        };
        let b = Example {
            prompt: vec![7],
            response: vec![3, 4, 2],
            events_left_out: 0,
        };
        let sb = batch(&[&a, &b], 0);
        assert_eq!(sb.seqs.len, 4);
        // Both sequences are 4 long: no padding. Row a: 7 8 9 2 → targets 8 9 2 pad, weights 0 1 1 0.
        assert_eq!(&sb.targets[..4], &[8, 9, 2, 0]);
        assert_eq!(&sb.weight[..4], &[0.0, 1.0, 1.0, 0.0]);
        // Row b: 7 3 4 2 → targets 3 4 2 pad, weights 1 1 1 0.
        assert_eq!(&sb.targets[4..], &[3, 4, 2, 0]);
        assert_eq!(&sb.weight[4..], &[1.0, 1.0, 1.0, 0.0]);
        let c = Example {
            prompt: vec![5],
            response: vec![2],
            events_left_out: 0,
        };
        let sc = batch(&[&a, &c], 0);
        // Row c is left-padded: 0 0 5 2 → targets at j=2 is 2 (weight 1), padding weights 0.
        assert_eq!(&sc.targets[4..], &[0, 0, 2, 0]);
        assert_eq!(&sc.weight[4..], &[0.0, 0.0, 1.0, 0.0]);
        // The warm-up batch weighs every real next token, never padding.
        let lc = lm_batch(&[&a, &c], 0);
        assert_eq!(&lc.weight[..4], &[1.0, 1.0, 1.0, 0.0]);
        assert_eq!(&lc.weight[4..], &[0.0, 0.0, 1.0, 0.0]);
        let lb = lm_batch(&[&a, &b], 0);
        assert_eq!(&lb.targets[4..], &[3, 4, 2, 0]);
        assert_eq!(&lb.weight[4..], &[1.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn cosine_schedule_by_hand() {
        assert_eq!(cosine_lr(1e-3, 0, 100), 1e-3);
        // Half way: the mean of lr and lr/10.
        assert!((cosine_lr(1e-3, 50, 100) - 5.5e-4).abs() < 1e-12);
        // A quarter: floor + (lr − floor)·(1 + cos(π/4))/2.
        let want = 1e-4 + 0.5 * 9e-4 * (1.0 + std::f64::consts::FRAC_1_SQRT_2);
        assert!((cosine_lr(1e-3, 25, 100) - want).abs() < 1e-12);
        assert!((cosine_lr(1e-3, 100, 100) - 1e-4).abs() < 1e-12);
    }

    #[test]
    fn sft_learns_a_fixed_mapping() {
        let device = cpu().autodiff();
        let cfg = SftConfig {
            policy: PolicyConfig::of(TrunkConfig {
                vocab: 20,
                d_model: 32,
                n_layers: 1,
                n_heads: 2,
                d_ff: 64,
                max_len: 16,
            }),
            users: 0,
            epochs: 60,
            batch_size: 4,
            lr: 3e-3,
            max_prompt: 8,
            max_response: 8,
            seed: 0,
            warmup_epochs: 5,
        };
        let ex: Vec<Example> = (0..4)
            .map(|i| Example {
                prompt: vec![1, 5 + i],
                response: vec![10 + i, 2],
                events_left_out: 0,
            })
            .collect();
        let before = eval_loss(&cfg.policy.init(&device).valid(), &ex, 4, 0, &cpu());
        let (policy, epochs) = train(
            cfg.policy.init(&device),
            &ex,
            &ex,
            &cfg,
            0,
            &device,
            |_| {},
            |_, _| Ok(()),
        )
        .unwrap();
        let after = epochs.last().unwrap().eval_loss;
        assert!(
            after < 0.1 && after < before / 10.0,
            "loss {before} → {after}"
        );
        let out = crate::backend::block_on(policy.valid().generate(
            &[vec![1, 6]],
            &super::super::policy::SampleConfig {
                temperature: 0.0,
                top_k: 0,
                max_new: 4,
                seed: 0,
                no_repeat_query: false,
            },
            2,
            0,
            true,
            &cpu(),
        ))
        .unwrap();
        assert_eq!(out[0], vec![11, 2]);
    }

    #[test]
    fn tail_loss_equals_the_loss_over_all_positions() {
        // Independent formula: log-softmax over every position, weighted mean.
        let device = cpu();
        let cfg = PolicyConfig::of(TrunkConfig {
            vocab: 30,
            d_model: 16,
            n_layers: 1,
            n_heads: 2,
            d_ff: 32,
            max_len: 32,
        });
        let policy = cfg.init(&device);
        let a = Example {
            prompt: vec![1, 4, 5, 6, 7],
            response: vec![9, 2],
            events_left_out: 0,
        };
        let c = Example {
            prompt: vec![1, 3],
            response: vec![10, 11, 12, 2],
            events_left_out: 0,
        };
        let b = batch(&[&a, &c], 0);
        let fast = loss(&policy, &b, &device).into_scalar::<f32>();
        let logits = policy.forward_full(&b.seqs, &device).logits;
        let log_p = log_softmax(logits, 2)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let (mut sum, mut n) = (0.0f32, 0.0f32);
        for (i, (&target, &w)) in b.targets.iter().zip(&b.weight).enumerate() {
            sum += w * log_p[i * 30 + target as usize];
            n += w;
        }
        assert_eq!(n, 6.0);
        assert!((fast - (-sum / n)).abs() < 1e-5, "{fast} vs {}", -sum / n);
    }
}
