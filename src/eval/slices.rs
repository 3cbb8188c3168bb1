//! Slices of a comparison (the reviewer's workbench, issue 17): the users of a pair
//! split by a property, each part with its own win / tie / lose, bootstrap
//! intervals, sign test, and the judge's agreement with the reference (Cohen's κ of
//! the judge's query verdicts against "shares a content stem with a target" and
//! against "is on a hidden interest", [`super::metrics::kappa`]).
//!
//! The properties (decided here, written down in docs/decisions.md):
//! - `drift`: "targets on the history's interests" when every target is on one of
//!   the user's hidden interests (`meta.target_on_interest`), "drifting targets"
//!   when at least one is not, "no meta" for real (AOL/TREC) users without it;
//! - `topic`: the user's first hidden interest (`meta.interests[0]`);
//! - `history`: the number of history events, in the buckets 0–8, 9–16, 17–32, 33+;
//! - `response`: words in A's response, in the buckets 0–3, 4–6, 7–10, 11+;
//! - a regular expression (Rust `regex` syntax, case-insensitive) over the history's
//!   texts or over both outputs: "matches" and "does not match".
//!
//! A user falls in exactly one part; parts are listed largest first (ties by name).

use super::CompareRecord;
use super::metrics::kappa;
use super::pairwise::{self, WinTieLose};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What to split the users by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SliceBy {
    All,
    Drift,
    Topic,
    History,
    Response,
}

/// Where a user-defined regular expression looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegexOver {
    #[default]
    History,
    Outputs,
}

/// A slicing: by a property, or (when `regex` is given) by a regular expression.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SliceSpec {
    pub by: SliceBy,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub over: RegexOver,
}

/// One part of a pair's users.
#[derive(Debug, Clone, Serialize)]
pub struct Slice {
    pub name: String,
    /// Indices of the pair's records in this part.
    pub members: Vec<usize>,
    pub summary: WinTieLose,
    /// κ of the judge against the reference and against the hidden interests, over the
    /// distinct queries of both outputs of the part's users.
    pub kappa_judge_reference: Option<f64>,
    pub kappa_judge_interest: Option<f64>,
}

fn bucket(x: usize, edges: &[usize]) -> String {
    let mut lo = 0;
    for &hi in edges {
        if x <= hi {
            return format!("{lo}–{hi}");
        }
        lo = hi + 1;
    }
    format!("{lo}+")
}

/// The `meta` of a record (A's; both outputs are of the same user).
fn meta(r: &CompareRecord) -> Option<&serde_json::Value> {
    r.a.meta.as_ref().or(r.b.meta.as_ref())
}

/// The name of the part `r` falls in.
fn part(r: &CompareRecord, by: SliceBy) -> String {
    match by {
        SliceBy::All => "all users".into(),
        SliceBy::Drift => match meta(r)
            .and_then(|m| m.get("target_on_interest"))
            .and_then(|v| v.as_array())
        {
            Some(on) if !on.is_empty() && on.iter().all(|b| b.as_bool() == Some(true)) => {
                "targets on the history's interests".into()
            }
            Some(on) if !on.is_empty() => "drifting targets".into(),
            _ => "no meta".into(),
        },
        SliceBy::Topic => meta(r)
            .and_then(|m| m.get("interests"))
            .and_then(|v| v.get(0))
            .and_then(|v| v.as_str())
            .map_or_else(|| "no meta".into(), str::to_string),
        SliceBy::History => format!("history {} events", bucket(r.history.len(), &[8, 16, 32])),
        SliceBy::Response => format!(
            "A's response {} words",
            bucket(r.a.response.split_whitespace().count(), &[3, 6, 10])
        ),
    }
}

/// Compile a user's pattern (case-insensitive), with a clear error.
pub fn pattern(re: &str) -> Result<regex::Regex> {
    regex::RegexBuilder::new(re)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| Error::Invalid(format!("slice pattern {re:?}: {e}")))
}

