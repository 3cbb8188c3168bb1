//! The page's guided experiments (issue 32, item 4): one-click presets, each a link
//! (`?preset=ID`) that fills the page's forms from here (`www/` holds no number), says in
//! three sentences what to watch, and names its effect as numbers the page checks live
//! and shows ("reached at iteration k" or "not reached").
//!
//! Each effect's threshold sits below what was measured at the same settings, so that it
//! says what a student will see, not a best case:
//! - reward hacking: `docs/runs/hacking/` (the command line, 30 iterations of 4 rollouts,
//!   β = 0): TPPO's reward-model score 0.66 → 10.7 and KL 54.8 nats; PPO's KL 25.0; the
//!   page at the same settings 30 iterations per mode in 44.9 s (`page.json`);
//! - Lemma 3.1: `tppo lemma` (β 0.5, seed 7): KL(π‖π*) 1.30 → 0.0018 after 25 iterations;
//! - credit: structural (PPO's reward model speaks once, at the last token; TPPO's on
//!   every token; GAE carries PPO's score back to every token's advantage).
//!
//! Not built: the length-penalty preset (α 0.5 vs 1.0, Fig. 12) needs two TPPO runs with
//! different α side by side, and the live comparison pairs PPO with TPPO at one α.

use super::protocol::{LemmaSettings, RunSettings};
use crate::rl::PpoConfig;
use serde::Serialize;

