//! How a shell states a PPO run: a base [`PpoConfig`] (the defaults, or a settings
//! file that the pipeline writes for each job) and options that override single
//! settings of it. The defaults live only in [`PpoConfig::default`]; the command
//! line flattens [`PpoOptions`] into its `tppo ppo` (`#[command(flatten)]`), and
//! `tppo ppo --print-settings` shows the settings a command would run with.
//!
//! A settings file is the JSON of a [`PpoConfig`]; a field it leaves out keeps its
//! default, and a field `PpoConfig` does not have is refused with the file and the
//! field's name (a misspelt setting never passes silently).

use super::config::{Placement, PpoConfig, RewardMode};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Overrides of a [`PpoConfig`]: each `Some` replaces one setting of the base.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct PpoOptions {
    /// A settings file (the JSON of the library's PpoConfig, as `--print-settings`
    /// writes it): the base the other options override; without it, the defaults.
    #[cfg_attr(feature = "cli", arg(long))]
    pub settings: Option<PathBuf>,
    /// sentence: PPO with the sentence reward model; token: TPPO with the token reward
    /// model; judge: PPO rewarded by the judge itself (the positive control);
    /// token-shuffled, sentence-spread: the negative controls.
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub reward: Option<RewardMode>,
    /// Token mode: word-spread (the paper's) or span-end (a word's reward on its last token).
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub placement: Option<Placement>,
    #[cfg_attr(feature = "cli", arg(long))]
    pub seed: Option<u64>,
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(1, 1_000_000)))]
    pub iters: Option<usize>,
    /// Rollouts per iteration.
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(1, 4096)))]
    pub batch_size: Option<usize>,
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::positive::<f64>))]
    pub lr: Option<f64>,
    /// β of the KL term (the starting β under adaptive KL control).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::non_negative::<f32>))]
    pub kl_coef: Option<f32>,
    /// The per-response KL the adaptive controller steers β towards.
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::positive::<f32>, conflicts_with = "fixed_kl"))]
    pub kl_target: Option<f32>,
    /// Keep β fixed (no adaptive KL control).
    #[cfg_attr(feature = "cli", arg(long))]
    pub fixed_kl: bool,
    /// Penalty for a response cut at --max-new without EOS (0: none).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::non_negative::<f32>))]
    pub missing_eos_penalty: Option<f32>,
    /// Critic warm-up iterations before PPO (0: none).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(0, 1000)))]
    pub value_warmup: Option<usize>,
    /// lwp intensity α (eq. 4).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::non_negative::<f32>))]
    pub alpha: Option<f32>,
    /// lwp suggested length sl in tokens (eq. 4).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::non_negative::<f32>))]
    pub sl: Option<f32>,
    /// Longest response in tokens, EOS included (at most what the policy's positions leave after the prompt).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(1, 4096)))]
    pub max_new: Option<usize>,
    /// Pieces of each minibatch's gradient, computed side by side on CPU threads.
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(1, 64)))]
    pub grad_shards: Option<usize>,
}

impl PpoOptions {
    /// The settings these options give: the base (the file, or the defaults) with
    /// each option put over it, checked by [`PpoConfig::validate`].
    pub fn resolve(&self) -> Result<PpoConfig> {
        let base = match &self.settings {
            Some(path) => read(path)?,
            None => PpoConfig::default(),
        };
        let c = self.over(base);
        c.validate()?;
        Ok(c)
    }

