//! Lemma 3.1 made visible: for a one-step problem with actions a and advantages
//! A(a), the KL-regularised objective
//!
//! ```text
//! max_π  E_{a∼π}[A(a)] − β·KL(π ‖ π_ref)
//! ```
//! is maximised by π*(a) = π_ref(a)·exp(A(a)/β) / Z. We train a softmax policy from
//! π_ref with the same pieces PPO uses here — per-token reward assembly
//! (r = A − β·(log π_old − log π_ref)), whitened advantages, the clipped surrogate and
//! Adam — on sampled actions, and record KL(π ‖ π*) after every iteration.

use super::loss::policy_loss;
use super::rewards::{Score, assemble};
use crate::backend::cpu;
use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LemmaConfig {
    pub ref_logits: Vec<f32>,
    pub advantages: Vec<f32>,
    pub beta: f32,
    pub iters: usize,
    /// Sampled actions per iteration.
    pub samples: usize,
    pub ppo_epochs: usize,
    pub cliprange: f32,
    pub lr: f64,
    pub seed: u64,
}

impl Default for LemmaConfig {
    fn default() -> Self {
        Self {
            ref_logits: vec![1.0, 0.5, 0.0, 0.0, -0.5, -1.0],
            advantages: vec![0.0, 1.0, 0.5, 2.0, -1.0, 0.3],
            beta: 0.5,
            iters: 150,
            samples: 256,
            ppo_epochs: 4,
            cliprange: 0.2,
            lr: 0.05,
            seed: 7,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LemmaReport {
    /// The toy's advantages A(a).
    pub advantages: Vec<f32>,
    pub pi_ref: Vec<f32>,
    /// π* in closed form.
    pub pi_star: Vec<f32>,
    /// The trained policy at the end.
    pub pi: Vec<f32>,
    /// KL(π ‖ π*) before training (π = π_ref) and after each iteration.
    pub kl_to_star: Vec<f32>,
    /// The objective E_π[A] − β·KL(π‖π_ref) of π* and of the trained π.
    pub objective_star: f32,
    pub objective: f32,
}

#[derive(Module, Debug)]
struct Logits {
    w: Param<Tensor<1>>,
}

fn softmax(x: &[f32]) -> Vec<f32> {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = x.iter().map(|v| f64::from(v - m).exp()).collect();
    let z: f64 = e.iter().sum();
    e.iter().map(|v| (v / z) as f32).collect()
}

/// KL(p ‖ q) in nats.
pub fn kl(p: &[f32], q: &[f32]) -> f32 {
    p.iter()
        .zip(q)
        .filter(|(a, _)| **a > 0.0)
        .map(|(a, b)| f64::from(*a) * (f64::from(*a) / f64::from(*b)).ln())
        .sum::<f64>() as f32
}

/// π* ∝ π_ref · exp(A/β).
pub fn optimal(ref_logits: &[f32], advantages: &[f32], beta: f32) -> Vec<f32> {
    let z: Vec<f32> = ref_logits
        .iter()
        .zip(advantages)
        .map(|(l, a)| l + a / beta)
        .collect();
    softmax(&z)
}

fn objective(pi: &[f32], pi_ref: &[f32], adv: &[f32], beta: f32) -> f32 {
    pi.iter().zip(adv).map(|(p, a)| p * a).sum::<f32>() - beta * kl(pi, pi_ref)
}

pub fn run(cfg: &LemmaConfig) -> LemmaReport {
    let device = cpu().autodiff();
    let k = cfg.ref_logits.len();
    let pi_ref = softmax(&cfg.ref_logits);
    let pi_star = optimal(&cfg.ref_logits, &cfg.advantages, cfg.beta);
    let ref_lp: Vec<f32> = pi_ref.iter().map(|p| p.ln()).collect();
    let mut model = Logits {
        w: Param::from_tensor(Tensor::from_data(
            TensorData::new(cfg.ref_logits.clone(), [k]),
            &device,
        )),
    };
    let mut optim = AdamConfig::new().init();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let probs = |m: &Logits| -> Vec<f32> {
        softmax(
            &m.w.val()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap_or_default(),
        )
    };
    let mut kl_to_star = vec![kl(&pi_ref, &pi_star)];
    let n = cfg.samples.max(2);
    for _ in 0..cfg.iters {
        // Rollout from π_old.
        let pi_old = probs(&model);
        let actions: Vec<usize> = (0..n)
            .map(|_| {
                let mut r = rng.random::<f32>();
                pi_old
                    .iter()
                    .position(|p| {
                        r -= p;
                        r <= 0.0
                    })
                    .unwrap_or(k - 1)
            })
            .collect();
        let old_lp: Vec<f32> = actions.iter().map(|&a| pi_old[a].ln()).collect();
        // r = A(a) − β·kl (one token: the score lands on it), advantage = r − mean, whitened.
        let mut rewards: Vec<f32> = actions
            .iter()
            .zip(&old_lp)
            .map(|(&a, lp)| {
                assemble(
                    &[*lp],
                    &[ref_lp[a]],
                    cfg.beta,
                    Score::Sentence(cfg.advantages[a]),
                )
                .rewards[0]
            })
            .collect();
        let mean = rewards.iter().sum::<f32>() / n as f32;
        rewards.iter_mut().for_each(|r| *r -= mean);
        let mut rows = vec![rewards];
        super::gae::whiten(&mut rows);
        let adv = Tensor::<2>::from_data(TensorData::new(rows.concat(), [1, n]), &device);
        let old = Tensor::<2>::from_data(TensorData::new(old_lp, [1, n]), &device);
        let idx = Tensor::<1, Int>::from_data(
            TensorData::new(actions.iter().map(|&a| a as i64).collect::<Vec<_>>(), [n]),
            &device,
        );
        let mask = Tensor::<2>::ones([1, n], &device);
        for _ in 0..cfg.ppo_epochs {
            let logp = log_softmax(model.w.val().reshape([1, k]), 1);
            let new = logp.reshape([k]).select(0, idx.clone()).reshape([1, n]);
            let loss = policy_loss(new, old.clone(), adv.clone(), mask.clone(), cfg.cliprange).loss;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(cfg.lr, model, grads);
        }
        kl_to_star.push(kl(&probs(&model), &pi_star));
    }
    let pi = probs(&model);
    LemmaReport {
        objective_star: objective(&pi_star, &pi_ref, &cfg.advantages, cfg.beta),
        objective: objective(&pi, &pi_ref, &cfg.advantages, cfg.beta),
        advantages: cfg.advantages.clone(),
        pi_ref,
        pi_star,
        pi,
        kl_to_star,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_is_the_maximiser() {
        let cfg = LemmaConfig::default();
        let pi_ref = softmax(&cfg.ref_logits);
        let star = optimal(&cfg.ref_logits, &cfg.advantages, cfg.beta);
        let best = objective(&star, &pi_ref, &cfg.advantages, cfg.beta);
        // Any perturbation of π* scores lower; the optimum's value is β·log Z.
        let z: f64 = pi_ref
            .iter()
            .zip(&cfg.advantages)
            .map(|(p, a)| f64::from(*p) * f64::from(a / cfg.beta).exp())
            .sum();
        assert!((f64::from(best) - f64::from(cfg.beta) * z.ln()).abs() < 1e-4);
        for i in 0..star.len() {
            let mut p = star.clone();
            let j = (i + 1) % p.len();
            let d = 0.02f32.min(p[j]);
            p[i] += d;
            p[j] -= d;
            assert!(objective(&p, &pi_ref, &cfg.advantages, cfg.beta) < best);
        }
    }

    #[test]
    fn ppo_converges_to_the_optimal_policy() {
        let report = run(&LemmaConfig::default());
        let first = report.kl_to_star[0];
        let last = *report.kl_to_star.last().unwrap();
        assert!(first > 0.3, "{first}");
        assert!(last < 0.02 * first, "KL(π‖π*) {first} → {last}");
        assert!((report.objective - report.objective_star).abs() < 0.02);
    }
}