/// The κ pairs of a part: (judge, reference) and (judge, interest) per distinct query.
fn agreement(records: &[CompareRecord], members: &[usize]) -> (Option<f64>, Option<f64>) {
    let (mut reference, mut interest) = (Vec::new(), Vec::new());
    for &i in members {
        for out in [&records[i].a, &records[i].b] {
            for &(judge, refr, on) in out.metrics.iter().flat_map(|m| &m.per_query) {
                reference.push((judge, refr));
                if let Some(on) = on {
                    interest.push((judge, on));
                }
            }
        }
    }
    (kappa(&reference), kappa(&interest))
}

/// Split one pair's records by `spec`, each part summarised with `resamples`
/// bootstrap resamples (seeded).
pub fn slices(
    records: &[CompareRecord],
    spec: &SliceSpec,
    resamples: usize,
    seed: u64,
) -> Result<Vec<Slice>> {
    let mut parts: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    match &spec.regex {
        Some(re) if !re.trim().is_empty() => {
            let re = pattern(re)?;
            for (i, r) in records.iter().enumerate() {
                let hit = match spec.over {
                    RegexOver::History => r.history.iter().any(|e| re.is_match(&e.text)),
                    RegexOver::Outputs => re.is_match(&r.a.response) || re.is_match(&r.b.response),
                };
                let name = if hit { "matches" } else { "does not match" };
                parts.entry(name.into()).or_default().push(i);
            }
        }
        _ => {
            for (i, r) in records.iter().enumerate() {
                parts.entry(part(r, spec.by)).or_default().push(i);
            }
        }
    }
    let mut out: Vec<Slice> = parts
        .into_iter()
        .map(|(name, members)| {
            let outcomes: Vec<_> = members
                .iter()
                .map(|&i| (records[i].outcome, records[i].consistent))
                .collect();
            let (kr, ki) = agreement(records, &members);
            Slice {
                name,
                summary: pairwise::summarise(&outcomes, resamples, seed),
                members,
                kappa_judge_reference: kr,
                kappa_judge_interest: ki,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.name.cmp(&b.name))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Event, EventKind};
    use crate::eval::OutputRecord;
    use crate::eval::metrics::UserMetrics;
    use crate::eval::pairwise::{Outcome, Verdict};

    fn out(
        response: &str,
        meta: Option<serde_json::Value>,
        q: Vec<(bool, bool, Option<bool>)>,
    ) -> OutputRecord {
        OutputRecord {
            user_id: "u".into(),
            model: "m".into(),
            history: vec![],
            response: response.into(),
            judgement: crate::labeler::sentence_verdict("", Vec::new(), 0.5),
            tokens: vec![],
            targets: vec![],
            metrics: Some(UserMetrics {
                per_query: q,
                ..UserMetrics::default()
            }),
            meta,
            run: None,
        }
    }

    fn rec(
        history: &[&str],
        a: &str,
        on: &[bool],
        outcome: Outcome,
        q: Vec<(bool, bool, Option<bool>)>,
    ) -> CompareRecord {
        let meta = (!on.is_empty())
            .then(|| serde_json::json!({"interests": ["cats"], "target_on_interest": on}));
        CompareRecord {
            user_id: "u".into(),
            history: history
                .iter()
                .map(|t| Event {
                    kind: EventKind::Search,
                    text: t.to_string(),
                    time: None,
                })
                .collect(),
            a: out(a, meta, q),
            b: out("b", None, vec![]),
            ab: Verdict::Tie,
            ba: Verdict::Tie,
            outcome,
            consistent: true,
        }
    }

    #[test]
    fn drift_splits_by_the_targets_interests_and_each_part_counts_its_own_outcomes() {
        let recs = vec![
            rec(&["a"], "x", &[true, true], Outcome::Win, vec![]),
            rec(&["a"], "x", &[true, false], Outcome::Lose, vec![]),
            rec(&["a"], "x", &[true, true, true], Outcome::Win, vec![]),
            rec(&["a"], "x", &[], Outcome::Tie, vec![]),
        ];
        let spec = SliceSpec {
            by: SliceBy::Drift,
            regex: None,
            over: RegexOver::History,
        };
        let s = slices(&recs, &spec, 100, 1).unwrap();
        let names: Vec<&str> = s.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "targets on the history's interests",
                "drifting targets",
                "no meta"
            ]
        );
        assert_eq!(s[0].members, [0, 2]);
        assert_eq!((s[0].summary.wins, s[0].summary.losses), (2, 0));
        assert_eq!((s[1].summary.wins, s[1].summary.losses), (0, 1));
        assert_eq!(s[2].summary.ties, 1);
        // Every user in exactly one part.
        assert_eq!(s.iter().map(|p| p.members.len()).sum::<usize>(), recs.len());
    }

    #[test]
    fn a_regex_over_the_history_or_the_outputs_splits_matches_from_the_rest() {
        let recs = vec![
            rec(
                &["cheap Flights to rome"],
                "hotels rome",
                &[],
                Outcome::Win,
                vec![],
            ),
            rec(&["pizza"], "flights", &[], Outcome::Lose, vec![]),
            rec(&["pasta"], "pasta", &[], Outcome::Tie, vec![]),
        ];
        let hist = SliceSpec {
            by: SliceBy::All,
            regex: Some("flights?".into()),
            over: RegexOver::History,
        };
        let s = slices(&recs, &hist, 100, 1).unwrap();
        let find = |s: &[Slice], n: &str| s.iter().find(|p| p.name == n).unwrap().members.clone();
        assert_eq!(find(&s, "matches"), [0]);
        assert_eq!(find(&s, "does not match"), [1, 2]);
        let outs = SliceSpec {
            over: RegexOver::Outputs,
            ..hist
        };
        let s = slices(&recs, &outs, 100, 1).unwrap();
        assert_eq!(find(&s, "matches"), [1]);
        let bad = SliceSpec {
            by: SliceBy::All,
            regex: Some("(unclosed".into()),
            over: RegexOver::History,
        };
        let e = slices(&recs, &bad, 100, 1).unwrap_err().to_string();
        assert!(e.contains("(unclosed"), "{e}");
    }

    #[test]
    fn kappa_per_part_is_cohens_kappa_of_its_queries() {
        // Part "history 1–8 events": judge (T,T,F,F) against reference (T,F,F,F):
        // agreement 3/4, p_judge 1/2, p_ref 1/4, chance 1/2·1/4 + 1/2·3/4 = 1/2,
        // κ = (3/4 − 1/2) / (1 − 1/2) = 1/2 (by hand).
        let q = vec![
            (true, true, Some(true)),
            (true, false, Some(true)),
            (false, false, Some(false)),
        ];
        let r0 = rec(&["a"], "x", &[], Outcome::Win, q);
        let r1 = rec(
            &["a"],
            "x",
            &[],
            Outcome::Win,
            vec![(false, false, Some(false))],
        );
        let long: Vec<&str> = vec!["h"; 20];
        let r2 = rec(&long, "x", &[], Outcome::Lose, vec![(true, true, None)]);
        let spec = SliceSpec {
            by: SliceBy::History,
            regex: None,
            over: RegexOver::History,
        };
        let s = slices(&[r0, r1, r2], &spec, 100, 1).unwrap();
        assert_eq!(s[0].name, "history 0–8 events");
        assert!((s[0].kappa_judge_reference.unwrap() - 0.5).abs() < 1e-12);
        // Interest: judge (T,T,F,F) against (T,T,F,F): full agreement, κ = 1.
        assert!((s[0].kappa_judge_interest.unwrap() - 1.0).abs() < 1e-12);
        // One query only: both raters constant, κ undefined.
        assert_eq!(s[1].kappa_judge_reference, None);
        assert_eq!(s[1].name, "history 17–32 events");
    }

    #[test]
    fn buckets_cover_every_count_once() {
        assert_eq!(bucket(0, &[3, 6]), "0–3");
        assert_eq!(bucket(3, &[3, 6]), "0–3");
        assert_eq!(bucket(4, &[3, 6]), "4–6");
        assert_eq!(bucket(7, &[3, 6]), "7+");
    }
}
