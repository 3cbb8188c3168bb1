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
    /// Per stem: (Σ pair counts, Σ count·PMI), for [`Cooc::mean_pmi`].
    mean: HashMap<String, (u32, f32)>,
    /// Searches (normalised, [`crate::text::normalize_query`]) that appear in at
    /// least `popular_share` of the histories: navigational and popular queries
    /// ("google", "ebay"), which say nothing about a user's interests.
    popular: std::collections::BTreeSet<String>,
    df: HashMap<String, u32>,
    ids: HashMap<String, u32>,
    pairs: HashMap<u64, u32>,
    min_pair_count: u32,
}

/// Per stem: (Σ pair counts, Σ count·PMI) over its pairs.
fn means(
    histories: u32,
    df: &HashMap<String, u32>,
    ids: &HashMap<String, u32>,
    pairs: &HashMap<u64, u32>,
) -> HashMap<String, (u32, f32)> {
    let mut words: Vec<(&String, u32)> = ids.iter().map(|(w, i)| (w, *i)).collect();
    words.sort_by_key(|w| w.1);
    let mut acc: Vec<(u32, f32)> = vec![(0, 0.0); words.len()];
    let mut keys: Vec<(&u64, &u32)> = pairs.iter().collect();
    keys.sort_unstable();
    for (k, n) in keys {
        let (a, b) = ((k >> 32) as usize, (k & 0xffff_ffff) as usize);
        let (Some(wa), Some(wb)) = (words.get(a), words.get(b)) else {
            continue;
        };
        let pmi = (histories as f32 * *n as f32 / (df[wa.0] as f32 * df[wb.0] as f32)).ln();
        for i in [a, b] {
            acc[i].0 += n;
            acc[i].1 += *n as f32 * pmi;
        }
    }
    words
        .into_iter()
        .zip(acc)
        .map(|((w, _), a)| (w.clone(), a))
        .collect()
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
        popular_share: f32,
    ) -> Self {
        let floor = (popular_share * users.len() as f32).ceil().max(2.0) as u32;
        let popular: std::collections::BTreeSet<String> = crate::data::search_frequency(users)
            .into_iter()
            .filter(|(_, n)| *n >= floor)
            .map(|(q, _)| q)
            .collect();
        // Popular searches (and the clicks that follow them) say nothing about a
        // user's interests: left out of the bags, as the judge leaves them out of a
        // history's index.
        let popular_set: &std::collections::BTreeSet<String> = &popular;
        let bags: Vec<Vec<String>> = users
            .iter()
            .map(|u| {
                let mut bag: Vec<String> = Vec::new();
                let mut skip = false;
                for e in &u.history {
                    if e.kind == crate::data::EventKind::Search {
                        skip = popular_set.contains(&crate::text::normalize_query(&e.text));
                    }
                    if !skip {
                        bag.extend(crate::text::content_words(&e.text).iter().map(|w| stem(w)));
                    }
                }
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
        let histories = bags.len() as u32;
        Self {
            histories,
            mean: means(histories, &df, &ids, &pairs),
            popular,
            df,
            ids,
            pairs,
            min_pair_count,
        }
    }

    /// The mean PMI of a stem with the stems it co-occurs with, weighted by the
    /// number of histories holding both (pairs of at least `min_pair_count`):
    /// high for a topical word, whose company is its topic ("recipes": 1.7), near
    /// 0 for a word found beside anything ("new": 0.4, "florida": 0.5).
    /// `None` for a stem without pairs.
    pub fn mean_pmi(&self, stem: &str) -> Option<f32> {
        let (n, sum) = self.mean.get(stem)?;
        (*n > 0).then(|| sum / *n as f32)
    }

    /// Whether a search (any form) is a popular, navigational query.
    pub fn is_popular(&self, query: &str) -> bool {
        self.popular.contains(&crate::text::normalize_query(query))
    }

    /// The popular queries, in order.
    pub fn popular(&self) -> impl Iterator<Item = &str> {
        self.popular.iter().map(String::as_str)
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

    /// The statistics as bytes (`data/judge-stats.bin.gz` for the page, which then
    /// need not read the training histories before its first view): a magic line,
    /// then little-endian `histories`, `min_pair_count`, the words in id order (df,
    /// UTF-8 length, bytes), the pairs sorted by key (key, count) and the popular
    /// queries in order (UTF-8 length, bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut words: Vec<(&String, &u32)> = self.ids.iter().collect();
        words.sort_by_key(|(_, id)| **id);
        let mut pairs: Vec<(&u64, &u32)> = self.pairs.iter().collect();
        pairs.sort_unstable();
        let mut out = MAGIC.to_vec();
        for v in [self.histories, self.min_pair_count, words.len() as u32] {
            out.extend(v.to_le_bytes());
        }
        for (w, _) in &words {
            out.extend(self.df[*w].to_le_bytes());
            out.extend((w.len() as u32).to_le_bytes());
            out.extend(w.as_bytes());
        }
        out.extend((pairs.len() as u32).to_le_bytes());
        for (k, n) in pairs {
            out.extend(k.to_le_bytes());
            out.extend(n.to_le_bytes());
        }
        out.extend((self.popular.len() as u32).to_le_bytes());
        for q in &self.popular {
            out.extend((q.len() as u32).to_le_bytes());
            out.extend(q.as_bytes());
        }
        out
    }

    /// Read [`Cooc::to_bytes`]; a truncated or foreign file is an error, never a panic.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> crate::Result<Self> {
        let bad = |m: &str| crate::Error::Invalid(format!("{name}: {m}"));
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| bad("not judge statistics (`tppo data judge-stats` writes them)"))?;
        let mut r = Reader { rest };
        let truncated = || bad("truncated");
        let histories = r.u32().ok_or_else(truncated)?;
        let min_pair_count = r.u32().ok_or_else(truncated)?;
        let n_words = r.u32().ok_or_else(truncated)? as usize;
        let (mut df, mut ids) = (HashMap::new(), HashMap::new());
        for id in 0..n_words {
            let d = r.u32().ok_or_else(truncated)?;
            let len = r.u32().ok_or_else(truncated)? as usize;
            let w = std::str::from_utf8(r.take(len).ok_or_else(truncated)?)
                .map_err(|_| bad("a word is not UTF-8"))?
                .to_string();
            df.insert(w.clone(), d);
            ids.insert(w, id as u32);
        }
        let n_pairs = r.u32().ok_or_else(truncated)? as usize;
        let mut pairs = HashMap::with_capacity(n_pairs.min(bytes.len() / 12));
        for _ in 0..n_pairs {
            let k = r.take(8).ok_or_else(truncated)?;
            let key = u64::from_le_bytes([k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]]);
            pairs.insert(key, r.u32().ok_or_else(truncated)?);
        }
        let n_popular = r.u32().ok_or_else(truncated)? as usize;
        let mut popular = std::collections::BTreeSet::new();
        for _ in 0..n_popular {
            let len = r.u32().ok_or_else(truncated)? as usize;
            let q = std::str::from_utf8(r.take(len).ok_or_else(truncated)?)
                .map_err(|_| bad("a popular query is not UTF-8"))?;
            popular.insert(q.to_string());
        }
        if !r.rest.is_empty() {
            return Err(bad("bytes after the last popular query"));
        }
        Ok(Self {
            histories,
            mean: means(histories, &df, &ids, &pairs),
            popular,
            df,
            ids,
            pairs,
            min_pair_count,
        })
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (a, b) = self.rest.split_at(n);
        self.rest = b;
        Some(a)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

