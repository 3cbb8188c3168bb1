//! Training and evaluating the reward models (paper §3.3; Fig. 6, 10, 11).

use super::data::{RmBatch, RmExample, batch};
use super::loss::{global_loss, local_loss, probability_mask, total_loss};
use super::metrics::{accuracy, auc, balanced_accuracy};
use super::model::{Level, RewardModel};
use crate::cpu::par;
use crate::error::Result;
use crate::optim::{Stepper, grads};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RmTrainConfig {
    pub level: Level,
    /// λ_local = w, λ_global = 1 − w (paper Fig. 11; best 0.4–0.6).
    pub w: f32,
    /// w_c of eq. 1.
    pub class_weights: [f32; 3],
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub seed: u64,
    /// Evaluate every this many steps (and at the end).
    pub eval_every: usize,
    /// Pieces each batch's gradient is computed in, side by side where there are
    /// threads (crate::cpu::par), summed before the step: the same gradient up to float
    /// rounding ([`batch_grads`]). 1 by default, so that the recorded runs and shipped
    /// checkpoints reproduce bit for bit; the page and `tppo bench` use one per core.
    #[serde(default = "one")]
    pub grad_shards: usize,
}

fn one() -> usize {
    1
}

impl RmTrainConfig {
    /// `quick`: one epoch; `default`: three (the shipped models' run). The rest as
    /// [`Default`].
    pub fn preset(name: &str) -> Option<Self> {
        let epochs = match name {
            "quick" => 1,
            "default" => 3,
            _ => return None,
        };
        Some(Self {
            epochs,
            ..Self::default()
        })
    }

    /// Every setting in its domain, or an error naming the first that is not.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |name: &str, want: &str, v: String| {
            Err(crate::Error::Invalid(format!(
                "reward-model setting {name}: expected {want}, found {v}"
            )))
        };
        for (name, v) in [
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("eval_every", self.eval_every),
            ("grad_shards", self.grad_shards),
        ] {
            if v == 0 {
                return bad(name, "at least 1", v.to_string());
            }
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", "a positive number", self.lr.to_string());
        }
        if !(0.0..=1.0).contains(&self.w) {
            return bad("w", "a number in [0, 1]", self.w.to_string());
        }
        if self
            .class_weights
            .iter()
            .any(|x| !(x.is_finite() && *x >= 0.0))
        {
            return bad(
                "class_weights",
                "three non-negative numbers",
                format!("{:?}", self.class_weights),
            );
        }
        Ok(())
    }

    /// The class weights that balance the sentence labels of `train` (paper §4.1.3,
    /// "class balancing"): w_c = N / (2·N_c) for the two sentence classes, so each
    /// counts as much as the other in the sentence model's cross-entropy. The token
    /// model keeps [1, 1, 1] and balances with the probability mask (eq. 1).
    pub fn balanced(self, train: &[RmExample]) -> Self {
        if self.level == Level::Token {
            return self;
        }
        let n = train.len() as f32;
        let count = |c: u8| train.iter().filter(|e| e.sentence == c).count() as f32;
        let w = |c: u8| {
            if count(c) > 0.0 {
                n / (2.0 * count(c))
            } else {
                1.0
            }
        };
        Self {
            class_weights: [1.0, w(1), w(2)],
            ..self
        }
    }
}

impl Default for RmTrainConfig {
    fn default() -> Self {
        Self {
            level: Level::Token,
            w: 0.5,
            class_weights: [1.0, 1.0, 1.0],
            epochs: 2,
            batch_size: 32,
            lr: 5e-4,
            seed: 1,
            eval_every: 50,
            grad_shards: 1,
        }
    }
}

fn classes(b: &RmBatch, labels: &[u8], n: usize, device: &Device) -> Tensor<2, Int> {
    let rows = b.tail.seqs.batch;
    Tensor::from_data(
        TensorData::new(
            labels.iter().map(|&c| i64::from(c)).collect::<Vec<_>>(),
            [rows, n],
        ),
        device,
    )
}

