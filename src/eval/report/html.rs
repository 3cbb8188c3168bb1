//! `report.html`: the report as one self-contained page (inline SVG plots, no
//! script, a Content-Security-Policy that allows nothing else). Templated with
//! maud, which escapes every interpolated string.

use super::Report;
use super::plots::{Series, curve, lines, wtl_bars};
use crate::eval::OutputRecord;
use crate::eval::pairwise::WinTieLose;
use crate::rl::Metrics;
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\
.ok{color:#1a7f37;font-weight:600}.no{color:#b42318;font-weight:600}.grid{display:flex;flex-wrap:wrap;gap:12px}\
code{background:#f3f3f3;padding:1px 4px}";

fn svg(s: String) -> Markup {
    PreEscaped(s)
}

fn wtl_row(label: &str, s: &WinTieLose) -> Markup {
    html! {
        tr {
            td { (label) }
            td { (format!("{:.1} [{:.1}, {:.1}]", 100.0 * s.win_rate, 100.0 * s.win_ci.lo, 100.0 * s.win_ci.hi)) }
            td { (format!("{:.1}", 100.0 * s.tie_rate)) }
            td { (format!("{:.1} [{:.1}, {:.1}]", 100.0 * s.lose_rate, 100.0 * s.lose_ci.lo, 100.0 * s.lose_ci.hi)) }
            td { (format!("{:+.1} [{:+.1}, {:+.1}]", 100.0 * s.net, 100.0 * s.net_ci.lo, 100.0 * s.net_ci.hi)) }
            td { (format!("{:.3}", s.tie_adjusted_win_rate)) }
            td { (format!("{:.3}", s.position_consistency)) }
            td { (format!("{:.2e}", s.sign_test_p)) }
        }
    }
}

fn curves(r: &Report) -> crate::Result<Markup> {
    let sd: &dyn Fn(&Metrics) -> f32 = &|m| m.scores_std;
    let rel = |m: &Metrics| m.judge_relevance.unwrap_or(0.0);
    let plots = [
        lines(
            "PPO score (sentence RM), mean ± std",
            "iteration",
            "objective/scores",
            &[curve(&r.runs, "ppo", |m| m.scores, Some(sd))],
        )?,
        lines(
            "TPPO score (Σ token rewards), mean ± std",
            "iteration",
            "objective/scores",
            &[curve(&r.runs, "tppo", |m| m.scores, Some(sd))],
        )?,
        lines(
            "Judge relevance of the rollouts",
            "iteration",
            "relevance rate",
            &[
                curve(&r.runs, "ppo", rel, None),
                curve(&r.runs, "tppo", rel, None),
            ],
        )?,
        lines(
            "KL to the SFT policy",
            "iteration",
            "objective/kl",
            &[
                curve(&r.runs, "ppo", |m| m.kl, None),
                curve(&r.runs, "tppo", |m| m.kl, None),
            ],
        )?,
        lines(
            "Response length, lwp α = 0.5 vs 1.0 (Fig. 12)",
            "iteration",
            "tokens",
            &[
                curve(&r.runs, "tppo-alpha0.5", |m| m.response_length, None),
                curve(&r.runs, "tppo", |m| m.response_length, None),
                curve(&r.runs, "ppo", |m| m.response_length, None),
            ],
        )?,
    ];
    Ok(html! { div.grid { @for p in plots { (svg(p)) } } })
}

fn rm_plot(r: &Report) -> crate::Result<Option<String>> {
    if r.rm_curves.is_empty() {
        return Ok(None);
    }
    let mut series: Vec<Series> = Vec::new();
    for c in &r.rm_curves {
        let resp = c
            .points
            .iter()
            .filter_map(|p| p.2.map(|a| (p.0 as f64, a)))
            .collect();
        series.push((format!("{} RM: response AUC", c.level), resp, None));
        if c.level == "token" {
            let tok = c
                .points
                .iter()
                .filter_map(|p| p.1.map(|a| (p.0 as f64, a)))
                .collect();
            series.push(("token RM: token AUC".into(), tok, None));
        }
    }
    lines(
        "Reward-model AUC on the eval labels",
        "step",
        "AUC",
        &series,
    )
    .map(Some)
}

/// The report as a page; `sft` gives the first users' SFT outputs for a look.
pub fn render(r: &Report, sft: &[OutputRecord]) -> crate::Result<String> {
    let bars: Vec<(String, &WinTieLose)> = r
        .pairs
        .iter()
        .map(|p| (p.pair.clone(), &p.pooled))
        .collect();
    let bars = wtl_bars(&bars)?;
    let curves = curves(r)?;
    let rm = rm_plot(r)?;
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'self'";
                title { "TPPO Lab pipeline report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "TPPO Lab: pipeline report" }
                p {
                    "Preset " code { (r.preset) } ": " (r.seeds) " seeds, " (r.sizes.iters)
                    " PPO iterations of " (r.sizes.batch_size) " rollouts per run, " (r.eval_users)
                    " held-out users (greedy decoding). Every number below was measured in this run; "
                    code { "report.json" } " holds them all."
                }
                h2 { "The paper's findings" }
                table {
                    tr { th { "finding" } th { "paper" } th { "measured" } th {} }
                    @for f in &r.findings {
                        tr {
                            td { (f.finding) } td { (f.paper) } td { (f.measured) }
                            @if f.reproduced { td.ok { "reproduced" } } @else { td.no { "not reproduced" } }
                        }
                    }
                }
                h2 { "Relevance rate (Table 2 analog)" }
                table {
                    tr { th { "model" } th { "per seed" } th { "mean" } th { "pooled [95 % Wilson]" } }
                    @for m in &r.table {
                        tr {
                            td { (m.model) }
                            td {
                                @for (i, (s, x)) in m.per_seed.iter().enumerate() {
                                    @if i > 0 { br; }
                                    (format!("seed {s}: {:.3} [{:.3}, {:.3}]", x.rate, x.ci.lo, x.ci.hi))
                                }
                            }
                            td { (format!("{:.3}", m.mean_rate)) }
                            td { (format!("{:.3} [{:.3}, {:.3}] (n = {})", m.pooled.rate, m.pooled.ci.lo, m.pooled.ci.hi, m.pooled.n)) }
                        }
                    }
                }
                h2 { "Pairwise (Fig. 7)" }
                table {
                    tr {
                        th { "pair" } th { "win %" } th { "tie %" } th { "lose %" } th { "net points [95 % bootstrap]" }
                        th { "tie-adjusted win rate" } th { "position consistency" } th { "sign test p" }
                    }
                    @for p in &r.pairs {
                        @for (seed, s) in &p.per_seed { (wtl_row(&format!("{} seed {seed}", p.pair), s)) }
                        (wtl_row(&format!("{} pooled", p.pair), &p.pooled))
                    }
                }
                (svg(bars))
                h2 { "Training curves (Fig. 5, 12)" }
                (curves)
                @if let Some(rm) = rm {
                    h2 { "Reward models (Fig. 6), from their training metrics" }
                    (svg(rm))
                }
                h2 { "Degeneration check: how varied are the outputs?" }
                p {
                    "The judge rewards words it can link to the history; a policy can raise its rate by repeating a few such words. "
                    "Read the relevance rates with this table."
                }
                table {
                    tr { th { "model" } th { "distinct responses" } th { "mean tokens" } th { "most common responses (count)" } }
                    @for d in &r.diversity {
                        tr {
                            td { (d.model) }
                            td { (format!("{:.1} %", 100.0 * d.distinct_fraction)) }
                            td { (format!("{:.1}", d.mean_tokens)) }
                            td {
                                @for (i, (t, c)) in d.top.iter().enumerate() {
                                    @if i > 0 { br; }
                                    (t) " (" (c) ")"
                                }
                            }
                        }
                    }
                }
                h2 { "Times" }
                table {
                    tr { th { "stage" } th { "seconds" } }
                    @for (k, v) in &r.timings { tr { td { (k) } td { (format!("{v:.1}")) } } }
                }
                h2 { "First users: SFT outputs" }
                table {
                    tr { th { "user" } th { "response" } th { "judge" } }
                    @for o in sft.iter().take(8) {
                        tr {
                            td { (o.user_id) } td { (o.response) }
                            td { @if o.judgement.sentence == 2 { "relevant" } @else { "irrelevant" } }
                        }
                    }
                }
                p {
                    "Per-user outputs and comparisons: the " code { "eval-*.jsonl" } " and " code { "compare-*.jsonl" }
                    " files beside this report (open them in the browser lab)."
                }
            }
        }
    };
    Ok(page.into_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_from_outputs_is_escaped() {
        let evil = "<script>alert(1)</script> & \"x\"";
        let page = maud::html! { td { (evil) } }.into_string();
        assert_eq!(
            page,
            "<td>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;</td>"
        );
    }
}
