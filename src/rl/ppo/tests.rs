//! The trainer's tests: it learns, it stays near π_ref under a large β, it is
//! deterministic, it survives a non-finite loss, the critic warms up alone, and a
//! gradient in pieces is the whole minibatch's.

use super::*;
use crate::backend::{block_on, cpu};
use crate::model::batch::Padded;
use crate::model::policy::PolicyConfig;
use crate::model::trunk::TrunkConfig;
use crate::optim::grads;
use crate::reward::model::{Level, RewardModelConfig};
use crate::rl::minibatch::piece_grads;

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
    let level = if cfg.reward.uses_token_rm() {
        Level::Token
    } else {
        Level::Sentence
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
            .map(|_| serde_json::to_string(&block_on(ppo.iteration(&prompts)).unwrap().0).unwrap())
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
    let w = block_on(ppo.warm_up_value(&prompts, None)).unwrap();
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
    let grads =
        |piece: &[usize]| piece_grads(p0.valid().train(), &ro, piece, total, &c, PAD, &device).0;
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

/// One rollout of each reward source from the same policy, reward model and seed
/// (so the same samples and margins).
fn rollouts_of(modes: &[RewardMode], judge: Option<&Judge<'_>>) -> Vec<Result<Rollout>> {
    let device = cpu().autodiff();
    let plain = cpu();
    let p0 = tiny().init(&device);
    let rm = RewardModelConfig {
        trunk: tiny_trunk(),
        level: Level::Token,
    }
    .init(&plain);
    let prompts: Vec<Vec<u32>> = (0..6).map(|i| (1..4 + i).collect()).collect();
    modes
        .iter()
        .map(|&reward| {
            let c = cfg(reward, 0.05);
            let ppo = Ppo::new(
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
            block_on(ppo.rollout_judged(&prompts, judge))
        })
        .collect()
}

#[test]
fn the_controls_are_reward_sources_of_the_one_trainer() {
    use RewardMode::*;
    let judge = |ro: &Rollout| -> Result<Vec<f32>> {
        Ok((0..ro.responses.len())
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect())
    };
    let got = rollouts_of(
        &[Token, TokenShuffled, SentenceSpread, Judge, Sentence],
        Some(&judge),
    );
    let ro: Vec<&Rollout> = got.iter().map(|r| r.as_ref().unwrap()).collect();
    let (token, shuffled, spread, judged, sentence) = (ro[0], ro[1], ro[2], ro[3], ro[4]);
    // The same samples: the reward source changes only the rewards.
    assert_eq!(token.responses, judged.responses);
    let score_part = |ro: &Rollout, i: usize| -> Vec<f32> {
        // r_t minus the KL term, the missing-EOS penalty put back on the last token.
        let mut s: Vec<f32> = ro.rewards[i]
            .iter()
            .zip(&ro.kl[i])
            .map(|(r, k)| r + 0.05 * k)
            .collect();
        if ro.responses[i].last() != Some(&EOS) {
            *s.last_mut().unwrap() += 1.0;
        }
        s
    };
    for i in 0..token.responses.len() {
        let (t, sh) = (score_part(token, i), score_part(shuffled, i));
        let (mut a, mut b) = (t.clone(), sh.clone());
        a.sort_by(f32::total_cmp);
        b.sort_by(f32::total_cmp);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "response {i}: {t:?} vs {sh:?}");
        }
        // Spread: the sentence score (the last token's margin) over every token.
        let n = spread.responses[i].len();
        let last = *spread.rm_margin[i].last().unwrap();
        for x in score_part(spread, i) {
            assert!((x - last / n as f32).abs() < 1e-5);
        }
        // Judge: its score on the last token, nothing before it, as PPO's sentence score.
        let j = score_part(judged, i);
        let want = if i % 2 == 0 { 1.0 } else { -1.0 };
        assert!((j[n - 1] - want).abs() < 1e-5, "{j:?}");
        assert!(j[..n - 1].iter().all(|x| x.abs() < 1e-5), "{j:?}");
        let s = score_part(sentence, i);
        assert!((s[n - 1] - last).abs() < 1e-5);
    }
    // And the shuffle moved some reward to another token.
    let moved = (0..token.responses.len()).any(|i| {
        let (t, sh) = (score_part(token, i), score_part(shuffled, i));
        t.iter().zip(&sh).any(|(x, y)| (x - y).abs() > 1e-4)
    });
    assert!(moved);
    // The judge's source without a judge is an error, not a silent zero.
    let err = rollouts_of(&[Judge], None).pop().unwrap().unwrap_err();
    assert!(err.to_string().contains("no judge"), "{err}");
}

#[test]
fn explain_gives_a_rollouts_rewards_values_and_unwhitened_advantages() {
    // A rollout of each mode, then each response explained alone (a fresh forward pass,
    // not the generation's): the same rewards and values, and advantages equal to GAE
    // of those (eq. gae.rs, before the batch's whitening).
    let device = cpu().autodiff();
    let plain = cpu();
    let p0 = tiny().init(&device);
    let rm = RewardModelConfig {
        trunk: tiny_trunk(),
        level: Level::Token,
    }
    .init(&plain);
    let prompts: Vec<Vec<u32>> = (0..4).map(|i| (1..4 + i).collect()).collect();
    for reward in [RewardMode::Sentence, RewardMode::Token] {
        let c = cfg(reward, 0.05);
        let ppo = Ppo::new(
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
        for (i, prompt) in prompts.iter().enumerate() {
            let e = block_on(ppo.explain(prompt, &ro.responses[i])).unwrap();
            let close = |a: &[f32], b: &[f32], what: &str| {
                assert_eq!(a.len(), b.len(), "{what}");
                for (x, y) in a.iter().zip(b) {
                    assert!(
                        (x - y).abs() < 1e-4,
                        "{reward:?} {i} {what}: {a:?} vs {b:?}"
                    );
                }
            };
            close(&e.rewards, &ro.rewards[i], "rewards");
            close(&e.values, &ro.values[i], "values");
            close(&e.rm_margin, &ro.rm_margin[i], "margins");
            let (adv, _) = gae(&ro.rewards[i], &ro.values[i], c.gamma, c.lam);
            close(&e.advantages, &adv, "advantages");
            assert!((e.score - ro.scores[i]).abs() < 1e-4);
        }
    }
    let ppo = Ppo::new(
        cfg(RewardMode::Token, 0.05),
        p0.clone(),
        p0.valid(),
        rm,
        EOS,
        PAD,
        device,
        None,
    )
    .unwrap();
    assert!(block_on(ppo.explain(&[1, 2, 3], &[])).is_err());
}