/// The loss of one batch (the probability mask drawn from `rng` in training; see
/// `masked_loss`).
pub fn batch_loss(
    model: &RewardModel,
    b: &RmBatch,
    cfg: &RmTrainConfig,
    rng: Option<&mut rand_chacha::ChaCha8Rng>,
    device: &Device,
) -> Tensor<1> {
    masked_loss(model, b, &keep_mask(b, cfg, rng), cfg, device)
}

/// [B · r] the valid set V of eq. 1–2 at the token level: the response tokens, and in
/// training (`rng`) the probability mask over them. Empty at the sentence level.
fn keep_mask(
    b: &RmBatch,
    cfg: &RmTrainConfig,
    rng: Option<&mut rand_chacha::ChaCha8Rng>,
) -> Vec<bool> {
    match (cfg.level, rng) {
        (Level::Sentence, _) => Vec::new(),
        (Level::Token, Some(rng)) => probability_mask(&b.labels, &b.response(), rng),
        (Level::Token, None) => b.response(),
    }
}

/// The loss of one batch over the valid set `keep` ([`keep_mask`]). Token level: eq. 3.
/// Sentence level: cross-entropy of the sentence label at the last response token.
fn masked_loss(
    model: &RewardModel,
    b: &RmBatch,
    keep: &[bool],
    cfg: &RmTrainConfig,
    device: &Device,
) -> Tensor<1> {
    let (rows, r) = (b.tail.seqs.batch, b.tail.r);
    match cfg.level {
        Level::Token => {
            let valid: Vec<f32> = keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
            let valid = Tensor::<2>::from_data(TensorData::new(valid, [rows, r]), device);
            let logits = model.logits_tail(&b.tail.seqs, r, device);
            let labels = classes(b, &b.labels, r, device);
            let sentence = Tensor::<1>::from_floats(b.sentence.as_slice(), device);
            total_loss(
                local_loss(logits.clone(), labels, valid.clone(), cfg.class_weights),
                global_loss(logits, valid, sentence),
                cfg.w,
                1.0 - cfg.w,
            )
        }
        Level::Sentence => {
            let logits = model.logits_tail(&b.tail.seqs, 1, device);
            let labels: Vec<u8> = b.sentence.iter().map(|&s| s as u8).collect();
            let labels = classes(b, &labels, 1, device);
            local_loss(
                logits,
                labels,
                Tensor::ones([rows, 1], device),
                cfg.class_weights,
            )
        }
    }
}

