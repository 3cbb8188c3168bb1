//! Validation of the instrument: the judge and the gold score scored on
//! reference responses, whose worth a person can tell, before any model is
//! trained on the judge (DESIGN §2; issue "an instrument that measures the task").
//!
//! Reference responses, per user (each judged as one 3-query response, as a
//! model's would be, and counted per query):
//! - **actual**: the user's real next queries (the targets); split by whether
//!   the target's interest shows in the history (`meta.target_on_interest`) or
//!   drifts;
//! - **copies**: the user's last 3 distinct history searches;
//! - **near copies**: each of those with one content word dropped (the last), or,
//!   for a one-word search, one word added (a content word of another search);
//! - **popular**: one fixed response for everyone, the 3 searches found in most
//!   training histories (navigational queries: "google; yahoo; ebay");
//! - **another user's**: the actual next queries of the user half the file away;
//! - **word salad** (gold only): 3 queries of 3 seed words each, drawn from the
//!   lexicons of the user's interests: on topic, but no query.
//!
//! The judge's targets (per query): actual-and-shown ≥ 85 % relevant; copies and
//! near copies ≤ 5 %; popular ≤ 10 %; another user's ≤ 20 %; AUC ≥ 0.85 of the
//! judge's continuous score (the share of relevant content words) between own
//! shown targets and another user's; word-level precision ≥ 0.85 and recall ≥ 0.70
//! against the generator's truth. This module reads `meta` to *measure*; the
//! judge itself never does.

use crate::data::User;
use crate::data::gold::{Gold, QueryGold};
use crate::labeler::{Judgement, Labeler};
use crate::text;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The references of one user (module docs), as lists of queries.
pub struct References {
    pub actual: Vec<String>,
    /// Per actual query: its interest shows in the history (`None`: no `meta`).
    pub shown: Vec<Option<bool>>,
    pub copies: Vec<String>,
    pub near_copies: Vec<String>,
    pub other: Vec<String>,
    pub salad: Option<Vec<String>>,
}

/// The `n` searches found in most histories of `train` (ties: alphabetical).
pub fn most_popular(train: &[User], n: usize) -> Vec<String> {
    let mut v: Vec<(String, u32)> = crate::data::search_frequency(train).into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().take(n).map(|x| x.0).collect()
}

/// The references of user `i` of `users` (module docs); the salad needs the world.
pub fn references(users: &[User], i: usize, gold: Option<&Gold>) -> References {
    let u = &users[i];
    let shown: Vec<Option<bool>> = match u
        .meta
        .as_ref()
        .and_then(|m| m.get("target_on_interest"))
        .and_then(|v| v.as_array())
    {
        Some(a) if a.len() == u.targets.len() => a.iter().map(|b| b.as_bool()).collect(),
        _ => vec![None; u.targets.len()],
    };
    let s = u.searches();
    let mut copies: Vec<String> = Vec::new();
    for q in s.iter().rev() {
        let n = text::normalize_query(q);
        if !n.is_empty() && !copies.contains(&n) {
            copies.push(n);
        }
        if copies.len() == 3 {
            break;
        }
    }
    let near_copies = copies
        .iter()
        .filter_map(|q| {
            let words = text::content_words(q);
            if words.len() >= 2 {
                let last = &words[words.len() - 1];
                let kept: Vec<&str> = q.split(' ').filter(|w| w != last).collect();
                Some(kept.join(" "))
            } else {
                let extra = s
                    .iter()
                    .flat_map(|h| text::content_words(h))
                    .find(|w| !words.contains(w) && w.chars().count() > 1)?;
                Some(format!("{q} {extra}"))
            }
        })
        .collect();
    let other = users[(i + users.len() / 2) % users.len()].targets.clone();
    let salad = gold.and_then(|g| {
        // The user's own interests (meta.interests), not the drifting one.
        let names = crate::data::gold::interests(u)?;
        let mut pool: Vec<&String> = names
            .iter()
            .filter_map(|n| g.world.index_of(n))
            .flat_map(|k| &g.world.words[k])
            .collect();
        pool.sort();
        pool.dedup();
        let mut rng = ChaCha8Rng::seed_from_u64(0x5a1a_d000 ^ i as u64);
        (pool.len() >= 3).then(|| {
            (0..3)
                .map(|_| {
                    let mut w: Vec<&str> = pool
                        .choose_multiple(&mut rng, 3)
                        .map(|s| s.as_str())
                        .collect();
                    w.shuffle(&mut rng);
                    if rng.random::<bool>() {
                        w.reverse();
                    }
                    w.join(" ")
                })
                .collect()
        })
    });
    References {
        actual: u.targets.clone(),
        shown,
        copies,
        near_copies,
        other,
        salad,
    }
}

