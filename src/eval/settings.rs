//! How a shell states an evaluation (`tppo eval`): which users, how the policy
//! decodes, and the lwp of the token rewards written beside each response. One
//! serde struct, [`EvalConfig`], owns the defaults (the first `users` users, 0: all;
//! greedy decoding under the evaluation's no-repeat rule; the run's α and sl) and the
//! checks; `tppo eval` flattens [`EvalOptions`] (`#[command(flatten)]`): a
//! `--settings FILE` over the defaults ([`crate::io::read_settings`]), options over
//! it, and `--print-settings`.

use crate::model::policy::SampleConfig;
use crate::reward::lwp::LwpConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// Evaluate the first N users (0: all).
    pub users: usize,
    /// 0: greedy decoding (deterministic).
    pub temperature: f32,
    pub seed: u64,
    /// The evaluation's rule that a query may not repeat an earlier query of its
    /// response ([`SampleConfig::no_repeat_query`]).
    pub no_repeat_query: bool,
    /// lwp of the token rewards in the outputs; `None`: the run's (its
    /// `POLICY.ppo.json`), else [`LwpConfig::default`].
    pub alpha: Option<f32>,
    pub sl: Option<f32>,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            users: 0,
            temperature: 0.0,
            seed: 1,
            no_repeat_query: true,
            alpha: None,
            sl: None,
        }
    }
}

impl EvalConfig {
    /// The decoding: greedy's settings with this temperature, seed and rule.
    pub fn sample(&self) -> SampleConfig {
        SampleConfig {
            temperature: self.temperature,
            seed: self.seed,
            no_repeat_query: self.no_repeat_query,
            ..SampleConfig::greedy()
        }
    }

    /// The lwp of the shown rewards: each setting given here, else the run's.
    pub fn lwp(&self, run: LwpConfig) -> LwpConfig {
        LwpConfig {
            alpha: self.alpha.unwrap_or(run.alpha),
            sl: self.sl.unwrap_or(run.sl),
        }
    }

    /// Every setting in its domain, or an error naming the first that is not.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, v: f32| {
            Err(Error::Invalid(format!(
                "eval setting {name}: expected a non-negative number, found {v}"
            )))
        };
        for (name, v) in [
            ("temperature", Some(self.temperature)),
            ("alpha", self.alpha),
            ("sl", self.sl),
        ] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                return bad(name, v);
            }
        }
        Ok(())
    }
}

/// Overrides of an [`EvalConfig`]: each set option replaces one setting of the base.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct EvalOptions {
    /// A settings file (the JSON of the library's EvalConfig, as `--print-settings`
    /// writes it): the base the other options override; without it, the defaults.
    #[cfg_attr(feature = "cli", arg(long))]
    pub settings: Option<PathBuf>,
    /// Evaluate the first N users (0: all; the default split has 2,000).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::count(0, 100_000_000)))]
    pub users: Option<usize>,
    /// Decode without the evaluation's rule that a query may not repeat an earlier
    /// query of its response (to see what the rule changes).
    #[cfg_attr(feature = "cli", arg(long))]
    pub allow_repeats: bool,
    /// lwp intensity α of the token rewards in the outputs (default: the run's, from
    /// POLICY.ppo.json, else 1).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::non_negative::<f32>))]
    pub alpha: Option<f32>,
    /// lwp suggested length sl (default: the run's, else 20).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::non_negative::<f32>))]
    pub sl: Option<f32>,
    /// 0: greedy decoding (the default, deterministic).
    #[cfg_attr(feature = "cli", arg(long, value_parser = crate::args::non_negative::<f32>))]
    pub temperature: Option<f32>,
    #[cfg_attr(feature = "cli", arg(long))]
    pub seed: Option<u64>,
}

impl EvalOptions {
    /// The settings these options give: the file (or the defaults), each option over it.
    pub fn resolve(&self) -> Result<EvalConfig> {
        let mut c = match &self.settings {
            Some(path) => crate::io::read_settings(path, EvalConfig::default(), "eval")?,
            None => EvalConfig::default(),
        };
        use crate::io::over;
        over(&mut c.users, self.users);
        over(&mut c.temperature, self.temperature);
        over(&mut c.seed, self.seed);
        if self.allow_repeats {
            c.no_repeat_query = false;
        }
        if self.alpha.is_some() {
            c.alpha = self.alpha;
        }
        if self.sl.is_some() {
            c.sl = self.sl;
        }
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_greedy_under_the_rule_with_the_runs_lwp() {
        let c = EvalOptions::default().resolve().unwrap();
        assert_eq!(c, EvalConfig::default());
        let s = c.sample();
        assert_eq!((s.temperature, s.seed, s.no_repeat_query), (0.0, 1, true));
        let run = LwpConfig {
            alpha: 0.5,
            sl: 12.0,
        };
        assert_eq!(c.lwp(run), run);
        let o = EvalOptions {
            alpha: Some(2.0),
            allow_repeats: true,
            users: Some(10),
            ..Default::default()
        };
        let c = o.resolve().unwrap();
        assert_eq!(
            c.lwp(run),
            LwpConfig {
                alpha: 2.0,
                sl: 12.0
            }
        );
        assert!(!c.sample().no_repeat_query);
        assert_eq!(c.users, 10);
    }

    #[test]
    fn a_settings_file_is_the_base_and_a_bad_one_is_refused_with_its_name() {
        let dir = std::env::temp_dir().join(format!("tppo-eval-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("eval.json");
        std::fs::write(&f, r#"{"temperature": 0.7, "sl": 8}"#).unwrap();
        let o = EvalOptions {
            settings: Some(f),
            seed: Some(3),
            ..Default::default()
        };
        let c = o.resolve().unwrap();
        assert_eq!((c.temperature, c.sl, c.seed), (0.7, Some(8.0), 3));
        let bad = dir.join("bad.json");
        std::fs::write(&bad, r#"{"temperature": -1}"#).unwrap();
        let o = EvalOptions {
            settings: Some(bad),
            ..Default::default()
        };
        let e = o.resolve().unwrap_err().to_string();
        assert!(e.contains("temperature"), "{e}");
        let typo = dir.join("typo.json");
        std::fs::write(&typo, r#"{"greedy": true}"#).unwrap();
        let o = EvalOptions {
            settings: Some(typo),
            ..Default::default()
        };
        let e = o.resolve().unwrap_err().to_string();
        assert!(e.contains("typo.json") && e.contains("greedy"), "{e}");
    }
}
