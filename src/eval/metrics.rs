//! Metrics the policy cannot game by pleasing the judge, beside the judge's
//! relevance rate and win / tie / lose. Decided before the experiment's runs
//! (docs/decisions.md, "The experiment"), and not changed after.
//!
//! Per user, over the response's *distinct* queries (a query that repeats an
//! earlier one, [`crate::text::repeats`], counts once):
//!
//! - **reference** (the user's actual 3 next queries, the task's ground truth):
//!   `hit` when one of the first 3 distinct generated queries (hit@3 is capped at 3
//!   queries) equals a target after normalisation (lower case, whitespace;
//!   [`crate::text::normalize_query`]); `target_recall`, the share of the
//!   3 targets generated so; precision, recall and F1 of the targets' content words
//!   (lower case, stop words and single characters dropped), and of their stems;
//! - **hidden interest** (bundled data only: `meta.interests`, which the judge never
//!   reads): the share of distinct queries whose interest ([`World::assign`], the
//!   lexicons of `data/interests.json`) is one of the user's interests (drift
//!   excluded); a query of no interest counts as off-interest. One definition: a
//!   model's value is the mean over users of each user's share;
//! - **gold** ([`crate::data::gold`]): the share of the response's queries that are on a
//!   true interest (drift included), new and well formed;
//! - **distinctness**: distinct queries / queries.
//!
//! Per model: the means over users, the share of distinct responses across users,
//! and the judge's agreement (Cohen's κ over distinct queries) with "shares a
//! content stem with a target" and with "is on a hidden interest".

use crate::data::User;
use crate::data::gold::Gold;
use crate::labeler::Judgement;
use crate::text;
use crate::vectors::WordVectors;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One user's metrics (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserMetrics {
    pub queries: usize,
    pub distinct: usize,
    pub hit: bool,
    pub target_recall: f64,
    pub word_precision: f64,
    pub word_recall: f64,
    pub word_f1: f64,
    pub stem_f1: f64,
    /// Distinct queries on one of the hidden interests; `None` without `meta.interests`.
    pub on_interest: Option<usize>,
    /// Gold queries among all `queries` ([`crate::data::gold`]); `None` without the truth.
    #[serde(default)]
    pub gold: Option<usize>,
    /// Per distinct query: (the judge calls it relevant, it shares a content stem with a
    /// target, it is on a hidden interest), for the agreement of the judge.
    pub per_query: Vec<(bool, bool, Option<bool>)>,
    /// Per query (all of them): (the judge calls it relevant, it is gold), for κ.
    #[serde(default)]
    pub judge_gold: Vec<(bool, bool)>,
    /// Queries (all of them) the judge calls relevant.
    #[serde(default)]
    pub relevant_queries: usize,
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

/// Precision, recall and F1 of a generated set against a reference set.
fn prf(got: &BTreeSet<String>, want: &BTreeSet<String>) -> (f64, f64, f64) {
    let hit = got.intersection(want).count() as f64;
    let p = if got.is_empty() {
        0.0
    } else {
        hit / got.len() as f64
    };
    let r = if want.is_empty() {
        0.0
    } else {
        hit / want.len() as f64
    };
    (p, r, f1(p, r))
}

fn content(q: &str) -> BTreeSet<String> {
    text::content_words(q)
        .into_iter()
        .filter(|w| w.chars().count() > 1)
        .collect()
}

pub use crate::data::gold::interests;

