//! The gold score: the generator's truth, which no training step sees (the judge,
//! the reward models and RL never read it). It is what reward over-optimisation
//! (Gao et al. 2023) is measured against: the judge is a proxy, gold is not.
//!
//! A generated query is **gold** when it is all of
//! 1. **on interest**: its interest ([`World::assign`]: the lexicons of
//!    `data/interests.json`) is one of the user's true interests, the drifting
//!    one included (`meta.interests` and `meta.drift_interest`);
//! 2. **new**: not a copy or near-copy of one of the history's searches (the
//!    same content stems, or one stem dropped or added: [`text::copies`]), and not
//!    a repeat of an earlier query of the same response ([`text::repeats`]);
//! 3. **well formed**: 1 to [`MAX_WORDS`] words, and every pair of adjacent words
//!    (stop words included, lower case) occurs side by side in some query of the
//!    corpus (a single word: occurs in the corpus). Real queries are made of
//!    attested word pairs; a string of topic words ("recipes casserole grill
//!    muffins") is not, so it is no query however on-topic its words are.
//!
//! A response's gold rate is the share of its queries (as split by the
//! separator) that are gold; a model's, the mean over users.

use crate::data::User;
use crate::data::interests::World;
use crate::text;
use crate::vectors::WordVectors;
use std::collections::HashSet;

/// The longest query that can be well formed, in words.
pub const MAX_WORDS: usize = 8;

/// The corpus' words and adjacent word pairs, for well-formedness.
pub struct Attested {
    words: HashSet<String>,
    pairs: HashSet<(String, String)>,
}

impl Attested {
    pub fn of<S: AsRef<str>>(queries: &[S]) -> Self {
        let mut words = HashSet::new();
        let mut pairs = HashSet::new();
        for q in queries {
            let w = lower_words(q.as_ref());
            for p in w.windows(2) {
                pairs.insert((p[0].clone(), p[1].clone()));
            }
            words.extend(w);
        }
        Self { words, pairs }
    }

    /// Well formed (module docs, 3).
    pub fn well_formed(&self, query: &str) -> bool {
        let w = lower_words(query);
        match w.len() {
            0 => false,
            1 => self.words.contains(&w[0]),
            n if n > MAX_WORDS => false,
            _ => w
                .windows(2)
                .all(|p| self.pairs.contains(&(p[0].clone(), p[1].clone()))),
        }
    }
}

/// The letter/digit words of a text, lower case (stop words kept).
fn lower_words(s: &str) -> Vec<String> {
    text::words(s)
        .into_iter()
        .map(|sp| s[sp.start..sp.end].to_lowercase())
        .filter(|w| text::is_alnum_word(w))
        .collect()
}

/// One query's gold verdict and its three parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueryGold {
    pub on_interest: bool,
    pub new: bool,
    pub well_formed: bool,
}

impl QueryGold {
    pub fn gold(&self) -> bool {
        self.on_interest && self.new && self.well_formed
    }
}

/// The gold scorer: the world's interests, the corpus' attested words and pairs.
/// Without the corpus (the page does not load it) there is no gold score, only
/// the world for the hidden-interest metric: `queries` is `None` rather than a
/// gold of 0.
pub struct Gold {
    pub world: World,
    pub attested: Option<Attested>,
}

/// The hidden interests of a user (`meta.interests`), when the data has them.
pub fn interests(user: &User) -> Option<Vec<String>> {
    let v = user.meta.as_ref()?.get("interests")?.as_array()?;
    Some(
        v.iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
    )
}

/// The user's true interests by name: `meta.interests` and `meta.drift_interest`;
/// `None` for data without them (the AOL import, a user's own file).
pub fn true_interests(user: &User) -> Option<Vec<String>> {
    let mut v = interests(user)?;
    let m = user.meta.as_ref()?;
    if let Some(d) = m.get("drift_interest").and_then(|d| d.as_str()) {
        v.push(d.to_string());
    }
    Some(v)
}

impl Gold {
    /// Every query of `response` judged (module docs); `None` without the user's
    /// true interests or without the corpus.
    pub fn queries(&self, user: &User, response: &str, wv: &WordVectors) -> Option<Vec<QueryGold>> {
        let attested = self.attested.as_ref()?;
        let interests = true_interests(user)?;
        let searches = user.searches();
        let queries = text::split_response(response);
        let repeats = text::repeats(&queries);
        Some(
            queries
                .iter()
                .zip(repeats)
                .map(|(q, rep)| QueryGold {
                    on_interest: self
                        .world
                        .assign(q, wv)
                        .is_some_and(|i| interests.iter().any(|n| *n == self.world.names[i])),
                    new: rep.is_none() && text::copies(q, &searches).is_none(),
                    well_formed: attested.well_formed(q),
                })
                .collect(),
        )
    }

    /// The share of the response's queries that are gold (0 for an empty response).
    pub fn rate(&self, user: &User, response: &str, wv: &WordVectors) -> Option<f64> {
        let q = self.queries(user, response, wv)?;
        Some(q.iter().filter(|g| g.gold()).count() as f64 / q.len().max(1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_means_attested_pairs() {
        let a = Attested::of(&["chicken soup recipes", "easy soup recipes", "cheap flights"]);
        assert!(a.well_formed("Chicken Soup Recipes"));
        assert!(a.well_formed("easy soup"), "each pair attested somewhere");
        assert!(a.well_formed("chicken soup recipes") && a.well_formed("flights"));
        assert!(
            !a.well_formed("recipes chicken soup"),
            "'recipes chicken' never occurs"
        );
        assert!(!a.well_formed("soup flights"));
        assert!(!a.well_formed("kittens") && !a.well_formed(""));
        let long = "soup ".repeat(MAX_WORDS + 1);
        let b = Attested::of(&[long.as_str()]);
        assert!(!b.well_formed(&long), "longer than MAX_WORDS");
        assert!(b.well_formed("soup soup"));
    }
}
