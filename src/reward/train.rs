//! Training and evaluating the reward models (paper §3.3; Fig. 6, 10, 11).

use super::data::{RmBatch, RmExample, batch};
use super::loss::{global_loss, local_loss, probability_mask, total_loss};
use super::metrics::{accuracy, auc};
use super::model::{Level, RewardModel};
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
        }
    }
}

fn tensors(b: &RmBatch, labels: &[u8], n: usize, device: &Device) -> Tensor<2, Int> {
    let rows = b.seqs.batch;
    Tensor::from_data(
        TensorData::new(
            labels.iter().map(|&c| i64::from(c)).collect::<Vec<_>>(),
            [rows, n],
        ),
        device,
    )
}

/// The loss of one batch. Token level: eq. 3 over the valid set (response tokens,
/// and in training the probability mask). Sentence level: cross-entropy of the
/// sentence label at the last response token.
pub fn batch_loss(
    model: &RewardModel,
    b: &RmBatch,
    cfg: &RmTrainConfig,
    rng: Option<&mut rand_chacha::ChaCha8Rng>,
    device: &Device,
) -> Tensor<1> {
    let rows = b.seqs.batch;
    match cfg.level {
        Level::Token => {
            let keep = match rng {
                Some(rng) => probability_mask(&b.labels, &b.response, rng),
                None => b.response.clone(),
            };
            let valid: Vec<f32> = keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
            let valid = Tensor::<2>::from_data(TensorData::new(valid, [rows, b.n]), device);
            let logits = model.logits_tail(&b.seqs, b.n, device);
            let labels = tensors(b, &b.labels, b.n, device);
            let sentence = Tensor::<1>::from_floats(b.sentence.as_slice(), device);
            total_loss(
                local_loss(logits.clone(), labels, valid.clone(), cfg.class_weights),
                global_loss(logits, valid, sentence),
                cfg.w,
                1.0 - cfg.w,
            )
        }
        Level::Sentence => {
            let logits = model.logits_tail(&b.seqs, 1, device);
            let labels: Vec<u8> = b.sentence.iter().map(|&s| s as u8).collect();
            let labels = tensors(b, &labels, 1, device);
            local_loss(
                logits,
                labels,
                Tensor::ones([rows, 1], device),
                [1.0, 1.0, 1.0],
            )
        }
    }
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
}

/// Metrics over `examples`, without gradients (native: blocks on [`evaluate_async`]).
#[cfg(not(target_arch = "wasm32"))]
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
    let (mut loss_sum, mut batches) = (0.0f64, 0usize);
    for chunk in examples.chunks(cfg.batch_size.max(1)) {
        let refs: Vec<&RmExample> = chunk.iter().collect();
        let b = batch(&refs, pad);
        let loss = crate::backend::read_scalar(batch_loss(model, &b, cfg, None, device)).await;
        loss_sum += f64::from(loss);
        batches += 1;
        let p = crate::backend::read(softmax(model.logits_tail(&b.seqs, b.n, device), 2))
            .await
            .unwrap_or_default();
        for (row, e) in refs.iter().enumerate() {
            let start = b.n - e.response.len();
            let mut sum = 0.0f32;
            for k in 0..e.response.len() {
                let i = (row * b.n + start + k) * 3;
                let (p0, p1, p2) = (p[i], p[i + 1], p[i + 2]);
                let class = e.classes[k];
                if class != 0 {
                    tok_scores.push(p2 - p1);
                    tok_pos.push(class == 2);
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
            let last = (row * b.n + b.n - 1) * 3;
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
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RmPoint {
    pub step: usize,
    pub train_loss: f32,
    pub seconds: f64,
    pub eval: Option<RmEval>,
}

/// Train with Adam (gradient-norm clipping 1.0); evaluates every `eval_every` steps and at the end.
#[cfg(not(target_arch = "wasm32"))]
pub fn train(
    mut model: RewardModel,
    train: &[RmExample],
    eval: &[RmExample],
    cfg: &RmTrainConfig,
    pad: u32,
    device: &Device,
    mut on_point: impl FnMut(&RmPoint),
) -> (RewardModel, Vec<RmPoint>) {
    use burn::module::Module;
    use burn::optim::{AdamConfig, GradientsParams};
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut optim = AdamConfig::new()
        .with_grad_clipping(Some(
            burn::optim::grad_clipping::GradientClippingConfig::Norm(1.0),
        ))
        .init();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let plain = device.clone().inner();
    let mut points = Vec::new();
    let mut step = 0;
    let total = cfg.epochs * train.len().div_ceil(cfg.batch_size.max(1));
    for _ in 0..cfg.epochs {
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut rng);
        for chunk in order.chunks(cfg.batch_size.max(1)) {
            let t0 = std::time::Instant::now();
            let refs: Vec<&RmExample> = chunk.iter().map(|&i| &train[i]).collect();
            let b = batch(&refs, pad);
            let loss = batch_loss(&model, &b, cfg, Some(&mut rng), device);
            let value = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(cfg.lr, model, grads);
            step += 1;
            let eval = (step % cfg.eval_every.max(1) == 0 || step == total)
                .then(|| evaluate(&model.valid(), eval, cfg, pad, &plain));
            let p = RmPoint {
                step,
                train_loss: value,
                seconds: t0.elapsed().as_secs_f64(),
                eval,
            };
            on_point(&p);
            points.push(p);
        }
    }
    (model, points)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::model::trunk::TrunkConfig;
    use crate::reward::model::RewardModelConfig;
    use burn::module::Module;
    use rand::SeedableRng;

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
        let trunk = TrunkConfig {
            vocab: 30,
            d_model: 32,
            n_layers: 1,
            n_heads: 2,
            d_ff: 64,
            max_len: 16,
        };
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
            let (_, points) = train(model, &train_set, &eval_set, &cfg, 0, &device, |_| {});
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