/// The metrics of one user's judged response.
pub fn user_metrics(
    user: &User,
    judgement: &Judgement,
    gold: Option<(&Gold, &WordVectors)>,
) -> UserMetrics {
    let all = text::split_response(&judgement.response);
    let repeats = text::repeats(&all);
    let distinct: Vec<&str> = all
        .iter()
        .zip(&repeats)
        .filter(|(_, r)| r.is_none())
        .map(|(q, _)| *q)
        .collect();
    let targets: Vec<String> = user
        .targets
        .iter()
        .map(|t| text::normalize_query(t))
        .collect();
    // hit@3: only the first 3 distinct queries count, so a longer response gets no
    // more chances to hit a target.
    let generated: BTreeSet<String> = distinct
        .iter()
        .take(3)
        .map(|q| text::normalize_query(q))
        .collect();
    let found = targets.iter().filter(|t| generated.contains(*t)).count();
    let got_words: BTreeSet<String> = distinct.iter().flat_map(|q| content(q)).collect();
    let want_words: BTreeSet<String> = user.targets.iter().flat_map(|q| content(q)).collect();
    let stems = |s: &BTreeSet<String>| s.iter().map(|w| text::stem(w)).collect::<BTreeSet<_>>();
    let (want_stems, got_stems) = (stems(&want_words), stems(&got_words));
    let (wp, wr, wf) = prf(&got_words, &want_words);
    let (_, _, sf) = prf(&got_stems, &want_stems);
    let hidden = interests(user);
    let on = |q: &str| -> Option<bool> {
        let (g, wv) = gold?;
        let mine = hidden.as_ref()?;
        Some(
            g.world
                .assign(q, wv)
                .is_some_and(|t| mine.iter().any(|m| *m == g.world.names[t])),
        )
    };
    // The judge's verdict on each distinct query, in the judgement's order.
    let verdicts: Vec<bool> = judgement
        .queries
        .iter()
        .filter(|q| q.repeats.is_none())
        .map(|q| q.relevant)
        .collect();
    let per_query: Vec<(bool, bool, Option<bool>)> = distinct
        .iter()
        .zip(verdicts.iter().chain(std::iter::repeat(&false)))
        .map(|(q, &rel)| {
            let shares = !stems(&content(q)).is_disjoint(&want_stems);
            (rel, shares, on(q))
        })
        .collect();
    let on_interest = match (gold, &hidden) {
        (Some(_), Some(_)) => Some(per_query.iter().filter(|p| p.2 == Some(true)).count()),
        _ => None,
    };
    let golds = gold.and_then(|(g, wv)| g.queries(user, &judgement.response, wv));
    let judge_gold: Vec<(bool, bool)> = golds
        .iter()
        .flatten()
        .zip(judgement.queries.iter().map(|q| q.relevant))
        .map(|(g, rel)| (rel, g.gold()))
        .collect();
    UserMetrics {
        queries: all.len(),
        distinct: distinct.len(),
        hit: found > 0,
        target_recall: found as f64 / targets.len().max(1) as f64,
        word_precision: wp,
        word_recall: wr,
        word_f1: wf,
        stem_f1: sf,
        on_interest,
        gold: golds.map(|g| g.iter().filter(|q| q.gold()).count()),
        per_query,
        judge_gold,
        relevant_queries: judgement.queries.iter().filter(|q| q.relevant).count(),
    }
}

/// Cohen's κ of two binary raters over the same items (`None` with no items, or when
/// chance agreement is 1: both raters constant).
pub fn kappa(pairs: &[(bool, bool)]) -> Option<f64> {
    let n = pairs.len() as f64;
    if pairs.is_empty() {
        return None;
    }
    let agree = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
    let pa = pairs.iter().filter(|p| p.0).count() as f64 / n;
    let pb = pairs.iter().filter(|p| p.1).count() as f64 / n;
    let chance = pa * pb + (1.0 - pa) * (1.0 - pb);
    (chance < 1.0).then(|| (agree - chance) / (1.0 - chance))
}

/// A model's metrics over users (means of [`UserMetrics`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelMetrics {
    pub users: usize,
    pub hit_at_3: f64,
    pub target_recall: f64,
    pub word_precision: f64,
    pub word_recall: f64,
    pub word_f1: f64,
    pub stem_f1: f64,
    /// The mean over users with hidden interests of distinct queries on one of them /
    /// distinct queries; `None` without them.
    pub hidden_interest_precision: Option<f64>,
    /// The mean over users of gold queries / queries; `None` without the truth.
    #[serde(default)]
    pub gold: Option<f64>,
    /// The judge's query verdicts against gold (Cohen's κ over all queries).
    #[serde(default)]
    pub kappa_judge_gold: Option<f64>,
    /// Mean over users of distinct queries / queries.
    pub distinct_query_rate: f64,
    /// Mean over users of the queries the judge calls relevant / queries: the
    /// judge's relevance per query (the relevance rate is per response).
    #[serde(default)]
    pub judge_query_rate: f64,
    /// Distinct responses / users.
    pub distinct_responses: f64,
    /// The judge's query verdicts against "shares a content stem with a target" and
    /// against "is on a hidden interest" (Cohen's κ over distinct queries).
    pub kappa_judge_reference: Option<f64>,
    pub kappa_judge_interest: Option<f64>,
}

