//! Co-occurrence statistics learned over training histories: in how many
//! users' histories two (stemmed) content words appear together, and their
//! pointwise mutual information
//!
//! ```text
//! PMI(a, b) = ln( N · n(a, b) / (n(a) · n(b)) )
//! ```
//!
//! with N the number of histories and n(·) the number of histories holding the
//! word(s). Words in fewer than `min_word_df` histories are left out (their
//! PMI is noise), and so are pairs seen fewer than `min_pair_count` times.

use crate::data::User;
use std::collections::HashMap;

pub struct Cooc {
    pub histories: u32,
    df: HashMap<String, u32>,
    ids: HashMap<String, u32>,
    pairs: HashMap<u64, u32>,
    min_pair_count: u32,
}

fn key(a: u32, b: u32) -> u64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    (u64::from(lo) << 32) | u64::from(hi)
}

impl Cooc {
    /// Learn from the histories of `users` (their targets are not read).
    pub fn learn(
        users: &[User],
        stem: &dyn Fn(&str) -> String,
        min_word_df: u32,
        min_pair_count: u32,
    ) -> Self {
        let bags: Vec<Vec<String>> = users
            .iter()
            .map(|u| {
                let mut bag: Vec<String> = u
                    .history
                    .iter()
                    .flat_map(|e| crate::text::content_words(&e.text))
                    .map(|w| stem(&w))
                    .collect();
                bag.sort_unstable();
                bag.dedup();
                bag
            })
            .collect();
        let mut df: HashMap<String, u32> = HashMap::new();
        for bag in &bags {
            for w in bag {
                *df.entry(w.clone()).or_default() += 1;
            }
        }
        df.retain(|_, n| *n >= min_word_df);
        let mut vocab: Vec<&String> = df.keys().collect();
        vocab.sort_unstable();
        let ids: HashMap<String, u32> = vocab
            .iter()
            .enumerate()
            .map(|(i, w)| ((*w).clone(), i as u32))
            .collect();
        let mut pairs: HashMap<u64, u32> = HashMap::new();
        for bag in &bags {
            let known: Vec<u32> = bag.iter().filter_map(|w| ids.get(w).copied()).collect();
            for (i, &a) in known.iter().enumerate() {
                for &b in &known[i + 1..] {
                    *pairs.entry(key(a, b)).or_default() += 1;
                }
            }
        }
        pairs.retain(|_, n| *n >= min_pair_count);
        Self {
            histories: bags.len() as u32,
            df,
            ids,
            pairs,
            min_pair_count,
        }
    }

    /// Histories holding the stem.
    pub fn df(&self, stem: &str) -> u32 {
        self.df.get(stem).copied().unwrap_or(0)
    }

    /// (co-occurrence count, PMI) of two stems, when both are known and the pair is frequent enough.
    pub fn pmi(&self, a: &str, b: &str) -> Option<(u32, f32)> {
        if a == b {
            return None;
        }
        let (ia, ib) = (self.ids.get(a)?, self.ids.get(b)?);
        let n = *self.pairs.get(&key(*ia, *ib))?;
        if n < self.min_pair_count {
            return None;
        }
        let (da, db) = (self.df(a) as f32, self.df(b) as f32);
        Some((n, (self.histories as f32 * n as f32 / (da * db)).ln()))
    }

    pub fn pair_count(&self) -> usize {
        self.pairs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Event, EventKind};

    fn user(words: &[&str]) -> User {
        User {
            user_id: "u".into(),
            history: words
                .iter()
                .map(|w| Event {
                    kind: EventKind::Search,
                    text: w.to_string(),
                    time: None,
                })
                .collect(),
            targets: vec!["x".into(), "y".into(), "z".into()],
            meta: None,
        }
    }

    #[test]
    fn pmi_matches_the_formula_by_hand() {
        // 4 histories: {a,b}, {a,b}, {a,c}, {c}. n(a)=3, n(b)=2, n(a,b)=2, N=4.
        let users = vec![
            user(&["alpha beta"]),
            user(&["alpha", "beta"]),
            user(&["alpha gamma"]),
            user(&["gamma"]),
        ];
        let c = Cooc::learn(&users, &|w| w.to_string(), 1, 1);
        let (n, pmi) = c.pmi("alpha", "beta").unwrap();
        assert_eq!(n, 2);
        assert!((pmi - (4.0f32 * 2.0 / (3.0 * 2.0)).ln()).abs() < 1e-6);
        assert_eq!(c.pmi("beta", "gamma"), None);
        // A pair below min_pair_count is dropped.
        let c2 = Cooc::learn(&users, &|w| w.to_string(), 1, 3);
        assert_eq!(c2.pmi("alpha", "beta"), None);
    }
}
