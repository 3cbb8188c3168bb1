//! Pairwise win / tie / lose between two models' responses for the same users
//! (paper §4, Fig. 7), judged in both orders (position swap, as MT-Bench does):
//! A wins only when the judge prefers A as the first *and* as the second response;
//! an inconsistent pair counts as a tie.
//!
//! The built-in judge's preference ([`prefer`]): the response with more relevant
//! distinct queries wins (a query that repeats an earlier one is never relevant); with as many, the one whose share of relevant content words is
//! higher by more than `margin`; otherwise a tie. It reads the two judgements only,
//! not their order, so its position consistency is 1 by construction; the swap is
//! there for judges that do look at order (an external LLM's verdicts).

use super::stats::{Interval, bootstrap, sign_test};
use crate::labeler::Judgement;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    First,
    Second,
    Tie,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Win,
    Tie,
    Lose,
}

/// The margin on the relevant-word share below which two responses tie.
pub const DEFAULT_MARGIN: f32 = 0.05;

/// The built-in judge's preference between two judged responses, first vs second.
pub fn prefer(first: &Judgement, second: &Judgement, margin: f32) -> Verdict {
    let count = |j: &Judgement| j.queries.iter().filter(|q| q.relevant).count();
    let (a, b) = (count(first), count(second));
    if a != b {
        return if a > b {
            Verdict::First
        } else {
            Verdict::Second
        };
    }
    let d = first.relevant_fraction - second.relevant_fraction;
    if d > margin {
        Verdict::First
    } else if d < -margin {
        Verdict::Second
    } else {
        Verdict::Tie
    }
}

