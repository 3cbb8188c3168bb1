//! Parity of the two ways the model computes: the CPU fast path (`tppo::cpu`: fused
//! ops with their own backward) and burn's generic ops (what WebGPU and native wgpu
//! run), on the same weights and batch, on the CPU backend. Compared: the policy's
//! logits and values, both reward models' margins, every gradient of a PPO
//! minibatch, and the weights after one full PPO iteration (rollout and update);
//! and fully masked attention rows, which must give 0 on both paths.
//!
//! Tolerances: values and gradients to 2e-4 of their scale (f32 sums in another
//! order); the weights after an update to 1e-2 of the update's own size (Adam
//! divides each gradient by its running size, which magnifies the tiny
//! differences of near-zero gradients, and clips by the global norm).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Distribution, Tensor, TensorData};
use tppo::backend::{block_on, cpu};
use tppo::cpu::with_fast_path;
use tppo::model::batch::Padded;
use tppo::model::policy::PolicyConfig;
use tppo::model::trunk::TrunkConfig;
use tppo::reward::model::{Level, RewardModel, RewardModelConfig};
use tppo::rl::{Ppo, PpoConfig, RewardMode};

const PAD: u32 = 0;
const EOS: u32 = 2;

fn trunk() -> TrunkConfig {
    TrunkConfig {
        vocab: 96,
        d_model: 64,
        n_layers: 2,
        n_heads: 4,
        d_ff: 128,
        max_len: 96,
    }
}

/// Left-padded prompts of different lengths (some rows get several padding slots).
fn prompts() -> Vec<Vec<u32>> {
    (0..6)
        .map(|i| {
            (0..5 + 7 * i)
                .map(|j| 3 + ((i * 31 + j * 17) % 90) as u32)
                .collect()
        })
        .collect()
}

fn values<const D: usize>(x: Tensor<D>) -> Vec<f32> {
    x.into_data().try_to_vec::<f32>().unwrap()
}

/// The largest difference, relative to the largest magnitude of `a`.
fn rel_diff(a: &[f32], b: &[f32]) -> (f32, f32) {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    (worst / scale.max(1e-12), scale)
}

fn both<R>(f: impl Fn() -> R) -> (R, R) {
    (with_fast_path(true, &f), with_fast_path(false, &f))
}

/// Every parameter's values (or gradient) in the module's order.
fn flat<M: Module>(module: &M, grads: Option<&GradientsParams>) -> Vec<(String, Vec<f32>)> {
    struct Flat<'a>(Option<&'a GradientsParams>, Vec<(String, Vec<f32>)>);
    impl ModuleVisitor for Flat<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = match self.0 {
                Some(g) => g
                    .get::<D>(param.id)
                    .expect("a gradient for every parameter")
                    .inner(),
                None => param.val(),
            };
            let name = format!("{} {:?}", self.1.len(), t.dims());
            self.1.push((name, values(t)));
        }
    }
    let mut f = Flat(grads, Vec::new());
    module.visit(&mut f);
    f.1
}

#[test]
fn policy_logits_and_values_agree() {
    let policy = PolicyConfig::of(trunk()).init(&cpu());
    let batch = Padded::left(&prompts(), PAD);
    let (fast, generic) = both(|| {
        let out = policy.forward_full(&batch, &cpu());
        (values(out.logits), values(out.values))
    });
    let (logits, _) = rel_diff(&fast.0, &generic.0);
    let (vals, _) = rel_diff(&fast.1, &generic.1);
    assert!(
        logits < 2e-4 && vals < 2e-4,
        "logits {logits}, values {vals}"
    );
}

#[test]
fn reward_model_margins_agree_for_both_levels() {
    for level in [Level::Token, Level::Sentence] {
        let rm: RewardModel = RewardModelConfig {
            trunk: trunk(),
            level,
        }
        .init(&cpu());
        let p = prompts();
        let prompts: Vec<&[u32]> = p.iter().map(Vec::as_slice).collect();
        let responses: Vec<Vec<u32>> = (0..6)
            .map(|i| (0..3 + i).map(|j| 10 + j as u32).chain([EOS]).collect())
            .collect();
        let responses: Vec<&[u32]> = responses.iter().map(Vec::as_slice).collect();
        let (fast, generic) =
            both(|| block_on(rm.margins(&prompts, &responses, PAD, &cpu())).unwrap());
        let (a, b): (Vec<f32>, Vec<f32>) = (fast.concat(), generic.concat());
        let (d, _) = rel_diff(&a, &b);
        assert!(d < 2e-4, "{level:?}: margins differ by {d}");
    }
}