/// One reference row: judge relevance and gold, per query.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RefRow {
    pub reference: String,
    pub queries: usize,
    /// Share of the queries the judge calls relevant.
    pub judge: f64,
    /// Share of the queries that are gold; `None` without the generator's truth.
    pub gold: Option<f64>,
    /// The judge's target for this row, as text ("≥ 0.85"), and whether it is met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
}

/// The instrument's validation on one set of users.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Validation {
    pub users: usize,
    pub rows: Vec<RefRow>,
    /// AUC of the judge's share of relevant words: own shown targets vs another user's.
    pub auc: Option<f64>,
    pub word_precision: f64,
    pub word_recall: f64,
    /// Every judge target met.
    pub judge_valid: bool,
    /// Gold ranks the actual queries above every other reference, and gives the salad ≤ 10 %.
    pub gold_valid: Option<bool>,
}

/// The reference rows, in order, with the judge's target for each (issue 29):
/// (the judge's relevance must be at least, or at most, the value).
const ROWS: [(&str, Option<(bool, f64)>); 8] = [
    (
        "actual next queries, interest shown in the history",
        Some((true, 0.85)),
    ),
    ("actual next queries, drifting interest", None),
    ("actual next queries, all", None),
    ("copies of the last 3 history searches", Some((false, 0.05))),
    (
        "near copies (one word dropped or added)",
        Some((false, 0.05)),
    ),
    ("popular queries (fixed response)", Some((false, 0.10))),
    ("another user's actual next queries", Some((false, 0.20))),
    ("word salad of the user's interest words", None),
];
const MIN_AUC: f64 = 0.85;
const MIN_WORD_PRECISION: f64 = 0.85;
const MIN_WORD_RECALL: f64 = 0.70;
/// Gold's own bound: the word salad is no query.
const MAX_SALAD_GOLD: f64 = 0.10;

/// A reference response judged once: the judge's verdicts, and gold's with the truth.
struct Judged {
    judgement: Judgement,
    gold: Option<Vec<QueryGold>>,
}

fn judged(
    judge: &Labeler,
    idx: &crate::labeler::HistoryIndex,
    gold: Option<&Gold>,
    user: &User,
    queries: &[String],
) -> Option<Judged> {
    if queries.is_empty() {
        return None;
    }
    let response = text::join_response(queries);
    Some(Judged {
        gold: gold.and_then(|g| g.queries(user, &response, judge.vectors())),
        judgement: judge.judge_indexed(idx, &response),
    })
}

#[derive(Default)]
struct Tally {
    n: usize,
    judge: usize,
    gold: usize,
    gold_n: usize,
}

impl Tally {
    /// Count each query of `d` that `keep` selects; its share of relevant words to
    /// `scores`.
    fn add(&mut self, d: &Judged, keep: &dyn Fn(usize) -> bool, scores: Option<&mut Vec<f32>>) {
        let mut sc = Vec::new();
        for (k, v) in d.judgement.queries.iter().enumerate() {
            if !keep(k) {
                continue;
            }
            self.n += 1;
            self.judge += usize::from(v.relevant);
            sc.push(v.relevant_fraction);
            if let Some(g) = d.gold.as_ref().and_then(|g| g.get(k)) {
                self.gold_n += 1;
                self.gold += usize::from(g.gold());
            }
        }
        if let Some(s) = scores {
            s.extend(sc);
        }
    }
}

