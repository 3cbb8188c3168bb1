//! How far the judge agrees with the generator's hidden truth. This is the
//! only place that reads `meta`, and only to *measure* the judge.
//!
//! Word level: every content word (class ≠ 0) of a target query is a
//! positive when the query came from one of the user's interests
//! (`meta.target_on_interest`), a negative when it came from a drifting
//! interest. Class 2 is the prediction. Query level: the judge's per-query
//! verdict against the same truth.

use super::Labeler;
use crate::data::User;
use serde::Serialize;

#[derive(Debug, Default, Clone, Serialize)]
pub struct Agreement {
    pub users: usize,
    pub users_without_meta: usize,
    pub words: usize,
    pub word_precision: f64,
    pub word_recall: f64,
    pub word_f1: f64,
    pub queries: usize,
    pub query_precision: f64,
    pub query_recall: f64,
    pub query_accuracy: f64,
    /// Share of on-interest words among content words (the precision of always saying 2).
    pub base_rate: f64,
}

#[derive(Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
    tn: usize,
}

impl Counts {
    fn add(&mut self, truth: bool, pred: bool) {
        match (truth, pred) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    fn total(&self) -> usize {
        self.tp + self.fp + self.fn_ + self.tn
    }
}

pub fn agreement(labeler: &Labeler, users: &[User]) -> Agreement {
    let mut words = Counts::default();
    let mut queries = Counts::default();
    let mut a = Agreement {
        users: users.len(),
        ..Default::default()
    };
    for u in users {
        let truth: Option<Vec<bool>> = u
            .meta
            .as_ref()
            .and_then(|m| m.get("target_on_interest"))
            .and_then(|v| v.as_array())
            .map(|v| v.iter().map(|b| b.as_bool().unwrap_or(false)).collect());
        let Some(truth) = truth.filter(|t| t.len() == u.targets.len()) else {
            a.users_without_meta += 1;
            continue;
        };
        let idx = labeler.index(&u.history);
        for (q, on) in u.targets.iter().zip(truth) {
            let j = labeler.judge_indexed(&idx, q);
            for w in j.words.iter().filter(|w| w.class != 0) {
                words.add(on, w.class == 2);
            }
            if let Some(v) = j.queries.first() {
                queries.add(on, v.relevant);
            }
        }
    }
    a.words = words.total();
    a.word_precision = words.precision();
    a.word_recall = words.recall();
    a.word_f1 =
        2.0 * a.word_precision * a.word_recall / (a.word_precision + a.word_recall).max(1e-12);
    a.queries = queries.total();
    a.query_precision = queries.precision();
    a.query_recall = queries.recall();
    a.query_accuracy = (queries.tp + queries.tn) as f64 / queries.total().max(1) as f64;
    a.base_rate = (words.tp + words.fn_) as f64 / words.total().max(1) as f64;
    a
}
