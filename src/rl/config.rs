//! PPO / TPPO settings in one place, with the defaults of TRL's PPO trainer
//! (DESIGN §1) where it has one, and the paper's reward shaping (§3.4).

use crate::reward::lwp::LwpConfig;
use serde::{Deserialize, Serialize};

/// Where the reward comes from: the two modes share every other line of code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum RewardMode {
    /// PPO baseline: the sentence reward model's score P(2) − P(1) at the last response token.
    Sentence,
    /// TPPO: r_t = lwp(l) · (P(2) − P(1)) from the token reward model on every response token.
    Token,
    /// Positive control: sentence PPO rewarded by the judge itself (+1 for a response
    /// it calls relevant, −1 otherwise) at the last token; no reward model is learned.
    Judge,
    /// Negative control: TPPO's token rewards shuffled within each response (the same
    /// rewards, the credit on the wrong tokens).
    TokenShuffled,
    /// Negative control: the sentence reward model's score spread evenly over the
    /// response's tokens (dense, but with no token-level information).
    SentenceSpread,
}

impl RewardMode {
    /// The source's name, as the command line and settings files spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sentence => "sentence",
            Self::Token => "token",
            Self::Judge => "judge",
            Self::TokenShuffled => "token-shuffled",
            Self::SentenceSpread => "sentence-spread",
        }
    }

    /// The reward model this source reads: the token RM for `token` and
    /// `token-shuffled`, the sentence RM otherwise (for `judge` only to show its
    /// margins beside the judge's score).
    pub fn uses_token_rm(self) -> bool {
        matches!(self, Self::Token | Self::TokenShuffled)
    }
}

/// How token-mode rewards are placed on the tokens of a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Placement {
    /// The paper's default: every token keeps its own reward (the tokens of a word all
    /// carry the word's class, so they all carry its reward).
    WordSpread,
    /// Fine-Grained RLHF style: a word's reward (the mean of its tokens' rewards) on its
    /// last token, 0 on its other tokens; tokens outside words keep their own.
    SpanEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PpoConfig {
    pub reward: RewardMode,
    pub placement: Placement,
    /// Eq. 4–5 for token rewards (α, sl).
    pub lwp: LwpConfig,
    /// β of the per-token KL term −β·(log π_old − log π_ref) (TRL `kl_coef` 0.05).
    pub kl_coef: f32,
    /// ε of the clipped surrogate, eq. 6–7 (TRL `cliprange` 0.2).
    pub cliprange: f32,
    /// Clip of the value prediction around the rollout value (TRL `cliprange_value` 0.2).
    pub cliprange_value: f32,
    /// Weight of the value loss (TRL `vf_coef` 0.1).
    pub vf_coef: f32,
    /// GAE discount γ (TRL 1.0) and λ (TRL 0.95).
    pub gamma: f32,
    pub lam: f32,
    /// Passes over each rollout batch (TRL `num_ppo_epochs` 4).
    pub ppo_epochs: usize,
    /// Rollouts (prompts) per iteration.
    pub batch_size: usize,
    /// Minibatches per PPO epoch (TRL's default is 1; 2 gives two updates per epoch).
    pub minibatches: usize,
    /// Adam learning rate; gradients clipped to global norm `max_grad_norm` (TRL 1.0,
    /// `clip_grad_norm_`; see rl::grads).
    pub lr: f64,
    pub max_grad_norm: f32,
    /// Sampling temperature of rollouts; log-probs are of the same tempered
    /// distribution, as in TRL (0.7).
    pub temperature: f32,
    /// Longest response in tokens (EOS included).
    pub max_new: usize,
    pub iters: usize,
    pub seed: u64,
    /// Pieces each minibatch's gradient is computed in, side by side on native CPU
    /// threads (one after another elsewhere), summed before the step: the same
    /// gradient up to float rounding, about 1.5× faster on 2 cores (docs/perf.md).
    #[serde(default = "default_grad_shards")]
    pub grad_shards: usize,
    /// Adaptive KL control (Ziegler et al. 2019, TRL's `AdaptiveKLController`): the
    /// per-response KL the controller steers β towards, starting from `kl_coef`;
    /// `None` keeps β fixed.
    #[serde(default)]
    pub kl_target: Option<f32>,
    /// The controller's horizon in samples. TRL's default is 10,000; a run here sees
    /// 40 × 32 = 1,280 samples in all, so 100: β can then move by up to 6.4 % an
    /// iteration (batch 32), up to about 12× over a run.
    #[serde(default = "default_kl_horizon")]
    pub kl_horizon: f32,
    /// TRL's `missing_eos_penalty`: a response cut at `max_new` without EOS loses this
    /// much at its last token (and from its score).
    #[serde(default)]
    pub missing_eos_penalty: Option<f32>,
    /// Critic warm-up: rollout iterations of the SFT policy before PPO that train only
    /// the value head (unclipped value loss), at `value_warmup_lr`.
    #[serde(default)]
    pub value_warmup: usize,
    #[serde(default = "default_value_warmup_lr")]
    pub value_warmup_lr: f64,
}