/// A random policy and reward model as checkpoint bytes, so that each path loads
/// its own copy of the same weights.
fn start(reward: RewardMode) -> (Vec<u8>, Vec<u8>) {
    use tppo::model::checkpoint::{CheckpointInfo, to_bytes};
    let policy = PolicyConfig::of(trunk()).init(&cpu());
    let level = if reward.uses_token_rm() {
        Level::Token
    } else {
        Level::Sentence
    };
    let cfg = RewardModelConfig {
        trunk: trunk(),
        level,
    };
    let rm: RewardModel = cfg.init(&cpu());
    fn info<C>(kind: &str, config: C) -> CheckpointInfo<C> {
        CheckpointInfo {
            kind: kind.into(),
            config,
            tokenizer: "t".to_string(),
        }
    }
    let p = to_bytes(&policy, &info("policy", PolicyConfig::of(trunk()))).unwrap();
    let r = to_bytes(&rm, &info(level.kind(), cfg)).unwrap();
    (p, r)
}

fn ppo(reward: RewardMode, (policy, rm): &(Vec<u8>, Vec<u8>)) -> Ppo {
    use tppo::model::checkpoint::{load_into, policy_from_bytes};
    let ad = cpu().autodiff();
    let (reference, cfg) = policy_from_bytes("p", policy, "t", &cpu()).unwrap();
    let trained = load_into("p", policy, cfg.init(&ad)).unwrap();
    let rm = tppo::reward::model::from_bytes("rm", rm, "t", &cpu()).unwrap();
    let cfg = PpoConfig {
        reward,
        batch_size: 6,
        max_new: 12,
        lr: 1e-3,
        seed: 3,
        ..PpoConfig::default()
    };
    Ppo::new(cfg, trained, reference, rm, EOS, PAD, ad, None).unwrap()
}

#[test]
fn every_gradient_of_a_ppo_minibatch_agrees() {
    for reward in [RewardMode::Token, RewardMode::Sentence] {
        let trainer = ppo(reward, &start(reward));
        let mut ro = block_on(trainer.rollout(&prompts())).unwrap();
        // Advantages far from 0, so that the policy term's gradient is large.
        ro.advantages.iter_mut().flatten().for_each(|a| *a += 0.5);
        let idx: Vec<usize> = (0..ro.responses.len()).collect();
        let (fast, generic) = both(|| {
            let g = trainer.minibatch_grads(&ro, &idx);
            flat(&trainer.policy().fork(&cpu().autodiff()), Some(&g))
        });
        assert_eq!(fast.len(), generic.len());
        for ((name, a), (_, b)) in fast.iter().zip(&generic) {
            let (d, scale) = rel_diff(a, b);
            assert!(
                d < 2e-4 || scale < 1e-7,
                "{reward:?}: gradient of parameter {name} differs by {d} of its scale {scale}"
            );
        }
    }
}

#[test]
fn the_weights_after_one_ppo_iteration_agree() {
    let weights = start(RewardMode::Token);
    let before = flat(&ppo(RewardMode::Token, &weights).policy(), None);
    let (fast, generic) = both(|| {
        let mut trainer = ppo(RewardMode::Token, &weights);
        let (m, ro) = block_on(trainer.iteration(&prompts())).unwrap();
        (flat(&trainer.policy(), None), ro.responses, m)
    });
    assert_eq!(
        fast.1, generic.1,
        "the two paths sampled different rollouts"
    );
    assert_eq!(fast.2.skipped_updates, 0);
    for (((name, a), (_, b)), (_, w0)) in fast.0.iter().zip(&generic.0).zip(&before) {
        let step: Vec<f32> = a.iter().zip(w0).map(|(x, y)| x - y).collect();
        let moved = step.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(moved > 0.0, "parameter {name} did not move");
        assert!(
            worst <= 1e-2 * moved,
            "parameter {name}: the paths differ by {worst}, the update moved it by up to {moved}"
        );
    }
    let (pl_f, pl_g) = (fast.2.policy_loss, generic.2.policy_loss);
    assert!(
        (pl_f - pl_g).abs() < 1e-4 * (1.0 + pl_f.abs()),
        "{pl_f} vs {pl_g}"
    );
}

#[test]
fn fully_masked_attention_rows_give_zero_on_both_paths() {
    let (b, t, d, h) = (2, 5, 16, 4);
    let qkv = Tensor::<3>::random([b, t, 3 * d], Distribution::Normal(0.0, 1.0), &cpu());
    // Row 0 of sequence 0 may attend to no key; the rest is causal.
    let mut bias = vec![0.0f32; b * t * t];
    for s in 0..b {
        for i in 0..t {
            for j in 0..t {
                if j > i || (s == 0 && i == 0) {
                    bias[s * t * t + i * t + j] = -1e9;
                }
            }
        }
    }
    let bias = Tensor::<4>::from_data(TensorData::new(bias, [b, 1, t, t]), &cpu());
    let (fast, generic) = both(|| {
        values(tppo::model::ops::self_attention(
            qkv.clone(),
            bias.clone(),
            h,
        ))
    });
    assert!(
        fast[..d].iter().all(|&x| x == 0.0),
        "fast path: {:?}",
        &fast[..4]
    );
    assert!(
        generic[..d].iter().all(|&x| x == 0.0),
        "generic path: {:?}",
        &generic[..4]
    );
    let (diff, _) = rel_diff(&fast, &generic);
    assert!(diff < 2e-5, "{diff}");
}