    /// `base` with each option that is set put over it.
    pub fn over(&self, base: PpoConfig) -> PpoConfig {
        use crate::io::over;
        let mut c = base;
        over(&mut c.reward, self.reward);
        over(&mut c.placement, self.placement);
        over(&mut c.seed, self.seed);
        over(&mut c.iters, self.iters);
        over(&mut c.batch_size, self.batch_size);
        over(&mut c.max_new, self.max_new);
        over(&mut c.grad_shards, self.grad_shards);
        over(&mut c.value_warmup, self.value_warmup);
        over(&mut c.lr, self.lr);
        over(&mut c.kl_coef, self.kl_coef);
        over(&mut c.lwp.alpha, self.alpha);
        over(&mut c.lwp.sl, self.sl);
        if self.fixed_kl {
            c.kl_target = None;
        } else if let Some(t) = self.kl_target {
            c.kl_target = Some(t);
        }
        if let Some(p) = self.missing_eos_penalty {
            c.missing_eos_penalty = (p > 0.0).then_some(p);
        }
        c
    }
}

/// A settings file: the JSON of a [`PpoConfig`], missing fields at their defaults,
/// unknown fields refused.
pub fn read(path: &Path) -> Result<PpoConfig> {
    let c: PpoConfig = crate::io::read_settings(path, PpoConfig::default(), "PPO")?;
    c.validate()
        .map_err(|e| Error::Invalid(format!("PPO settings {}: {e}", path.display())))?;
    Ok(c)
}

/// Write `c` as a settings file (atomically).
pub fn write(path: &Path, c: &PpoConfig) -> Result<()> {
    crate::io::write_json(path, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tppo-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn no_options_are_the_defaults_and_each_option_replaces_one_setting() {
        assert_eq!(
            PpoOptions::default().resolve().unwrap(),
            PpoConfig::default()
        );
        let o = PpoOptions {
            reward: Some(RewardMode::Sentence),
            iters: Some(7),
            alpha: Some(0.5),
            missing_eos_penalty: Some(0.0),
            ..Default::default()
        };
        let c = o.resolve().unwrap();
        let mut want = PpoConfig {
            reward: RewardMode::Sentence,
            iters: 7,
            missing_eos_penalty: None,
            ..PpoConfig::default()
        };
        want.lwp.alpha = 0.5;
        assert_eq!(c, want);
        let fixed = PpoOptions {
            fixed_kl: true,
            ..Default::default()
        };
        assert_eq!(fixed.resolve().unwrap().kl_target, None);
    }

    #[test]
    fn a_settings_file_is_the_base_and_options_go_over_it() {
        let c = PpoConfig {
            lr: 1e-4,
            seed: 9,
            kl_target: Some(8.0),
            ..PpoConfig::default()
        };
        let path = tmp("full.json", &serde_json::to_string(&c).unwrap());
        let o = PpoOptions {
            settings: Some(path.clone()),
            ..Default::default()
        };
        assert_eq!(o.resolve().unwrap(), c);
        let o = PpoOptions {
            settings: Some(path),
            seed: Some(2),
            ..Default::default()
        };
        assert_eq!(o.resolve().unwrap(), PpoConfig { seed: 2, ..c });
        // A partial file: the rest at the defaults, `lwp` one field deep.
        let path = tmp("partial.json", r#"{"iters": 3, "lwp": {"alpha": 0.5}}"#);
        let got = read(&path).unwrap();
        let mut want = PpoConfig {
            iters: 3,
            ..PpoConfig::default()
        };
        want.lwp.alpha = 0.5;
        assert_eq!(got, want);
    }

    #[test]
    fn a_bad_settings_file_names_the_file_and_the_setting() {
        let path = tmp("typo.json", r#"{"iter": 3}"#);
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("typo.json") && e.contains("\"iter\""), "{e}");
        let path = tmp("inner.json", r#"{"lwp": {"beta": 1}}"#);
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("lwp.beta"), "{e}");
        let path = tmp("zero.json", r#"{"iters": 0}"#);
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("zero.json") && e.contains("iters"), "{e}");
        let path = tmp("type.json", r#"{"lr": "fast"}"#);
        assert!(read(&path).unwrap_err().to_string().contains("type.json"));
        let path = tmp("list.json", "[1]");
        assert!(read(&path).unwrap_err().to_string().contains("JSON object"));
    }
}