/// The gradient and the loss (detached) of one training batch, in `cfg.grad_shards`
/// pieces of its rows side by side (crate::cpu::par). The probability mask is drawn
/// once over the whole batch, as without pieces; each piece is batched on its own
/// (its tail as long as its own longest response) and its loss scaled by its share of
/// the rows: eq. 1 and 2 (and the sentence loss) average over the rows, so the pieces'
/// losses and gradients sum to the batch's, up to float rounding.
///
/// # Panics
/// When `examples` is empty ([`RmTrainer::step`] refuses an empty training set first).
pub fn batch_grads(
    model: &RewardModel,
    examples: &[&RmExample],
    cfg: &RmTrainConfig,
    rng: &mut rand_chacha::ChaCha8Rng,
    pad: u32,
    device: &Device,
) -> (GradientsParams, Tensor<1>) {
    let whole = batch(examples, pad);
    let keep = keep_mask(&whole, cfg, Some(rng));
    let (n, width) = (examples.len(), whole.tail.r);
    let size = n.div_ceil(cfg.grad_shards.max(1)).max(1);
    let starts: Vec<usize> = (0..n).step_by(size).collect();
    let piece = |start: usize| {
        let rows = &examples[start..(start + size).min(n)];
        // One piece is the whole batch, already built.
        let own;
        let b = if rows.len() == n {
            &whole
        } else {
            own = batch(rows, pad);
            &own
        };
        // Each row of the piece keeps the last `b.tail.r` entries of its row in the
        // whole batch's mask: the responses are right-aligned in both.
        let keep: Vec<bool> = match cfg.level {
            Level::Sentence => Vec::new(),
            Level::Token => (start..start + rows.len())
                .flat_map(|g| &keep[(g + 1) * width - b.tail.r..(g + 1) * width])
                .copied()
                .collect(),
        };
        let model = model.valid().train();
        let loss =
            masked_loss(&model, b, &keep, cfg, device).mul_scalar(rows.len() as f32 / n as f32);
        let value = loss.clone().detach();
        (GradientsParams::from_grads(loss.backward(), &model), value)
    };
    let (grads, losses): (Vec<_>, Vec<_>) = par::map(starts, piece).into_iter().unzip();
    let loss = losses
        .into_iter()
        .reduce(|a, b| a + b)
        .expect("a batch has at least one row");
    (grads::sum(model, grads), loss)
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RmEval {
    pub loss: f32,
    /// Relevant vs irrelevant response tokens, scored by P(2) − P(1) at each token.
    pub token_auc: Option<f64>,
    pub token_accuracy: f64,
    /// Relevant vs irrelevant responses: the token model's mean P(2) − P(1) over the
    /// response, the sentence model's P(2) − P(1) at the last token.
    pub sentence_auc: Option<f64>,
    pub sentence_accuracy: f64,
    /// The mean of the recalls of relevant and of irrelevant responses (a response is
    /// called relevant when its score is above 0).
    #[serde(default)]
    pub sentence_balanced_accuracy: f64,
    /// The share of eval responses called relevant (near 0 or 1: one class for all).
    #[serde(default)]
    pub predicted_relevant: f64,
    /// The mean margin P(2) − P(1) on the content tokens of repeated queries, and
    /// how many such tokens the eval labels hold.
    #[serde(default)]
    pub repeat_margin: Option<f64>,
    #[serde(default)]
    pub repeat_tokens: usize,
}

/// Metrics over `examples`, without gradients (blocks on [`evaluate_async`]; on the
/// CPU backend its reads are ready at once).
pub fn evaluate(
    model: &RewardModel,
    examples: &[RmExample],
    cfg: &RmTrainConfig,
    pad: u32,
    device: &Device,
) -> RmEval {
    crate::backend::block_on(evaluate_async(model, examples, cfg, pad, device))
}

/// Metrics over `examples`, without gradients; reads from the device are async, so
/// this runs on WebGPU in a browser too.
pub async fn evaluate_async(
    model: &RewardModel,
    examples: &[RmExample],
    cfg: &RmTrainConfig,
    pad: u32,
    device: &Device,
) -> RmEval {
    let (mut tok_scores, mut tok_pos, mut tok_pred, mut tok_true) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut sent_scores, mut sent_pos) = (Vec::new(), Vec::new());
    let mut repeat = Vec::new();
    let (mut loss_sum, mut batches) = (0.0f64, 0usize);
    for chunk in examples.chunks(cfg.batch_size.max(1)) {
        let refs: Vec<&RmExample> = chunk.iter().collect();
        let b = batch(&refs, pad);
        let loss = crate::backend::read_scalar(batch_loss(model, &b, cfg, None, device)).await;
        loss_sum += f64::from(loss);
        batches += 1;
        let n = b.tail.r;
        let p = crate::backend::read(softmax(model.logits_tail(&b.tail.seqs, n, device), 2))
            .await
            .unwrap_or_default();
        for (row, e) in refs.iter().enumerate() {
            let start = n - e.response.len();
            let mut sum = 0.0f32;
            for k in 0..e.response.len() {
                let i = (row * n + start + k) * 3;
                let (p0, p1, p2) = (p[i], p[i + 1], p[i + 2]);
                let class = e.classes[k];
                if class != 0 {
                    tok_scores.push(p2 - p1);
                    tok_pos.push(class == 2);
                    if e.repeated.get(k).copied().unwrap_or(false) {
                        repeat.push(f64::from(p2 - p1));
                    }
                }
                tok_pred.push(if p0 >= p1 && p0 >= p2 {
                    0
                } else if p1 >= p2 {
                    1
                } else {
                    2
                });
                tok_true.push(class);
                sum += p2 - p1;
            }
            let last = (row * n + n - 1) * 3;
            let score = match cfg.level {
                Level::Token => sum / e.response.len() as f32,
                Level::Sentence => p[last + 2] - p[last + 1],
            };
            sent_scores.push(score);
            sent_pos.push(e.sentence == 2);
        }
    }
    let sent_pred: Vec<u8> = sent_scores.iter().map(|&s| u8::from(s > 0.0)).collect();
    let sent_true: Vec<u8> = sent_pos.iter().map(|&p| u8::from(p)).collect();
    RmEval {
        loss: (loss_sum / batches.max(1) as f64) as f32,
        token_auc: auc(&tok_scores, &tok_pos),
        token_accuracy: accuracy(&tok_pred, &tok_true),
        sentence_auc: auc(&sent_scores, &sent_pos),
        sentence_accuracy: accuracy(&sent_pred, &sent_true),
        sentence_balanced_accuracy: balanced_accuracy(&sent_pred, &sent_true),
        predicted_relevant: sent_pred.iter().map(|&p| f64::from(p)).sum::<f64>()
            / sent_pred.len().max(1) as f64,
        repeat_margin: (!repeat.is_empty())
            .then(|| repeat.iter().sum::<f64>() / repeat.len() as f64),
        repeat_tokens: repeat.len(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RmPoint {
    pub step: usize,
    pub train_loss: f32,
    pub seconds: f64,
    pub eval: Option<RmEval>,
}

/// A reward model in training, one step at a time: the command line loops over it
/// (`tppo train-rm`), the page calls it between frames. Each epoch visits the
/// training examples in a fresh seeded order; each step is one batch through the
/// shared training step ([`crate::optim::Stepper`]: Adam, global-norm clipping at
/// 1.0, non-finite steps skipped).
pub struct RmTrainer {
    /// The model, on an autodiff device.
    pub model: RewardModel,
    pub cfg: RmTrainConfig,
    stepper: Stepper,
    rng: rand_chacha::ChaCha8Rng,
    order: Vec<usize>,
    pos: usize,
    /// Steps taken so far (skipped ones included).
    pub step: usize,
}

impl RmTrainer {
    pub fn new(model: RewardModel, cfg: RmTrainConfig) -> Self {
        use rand::SeedableRng;
        Self {
            model,
            cfg,
            stepper: Stepper::new(1.0),
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed),
            order: Vec::new(),
            pos: 0,
            step: 0,
        }
    }

    /// Steps in one pass over `n` training examples.
    pub fn steps_per_epoch(&self, n: usize) -> usize {
        n.div_ceil(self.cfg.batch_size.max(1))
    }

    /// One batch of `train` (the next of this epoch's order): the training loss (NaN
    /// when the step was skipped for a non-finite loss or gradient).
    pub async fn step(&mut self, train: &[RmExample], pad: u32, device: &Device) -> Result<f32> {
        use rand::seq::SliceRandom;
        if train.is_empty() {
            return Err(crate::Error::Invalid(
                "reward model: no training examples".into(),
            ));
        }
        if self.pos >= self.order.len() {
            self.order = (0..train.len()).collect();
            self.order.shuffle(&mut self.rng);
            self.pos = 0;
        }
        let end = (self.pos + self.cfg.batch_size.max(1)).min(self.order.len());
        let refs: Vec<&RmExample> = self.order[self.pos..end]
            .iter()
            .map(|&i| &train[i])
            .collect();
        self.pos = end;
        let (grads, loss) = batch_grads(&self.model, &refs, &self.cfg, &mut self.rng, pad, device);
        let (model, stepped) = self
            .stepper
            .step(self.model.clone(), grads, self.cfg.lr, vec![loss.inner()])
            .await?;
        self.model = model;
        self.step += 1;
        Ok(if stepped.applied {
            stepped.values[0]
        } else {
            f32::NAN
        })
    }
}

/// Train for `cfg.epochs`, evaluating every `eval_every` steps and at the end.
pub async fn train_async(
    model: RewardModel,
    train: &[RmExample],
    eval: &[RmExample],
    cfg: &RmTrainConfig,
    pad: u32,
    device: &Device,
    mut on_point: impl FnMut(&RmPoint),
) -> Result<(RewardModel, Vec<RmPoint>)> {
    let mut t = RmTrainer::new(model, *cfg);
    let plain = device.clone().inner();
    let total = cfg.epochs * t.steps_per_epoch(train.len());
    let mut points = Vec::with_capacity(total);
    for _ in 0..total {
        let t0 = web_time::Instant::now();
        let train_loss = t.step(train, pad, device).await?;
        let eval = if t.step.is_multiple_of(cfg.eval_every.max(1)) || t.step == total {
            Some(evaluate_async(&t.model.valid(), eval, cfg, pad, &plain).await)
        } else {
            None
        };
        let p = RmPoint {
            step: t.step,
            train_loss,
            seconds: t0.elapsed().as_secs_f64(),
            eval,
        };
        on_point(&p);
        points.push(p);
    }
    Ok((t.model, points))
}

/// [`train_async`], blocking (the CPU backend's reads are ready at once).
pub fn train(
    model: RewardModel,
    train: &[RmExample],
    eval: &[RmExample],
    cfg: &RmTrainConfig,
    pad: u32,
    device: &Device,
    on_point: impl FnMut(&RmPoint),
) -> Result<(RewardModel, Vec<RmPoint>)> {
    crate::backend::block_on(train_async(model, train, eval, cfg, pad, device, on_point))
}

/// How a reward model starts: on the SFT policy's trunk (the paper's way), or fresh.
pub enum Start<'a> {
    /// A policy checkpoint (path without extension).
    Sft(&'a std::path::Path),
    Fresh(crate::model::trunk::TrunkConfig),
}

/// What `tppo train-rm` writes beside the checkpoint (`OUT.metrics.json`).
#[derive(Debug, Clone, Serialize)]
pub struct RmReport {
    pub config: RmTrainConfig,
    pub model: super::model::RewardModelConfig,
    pub train_examples: usize,
    pub eval_examples: usize,
    pub seconds: f64,
    /// The last evaluation.
    #[serde(rename = "final")]
    pub last: Option<RmEval>,
    pub points: Vec<RmPoint>,
}

/// The examples of a users file and its labels file; records left out for length
/// are counted in one line for `note`.
pub fn load_examples(
    tok: &crate::tokenize::Tok,
    users: &std::path::Path,
    labels: &std::path::Path,
    mut note: impl FnMut(String),
) -> Result<Vec<RmExample>> {
    use crate::model::prompt::{MAX_PROMPT, MAX_RESPONSE, Special};
    let us = crate::data::jsonl::read_users(users)?;
    let ls = crate::labeler::labels::read(labels)?;
    let ex = super::data::examples(tok, Special::of(tok)?, &us, &ls, MAX_PROMPT, MAX_RESPONSE)?;
    if let Some(n) = ex.note(&labels.display().to_string(), MAX_RESPONSE) {
        note(n);
    }
    Ok(ex.examples)
}

/// Train one reward model on the CPU from `start`; with `out`, write its checkpoint
/// (`.safetensors`, `.json`) and the report (`.metrics.json`).
pub fn run(
    tok: &crate::tokenize::Tok,
    start: &Start,
    train_set: &[RmExample],
    eval_set: &[RmExample],
    cfg: &RmTrainConfig,
    out: Option<&std::path::Path>,
    on_point: impl FnMut(&RmPoint),
) -> Result<RmReport> {
    use super::model::RewardModelConfig;
    let device = crate::backend::cpu().autodiff();
    let fp = tok.fingerprint();
    let (model, mcfg) = match start {
        Start::Sft(path) => {
            let file = path.with_extension("safetensors");
            let bytes = crate::io::read_file(&file)?;
            super::model::from_sft(&file.display().to_string(), &bytes, cfg.level, &fp, &device)?
        }
        Start::Fresh(trunk) => {
            let c = RewardModelConfig {
                trunk: *trunk,
                level: cfg.level,
            };
            (c.init(&device), c)
        }
    };
    let pad = crate::model::prompt::Special::of(tok)?.pad;
    let cfg = &cfg.balanced(train_set);
    let t0 = web_time::Instant::now();
    let (model, points) = train(model, train_set, eval_set, cfg, pad, &device, on_point)?;
    let report = RmReport {
        config: *cfg,
        model: mcfg,
        train_examples: train_set.len(),
        eval_examples: eval_set.len(),
        seconds: t0.elapsed().as_secs_f64(),
        last: points.iter().rev().find_map(|p| p.eval.clone()),
        points,
    };
    if let Some(out) = out {
        let info = crate::model::checkpoint::CheckpointInfo {
            kind: cfg.level.kind().into(),
            config: mcfg,
            tokenizer: fp,
        };
        crate::model::checkpoint::save(&model, &info, out)?;
        crate::io::write_json(&out.with_extension("metrics.json"), &report)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::model::trunk::TrunkConfig;
    use crate::reward::model::RewardModelConfig;
    use burn::module::Module;
    use rand::SeedableRng;

    #[test]
    fn balanced_class_weights_by_hand() {
        // 1 relevant (class 2) and 3 irrelevant (class 1) responses: w_c = N / (2·N_c),
        // so w_1 = 4 / 6 = 2/3 and w_2 = 4 / 2 = 2; each class then weighs 2 in all.
        let ex = |sentence| RmExample {
            prompt: vec![1],
            response: vec![3, 2],
            classes: vec![sentence, 0],
            repeated: vec![false, false],
            sentence,
        };
        let train = [ex(2), ex(1), ex(1), ex(1)];
        let sentence = RmTrainConfig {
            level: Level::Sentence,
            ..RmTrainConfig::default()
        };
        let w = sentence.balanced(&train).class_weights;
        assert_eq!(w[0], 1.0);
        assert!(
            (w[1] - 2.0 / 3.0).abs() < 1e-6 && (w[2] - 2.0).abs() < 1e-6,
            "{w:?}"
        );
        // The token model balances with the probability mask instead.
        assert_eq!(
            RmTrainConfig::default().balanced(&train).class_weights,
            [1.0; 3]
        );
    }

    /// The trunk of the tests' reward models: token ids below 30, sequences up to 16.
    fn toy_trunk() -> TrunkConfig {
        TrunkConfig {
            vocab: 30,
            d_model: 32,
            n_layers: 1,
            n_heads: 2,
            d_ff: 64,
            max_len: 16,
        }
    }

    /// The batch's gradient in pieces is the gradient of its loss computed whole (the
    /// plain `batch_loss` + backward of before), at both levels: ragged responses, so
    /// the pieces' tails are shorter than the batch's, and more relevant than
    /// irrelevant tokens, so the probability mask drops some (drawn once, over the
    /// whole batch, from the same seed).
    #[test]
    fn a_batch_gradient_in_pieces_is_the_gradient_of_the_whole_batch() {
        let device = cpu().autodiff();
        let trunk = toy_trunk();
        let ex = |response: Vec<u32>, classes: Vec<u8>, sentence| RmExample {
            prompt: vec![1, 5, 7],
            repeated: vec![false; response.len()],
            response,
            classes,
            sentence,
        };
        let examples = [
            ex(vec![11, 12, 13, 14, 2], vec![2, 2, 2, 2, 0], 2),
            ex(vec![21, 2], vec![1, 0], 1),
            ex(
                vec![10, 11, 12, 13, 14, 12, 2],
                vec![2, 2, 2, 2, 2, 2, 0],
                2,
            ),
            ex(vec![13, 2], vec![2, 0], 2),
            ex(vec![12, 11, 2], vec![2, 2, 0], 2),
        ];
        let refs: Vec<&RmExample> = examples.iter().collect();
        let whole_batch = batch(&refs, 0);
        let mask = probability_mask(
            &whole_batch.labels,
            &whole_batch.response(),
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(9),
        );
        assert!(
            mask.iter().filter(|&&k| k).count()
                < whole_batch.response().iter().filter(|&&k| k).count(),
            "the mask must drop tokens here, or the test does not test it"
        );
        for level in [Level::Token, Level::Sentence] {
            let model = RewardModelConfig { trunk, level }.init(&device);
            let cfg = RmTrainConfig {
                level,
                w: 0.4,
                ..RmTrainConfig::default()
            };
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
            let loss = batch_loss(&model, &whole_batch, &cfg, Some(&mut rng), &device);
            let want_loss: f32 = loss.clone().into_scalar();
            let want = grads::flat(
                &model,
                &GradientsParams::from_grads(loss.backward(), &model),
            );
            let scale = want.iter().fold(0.0f32, |m, g| m.max(g.abs()));
            assert!(scale > 0.0);
            for shards in [1, 2, 3, 5] {
                let cfg = RmTrainConfig {
                    grad_shards: shards,
                    ..cfg
                };
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
                let (g, loss) = batch_grads(&model, &refs, &cfg, &mut rng, 0, &device);
                let got_loss: f32 = loss.into_scalar();
                assert!(
                    (got_loss - want_loss).abs() < 1e-5 * (1.0 + want_loss.abs()),
                    "{level:?}, {shards} pieces: loss {got_loss} vs {want_loss}"
                );
                let got = grads::flat(&model, &g);
                assert_eq!(got.len(), want.len());
                if shards == 1 {
                    // One piece is the step of before, bit for bit (recorded runs reproduce).
                    assert_eq!((got_loss, &got), (want_loss, &want), "{level:?}, 1 piece");
                }
                let worst = got
                    .iter()
                    .zip(&want)
                    .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
                assert!(
                    worst <= 1e-4 * scale,
                    "{level:?}, {shards} pieces: gradients differ by {worst} (largest {scale})"
                );
            }
        }
    }

    /// Relevant tokens are ids 10..15, irrelevant 20..25, in any order; the sentence
    /// label says whether most are relevant. Both models must learn it.
    fn toy(n: usize, seed: u64) -> Vec<RmExample> {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let len = rng.random_range(2..6);
                let rel = rng.random::<bool>();
                let mut response = Vec::new();
                let mut classes = Vec::new();
                for _ in 0..len {
                    let good = if rel {
                        rng.random::<f32>() < 0.8
                    } else {
                        rng.random::<f32>() < 0.2
                    };
                    response.push(if good {
                        rng.random_range(10..15)
                    } else {
                        rng.random_range(20..25)
                    });
                    classes.push(if good { 2 } else { 1 });
                }
                response.push(2);
                classes.push(0);
                let twos = classes.iter().filter(|&&c| c == 2).count();
                RmExample {
                    prompt: vec![1, 5],
                    repeated: vec![false; response.len()],
                    response,
                    classes,
                    sentence: if 2 * twos >= len { 2 } else { 1 },
                }
            })
            .collect()
    }

    #[test]
    fn both_levels_learn_the_toy_task() {
        let device = cpu().autodiff();
        let trunk = toy_trunk();
        let (train_set, eval_set) = (toy(256, 1), toy(64, 2));
        for level in [Level::Token, Level::Sentence] {
            let cfg = RmTrainConfig {
                level,
                epochs: 15,
                batch_size: 32,
                lr: 3e-3,
                eval_every: 1000,
                ..Default::default()
            };
            let model = RewardModelConfig { trunk, level }.init(&device);
            let before = evaluate(&model.valid(), &eval_set, &cfg, 0, &cpu());
            let (_, points) =
                train(model, &train_set, &eval_set, &cfg, 0, &device, |_| {}).unwrap();
            let after = points.last().and_then(|p| p.eval.clone()).unwrap();
            assert!(
                after.loss < before.loss,
                "{level:?}: {} → {}",
                before.loss,
                after.loss
            );
            assert!(after.sentence_auc.unwrap() > 0.9, "{level:?}: {after:?}");
            if level == Level::Token {
                assert!(after.token_auc.unwrap() > 0.95, "{after:?}");
            }
        }
    }
}