const MAGIC: &[u8] = b"tppo judge statistics v2\n";

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
        let c = Cooc::learn(&users, &|w| w.to_string(), 1, 1, 0.5);
        let (n, pmi) = c.pmi("alpha", "beta").unwrap();
        assert_eq!(n, 2);
        assert!((pmi - (4.0f32 * 2.0 / (3.0 * 2.0)).ln()).abs() < 1e-6);
        assert_eq!(c.pmi("beta", "gamma"), None);
        // A pair below min_pair_count is dropped.
        let c2 = Cooc::learn(&users, &|w| w.to_string(), 1, 3, 0.5);
        assert_eq!(c.popular().count(), 0, "no search in 2 of 4 histories");
        // Mean PMI weighted by pair counts: alpha has (beta, 2 histories), (gamma, 1).
        let (ab, ag) = ((4.0f32 * 2.0 / 6.0).ln(), (4.0f32 * 1.0 / 6.0).ln());
        let close = |a: Option<f32>, b: f32| a.is_some_and(|a| (a - b).abs() < 1e-6);
        assert!(close(c.mean_pmi("alpha"), (2.0 * ab + ag) / 3.0));
        assert!(close(c.mean_pmi("beta"), ab) && close(c.mean_pmi("gamma"), ag));
        assert_eq!(c.mean_pmi("delta"), None);
        assert_eq!(c2.pmi("alpha", "beta"), None);
    }

    #[test]
    fn a_search_in_enough_histories_is_popular() {
        let users = vec![
            user(&["google", "alpha"]),
            user(&["Google ", "google", "beta"]),
            user(&["alpha gamma"]),
            user(&["gamma", "alpha"]),
        ];
        // share 0.5 of 4 histories: at least 2; "google" twice in one history counts once.
        let c = Cooc::learn(&users, &|w| w.to_string(), 1, 1, 0.5);
        assert_eq!(c.popular().collect::<Vec<_>>(), vec!["alpha", "google"]);
        assert!(c.is_popular("GOOGLE") && !c.is_popular("gamma"));
        let c = Cooc::learn(&users, &|w| w.to_string(), 1, 1, 0.75);
        assert_eq!(c.popular().count(), 0, "3 of 4 needed");
    }

    #[test]
    fn statistics_round_trip_through_bytes_and_bad_bytes_are_errors() {
        let users = vec![
            user(&["alpha beta"]),
            user(&["alpha", "beta", "délta"]),
            user(&["alpha gamma délta"]),
            user(&["gamma délta", "alpha beta"]),
        ];
        let c = Cooc::learn(&users, &|w| w.to_string(), 1, 1, 0.5);
        let bytes = c.to_bytes();
        let d = Cooc::from_bytes("t", &bytes).unwrap();
        assert_eq!((d.histories, d.pair_count()), (c.histories, c.pair_count()));
        for a in ["alpha", "beta", "gamma", "délta", "zeta"] {
            assert_eq!(d.df(a), c.df(a));
            for b in ["alpha", "beta", "gamma", "délta", "zeta"] {
                assert_eq!(d.pmi(a, b), c.pmi(a, b), "{a} {b}");
            }
        }
        assert_eq!(d.to_bytes(), bytes);
        assert_eq!(
            d.popular().collect::<Vec<_>>(),
            c.popular().collect::<Vec<_>>()
        );
        for w in ["alpha", "beta", "gamma", "délta"] {
            assert_eq!(d.mean_pmi(w), c.mean_pmi(w), "{w}");
        }
        for cut in [0, 10, MAGIC.len() + 3, bytes.len() - 1] {
            assert!(
                Cooc::from_bytes("t", &bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        let e = Cooc::from_bytes("t", &long).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("after the last popular query")));
    }
}
