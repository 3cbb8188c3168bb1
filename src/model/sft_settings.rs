//! How a shell states an SFT run: a base [`SftConfig`] — a preset (`quick`, the
//! default; `default`, the shipped checkpoint's run) or a settings file — and options
//! that override single settings of it. The presets live only in
//! [`SftConfig::preset`]; `tppo sft` flattens [`SftOptions`] (`#[command(flatten)]`)
//! and `tppo sft --print-settings` shows what a command would run with.
//!
//! A settings file is the JSON of an [`SftConfig`] put over the preset's (a field it
//! leaves out keeps the preset's value; an unknown field is refused, naming the file
//! and the field: [`crate::io::read_settings`]).

use super::sft::SftConfig;
use crate::{Error, Result};
use std::path::PathBuf;

/// The preset a run starts from when none is named.
pub const DEFAULT_PRESET: &str = "quick";

/// Overrides of an [`SftConfig`]: each `Some` replaces one setting of the base.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct SftOptions {
    /// quick: a few minutes on 2 CPU cores (the default); default: the shipped checkpoint's run.
    #[cfg_attr(feature = "cli", arg(long, value_parser = ["quick", "default"]))]
    pub preset: Option<String>,
    /// A settings file (the JSON of the library's SftConfig, as `--print-settings`
    /// writes it), put over the preset's; the options below go over both.
    #[cfg_attr(feature = "cli", arg(long))]
    pub settings: Option<PathBuf>,
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(1, 10_000)))]
    pub epochs: Option<usize>,
    /// Train users to use (0: all).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(0, 100_000_000)))]
    pub users: Option<usize>,
    #[cfg_attr(feature = "cli", arg(long))]
    pub seed: Option<u64>,
    /// Language-model warm-up epochs (loss on every token) before SFT.
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(0, 10_000)))]
    pub warmup_epochs: Option<usize>,
    /// Adam learning rate (the preset's otherwise).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::positive::<f64>))]
    pub lr: Option<f64>,
}

impl SftOptions {
    /// The settings these options give for a tokenizer of `vocab` tokens: the preset,
    /// the file over it, each option over both.
    pub fn resolve(&self, vocab: usize) -> Result<SftConfig> {
        let name = self.preset.as_deref().unwrap_or(DEFAULT_PRESET);
        let preset = SftConfig::preset(name, vocab).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown SFT preset {name:?}: expected quick or default"
            ))
        })?;
        let mut c = match &self.settings {
            Some(path) => crate::io::read_settings(path, preset, "SFT")?,
            None => preset,
        };
        use crate::io::over;
        over(&mut c.epochs, self.epochs);
        over(&mut c.users, self.users);
        over(&mut c.seed, self.seed);
        over(&mut c.warmup_epochs, self.warmup_epochs);
        over(&mut c.lr, self.lr);
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tppo-sft-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn no_options_are_the_quick_preset_and_each_option_replaces_one_setting() {
        let quick = SftConfig::preset("quick", 500).unwrap();
        assert_eq!(SftOptions::default().resolve(500).unwrap(), quick);
        let o = SftOptions {
            preset: Some("default".into()),
            epochs: Some(3),
            lr: Some(1e-3),
            ..Default::default()
        };
        let want = SftConfig {
            epochs: 3,
            lr: 1e-3,
            ..SftConfig::preset("default", 500).unwrap()
        };
        assert_eq!(o.resolve(500).unwrap(), want);
    }

    #[test]
    fn a_settings_file_goes_over_the_preset_and_options_over_it() {
        let path = tmp("sft.json", r#"{"seed": 7, "policy": {"dropout": 0.0}}"#);
        let o = SftOptions {
            settings: Some(path.clone()),
            users: Some(10),
            ..Default::default()
        };
        let mut want = SftConfig::preset("quick", 500).unwrap();
        want.seed = 7;
        want.users = 10;
        let got = o.resolve(500);
        // `policy` has no field "dropout": refused, naming the file and the field.
        let e = got.unwrap_err().to_string();
        assert!(
            e.contains("sft.json") && e.contains("policy.dropout"),
            "{e}"
        );
        let path = tmp("sft2.json", r#"{"seed": 7}"#);
        let o = SftOptions {
            settings: Some(path),
            users: Some(10),
            ..Default::default()
        };
        assert_eq!(o.resolve(500).unwrap(), want);
        let path = tmp("sft3.json", r#"{"epochs": 0, "warmup_epochs": 0}"#);
        let o = SftOptions {
            settings: Some(path),
            ..Default::default()
        };
        let e = o.resolve(500).unwrap_err().to_string();
        assert!(e.contains("epoch"), "{e}");
    }
}
