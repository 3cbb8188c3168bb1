//! The pipeline's report: the numbers (`report.json`) and the paper's findings,
//! marked reproduced / not reproduced from those numbers. [`html`] renders it
//! (`report.html`, with plots; the `html` feature).

#[cfg(feature = "html")]
pub mod html;
#[cfg(feature = "html")]
mod plots;

use crate::eval::pairwise::WinTieLose;
use crate::eval::stats::wilson;
use crate::eval::{CompareRecord, OutputRecord, Relevance};
use crate::rl::{Metrics, PpoConfig};
use serde::Serialize;

/// The sizes of a pipeline preset.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct Preset {
    pub eval_users: usize,
    pub iters: usize,
    pub batch_size: usize,
    /// Run the α = 0.5 ablation for every seed (else for seed 1 only).
    pub alpha_all_seeds: bool,
}

impl Preset {
    pub fn of(name: &str) -> Option<Self> {
        match name {
            "quick" => Some(Self {
                eval_users: 400,
                iters: 10,
                batch_size: 16,
                alpha_all_seeds: false,
            }),
            "default" => Some(Self {
                eval_users: 2000,
                iters: 40,
                batch_size: 32,
                alpha_all_seeds: true,
            }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub name: String,
    pub seed: u64,
    pub config: PpoConfig,
    pub relevance: Option<Relevance>,
    pub metrics: Vec<Metrics>,
}

/// A reward model's eval curve from its `.metrics.json` (written by `tppo train-rm`).
#[derive(Debug, Clone, Serialize)]
pub struct RmCurve {
    pub level: String,
    /// (step, token AUC, response AUC)
    pub points: Vec<(usize, Option<f64>, Option<f64>)>,
    pub final_token_auc: Option<f64>,
    pub final_response_auc: Option<f64>,
}

impl RmCurve {
    pub fn read(level: &str, path: &std::path::Path) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let points = v["points"]
            .as_array()?
            .iter()
            .filter(|p| p["eval"].is_object())
            .map(|p| {
                (
                    p["step"].as_u64().unwrap_or(0) as usize,
                    p["eval"]["token_auc"].as_f64(),
                    p["eval"]["sentence_auc"].as_f64(),
                )
            })
            .collect();
        Some(Self {
            level: level.into(),
            points,
            final_token_auc: v["final"]["token_auc"].as_f64(),
            final_response_auc: v["final"]["sentence_auc"].as_f64(),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelRow {
    pub model: String,
    pub per_seed: Vec<(u64, Relevance)>,
    /// Mean of the per-seed rates.
    pub mean_rate: f64,
    /// All seeds' users together, with its Wilson interval.
    pub pooled: Relevance,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairSummary {
    pub pair: String,
    pub per_seed: Vec<(u64, WinTieLose)>,
    /// All seeds' users together.
    pub pooled: WinTieLose,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: String,
    pub finding: String,
    pub paper: String,
    pub measured: String,
    pub reproduced: bool,
}

/// How varied a model's outputs are: a policy can raise the judge's rate by
/// repeating a few words the judge likes (reward hacking), and this shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Diversity {
    pub model: String,
    /// Distinct responses / users.
    pub distinct_fraction: f64,
    /// Mean response length in tokens (EOS included).
    pub mean_tokens: f64,
    /// The most common responses with their counts.
    pub top: Vec<(String, usize)>,
}

impl Diversity {
    pub fn of(model: &str, outputs: &[OutputRecord]) -> Self {
        let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for o in outputs {
            *counts.entry(o.response.as_str()).or_default() += 1;
        }
        let mut top: Vec<(String, usize)> =
            counts.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(5);
        let n = outputs.len().max(1) as f64;
        Self {
            model: model.into(),
            distinct_fraction: counts.len() as f64 / n,
            mean_tokens: outputs.iter().map(|o| o.tokens.len() as f64).sum::<f64>() / n,
            top,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub preset: String,
    pub sizes: Preset,
    pub seeds: u64,
    pub eval_users: usize,
    pub table: Vec<ModelRow>,
    pub pairs: Vec<PairSummary>,
    pub findings: Vec<Finding>,
    pub runs: Vec<Run>,
    pub rm_curves: Vec<RmCurve>,
    /// (stage, seconds)
    pub timings: Vec<(String, f64)>,
    pub diversity: Vec<Diversity>,
}

fn row(model: &str, per_seed: Vec<(u64, Relevance)>) -> ModelRow {
    let k: usize = per_seed.iter().map(|r| r.1.relevant).sum();
    let n: usize = per_seed.iter().map(|r| r.1.n).sum();
    ModelRow {
        model: model.into(),
        mean_rate: per_seed.iter().map(|r| r.1.rate).sum::<f64>() / per_seed.len().max(1) as f64,
        pooled: Relevance {
            n,
            relevant: k,
            rate: k as f64 / n.max(1) as f64,
            ci: wilson(k, n),
        },
        per_seed,
    }
}

/// Mean over runs named `name` of `f` over the second half of each run's iterations.
fn late_mean(runs: &[Run], name: &str, f: impl Fn(&Metrics) -> f32) -> f64 {
    let vals: Vec<f64> = runs
        .iter()
        .filter(|r| r.name == name && !r.metrics.is_empty())
        .map(|r| {
            let half = &r.metrics[r.metrics.len() / 2..];
            half.iter().map(|m| f64::from(f(m))).sum::<f64>() / half.len() as f64
        })
        .collect();
    vals.iter().sum::<f64>() / vals.len().max(1) as f64
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        preset_name: &str,
        sizes: Preset,
        seeds: u64,
        sft: Relevance,
        runs: Vec<Run>,
        compares: &[(String, u64, Vec<CompareRecord>)],
        rm_curves: Vec<RmCurve>,
        timings: Vec<(String, f64)>,
        resamples: usize,
        diversity: Vec<Diversity>,
    ) -> Self {
        let eval_users = sft.n;
        let per = |name: &str| -> Vec<(u64, Relevance)> {
            runs.iter()
                .filter(|r| r.name == name)
                .filter_map(|r| r.relevance.clone().map(|x| (r.seed, x)))
                .collect()
        };
        let table = vec![
            row("sft", vec![(0, sft)]),
            row("ppo", per("ppo")),
            row("tppo", per("tppo")),
        ];
        let mut pairs = Vec::new();
        for pair in ["tppo-vs-ppo", "tppo-vs-sft", "ppo-vs-sft"] {
            let mine: Vec<&(String, u64, Vec<CompareRecord>)> =
                compares.iter().filter(|c| c.0 == pair).collect();
            let per_seed = mine
                .iter()
                .map(|c| (c.1, crate::eval::win_tie_lose(&c.2, resamples, c.1)))
                .collect();
            let all: Vec<CompareRecord> = mine.iter().flat_map(|c| c.2.iter().cloned()).collect();
            pairs.push(PairSummary {
                pair: pair.into(),
                per_seed,
                pooled: crate::eval::win_tie_lose(&all, resamples, 1),
            });
        }
        let findings = findings(&table, &pairs, &runs, &rm_curves);
        Self {
            preset: preset_name.into(),
            sizes,
            seeds,
            eval_users,
            table,
            pairs,
            findings,
            runs,
            rm_curves,
            timings,
            diversity,
        }
    }
}

fn findings(
    table: &[ModelRow],
    pairs: &[PairSummary],
    runs: &[Run],
    rm: &[RmCurve],
) -> Vec<Finding> {
    let rate = |m: &str| {
        table
            .iter()
            .find(|r| r.model == m)
            .map_or(0.0, |r| r.mean_rate)
    };
    let ci = |m: &str| {
        table
            .iter()
            .find(|r| r.model == m)
            .map_or(String::new(), |r| {
                format!("[{:.3}, {:.3}]", r.pooled.ci.lo, r.pooled.ci.hi)
            })
    };
    let (sft, ppo, tppo) = (rate("sft"), rate("ppo"), rate("tppo"));
    let mut out = vec![
        Finding {
            id: "table2-tppo-over-ppo".into(),
            finding: "TPPO's relevance rate is higher than PPO's".into(),
            paper: "Table 2: TPPO > PPO > SFT".into(),
            measured: format!(
                "relevance TPPO {tppo:.3} {}, PPO {ppo:.3} {} (mean over seeds; pooled 95 % Wilson intervals)",
                ci("tppo"),
                ci("ppo")
            ),
            reproduced: tppo > ppo,
        },
        Finding {
            id: "table2-rl-over-sft".into(),
            finding: "PPO and TPPO both raise relevance over SFT".into(),
            paper: "Table 2".into(),
            measured: format!("SFT {sft:.3} {}, PPO {ppo:.3}, TPPO {tppo:.3}", ci("sft")),
            reproduced: ppo > sft && tppo > sft,
        },
    ];
    if let Some(p) = pairs.iter().find(|p| p.pair == "tppo-vs-ppo") {
        let s = &p.pooled;
        out.push(Finding {
            id: "fig7-win-tie-lose".into(),
            finding: "TPPO wins more often than it loses against PPO (95 % interval of the net above 0)"
                .into(),
            paper: "Fig. 7: net (W − L)/N of +2 to +8 points".into(),
            measured: format!(
                "win {:.1} %, tie {:.1} %, lose {:.1} %; net {:+.1} points [{:+.1}, {:+.1}]; sign test p = {:.2e}; n = {}",
                100.0 * s.win_rate,
                100.0 * s.tie_rate,
                100.0 * s.lose_rate,
                100.0 * s.net,
                100.0 * s.net_ci.lo,
                100.0 * s.net_ci.hi,
                s.sign_test_p,
                s.n
            ),
            reproduced: s.net_ci.lo > 0.0,
        });
    }
    let (rt, rp) = (
        late_mean(runs, "tppo", |m| m.judge_relevance.unwrap_or(0.0)),
        late_mean(runs, "ppo", |m| m.judge_relevance.unwrap_or(0.0)),
    );
    out.push(Finding {
        id: "fig5-training".into(),
        finding: "TPPO improves its rollouts faster than PPO (the two scores are on different scales, so the judge's relevance rate of the rollouts is compared)".into(),
        paper: "Fig. 5: TPPO's score rises faster and more stably".into(),
        measured: format!(
            "rollout relevance over the second half of training: TPPO {rt:.3}, PPO {rp:.3}"
        ),
        reproduced: rt > rp,
    });
    let fin = |l: &str| {
        rm.iter()
            .find(|c| c.level == l)
            .and_then(|c| c.final_response_auc)
    };
    if let (Some(t), Some(s)) = (fin("token"), fin("sentence")) {
        let tok_auc = rm
            .iter()
            .find(|c| c.level == "token")
            .and_then(|c| c.final_token_auc)
            .unwrap_or(f64::NAN);
        out.push(Finding {
            id: "fig6-reward-models".into(),
            finding: "The token-level reward model judges responses better than the sentence-level one".into(),
            paper: "Fig. 6: the token-level reward model's AUC is higher".into(),
            measured: format!(
                "response-level AUC on the eval labels: token RM {t:.3}, sentence RM {s:.3} (token RM's per-token AUC {tok_auc:.3})"
            ),
            reproduced: t > s,
        });
    }
    let (l05, l10) = (
        late_mean(runs, "tppo-alpha0.5", |m| m.response_length),
        late_mean(
            &runs
                .iter()
                .filter(|r| {
                    r.name == "tppo"
                        && runs
                            .iter()
                            .any(|a| a.name == "tppo-alpha0.5" && a.seed == r.seed)
                })
                .cloned()
                .collect::<Vec<_>>(),
            "tppo",
            |m| m.response_length,
        ),
    );
    out.push(Finding {
        id: "fig12-alpha".into(),
        finding: "A smaller lwp intensity α lets responses grow longer".into(),
        paper: "Fig. 12: responses are longer with α = 0.5 than with α = 1.0".into(),
        measured: format!(
            "mean response length over the second half of training: α = 0.5 {l05:.1} tokens, α = 1.0 {l10:.1} tokens (same seeds)"
        ),
        reproduced: l05 > l10,
    });
    out
}