/// The per-response KL (nats) the adaptive controller steers β towards by default.
pub const DEFAULT_KL_TARGET: f32 = 4.0;

fn default_kl_horizon() -> f32 {
    100.0
}

fn default_value_warmup_lr() -> f64 {
    1e-3
}

/// TRL's `AdaptiveKLController`: β ← β·(1 + clip(KL/target − 1, −0.2, 0.2)·n/horizon)
/// after each batch of n samples whose mean per-response KL is `kl`.
pub fn adapt_kl_coef(beta: f32, kl: f32, target: f32, n: usize, horizon: f32) -> f32 {
    let error = (kl / target - 1.0).clamp(-0.2, 0.2);
    beta * (1.0 + error * n as f32 / horizon)
}

impl PpoConfig {
    /// The page's run: 4 rollouts of at most 24 tokens per iteration, so that an
    /// iteration of each mode takes about a third of a second on 2 CPU cores
    /// (docs/perf.md); everything else as [`Default`].
    pub fn page() -> Self {
        Self {
            batch_size: 4,
            max_new: 24,
            ..Self::default()
        }
    }

    /// Every setting in its domain, or an error naming the first that is not (the
    /// command line checks its options as it parses them; this guards every other
    /// caller, the page among them).
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |name: &str, want: &str, v: String| {
            Err(crate::Error::Invalid(format!(
                "PPO setting {name}: expected {want}, found {v}"
            )))
        };
        let finite_pos = |x: f64| x.is_finite() && x > 0.0;
        let finite_nonneg = |x: f64| x.is_finite() && x >= 0.0;
        for (name, v) in [
            ("iters", self.iters),
            ("batch_size", self.batch_size),
            ("max_new", self.max_new),
            ("ppo_epochs", self.ppo_epochs),
            ("minibatches", self.minibatches),
            ("grad_shards", self.grad_shards),
        ] {
            if v == 0 {
                return bad(name, "at least 1", v.to_string());
            }
        }
        for (name, v) in [
            ("lr", self.lr),
            ("temperature", f64::from(self.temperature)),
            ("max_grad_norm", f64::from(self.max_grad_norm)),
        ] {
            if !finite_pos(v) {
                return bad(name, "a finite number > 0", v.to_string());
            }
        }
        for (name, v) in [
            ("kl_coef", self.kl_coef),
            ("cliprange", self.cliprange),
            ("cliprange_value", self.cliprange_value),
            ("vf_coef", self.vf_coef),
            ("lwp.alpha", self.lwp.alpha),
            ("lwp.sl", self.lwp.sl),
        ] {
            if !finite_nonneg(f64::from(v)) {
                return bad(name, "a finite number ≥ 0", v.to_string());
            }
        }
        if let Some(t) = self.kl_target
            && !(t.is_finite() && t > 0.0)
        {
            return bad("kl_target", "a finite number > 0", t.to_string());
        }
        if !(self.kl_horizon.is_finite() && self.kl_horizon > 0.0) {
            return bad(
                "kl_horizon",
                "a finite number > 0",
                self.kl_horizon.to_string(),
            );
        }
        if let Some(p) = self.missing_eos_penalty
            && !(p.is_finite() && p >= 0.0)
        {
            return bad("missing_eos_penalty", "a finite number ≥ 0", p.to_string());
        }
        if !(self.value_warmup_lr.is_finite() && self.value_warmup_lr > 0.0) {
            return bad(
                "value_warmup_lr",
                "a finite number > 0",
                self.value_warmup_lr.to_string(),
            );
        }
        for (name, v) in [("gamma", self.gamma), ("lam", self.lam)] {
            if !(0.0..=1.0).contains(&v) {
                return bad(name, "a number in [0, 1]", v.to_string());
            }
        }
        Ok(())
    }
}

