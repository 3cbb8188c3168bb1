//! A comparison as one self-contained static HTML page (issue 17): per pair its
//! win / tie / lose with intervals, its slices ([`crate::eval::slices`]) with their
//! own W/T/L and κ, and example users with both outputs side by side (token
//! heatmaps in the lab's colours, the judge per query, the actual next queries).
//! No script; the Content-Security-Policy allows nothing but inline styles, so it
//! reads offline, in any browser, exactly as written. Built by the library for the
//! command line (`tppo compare --html`) and the page (Import / export view).
//! Templated with maud, which escapes every interpolated string.

use super::page::head;
use crate::eval::CompareRecord;
use crate::eval::pairwise::{Outcome, WinTieLose};
use crate::eval::slices::{self, SliceSpec};
use crate::reward::lwp::colour;
use maud::{DOCTYPE, Markup, html};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}small{color:#555}\
.bar{display:flex;width:16em;height:1.1em;border:1px solid #888}.bar span{display:block;height:100%}\
.win{background:#1a7f37}.tie{background:#6e7781}.lose{background:#cf222e}\
.card{border-left:4px solid #6e7781;padding:.3em .7em;margin:.8em 0}.card.w{border-color:#1a7f37}.card.l{border-color:#cf222e}\
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1em}.tok{font-family:ui-monospace,monospace;font-size:.85em;white-space:pre;padding:0 1px}\
.q2{color:#1a7f37}.q1{color:#b42318}ul{margin:.2em 0}";

/// One pair of a comparison, as the page and `tppo compare` hold it.
pub struct PairInput<'a> {
    pub pair: &'a str,
    pub records: &'a [CompareRecord],
    pub summary: &'a WinTieLose,
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

fn net(s: &WinTieLose) -> String {
    format!(
        "{:+.1} [{:+.1}, {:+.1}]",
        100.0 * s.net,
        100.0 * s.net_ci.lo,
        100.0 * s.net_ci.hi
    )
}

fn kappa(k: Option<f64>) -> String {
    k.map_or("–".into(), |v| format!("{v:.3}"))
}

/// Three segments adding up to 100 % (inline widths: allowed by the page's CSP).
fn bar(s: &WinTieLose) -> Markup {
    html! {
        span.bar role="img" aria-label=(format!("win {} %, tie {} %, lose {} %", pct(s.win_rate), pct(s.tie_rate), pct(s.lose_rate))) {
            span.win style=(format!("width:{:.2}%", 100.0 * s.win_rate)) {}
            span.tie style=(format!("width:{:.2}%", 100.0 * s.tie_rate)) {}
            span.lose style=(format!("width:{:.2}%", 100.0 * s.lose_rate)) {}
        }
    }
}

fn side(label: &str, r: &crate::eval::OutputRecord) -> Markup {
    html! {
        div {
            b { (label) " · " (r.model) }
            @if let Some(run) = &r.run { div { small { "run: " (run.describe()) } } }
            div {
                @if r.tokens.is_empty() { (r.response) }
                @for t in &r.tokens {
                    span.tok style=(format!("background:{}", colour(t.reward))) title=(format!("r = {:.3}", t.reward)) { (t.text.replace('Ġ', " ")) }
                }
            }
            ul {
                @for q in &r.judgement.queries {
                    li class=(if q.relevant { "q2" } else { "q1" }) {
                        (q.text) " — "
                        @if let Some(k) = q.repeats { "repeats query " (k) } @else { (format!("{:.0} % of words relevant", 100.0 * q.relevant_fraction)) }
                    }
                }
            }
        }
    }
}

/// The page. `spec` slices every pair; `examples` users per pair are shown (the
/// disagreements first, then ties, in the records' order).
pub fn render(
    title: &str,
    pairs: &[PairInput],
    spec: &SliceSpec,
    examples: usize,
    resamples: usize,
) -> crate::Result<String> {
    let mut sliced = Vec::new();
    for p in pairs {
        sliced.push(slices::slices(p.records, spec, resamples, 1)?);
    }
    let by = match (&spec.regex, spec.by) {
        (Some(re), _) if !re.trim().is_empty() => {
            format!("the regular expression /{re}/i over the {:?}", spec.over).to_lowercase()
        }
        (_, b) => format!("{b:?}").to_lowercase(),
    };
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, "default-src 'none'; style-src 'unsafe-inline'", STYLE))
            body {
                h1 { (title) }
                p { small { "Exported by TPPO Lab. Win / tie / lose: the judge in both orders, a win only when both agree; intervals: paired bootstrap over users ("
                    (resamples) " resamples); κ: the judge's query verdicts against the reference (a content stem shared with a target) and against the hidden interests." } }
                h2 { "Pairs" }
                table {
                    tr { th { "pair" } th { "n" } th { "win %" } th { "tie %" } th { "lose %" } th { "" } th { "net points [95 % CI]" } th { "sign test p" } }
                    @for p in pairs {
                        tr { td { (p.pair) } td { (p.summary.n) } td { (pct(p.summary.win_rate)) } td { (pct(p.summary.tie_rate)) } td { (pct(p.summary.lose_rate)) }
                             td { (bar(p.summary)) } td { (net(p.summary)) } td { (format!("{:.2e}", p.summary.sign_test_p)) } }
                    }
                }
                h2 { "Slices, by " (by) }
                table.slices {
                    tr { th { "pair · slice" } th { "n" } th { "" } th { "net points [95 % CI]" } th { "κ judge–reference" } th { "κ judge–interest" } }
                    @for (p, parts) in pairs.iter().zip(&sliced) {
                        @for s in parts {
                            tr { td { (p.pair) " · " (s.name) } td { (s.summary.n) } td { (bar(&s.summary)) } td { (net(&s.summary)) }
                                 td { (kappa(s.kappa_judge_reference)) } td { (kappa(s.kappa_judge_interest)) } }
                        }
                    }
                }
                h2 { "Examples" }
                @for p in pairs {
                    h3 { (p.pair) }
                    @for r in p.records.iter().filter(|r| r.outcome != Outcome::Tie).chain(p.records.iter().filter(|r| r.outcome == Outcome::Tie)).take(examples) {
                        div class=(match r.outcome { Outcome::Win => "card w", Outcome::Lose => "card l", Outcome::Tie => "card" }) {
                            b { (r.user_id) " · A " (format!("{:?}", r.outcome).to_lowercase()) }
                            div { small { "history: " (r.history.iter().rev().take(4).rev().map(|e| e.text.as_str()).collect::<Vec<_>>().join(" · ")) } }
                            div { small { "actual next queries: " (r.a.targets.join(" · ")) } }
                            div.sides { (side("A", &r.a)) (side("B", &r.b)) }
                        }
                    }
                }
            }
        }
    };
    Ok(page.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Event, EventKind};
    use crate::eval::pairwise::{Verdict, summarise};
    use crate::eval::slices::{RegexOver, SliceBy};
    use crate::eval::{OutputRecord, TokenReward};

    fn out(model: &str, response: &str) -> OutputRecord {
        OutputRecord {
            user_id: "<u>".into(),
            model: model.into(),
            history: vec![],
            response: response.into(),
            judgement: crate::labeler::sentence_verdict(response, Vec::new(), 0.5),
            tokens: vec![TokenReward {
                text: "<script>alert(1)</script>".into(),
                margin: 0.5,
                reward: 0.5,
            }],
            targets: vec!["cats".into()],
            metrics: None,
            meta: None,
            run: None,
        }
    }

    #[test]
    fn the_page_escapes_text_carries_no_script_and_shows_every_pair_and_slice() {
        let records: Vec<CompareRecord> = [Outcome::Win, Outcome::Tie, Outcome::Lose, Outcome::Win]
            .iter()
            .enumerate()
            .map(|(i, &o)| CompareRecord {
                user_id: format!("u{i}"),
                history: vec![Event {
                    kind: EventKind::Search,
                    text: if i % 2 == 0 {
                        "flights".into()
                    } else {
                        "pasta".into()
                    },
                    time: None,
                }],
                a: out("tppo", "<img src=x onerror=alert(1)>"),
                b: out("ppo", "b"),
                ab: Verdict::Tie,
                ba: Verdict::Tie,
                outcome: o,
                consistent: true,
            })
            .collect();
        let outcomes: Vec<_> = records.iter().map(|r| (r.outcome, r.consistent)).collect();
        let summary = summarise(&outcomes, 100, 1);
        let spec = SliceSpec {
            by: SliceBy::All,
            regex: Some("flight".into()),
            over: RegexOver::History,
        };
        let page = render(
            "t",
            &[PairInput {
                pair: "tppo-vs-ppo",
                records: &records,
                summary: &summary,
            }],
            &spec,
            3,
            100,
        )
        .unwrap();
        assert!(
            !page.contains("<script") && !page.contains("<img"),
            "unescaped text"
        );
        assert!(page.contains("&lt;script&gt;") && page.contains("&lt;img"));
        assert!(page.contains("default-src 'none'; style-src 'unsafe-inline'"));
        // The pair's W/T/L (2 wins, 1 tie, 1 loss of 4) and both slices (2 users each).
        assert!(
            page.contains("<td>50.0</td><td>25.0</td><td>25.0</td>"),
            "{page}"
        );
        assert!(
            page.contains("tppo-vs-ppo · matches") && page.contains("tppo-vs-ppo · does not match")
        );
        // 3 examples, disagreements first: u0, u2, u3 (the tie u1 left out).
        assert_eq!(page.matches("class=\"card").count(), 3);
        assert!(!page.contains("u1 · A tie"));
        // Segment widths add up to 100 %.
        assert!(page.contains("width:50.00%") && page.contains("width:25.00%"));
    }
}