/// The means of the users' metrics; `responses` are the texts, for the distinct share.
pub fn summarise(users: &[&UserMetrics], responses: &[&str]) -> ModelMetrics {
    let n = users.len().max(1) as f64;
    let mean = |f: &dyn Fn(&UserMetrics) -> f64| users.iter().map(|u| f(u)).sum::<f64>() / n;
    let with_interest: Vec<&&UserMetrics> =
        users.iter().filter(|u| u.on_interest.is_some()).collect();
    let hidden = (!with_interest.is_empty()).then(|| {
        with_interest
            .iter()
            .filter_map(|u| u.on_interest.map(|k| k as f64 / u.distinct.max(1) as f64))
            .sum::<f64>()
            / with_interest.len() as f64
    });
    let with_gold: Vec<f64> = users
        .iter()
        .filter_map(|u| u.gold.map(|k| k as f64 / u.queries.max(1) as f64))
        .collect();
    let gold =
        (!with_gold.is_empty()).then(|| with_gold.iter().sum::<f64>() / with_gold.len() as f64);
    let judge_gold: Vec<(bool, bool)> = users
        .iter()
        .flat_map(|u| u.judge_gold.iter().copied())
        .collect();
    let queries: Vec<&(bool, bool, Option<bool>)> =
        users.iter().flat_map(|u| &u.per_query).collect();
    let reference: Vec<(bool, bool)> = queries.iter().map(|q| (q.0, q.1)).collect();
    let interest: Vec<(bool, bool)> = queries
        .iter()
        .filter_map(|q| q.2.map(|o| (q.0, o)))
        .collect();
    let distinct: BTreeSet<&str> = responses.iter().copied().collect();
    ModelMetrics {
        users: users.len(),
        hit_at_3: mean(&|u| f64::from(u8::from(u.hit))),
        target_recall: mean(&|u| u.target_recall),
        word_precision: mean(&|u| u.word_precision),
        word_recall: mean(&|u| u.word_recall),
        word_f1: mean(&|u| u.word_f1),
        stem_f1: mean(&|u| u.stem_f1),
        hidden_interest_precision: hidden,
        gold,
        kappa_judge_gold: kappa(&judge_gold),
        distinct_query_rate: mean(&|u| u.distinct as f64 / u.queries.max(1) as f64),
        judge_query_rate: mean(&|u| u.relevant_queries as f64 / u.queries.max(1) as f64),
        distinct_responses: distinct.len() as f64 / n,
        kappa_judge_reference: kappa(&reference),
        kappa_judge_interest: if interest.is_empty() {
            None
        } else {
            kappa(&interest)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labeler::sentence_verdict;

    fn user(targets: [&str; 3]) -> User {
        serde_json::from_value(
            serde_json::json!({"user_id": "u", "history": [{"kind": "search", "text": "x"}],
            "targets": targets, "meta": {"interests": ["travel"]}}),
        )
        .unwrap()
    }

    #[test]
    fn hit_at_3_counts_the_first_three_distinct_queries_only() {
        let u = user(["cheap flights", "orlando hotels", "disney tickets"]);
        // The target is the 4th distinct query: no hit, however long the response.
        let late = sentence_verdict(
            "tax forms; pet food; golf clubs; disney tickets",
            Vec::new(),
            0.5,
        );
        let m = user_metrics(&u, &late, None);
        assert!(!m.hit && m.target_recall == 0.0, "{m:?}");
        // A repeat does not use up a place: the target is the 3rd distinct query.
        let ok = sentence_verdict(
            "tax forms; tax forms; pet food; disney tickets",
            Vec::new(),
            0.5,
        );
        let m = user_metrics(&u, &ok, None);
        assert!(
            m.hit && (m.target_recall - 1.0 / 3.0).abs() < 1e-12,
            "{m:?}"
        );
    }

    #[test]
    fn reference_metrics_by_hand() {
        let u = user(["cheap flights", "orlando hotels", "disney tickets"]);
        // Queries: "Cheap  Flights" (a hit after normalisation), "cheap flights" again
        // (a repeat: counted once), "orlando weather".
        let j = sentence_verdict(
            "Cheap  Flights; cheap flights; orlando weather",
            Vec::new(),
            0.5,
        );
        let m = user_metrics(&u, &j, None);
        assert_eq!((m.queries, m.distinct), (3, 2));
        assert!(m.hit);
        assert!((m.target_recall - 1.0 / 3.0).abs() < 1e-12);
        // Generated words {cheap, flights, orlando, weather}; targets {cheap, flights,
        // orlando, hotels, disney, tickets}: 3 shared. P 3/4, R 3/6, F1 0.6.
        assert!((m.word_precision - 0.75).abs() < 1e-12);
        assert!((m.word_recall - 0.5).abs() < 1e-12);
        assert!((m.word_f1 - 0.6).abs() < 1e-12);
        assert_eq!(m.on_interest, None, "no topics given");
        // "ticket" shares the stem of "tickets" though not the word.
        let j = sentence_verdict("park ticket", Vec::new(), 0.5);
        let m = user_metrics(&u, &j, None);
        assert_eq!(m.word_f1, 0.0);
        assert!(m.stem_f1 > 0.0 && m.per_query[0].1);
    }

    #[test]
    fn kappa_by_hand() {
        // 10 items: both yes 4, both no 3, a yes b no 2, a no b yes 1.
        let mut p = vec![(true, true); 4];
        p.extend(vec![(false, false); 3]);
        p.extend(vec![(true, false); 2]);
        p.push((false, true));
        // p_o = 0.7; p_a = 0.6, p_b = 0.5; p_e = 0.3 + 0.2 = 0.5; κ = 0.2 / 0.5 = 0.4.
        assert!((kappa(&p).unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(kappa(&[]), None);
        assert_eq!(kappa(&[(true, true), (true, true)]), None);
        // Perfect agreement, and its opposite.
        assert!((kappa(&[(true, true), (false, false)]).unwrap() - 1.0).abs() < 1e-12);
        assert!((kappa(&[(true, false), (false, true)]).unwrap() + 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_judges_relevance_per_query_by_hand() {
        let u = user(["a b", "c d", "e f"]);
        let word = |text: &str, start: usize, class: u8| crate::labeler::WordLabel {
            text: text.into(),
            start,
            end: start + text.len(),
            class,
            evidence: crate::labeler::Evidence::ExactMatch,
        };
        // "a b; zz yy": the first query relevant (2 of 2 words), the second not.
        let words = vec![
            word("a", 0, 2),
            word("b", 2, 2),
            word("zz", 5, 1),
            word("yy", 8, 1),
        ];
        let j1 = sentence_verdict("a b; zz yy", words, 0.5);
        // "qq rr; qq rr; ss": no word relevant.
        let j2 = sentence_verdict("qq rr; qq rr; ss", Vec::new(), 0.5);
        let (m1, m2) = (user_metrics(&u, &j1, None), user_metrics(&u, &j2, None));
        assert_eq!((m1.relevant_queries, m2.relevant_queries), (1, 0));
        let s = summarise(&[&m1, &m2], &["a b; zz yy", "qq rr; qq rr; ss"]);
        // Per user 1/2 and 0/3: the mean is 0.25.
        assert!((s.judge_query_rate - 0.25).abs() < 1e-12);
    }

    #[test]
    fn summary_by_hand() {
        let u = user(["a b", "c d", "e f"]);
        let j1 = sentence_verdict("a b; zz yy", Vec::new(), 0.5);
        let j2 = sentence_verdict("qq rr; qq rr", Vec::new(), 0.5);
        let (m1, m2) = (user_metrics(&u, &j1, None), user_metrics(&u, &j2, None));
        let s = summarise(&[&m1, &m2], &["a b; zz yy", "qq rr; qq rr"]);
        assert_eq!(s.hit_at_3, 0.5);
        // Distinct query rates 2/2 and 1/2.
        assert!((s.distinct_query_rate - 0.75).abs() < 1e-12);
        assert_eq!(s.distinct_responses, 1.0);
        assert_eq!(s.hidden_interest_precision, None);
    }
}
