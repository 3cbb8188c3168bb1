//! How a shell states a reward-model run: a base [`RmTrainConfig`] — a preset
//! ([`RmTrainConfig::preset`]: `quick`, the default, one epoch; `default`, the
//! shipped models' three) or a settings file put over it — and options that override
//! single settings. `tppo train-rm` and `tppo ablate-w` flatten [`RmOptions`]
//! (`#[command(flatten)]`); `tppo train-rm --print-settings` shows what a command
//! would run with. The level and w are the command's (`train-rm --level --w`; the
//! ablation sets w per run).

use super::model::Level;
use super::train::RmTrainConfig;
use crate::{Error, Result};
use std::path::PathBuf;

/// The preset a run starts from when none is named.
pub const DEFAULT_PRESET: &str = "quick";

/// Overrides of an [`RmTrainConfig`]: each `Some` replaces one setting of the base.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct RmOptions {
    /// quick or default: the epochs, and the trunk's size when there is no --sft (the
    /// SFT preset of that name). quick is the default.
    #[cfg_attr(feature = "cli", arg(long, value_parser = ["quick", "default"]))]
    pub preset: Option<String>,
    /// A settings file (the JSON of the library's RmTrainConfig, as `--print-settings`
    /// writes it), put over the preset's; the options below go over both.
    #[cfg_attr(feature = "cli", arg(long))]
    pub settings: Option<PathBuf>,
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(1, 10_000)))]
    pub epochs: Option<usize>,
    #[cfg_attr(feature = "cli", arg(long))]
    pub seed: Option<u64>,
    /// Evaluate on the eval labels every N steps (and after the last).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(1, 1_000_000)))]
    pub eval_every: Option<usize>,
    /// Compute each batch's gradient in this many pieces side by side, one thread each
    /// (the same gradient up to float rounding; faster where there are cores to spare:
    /// docs/perf.md). 1 (the default) keeps the recorded runs' numbers bit for bit.
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(1, 64)))]
    pub grad_shards: Option<usize>,
}

impl RmOptions {
    /// The preset's name (the SFT preset of the same name sizes a fresh trunk).
    pub fn preset_name(&self) -> &str {
        self.preset.as_deref().unwrap_or(DEFAULT_PRESET)
    }

    /// The settings of a `level` model with weight `w`: the preset, the file over it,
    /// each option over both.
    pub fn resolve(&self, level: Level, w: f32) -> Result<RmTrainConfig> {
        let name = self.preset_name();
        let preset = RmTrainConfig::preset(name).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown reward-model preset {name:?}: expected quick or default"
            ))
        })?;
        let mut c = match &self.settings {
            Some(path) => crate::io::read_settings(path, preset, "reward-model")?,
            None => preset,
        };
        c.level = level;
        c.w = w;
        use crate::io::over;
        over(&mut c.epochs, self.epochs);
        over(&mut c.seed, self.seed);
        over(&mut c.eval_every, self.eval_every);
        over(&mut c.grad_shards, self.grad_shards);
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_presets_differ_in_epochs_only_and_options_go_over_them() {
        let quick = RmOptions::default().resolve(Level::Token, 0.5).unwrap();
        assert_eq!(
            quick,
            RmTrainConfig {
                epochs: 1,
                ..RmTrainConfig::default()
            }
        );
        let o = RmOptions {
            preset: Some("default".into()),
            seed: Some(4),
            ..Default::default()
        };
        let c = o.resolve(Level::Sentence, 0.2).unwrap();
        let want = RmTrainConfig {
            level: Level::Sentence,
            w: 0.2,
            epochs: 3,
            seed: 4,
            ..RmTrainConfig::default()
        };
        assert_eq!(c, want);
    }

    #[test]
    fn a_settings_file_goes_over_the_preset_and_a_bad_one_names_the_file() {
        let dir = std::env::temp_dir().join(format!("tppo-rm-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("rm.json");
        std::fs::write(&good, r#"{"lr": 0.001, "batch_size": 8}"#).unwrap();
        let o = RmOptions {
            settings: Some(good),
            epochs: Some(2),
            ..Default::default()
        };
        let c = o.resolve(Level::Token, 0.5).unwrap();
        assert_eq!((c.lr, c.batch_size, c.epochs), (0.001, 8, 2));
        let typo = dir.join("typo.json");
        std::fs::write(&typo, r#"{"epoch": 2}"#).unwrap();
        let o = RmOptions {
            settings: Some(typo),
            ..Default::default()
        };
        let e = o.resolve(Level::Token, 0.5).unwrap_err().to_string();
        assert!(e.contains("typo.json") && e.contains("\"epoch\""), "{e}");
        let zero = dir.join("zero.json");
        std::fs::write(&zero, r#"{"batch_size": 0}"#).unwrap();
        let o = RmOptions {
            settings: Some(zero),
            ..Default::default()
        };
        let e = o.resolve(Level::Token, 0.5).unwrap_err().to_string();
        assert!(e.contains("batch_size"), "{e}");
    }
}
