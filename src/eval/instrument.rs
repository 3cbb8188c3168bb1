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

use super::gold::Gold;
use crate::data::{EventKind, User};
use crate::labeler::Labeler;
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
    let mut df: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for u in train {
        let mut seen: Vec<String> = searches(u)
            .iter()
            .map(|q| text::normalize_query(q))
            .filter(|q| !q.is_empty())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        for q in seen {
            *df.entry(q).or_default() += 1;
        }
    }
    let mut v: Vec<(String, usize)> = df.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().take(n).map(|x| x.0).collect()
}

fn searches(u: &User) -> Vec<&str> {
    u.history
        .iter()
        .filter(|e| e.kind == EventKind::Search)
        .map(|e| e.text.as_str())
        .collect()
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
    let s = searches(u);
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
        let names = super::gold::true_interests(u)?;
        let mut pool: Vec<&String> = names
            .iter()
            .take(names.len().saturating_sub(1).max(1)) // the user's own, not the drift
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

#[derive(Default)]
struct Tally {
    n: usize,
    judge: usize,
    gold: usize,
    gold_n: usize,
}

/// One user's judging context.
struct Ctx<'a> {
    judge: &'a Labeler,
    idx: crate::labeler::HistoryIndex,
    gold: Option<&'a Gold>,
    user: &'a User,
}

impl Ctx<'_> {
    /// Judge `queries` as one response and add each query (where `keep` says so) to
    /// `t`; the judge's per-query shares of relevant words to `scores`.
    fn tally(
        &self,
        queries: &[String],
        keep: &dyn Fn(usize) -> bool,
        t: &mut Tally,
        scores: Option<&mut Vec<f32>>,
    ) {
        if queries.is_empty() {
            return;
        }
        let response = text::join_response(queries);
        let j = self.judge.judge_indexed(&self.idx, &response);
        let g = self
            .gold
            .and_then(|g| g.queries(self.user, &response, self.judge.vectors()));
        let mut sc = Vec::new();
        for (k, v) in j.queries.iter().enumerate() {
            if !keep(k) {
                continue;
            }
            t.n += 1;
            t.judge += usize::from(v.relevant);
            sc.push(v.relevant_fraction);
            if let Some(g) = g.as_ref().and_then(|g| g.get(k)) {
                t.gold_n += 1;
                t.gold += usize::from(g.gold());
            }
        }
        if let Some(s) = scores {
            s.extend(sc);
        }
    }
}

/// Validate the judge (and gold, when given) on `users`; `popular` is the fixed
/// response ([`most_popular`] of the training users).
pub fn validate(
    judge: &Labeler,
    gold: Option<&Gold>,
    users: &[User],
    popular: &[String],
) -> Validation {
    let names = [
        "actual next queries, interest shown in the history",
        "actual next queries, drifting interest",
        "actual next queries, all",
        "copies of the last 3 history searches",
        "near copies (one word dropped or added)",
        "popular queries (fixed response)",
        "another user's actual next queries",
        "word salad of the user's interest words",
    ];
    let mut t: Vec<Tally> = names.iter().map(|_| Tally::default()).collect();
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    for (i, u) in users.iter().enumerate() {
        let r = references(users, i, gold);
        let c = Ctx {
            judge,
            idx: judge.index(&u.history),
            gold,
            user: u,
        };
        let shown = |k: usize| r.shown.get(k).copied().flatten() == Some(true);
        let drift = |k: usize| r.shown.get(k).copied().flatten() == Some(false);
        c.tally(&r.actual, &shown, &mut t[0], Some(&mut pos));
        c.tally(&r.actual, &drift, &mut t[1], None);
        c.tally(&r.actual, &|_| true, &mut t[2], None);
        c.tally(&r.copies, &|_| true, &mut t[3], None);
        c.tally(&r.near_copies, &|_| true, &mut t[4], None);
        c.tally(popular, &|_| true, &mut t[5], None);
        c.tally(&r.other, &|_| true, &mut t[6], Some(&mut neg));
        if let Some(s) = &r.salad {
            c.tally(s, &|_| true, &mut t[7], None);
        }
    }
    let targets: [Option<(bool, f64)>; 8] = [
        Some((true, 0.85)),
        None,
        None,
        Some((false, 0.05)),
        Some((false, 0.05)),
        Some((false, 0.10)),
        Some((false, 0.20)),
        None,
    ];
    let rows: Vec<RefRow> = names
        .iter()
        .zip(&t)
        .zip(targets)
        .filter(|((_, t), _)| t.n > 0)
        .map(|((name, t), target)| {
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
    let a = agreement(judge, users);
    let judge_valid = rows.iter().all(|r| r.met != Some(false))
        && auc.is_some_and(|a| a >= 0.85)
        && a.word_precision >= 0.85
        && a.word_recall >= 0.70;
    let gold_of = |name: &str| {
        rows.iter()
            .find(|r| r.reference == name)
            .and_then(|r| r.gold)
    };
    let gold_valid = gold.map(|_| {
        let actual = gold_of(names[2]).unwrap_or(0.0);
        let others = [names[3], names[4], names[5], names[6], names[7]];
        others.iter().all(|n| gold_of(n).is_none_or(|g| g < actual))
            && gold_of(names[7]).is_none_or(|g| g <= 0.10)
    });
    Validation {
        users: users.len(),
        rows,
        auc,
        word_precision: a.word_precision,
        word_recall: a.word_recall,
        judge_valid,
        gold_valid,
    }
}

/// How far the judge's word classes agree with the generator's truth: every
/// content word of a target is a positive when the target's interest shows in the
/// history, a negative when it drifts; class 2 is the prediction.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Agreement {
    pub users: usize,
    pub users_without_meta: usize,
    pub words: usize,
    pub word_precision: f64,
    pub word_recall: f64,
    /// Share of on-interest words among content words (the precision of always saying 2).
    pub base_rate: f64,
}

pub fn agreement(judge: &Labeler, users: &[User]) -> Agreement {
    let (mut tp, mut fp, mut fn_, mut n) = (0usize, 0usize, 0usize, 0usize);
    let mut without = 0;
    for (i, u) in users.iter().enumerate() {
        let r = references(users, i, None);
        if r.shown.iter().any(Option::is_none) {
            without += 1;
            continue;
        }
        let idx = judge.index(&u.history);
        let j = judge.judge_indexed(&idx, &text::join_response(&r.actual));
        let spans = text::query_spans(&j.response);
        for w in j.words.iter().filter(|w| w.class != 0) {
            let Some(k) = spans.iter().position(|s| w.start >= s.0 && w.end <= s.1) else {
                continue;
            };
            let truth = r.shown[k] == Some(true);
            let pred = w.class == 2;
            n += 1;
            match (truth, pred) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                _ => {}
            }
        }
    }
    Agreement {
        users: users.len(),
        users_without_meta: without,
        words: n,
        word_precision: tp as f64 / (tp + fp).max(1) as f64,
        word_recall: tp as f64 / (tp + fn_).max(1) as f64,
        base_rate: (tp + fn_) as f64 / n.max(1) as f64,
    }
}
