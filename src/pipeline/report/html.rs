//! `report.html`: the report as one self-contained page (inline SVG plots, no
//! script, a Content-Security-Policy that allows nothing else). Templated with
//! maud, which escapes every interpolated string.

use super::Report;
use super::page::head;
use super::plots::{Series, curve, lines, wtl_bars};
use crate::eval::OutputRecord;
use crate::eval::pairwise::WinTieLose;
use crate::eval::stats::SeedEstimate;
use crate::rl::Metrics;
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\
.ok{color:#1a7f37;font-weight:600}.no{color:#b42318;font-weight:600}.grid{display:flex;flex-wrap:wrap;gap:12px}small{color:#555}\
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

/// The reward–KL frontier (Gao et al. 2023): each run's validation points, relevance
/// against KL to π_ref, in iteration order; the budget as a line.
fn frontier_plot(r: &Report) -> crate::Result<Option<String>> {
    let series: Vec<Series> = r
        .runs
        .iter()
        .filter(|run| !run.frontier.is_empty() && !run.name.contains("alpha"))
        .map(|run| {
            let pts = run
                .frontier
                .iter()
                .map(|p| (f64::from(p.kl), p.relevance))
                .collect();
            (
                format!("{} seed {}", run.name.to_uppercase(), run.seed),
                pts,
                None,
            )
        })
        .collect();
    if series.is_empty() {
        return Ok(None);
    }
    lines(
        &format!(
            "Reward–KL frontier: validation relevance against KL (budget {} nats)",
            r.kl_budget
        ),
        "KL to the SFT policy (nats per response)",
        "judge relevance, validation users",
        &series,
    )
    .map(Some)
}

/// The frontier at the preset's KL levels (issue 31): one metric against √KL, each
/// mode's mean over its seeds with the seeds' range as a band.
fn levels_plot(
    r: &Report,
    what: &str,
    value: fn(&crate::pipeline::frontier::Reading) -> Option<&crate::pipeline::frontier::Spread>,
) -> crate::Result<Option<String>> {
    let series: Vec<Series> = r
        .frontier
        .modes
        .iter()
        .map(|m| {
            let read: Vec<_> = m
                .levels
                .iter()
                .filter_map(|l| value(l).map(|v| (f64::from(l.kl).sqrt(), v)))
                .collect();
            (
                format!("{} ({} seeds)", m.model.to_uppercase(), m.seeds),
                read.iter().map(|(x, v)| (*x, v.mean)).collect(),
                Some(read.iter().map(|(x, v)| (*x, v.min, v.max)).collect()),
            )
        })
        .filter(|s: &Series| !s.1.is_empty())
        .collect();
    if series.is_empty() {
        return Ok(None);
    }
    lines(
        &format!("{what} against √KL at the KL levels (mean, band: the seeds' range)"),
        "√KL to the SFT policy (√nats per response)",
        &format!("{what}, validation users"),
        &series,
    )
    .map(Some)
}

fn estimate(e: &SeedEstimate) -> Markup {
    let t = e.t_interval.unwrap_or(e.bootstrap);
    html! {
        (format!("{:.3}", e.mean))
        br;
        small { (format!("t [{:.3}, {:.3}] · boot [{:.3}, {:.3}]", t.lo, t.hi, e.bootstrap.lo, e.bootstrap.hi)) }
    }
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
    let frontier = frontier_plot(r)?;
    let judge_levels = levels_plot(r, "judge relevance", |l| l.judge.as_ref())?;
    let gold_levels = levels_plot(r, "gold", |l| l.gold.as_ref())?;
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            (head("TPPO Lab pipeline report", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'", STYLE))
            body {
                h1 { "TPPO Lab: pipeline report" }
                p {
                    "Preset " code { (r.preset) } ": " (r.seeds) " seeds per mode, " (r.sizes.iters)
                    " PPO iterations of " (r.sizes.batch_size) " rollouts per run, " (r.sizes.val_users)
                    " validation users, " (r.eval_users)
                    " eval users (decoding: " (r.decoding) "). Every number below was measured in this run; "
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
                @if !r.flags.is_empty() {
                    h2 { "Flags" }
                    ul { @for f in &r.flags { li.no { (f) } } }
                }
                @if let Some(v) = &r.references {
                    h2 { "The instrument: judge and gold on reference responses" }
                    p {
                        "The frozen judge and the gold score (the generator's truth, which no training step "
                        "sees) on responses whose worth a person can tell, per query, on the same eval users: "
                        "the floor and the ceiling the models stand between. Judge targets from issue 29."
                    }
                    table {
                        tr { th { "reference" } th { "queries" } th { "judge relevant" } th { "target" } th { "gold" } }
                        @for row in &v.rows {
                            tr {
                                td { (row.reference) }
                                td { (row.queries) }
                                td { (format!("{:.1} %", 100.0 * row.judge)) @if row.met == Some(false) { " " span.no { "(missed)" } } }
                                td { (row.target.clone().unwrap_or_default()) }
                                td { (row.gold.map_or("–".into(), |g| format!("{:.1} %", 100.0 * g))) }
                            }
                        }
                    }
                    p {
                        "AUC of the judge's share of relevant words (own shown targets vs another user's): "
                        (v.auc.map_or("–".into(), |a| format!("{a:.3}")))
                        "; word-level precision " (format!("{:.3}", v.word_precision))
                        ", recall " (format!("{:.3}", v.word_recall)) " against the generator's truth."
                    }
                }
                h2 { "Table 2 analog: the compared checkpoints on the eval users" }
                p {
                    "PPO and TPPO: each run's best checkpoint on the validation users within the KL budget of "
                    (r.kl_budget) " nats. Seeds are the unit: the value is the mean over seeds, then a "
                    "t-interval over the seed means and a two-level bootstrap (seeds, then users)."
                }
                table {
                    tr {
                        th { "model" } th { "seeds" } th { "judge relevance" } th { "judge, per query" } th { "gold (per query)" } th { "hit@3" } th { "word F1" }
                        th { "stem F1" } th { "hidden-interest precision" } th { "distinct-query rate" } th { "KL" }
                        th { "κ judge–reference" } th { "κ judge–interest" } th { "κ judge–gold" }
                    }
                    @for m in &r.table {
                        tr {
                            td { (m.model) @if m.degenerate { " " span.no { "(degenerate)" } } }
                            td { (m.seeds) }
                            td { (estimate(&m.relevance)) }
                            td { (estimate(&m.judge_per_query)) }
                            td { @if let Some(g) = &m.gold { (estimate(g)) } @else { "–" } }
                            td { (estimate(&m.hit_at_3)) }
                            td { (estimate(&m.word_f1)) }
                            td { (estimate(&m.stem_f1)) }
                            td { @if let Some(h) = &m.hidden_interest { (estimate(h)) } @else { "–" } }
                            td { (estimate(&m.distinct_query_rate)) }
                            td { @if let Some(k) = &m.kl { (estimate(k)) } @else { "–" } }
                            td { (m.kappa_judge_reference.map_or("–".into(), |k| format!("{k:.3}"))) }
                            td { (m.kappa_judge_interest.map_or("–".into(), |k| format!("{k:.3}"))) }
                            td { (m.kappa_judge_gold.map_or("–".into(), |k| format!("{k:.3}"))) }
                        }
                    }
                }
                h3 { "Per seed (relevance, 95 % Wilson)" }
                table {
                    tr { th { "model" } th { "per seed" } }
                    @for m in &r.table {
                        tr {
                            td { (m.model) }
                            td {
                                @for (i, (s, x)) in m.per_seed.iter().enumerate() {
                                    @if i > 0 { br; }
                                    (format!("seed {s}: {:.3} [{:.3}, {:.3}]", x.rate, x.ci.lo, x.ci.hi))
                                }
                            }
                        }
                    }
                }
                @if let Some(f) = frontier {
                    h2 { "The reward–KL frontier" }
                    (svg(f))
                }
                @if let Some(f) = judge_levels { (svg(f)) }
                @if let Some(f) = gold_levels { (svg(f)) }
                @if !r.frontier.matched.is_empty() {
                    h3 { "At matched KL (seed k against seed k; validation users)" }
                    table {
                        tr { th { "pair" } th { "KL (nats)" } th { "judge difference [95 % t over seeds]" } th { "gold difference" } th { "verdict" } }
                        @for m in &r.frontier.matched {
                            tr {
                                td { (m.pair) } td { (m.kl) }
                                td { @if let Some(j) = &m.judge { (estimate(j)) } @else { "not reached" } }
                                td { @if let Some(g) = &m.gold { (estimate(g)) } @else { "—" } }
                                td { (m.verdict) }
                            }
                        }
                    }
                    @if !r.frontier.verdicts.is_empty() {
                        h3 { "The verdicts: at matched KL on the eval users (each user interpolated between checkpoints; users × seeds resampled)" }
                        table {
                            tr { th { "pair" } th { "KL (nats)" } th { "judge A / B" } th { "judge A − B [95 %], MDE" } th { "gold A − B [95 %]" } th { "verdict" } }
                            @for v in &r.frontier.verdicts {
                                tr {
                                    td { (v.pair) } td { (v.kl) }
                                    td { @if v.judge.is_some() { (format!("{:.3} / {:.3}", v.a, v.b)) } @else { "—" } }
                                    td { @if let Some(j) = &v.judge { (format!("{:+.3} [{:+.3}, {:+.3}], {:.3}", j.mean, j.interval.lo, j.interval.hi, j.mde)) } @else { "not reached" } }
                                    td { @if let Some(g) = &v.gold { (format!("{:+.3} [{:+.3}, {:+.3}]", g.mean, g.interval.lo, g.interval.hi)) } @else { "—" } }
                                    td { (v.verdict) }
                                }
                            }
                        }
                    }
                    @for m in &r.frontier.modes {
                        @for l in m.levels.iter().filter(|l| l.over_optimised) {
                            p { (format!("{} over-optimised at KL {}: its RM score rose from the level below while gold fell.", m.model.to_uppercase(), l.kl)) }
                        }
                    }
                }
                @if let Some(g) = &r.controls.positive {
                    h3 { "Positive control: the judge as PPO's reward" }
                    p {
                        (format!("Judge relevance against the SFT policy on the eval users: {:+.3} [{:+.3}, {:+.3}] (users × seeds resampled; MDE {:.3}); kept checkpoints' KL {:?}. Bar: +{} at KL ≤ {}: ",
                            g.mean, g.interval.lo, g.interval.hi, g.mde, r.controls.positive_kl, super::CONTROL_BAR, super::CONTROL_KL))
                        @if r.controls.positive_passes == Some(true) { span.ok { "passed" } } @else { span.no { "not passed" } }
                    }
                }
                @if !r.tuning.is_empty() {
                    h2 { "Tuning (the same grid and budget for both modes; seed 1; validation users)" }
                    table {
                        tr { th { "mode" } th { "learning rate" } th { "KL target" } th { "best validation relevance within the budget" } th { "its KL" } th { "its iteration" } }
                        @for t in &r.tuning {
                            @for c in &t.cells {
                                tr {
                                    td { (t.mode) @if c.lr == t.lr && c.kl_target == t.kl_target { " " span.ok { "chosen" } } }
                                    td { (format!("{:e}", c.lr)) }
                                    td { (c.kl_target) }
                                    @if let Some(b) = &c.best {
                                        td { (format!("{:.3}", b.relevance)) } td { (format!("{:.2}", b.kl)) } td { (b.iter) }
                                    } @else { td { "over the budget" } td {} td {} }
                                }
                            }
                        }
                    }
                    p {
                        "A cell replaces the default (learning rate and KL target of the library) only if its validation relevance beats the default cell's by more than 2 standard errors. "
                        @for t in &r.tuning {
                            @if let (Some(a), Some(se)) = (t.advantage, t.se) {
                                (format!("{}: best cell's advantage {:+.3} (SE {:.3}, 2 SE {:.3}). ", t.mode, a, se, 2.0 * se))
                            }
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
                        (wtl_row(&format!("{} all seeds' users", p.pair), &p.pooled))
                    }
                }
                table {
                    tr {
                        th { "pair" } th { "net (W − L)/N, seeds as the unit" } th { "relevance difference A − B" }
                        th { "difference, users × seeds resampled together (MDE; verdict)" }
                    }
                    @for p in &r.pairs {
                        tr {
                            td { (p.pair) } td { (estimate(&p.net)) } td { (estimate(&p.relevance_difference)) }
                            td { (super::show_crossed(&p.relevance_crossed)) }
                        }
                    }
                }
                (svg(bars))
                h2 { "Training curves (Fig. 5, 12)" }
                (curves)
                @if let Some(rm) = rm {
                    h2 { "Reward models (Fig. 6), from their training metrics" }
                    (svg(rm))
                }
                table {
                    tr { th { "reward model" } th { "response AUC" } th { "balanced accuracy" } th { "called relevant" } th { "token AUC" } th { "margin on repeated queries" } }
                    @for c in &r.rm_curves {
                        tr {
                            td { (c.level) }
                            @for x in [c.final_response_auc, c.final_balanced_accuracy, c.final_predicted_relevant, c.final_token_auc, c.final_repeat_margin] {
                                td { (x.map_or("–".into(), |v| format!("{v:.3}"))) }
                            }
                        }
                    }
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