fn default_grad_shards() -> usize {
    2
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            reward: RewardMode::Token,
            placement: Placement::WordSpread,
            lwp: LwpConfig::default(),
            kl_coef: 0.05,
            cliprange: 0.2,
            cliprange_value: 0.2,
            vf_coef: 0.1,
            gamma: 1.0,
            lam: 0.95,
            ppo_epochs: 4,
            batch_size: 32,
            minibatches: 2,
            lr: 3e-5,
            max_grad_norm: 1.0,
            temperature: 0.7,
            max_new: 32,
            iters: 40,
            seed: 1,
            grad_shards: default_grad_shards(),
            kl_target: Some(DEFAULT_KL_TARGET),
            kl_horizon: default_kl_horizon(),
            missing_eos_penalty: Some(1.0),
            value_warmup: 4,
            value_warmup_lr: default_value_warmup_lr(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PpoConfig, adapt_kl_coef};

    #[test]
    fn a_sources_name_is_its_serde_name() {
        use super::RewardMode::*;
        for m in [Sentence, Token, Judge, TokenShuffled, SentenceSpread] {
            assert_eq!(serde_json::to_value(m).unwrap(), m.name());
        }
    }

    #[test]
    fn the_kl_controller_by_hand() {
        // KL at twice the target: the error clips to +0.2; 32 samples of a 10,000 horizon.
        let b = adapt_kl_coef(0.05, 8.0, 4.0, 32, 10_000.0);
        assert!((b - 0.05 * (1.0 + 0.2 * 32.0 / 10_000.0)).abs() < 1e-9);
        // KL at 3 against 4: error −0.25 clips to −0.2; at 3.6: −0.1.
        let b = adapt_kl_coef(0.05, 3.6, 4.0, 1000, 10_000.0);
        assert!((b - 0.05 * (1.0 - 0.1 * 0.1)).abs() < 1e-9);
        assert_eq!(adapt_kl_coef(0.05, 4.0, 4.0, 32, 10_000.0), 0.05);
    }

    #[test]
    fn validate_names_the_setting_out_of_its_domain() {
        assert!(PpoConfig::default().validate().is_ok());
        let cases: [(&str, PpoConfig); 5] = [
            (
                "iters",
                PpoConfig {
                    iters: 0,
                    ..Default::default()
                },
            ),
            (
                "batch_size",
                PpoConfig {
                    batch_size: 0,
                    ..Default::default()
                },
            ),
            (
                "lr",
                PpoConfig {
                    lr: f64::NAN,
                    ..Default::default()
                },
            ),
            (
                "kl_coef",
                PpoConfig {
                    kl_coef: -1.0,
                    ..Default::default()
                },
            ),
            (
                "temperature",
                PpoConfig {
                    temperature: 0.0,
                    ..Default::default()
                },
            ),
        ];
        for (name, c) in cases {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(name), "{name}: {e}");
        }
    }
}