/// A's outcome against B from the verdicts of (A, B) and of (B, A), and whether the two
/// orders agreed.
pub fn outcome(ab: Verdict, ba: Verdict) -> (Outcome, bool) {
    match (ab, ba) {
        (Verdict::First, Verdict::Second) => (Outcome::Win, true),
        (Verdict::Second, Verdict::First) => (Outcome::Lose, true),
        (Verdict::Tie, Verdict::Tie) => (Outcome::Tie, true),
        _ => (Outcome::Tie, false),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WinTieLose {
    pub n: usize,
    pub wins: usize,
    pub ties: usize,
    pub losses: usize,
    pub win_rate: f64,
    pub tie_rate: f64,
    pub lose_rate: f64,
    /// (W − L) / N: the paper's "+2 to +8 points".
    pub net: f64,
    /// (W + T/2) / N.
    pub tie_adjusted_win_rate: f64,
    /// Share of users whose two orders agreed.
    pub position_consistency: f64,
    /// Seeded paired bootstrap 95 % intervals over users.
    pub win_ci: Interval,
    pub lose_ci: Interval,
    pub net_ci: Interval,
    pub tie_adjusted_ci: Interval,
    /// Exact two-sided sign test of wins against losses (ties left out).
    pub sign_test_p: f64,
    pub resamples: usize,
}

/// Summarise per-user outcomes (with whether each was position-consistent).
pub fn summarise(outcomes: &[(Outcome, bool)], resamples: usize, seed: u64) -> WinTieLose {
    let n = outcomes.len();
    let count = |idx: &mut dyn Iterator<Item = usize>| {
        let (mut w, mut t, mut l) = (0usize, 0usize, 0usize);
        for i in idx {
            match outcomes[i].0 {
                Outcome::Win => w += 1,
                Outcome::Tie => t += 1,
                Outcome::Lose => l += 1,
            }
        }
        (w, t, l)
    };
    let (w, t, l) = count(&mut (0..n));
    let rate = |k: usize| k as f64 / n.max(1) as f64;
    let stat = |f: fn(f64, f64, f64) -> f64| {
        move |idx: &[usize]| {
            let (w, t, l) = count(&mut idx.iter().copied());
            let m = idx.len() as f64;
            f(w as f64 / m, t as f64 / m, l as f64 / m)
        }
    };
    WinTieLose {
        n,
        wins: w,
        ties: t,
        losses: l,
        win_rate: rate(w),
        tie_rate: rate(t),
        lose_rate: rate(l),
        net: rate(w) - rate(l),
        tie_adjusted_win_rate: rate(w) + rate(t) / 2.0,
        position_consistency: rate(outcomes.iter().filter(|o| o.1).count()),
        win_ci: bootstrap(n, resamples, seed, stat(|w, _, _| w)),
        lose_ci: bootstrap(n, resamples, seed, stat(|_, _, l| l)),
        net_ci: bootstrap(n, resamples, seed, stat(|w, _, l| w - l)),
        tie_adjusted_ci: bootstrap(n, resamples, seed, stat(|w, t, _| w + t / 2.0)),
        sign_test_p: sign_test(w, l),
        resamples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labeler::{QueryVerdict, sentence_verdict};

    fn judged(relevant: &[bool], fraction: f32) -> Judgement {
        let mut j = sentence_verdict("", Vec::new(), 0.5);
        j.queries = relevant
            .iter()
            .map(|&r| QueryVerdict {
                text: String::new(),
                relevant_fraction: 0.0,
                relevant: r,
                repeats: None,
                copies: None,
            })
            .collect();
        j.relevant_fraction = fraction;
        j
    }

    #[test]
    fn preference_counts_relevant_queries_then_the_word_share() {
        let two = judged(&[true, true, false], 0.5);
        let one = judged(&[true, false, false], 0.9);
        assert_eq!(prefer(&two, &one, 0.05), Verdict::First);
        assert_eq!(prefer(&one, &two, 0.05), Verdict::Second);
        let a = judged(&[false, false, false], 0.30);
        let b = judged(&[false, false, false], 0.20);
        let c = judged(&[false, false, false], 0.27);
        assert_eq!(prefer(&a, &b, 0.05), Verdict::First);
        assert_eq!(prefer(&a, &c, 0.05), Verdict::Tie);
    }

    #[test]
    fn a_repeated_query_is_not_a_relevant_one() {
        use crate::labeler::{Evidence, WordLabel};
        // "a b; a b; c" against "a b; c d; e": the same word labels but the repeat.
        let label = |response: &str, classes: &[u8]| {
            let words = crate::text::words(response)
                .into_iter()
                .zip(classes)
                .map(|(sp, &class)| WordLabel {
                    text: response[sp.start..sp.end].to_string(),
                    start: sp.start,
                    end: sp.end,
                    class,
                    evidence: Evidence::Imported { note: None },
                })
                .collect();
            sentence_verdict(response, words, 0.5)
        };
        let repeated = label(
            "flights cheap; flights cheap; hotel",
            &[2, 2, 0, 2, 2, 0, 1],
        );
        let distinct = label("flights cheap; cars cheap; hotel", &[2, 2, 0, 2, 2, 0, 1]);
        assert_eq!(repeated.distinct_queries, 2);
        assert_eq!(distinct.distinct_queries, 3);
        assert_eq!(repeated.queries[1].repeats, Some(1));
        assert!(!repeated.queries[1].relevant && distinct.queries[1].relevant);
        assert_eq!(prefer(&distinct, &repeated, 0.05), Verdict::First);
    }

    #[test]
    fn only_consistent_orders_decide() {
        use Verdict::*;
        assert_eq!(outcome(First, Second), (Outcome::Win, true));
        assert_eq!(outcome(Second, First), (Outcome::Lose, true));
        assert_eq!(outcome(Tie, Tie), (Outcome::Tie, true));
        // A judge that always prefers the first position: inconsistent, a tie.
        assert_eq!(outcome(First, First), (Outcome::Tie, false));
        assert_eq!(outcome(First, Tie), (Outcome::Tie, false));
    }

    #[test]
    fn summary_by_hand() {
        // 6 wins, 3 ties (one inconsistent), 1 loss over 10 users.
        let mut o = vec![(Outcome::Win, true); 6];
        o.extend([
            (Outcome::Tie, true),
            (Outcome::Tie, true),
            (Outcome::Tie, false),
        ]);
        o.push((Outcome::Lose, true));
        let s = summarise(&o, 1000, 1);
        assert_eq!((s.n, s.wins, s.ties, s.losses), (10, 6, 3, 1));
        assert!((s.net - 0.5).abs() < 1e-12);
        assert!((s.tie_adjusted_win_rate - 0.75).abs() < 1e-12);
        assert!((s.position_consistency - 0.9).abs() < 1e-12);
        // Sign test 6 vs 1: 2·(1 + 7)/128.
        assert!((s.sign_test_p - 16.0 / 128.0).abs() < 1e-12);
        assert!(s.win_ci.lo <= 0.6 && 0.6 <= s.win_ci.hi);
        assert!(s.net_ci.lo <= 0.5 && 0.5 <= s.net_ci.hi && s.net_ci.hi <= 1.0);
    }
}