/// Word-level agreement with the generator's truth: every content word of a target
/// is a positive when the target's interest shows in the history, a negative when
/// it drifts; class 2 is the prediction.
#[derive(Default)]
struct Words {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Words {
    fn add(&mut self, j: &Judgement, shown: &[Option<bool>]) {
        let spans = text::query_spans(&j.response);
        for w in j.words.iter().filter(|w| w.class != 0) {
            let Some(k) = spans.iter().position(|s| w.start >= s.0 && w.end <= s.1) else {
                continue;
            };
            match (shown[k] == Some(true), w.class == 2) {
                (true, true) => self.tp += 1,
                (false, true) => self.fp += 1,
                (true, false) => self.fn_ += 1,
                _ => {}
            }
        }
    }
}

/// Validate the judge (and gold, when given) on `users`; `popular` is the fixed
/// response ([`most_popular`] of the training users). Each reference response is
/// judged once.
pub fn validate(
    judge: &Labeler,
    gold: Option<&Gold>,
    users: &[User],
    popular: &[String],
) -> Validation {
    let mut t: Vec<Tally> = ROWS.iter().map(|_| Tally::default()).collect();
    let mut words = Words::default();
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    let all = |_: usize| true;
    for (i, u) in users.iter().enumerate() {
        let r = references(users, i, gold);
        let idx = judge.index(&u.history);
        let judge_ = |q: &[String]| judged(judge, &idx, gold, u, q);
        if let Some(d) = judge_(&r.actual) {
            let shown = |k: usize| r.shown.get(k).copied().flatten() == Some(true);
            let drift = |k: usize| r.shown.get(k).copied().flatten() == Some(false);
            t[0].add(&d, &shown, Some(&mut pos));
            t[1].add(&d, &drift, None);
            t[2].add(&d, &all, None);
            if r.shown.iter().all(Option::is_some) {
                words.add(&d.judgement, &r.shown);
            }
        }
        let others: [(usize, Option<&[String]>); 5] = [
            (3, Some(&r.copies)),
            (4, Some(&r.near_copies)),
            (5, Some(popular)),
            (6, Some(&r.other)),
            (7, r.salad.as_deref()),
        ];
        for (row, queries) in others {
            if let Some(d) = queries.and_then(judge_) {
                t[row].add(&d, &all, (row == 6).then_some(&mut neg));
            }
        }
    }
    let rows: Vec<RefRow> = ROWS
        .iter()
        .zip(&t)
        .filter(|(_, t)| t.n > 0)
        .map(|((name, target), t)| {
            let judge = t.judge as f64 / t.n as f64;
            RefRow {
                reference: name.to_string(),
                queries: t.n,
                judge,
                gold: (t.gold_n > 0).then(|| t.gold as f64 / t.gold_n as f64),
                target: target.map(|(ge, v)| format!("{} {v:.2}", if ge { "≥" } else { "≤" })),
                met: target.map(|(ge, v)| if ge { judge >= v } else { judge <= v }),
            }
        })
        .collect();
    let scores: Vec<f32> = pos.iter().chain(&neg).copied().collect();
    let labels: Vec<bool> = pos
        .iter()
        .map(|_| true)
        .chain(neg.iter().map(|_| false))
        .collect();
    let auc = crate::reward::metrics::auc(&scores, &labels);
    let word_precision = words.tp as f64 / (words.tp + words.fp).max(1) as f64;
    let word_recall = words.tp as f64 / (words.tp + words.fn_).max(1) as f64;
    let judge_valid = rows.iter().all(|r| r.met != Some(false))
        && auc.is_some_and(|a| a >= MIN_AUC)
        && word_precision >= MIN_WORD_PRECISION
        && word_recall >= MIN_WORD_RECALL;
    let gold_of = |row: usize| {
        rows.iter()
            .find(|r| r.reference == ROWS[row].0)
            .and_then(|r| r.gold)
    };
    let gold_valid = gold.map(|_| {
        let actual = gold_of(2).unwrap_or(0.0);
        (3..ROWS.len()).all(|row| gold_of(row).is_none_or(|g| g < actual))
            && gold_of(7).is_none_or(|g| g <= MAX_SALAD_GOLD)
    });
    Validation {
        users: users.len(),
        rows,
        auc,
        word_precision,
        word_recall,
        judge_valid,
        gold_valid,
    }
}
