//! The pipeline's report: the numbers (`report.json`), the paper's findings marked
//! reproduced / not reproduced from those numbers, and `report.html` with plots
//! drawn by plotters (SVG, inline).

use super::pipeline::Preset;
use plotters::prelude::*;
use serde::Serialize;
use tppo::eval::pairwise::WinTieLose;
use tppo::eval::stats::wilson;
use tppo::eval::{CompareRecord, OutputRecord, Relevance};
use tppo::rl::{Metrics, PpoConfig};

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
                .map(|c| (c.1, tppo::eval::win_tie_lose(&c.2, resamples, c.1)))
                .collect();
            let all: Vec<CompareRecord> = mine.iter().flat_map(|c| c.2.iter().cloned()).collect();
            pairs.push(PairSummary {
                pair: pair.into(),
                per_seed,
                pooled: tppo::eval::win_tie_lose(&all, resamples, 1),
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

// ---------------------------------------------------------------- plots

const COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// The same model keeps its colour in every plot: PPO blue, TPPO red, TPPO at α = 0.5 green.
fn colour(name: &str, i: usize) -> RGBColor {
    let n = name.to_lowercase();
    if n.starts_with("tppo-alpha") {
        COLOURS[2]
    } else if n.starts_with("tppo") {
        COLOURS[1]
    } else if n.starts_with("ppo") {
        COLOURS[0]
    } else {
        COLOURS[(i + 3) % COLOURS.len()]
    }
}

type Series = (String, Vec<(f64, f64)>, Option<Vec<(f64, f64, f64)>>);

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a plot: {e:?}")
}

/// Lines (with optional lo–hi bands) over a shared x axis, as an SVG string.
fn lines(title: &str, x_desc: &str, y_desc: &str, series: &[Series]) -> anyhow::Result<String> {
    let pts = || series.iter().flat_map(|s| s.1.iter().copied());
    let bands = || series.iter().flat_map(|s| s.2.iter().flatten().copied());
    let x1 = pts().map(|p| p.0).fold(1.0, f64::max);
    let x0 = pts().map(|p| p.0).fold(x1, f64::min);
    let mut y0 = pts()
        .map(|p| p.1)
        .chain(bands().map(|b| b.1))
        .fold(f64::INFINITY, f64::min);
    let mut y1 = pts()
        .map(|p| p.1)
        .chain(bands().map(|b| b.2))
        .fold(f64::NEG_INFINITY, f64::max);
    if !y0.is_finite() || !y1.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    let pad = ((y1 - y0) * 0.08).max(1e-3);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1.max(x0 + 1.0), (y0 - pad)..(y1 + pad))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(plot_err)?;
        for (i, (name, points, band)) in series.iter().enumerate() {
            let c = colour(name, i);
            if let Some(b) = band {
                let mut poly: Vec<(f64, f64)> = b.iter().map(|p| (p.0, p.2)).collect();
                poly.extend(b.iter().rev().map(|p| (p.0, p.1)));
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.15).filled())))
                    .map_err(plot_err)?;
            }
            chart
                .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
                .map_err(plot_err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Stacked win / tie / lose bars (percent), one row per comparison.
fn wtl_bars(rows: &[(String, &WinTieLose)]) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let h = 70 + 44 * rows.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (560, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Win / tie / lose (paper Fig. 7), pooled over seeds",
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..100.0, 0.0..rows.len() as f64)
            .map_err(plot_err)?;
        let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("% of users")
            .y_labels(rows.len() * 2 + 1)
            .y_label_formatter(&|y| {
                let i = y.floor() as usize;
                if (y - i as f64 - 0.5).abs() < 0.26 {
                    names.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(plot_err)?;
        for (i, (_, s)) in rows.iter().enumerate() {
            let y = i as f64;
            let parts = [
                (100.0 * s.win_rate, COLOURS[2], "win"),
                (100.0 * s.tie_rate, RGBColor(180, 180, 180), "tie"),
                (100.0 * s.lose_rate, COLOURS[1], "lose"),
            ];
            let mut x = 0.0;
            for (w, c, name) in parts {
                let rect = Rectangle::new([(x, y + 0.2), (x + w, y + 0.8)], c.filled());
                let series = chart.draw_series(std::iter::once(rect)).map_err(plot_err)?;
                if i == 0 {
                    series.label(name).legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled())
                    });
                }
                x += w;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Mean over seeds (and the mean ± the batch std as a band) of a metric per iteration.
fn curve(
    runs: &[Run],
    name: &str,
    f: impl Fn(&Metrics) -> f32,
    std: Option<&dyn Fn(&Metrics) -> f32>,
) -> Series {
    let mine: Vec<&Run> = runs.iter().filter(|r| r.name == name).collect();
    let n = mine.iter().map(|r| r.metrics.len()).min().unwrap_or(0);
    let mean = |g: &dyn Fn(&Metrics) -> f32, i: usize| {
        mine.iter()
            .map(|r| f64::from(g(&r.metrics[i])))
            .sum::<f64>()
            / mine.len().max(1) as f64
    };
    let points = (0..n).map(|i| ((i + 1) as f64, mean(&f, i))).collect();
    let band = std.map(|s| {
        (0..n)
            .map(|i| {
                let (m, d) = (mean(&f, i), mean(s, i));
                ((i + 1) as f64, m - d, m + d)
            })
            .collect()
    });
    (
        format!("{} ({} seeds)", name.to_uppercase(), mine.len()),
        points,
        band,
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub fn html(r: &Report, sft: &[OutputRecord]) -> anyhow::Result<String> {
    let mut h = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src 'self'\">\
<title>TPPO Lab pipeline report</title><style>\
body{font-family:system-ui,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\
.ok{color:#1a7f37;font-weight:600}.no{color:#b42318;font-weight:600}.grid{display:flex;flex-wrap:wrap;gap:12px}\
code{background:#f3f3f3;padding:1px 4px}</style></head><body>",
    );
    h.push_str(&format!(
        "<h1>TPPO Lab: pipeline report</h1><p>Preset <code>{}</code>: {} seeds, {} PPO iterations of {} rollouts per run, {} held-out users (greedy decoding). \
Every number below was measured in this run; <code>report.json</code> holds them all.</p>",
        esc(&r.preset),
        r.seeds,
        r.sizes.iters,
        r.sizes.batch_size,
        r.eval_users
    ));
    h.push_str("<h2>The paper's findings</h2><table><tr><th>finding</th><th>paper</th><th>measured</th><th></th></tr>");
    for f in &r.findings {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(&f.finding),
            esc(&f.paper),
            esc(&f.measured),
            if f.reproduced { "ok" } else { "no" },
            if f.reproduced {
                "reproduced"
            } else {
                "not reproduced"
            }
        ));
    }
    h.push_str("</table><h2>Relevance rate (Table 2 analog)</h2><table><tr><th>model</th><th>per seed</th><th>mean</th><th>pooled [95 % Wilson]</th></tr>");
    for m in &r.table {
        let seeds = m
            .per_seed
            .iter()
            .map(|(s, x)| format!("seed {s}: {:.3} [{:.3}, {:.3}]", x.rate, x.ci.lo, x.ci.hi))
            .collect::<Vec<_>>()
            .join("<br>");
        h.push_str(&format!(
            "<tr><td>{}</td><td>{seeds}</td><td>{:.3}</td><td>{:.3} [{:.3}, {:.3}] (n = {})</td></tr>",
            esc(&m.model),
            m.mean_rate,
            m.pooled.rate,
            m.pooled.ci.lo,
            m.pooled.ci.hi,
            m.pooled.n
        ));
    }
    h.push_str("</table><h2>Pairwise (Fig. 7)</h2><table><tr><th>pair</th><th>win %</th><th>tie %</th><th>lose %</th><th>net points [95 % bootstrap]</th><th>tie-adjusted win rate</th><th>position consistency</th><th>sign test p</th></tr>");
    for p in &r.pairs {
        for (label, s) in p
            .per_seed
            .iter()
            .map(|(seed, s)| (format!("{} seed {seed}", p.pair), s))
            .chain(std::iter::once((format!("{} pooled", p.pair), &p.pooled)))
        {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{:.1} [{:.1}, {:.1}]</td><td>{:.1}</td><td>{:.1} [{:.1}, {:.1}]</td><td>{:+.1} [{:+.1}, {:+.1}]</td><td>{:.3}</td><td>{:.3}</td><td>{:.2e}</td></tr>",
                esc(&label),
                100.0 * s.win_rate,
                100.0 * s.win_ci.lo,
                100.0 * s.win_ci.hi,
                100.0 * s.tie_rate,
                100.0 * s.lose_rate,
                100.0 * s.lose_ci.lo,
                100.0 * s.lose_ci.hi,
                100.0 * s.net,
                100.0 * s.net_ci.lo,
                100.0 * s.net_ci.hi,
                s.tie_adjusted_win_rate,
                s.position_consistency,
                s.sign_test_p
            ));
        }
    }
    h.push_str("</table>");
    let bars: Vec<(String, &WinTieLose)> = r
        .pairs
        .iter()
        .map(|p| (p.pair.clone(), &p.pooled))
        .collect();
    h.push_str(&wtl_bars(&bars)?);
    h.push_str("<h2>Training curves (Fig. 5, 12)</h2><div class=\"grid\">");
    let sd: &dyn Fn(&Metrics) -> f32 = &|m| m.scores_std;
    h.push_str(&lines(
        "PPO score (sentence RM), mean ± std",
        "iteration",
        "objective/scores",
        &[curve(&r.runs, "ppo", |m| m.scores, Some(sd))],
    )?);
    h.push_str(&lines(
        "TPPO score (Σ token rewards), mean ± std",
        "iteration",
        "objective/scores",
        &[curve(&r.runs, "tppo", |m| m.scores, Some(sd))],
    )?);
    let rel = |m: &Metrics| m.judge_relevance.unwrap_or(0.0);
    h.push_str(&lines(
        "Judge relevance of the rollouts",
        "iteration",
        "relevance rate",
        &[
            curve(&r.runs, "ppo", rel, None),
            curve(&r.runs, "tppo", rel, None),
        ],
    )?);
    h.push_str(&lines(
        "KL to the SFT policy",
        "iteration",
        "objective/kl",
        &[
            curve(&r.runs, "ppo", |m| m.kl, None),
            curve(&r.runs, "tppo", |m| m.kl, None),
        ],
    )?);
    h.push_str(&lines(
        "Response length, lwp α = 0.5 vs 1.0 (Fig. 12)",
        "iteration",
        "tokens",
        &[
            curve(&r.runs, "tppo-alpha0.5", |m| m.response_length, None),
            curve(&r.runs, "tppo", |m| m.response_length, None),
            curve(&r.runs, "ppo", |m| m.response_length, None),
        ],
    )?);
    h.push_str("</div>");
    if !r.rm_curves.is_empty() {
        h.push_str("<h2>Reward models (Fig. 6), from their training metrics</h2>");
        let mut series: Vec<Series> = Vec::new();
        for c in &r.rm_curves {
            let resp: Vec<(f64, f64)> = c
                .points
                .iter()
                .filter_map(|p| p.2.map(|a| (p.0 as f64, a)))
                .collect();
            series.push((format!("{} RM: response AUC", c.level), resp, None));
            if c.level == "token" {
                let tok: Vec<(f64, f64)> = c
                    .points
                    .iter()
                    .filter_map(|p| p.1.map(|a| (p.0 as f64, a)))
                    .collect();
                series.push(("token RM: token AUC".into(), tok, None));
            }
        }
        h.push_str(&lines(
            "Reward-model AUC on the eval labels",
            "step",
            "AUC",
            &series,
        )?);
    }
    h.push_str("<h2>Degeneration check: how varied are the outputs?</h2><p>The judge rewards words it can link to the history; a policy can raise its rate by repeating a few such words. Read the relevance rates with this table.</p><table><tr><th>model</th><th>distinct responses</th><th>mean tokens</th><th>most common responses (count)</th></tr>");
    for d in &r.diversity {
        let top = d
            .top
            .iter()
            .map(|(t, c)| format!("{} ({c})", esc(t)))
            .collect::<Vec<_>>()
            .join("<br>");
        h.push_str(&format!(
            "<tr><td>{}</td><td>{:.1} %</td><td>{:.1}</td><td>{top}</td></tr>",
            esc(&d.model),
            100.0 * d.distinct_fraction,
            d.mean_tokens
        ));
    }
    h.push_str("</table><h2>Times</h2><table><tr><th>stage</th><th>seconds</th></tr>");
    for (k, v) in &r.timings {
        h.push_str(&format!("<tr><td>{}</td><td>{v:.1}</td></tr>", esc(k)));
    }
    h.push_str("</table><h2>First users: SFT outputs</h2><table><tr><th>user</th><th>response</th><th>judge</th></tr>");
    for o in sft.iter().take(8) {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&o.user_id),
            esc(&o.response),
            if o.judgement.sentence == 2 {
                "relevant"
            } else {
                "irrelevant"
            }
        ));
    }
    h.push_str("</table><p>Per-user outputs and comparisons: the <code>eval-*.jsonl</code> and <code>compare-*.jsonl</code> files beside this report (open them in the browser lab).</p></body></html>");
    Ok(h)
}