/// One guided experiment.
#[derive(Debug, Clone, Serialize)]
pub struct Preset {
    /// The link's `preset=` value.
    pub id: &'static str,
    pub title: &'static str,
    /// The view it opens (the tab's id without `tab-`).
    pub view: &'static str,
    /// What to watch, in three sentences.
    pub watch: [&'static str; 3],
    /// The live PPO vs TPPO runs' settings, seeds and iterations (None: no live run).
    pub run: Option<RunSettings>,
    pub seeds: usize,
    pub iters: usize,
    /// The Lemma 3.1 toy's settings (None: not this preset's).
    pub lemma: Option<LemmaSettings>,
    /// What it reaches, checked by the page as the run goes.
    pub effects: Vec<Effect>,
}

/// One number a preset reaches: `what` of `mode` passes `test`.
#[derive(Debug, Clone, Serialize)]
pub struct Effect {
    /// In words, with the threshold ("TPPO's reward-model score rises by ≥ 3").
    pub text: &'static str,
    pub what: Measure,
    pub test: Test,
}

/// What an effect measures.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Measure {
    /// A live run's metric (a [`crate::rl::Metrics`] field by its serialised name) of
    /// `mode` ("sentence" or "token"): the mean over seeds of each seed's mean of its
    /// last 5 iterations — the bold line of the charts.
    Metric {
        mode: &'static str,
        key: &'static str,
    },
    /// In the credit view, the tokens of the response whose reward carries the reward
    /// model's part ([`super::protocol::ModeCredit::rm_tokens`]), and its length.
    RmTokens { mode: &'static str },
    /// In the credit view, the tokens whose advantage is not zero.
    NonzeroAdvantages { mode: &'static str },
    /// The Lemma 3.1 toy's KL(π ‖ π*) after its last iteration.
    LemmaKl,
}

/// The comparison an effect passes.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum Test {
    /// At least this much above its value at the first iteration.
    Rise(f32),
    AtLeast(f32),
    AtMost(f32),
    /// On every token of the response (a count equal to its length).
    AllTokens,
}

/// The guided experiments, in the order the page lists them.
pub fn all() -> Vec<Preset> {
    let page = PpoConfig::page();
    let credit_run = RunSettings::from(&page);
    let hacking_run = RunSettings {
        seed: 1,
        batch_size: 4,
        max_new: 24,
        lr: 3e-4,
        kl_coef: 0.0,
        kl_target: None,
        ..credit_run
    };
    vec![
        Preset {
            id: "credit",
            title: "Dense vs sparse credit",
            view: "train",
            watch: [
                "Under PPO the reward model speaks once, at the last token; every other token's reward is only the KL penalty.",
                "GAE carries that one score back, so every token of PPO's response still gets an advantage, each a discounted blend of the same number.",
                "Under TPPO every token has its own reward from the token-level reward model, so its advantages can differ in sign from word to word (the paper's Fig. 1).",
            ],
            run: Some(credit_run),
            seeds: 1,
            iters: 3,
            lemma: None,
            effects: vec![
                Effect {
                    text: "PPO: the reward model's part on at most 1 token",
                    what: Measure::RmTokens { mode: "sentence" },
                    test: Test::AtMost(1.0),
                },
                Effect {
                    text: "PPO: a non-zero advantage on every token",
                    what: Measure::NonzeroAdvantages { mode: "sentence" },
                    test: Test::AllTokens,
                },
                Effect {
                    text: "TPPO: the reward model's part on every token",
                    what: Measure::RmTokens { mode: "token" },
                    test: Test::AllTokens,
                },
            ],
        },
        Preset {
            id: "hacking",
            title: "Reward hacking",
            view: "train",
            watch: [
                "With β = 0 nothing holds the policy near the SFT policy: watch the reward-model score climb while the KL grows without bound.",
                "The judge's relevance and the gold score are what the reward model stands for; no training step sees them, so whether they follow the score is the question.",
                "When the score rises while gold falls, the policy is exploiting the reward model, not answering the users better (Gao et al. 2023).",
            ],
            run: Some(hacking_run),
            seeds: 1,
            iters: 30,
            lemma: None,
            effects: vec![
                Effect {
                    text: "TPPO's reward-model score rises by ≥ 3",
                    what: Measure::Metric {
                        mode: "token",
                        key: "objective/scores",
                    },
                    test: Test::Rise(3.0),
                },
                Effect {
                    text: "TPPO's KL to the SFT policy reaches ≥ 20 nats",
                    what: Measure::Metric {
                        mode: "token",
                        key: "objective/kl",
                    },
                    test: Test::AtLeast(20.0),
                },
                Effect {
                    text: "PPO's KL to the SFT policy reaches ≥ 8 nats",
                    what: Measure::Metric {
                        mode: "sentence",
                        key: "objective/kl",
                    },
                    test: Test::AtLeast(8.0),
                },
            ],
        },
        Preset {
            id: "lemma",
            title: "Lemma 3.1: PPO finds π*",
            view: "lemma",
            watch: [
                "For one step with advantages A(a), the KL-regularised objective is maximised by π* ∝ π_ref·exp(A/β), in closed form.",
                "The same reward assembly, whitening, clipped loss and Adam as PPO here train a softmax policy from π_ref; KL(π ‖ π*) falls towards 0.",
                "Lower β moves π* further from π_ref towards the best action; higher β keeps it close — the KL penalty's role in the full runs.",
            ],
            run: None,
            seeds: 0,
            iters: LemmaSettings::default().iters,
            lemma: Some(LemmaSettings::default()),
            effects: vec![Effect {
                text: "KL(π ‖ π*) falls to ≤ 0.01 nats",
                what: Measure::LemmaKl,
                test: Test::AtMost(0.01),
            }],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_unique_ids_three_sentences_and_valid_settings() {
        let all = all();
        let mut ids: Vec<_> = all.iter().map(|p| p.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        for p in &all {
            assert!(p.watch.iter().all(|s| s.ends_with('.')), "{}", p.id);
            assert!(!p.effects.is_empty(), "{}", p.id);
            if let Some(r) = p.run {
                assert!(p.seeds >= 1 && p.seeds <= super::super::protocol::MAX_SEEDS);
                assert!(r.batch_size >= 1 && r.max_new >= 2 && r.lr > 0.0);
            }
            if let Some(l) = p.lemma {
                assert!(l.config().is_ok());
            }
        }
    }

    #[test]
    fn every_preset_names_a_real_view_mode_and_metric() {
        // The page reads these by name: a renamed metric or tab would leave an effect
        // "not measured" at run time, so the names are held to the code here.
        let html = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("index.html"),
        )
        .unwrap();
        let metrics = serde_json::to_value(crate::rl::Metrics::default()).unwrap();
        for p in all() {
            assert!(
                html.contains(&format!(r#"id="tab-{}""#, p.view)),
                "{}: no tab {}",
                p.id,
                p.view
            );
            for e in &p.effects {
                let mode = match &e.what {
                    Measure::Metric { mode, key } => {
                        assert!(metrics.get(*key).is_some(), "{}: no metric {key}", p.id);
                        Some(*mode)
                    }
                    Measure::RmTokens { mode } | Measure::NonzeroAdvantages { mode } => Some(*mode),
                    Measure::LemmaKl => None,
                };
                if let Some(m) = mode {
                    assert!(["sentence", "token"].contains(&m), "{}: mode {m}", p.id);
                    assert!(p.run.is_some(), "{}: a run effect without a run", p.id);
                } else {
                    assert!(
                        p.lemma.is_some(),
                        "{}: a Lemma effect without the toy",
                        p.id
                    );
                }
            }
        }
    }

    #[test]
    fn the_lemma_preset_reaches_its_effect_in_the_library() {
        // The page runs the same function: its threshold must hold here first.
        let p = all().into_iter().find(|p| p.id == "lemma").unwrap();
        let r = crate::rl::lemma::run(&p.lemma.unwrap().config().unwrap());
        let Test::AtMost(most) = p.effects[0].test else {
            panic!("expected AtMost")
        };
        assert!(*r.kl_to_star.last().unwrap() <= most);
    }

    #[test]
    fn lemma_settings_refuse_what_the_toy_cannot_run() {
        use super::super::protocol::MAX_LEMMA_ITERS;
        let bad = LemmaSettings {
            beta: 0.0,
            ..LemmaSettings::default()
        };
        assert!(bad.config().unwrap_err().contains("β"));
        let bad = LemmaSettings {
            iters: MAX_LEMMA_ITERS + 1,
            ..LemmaSettings::default()
        };
        assert!(bad.config().unwrap_err().contains("iterations"));
    }
}
