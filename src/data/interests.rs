//! The world's interests: curated lexicons (`data/interests.json`), a name and
//! seed words per interest, that assign real TREC queries to topics a person
//! recognises ("cooking and recipes", "cars and trucks", "taxes").
//!
//! A query belongs to an interest when
//! 1. some of its content words are seed words of that interest (compared by
//!    Snowball stem, so "recipe" and "recipes" are one word), more of them than
//!    of any other interest (a tie assigns nothing: "dog food recipes" names two
//!    interests and belongs to neither); and
//! 2. it is coherent: the cosine between the query's embedding (the normalised
//!    mean GloVe vector of its content words) and the interest's centroid (the
//!    same over its seed words) reaches `coherence_floor`. This drops queries that
//!    only mention a seed word in passing ("glutathione in dallas" matches no
//!    interest; "bass pro shops locations" is kept under fishing only if the
//!    rest of it is about fishing too).
//!
//! Queries of no interest are the world's noise (off-interest history searches).
//! This module is the generator's and the gold score's: the judge
//! (`crate::labeler`) never reads it, so judge and gold stay two instruments.

use crate::vectors::{WordVectors, dot};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// `data/interests.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterestFile {
    /// The least cosine between a query and its interest's centroid.
    pub coherence_floor: f32,
    pub interests: Vec<Lexicon>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lexicon {
    pub name: String,
    pub words: Vec<String>,
}

/// The interests compiled for assignment.
pub struct World {
    pub names: Vec<String>,
    /// Each interest's seed words, as written.
    pub words: Vec<Vec<String>>,
    pub centroids: Vec<Vec<f32>>,
    pub coherence_floor: f32,
    stem_of: HashMap<String, usize>,
}

impl InterestFile {
    pub fn read(path: &std::path::Path) -> crate::Result<Self> {
        let bytes = crate::io::read_file(path)?;
        Self::from_bytes(&path.display().to_string(), &bytes)
    }

    pub fn from_bytes(name: &str, bytes: &[u8]) -> crate::Result<Self> {
        let file: Self = serde_json::from_slice(bytes).map_err(|e| {
            crate::Error::Input(crate::error::InputErrors(vec![
                crate::error::InputError::new(
                    name.to_string(),
                    e.line(),
                    "",
                    format!("expected an interests file {{coherence_floor, interests: [{{name, words}}]}}: {e}"),
                ),
            ]))
        })?;
        Ok(file)
    }
}

/// The world of the bundled assets: `interests.json` in `assets`, compiled with `wv`.
pub fn load(assets: &std::path::Path, wv: &WordVectors) -> crate::Result<World> {
    World::new(&InterestFile::read(&assets.join("interests.json"))?, wv)
}

/// Normalised mean vector of the content words of `text` that have a vector.
pub fn embed(text: &str, wv: &WordVectors) -> Option<Vec<f32>> {
    embed_words(
        crate::text::content_words(text).iter().map(String::as_str),
        wv,
    )
}

fn embed_words<'a>(words: impl Iterator<Item = &'a str>, wv: &WordVectors) -> Option<Vec<f32>> {
    let mut v = vec![0f32; wv.dim()];
    let mut n = 0;
    for w in words {
        if let Some(x) = wv.get(w) {
            v.iter_mut().zip(x).for_each(|(a, b)| *a += b);
            n += 1;
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    (n > 0 && norm > 1e-6).then(|| v.into_iter().map(|x| x / norm).collect())
}

impl World {
    /// Compile the lexicons; a seed word in two interests, an interest without a word
    /// vector, or an empty file is an error.
    pub fn new(file: &InterestFile, wv: &WordVectors) -> crate::Result<Self> {
        if file.interests.len() < 4 {
            return Err(crate::Error::Invalid(format!(
                "interests file: {} interests; the generator needs at least 4",
                file.interests.len()
            )));
        }
        let mut stem_of: HashMap<String, usize> = HashMap::new();
        let mut centroids = Vec::new();
        for (i, lex) in file.interests.iter().enumerate() {
            for w in &lex.words {
                let s = crate::text::stem(&w.to_lowercase());
                if let Some(&j) = stem_of.get(&s)
                    && j != i
                {
                    return Err(crate::Error::Invalid(format!(
                        "interests file: the seed word \"{w}\" of \"{}\" is also one of \"{}\"",
                        lex.name, file.interests[j].name
                    )));
                }
                stem_of.insert(s, i);
            }
            let c = embed_words(lex.words.iter().map(String::as_str), wv).ok_or_else(|| {
                crate::Error::Invalid(format!(
                    "interests file: no seed word of \"{}\" has a word vector",
                    lex.name
                ))
            })?;
            centroids.push(c);
        }
        Ok(Self {
            names: file.interests.iter().map(|l| l.name.clone()).collect(),
            words: file.interests.iter().map(|l| l.words.clone()).collect(),
            centroids,
            coherence_floor: file.coherence_floor,
            stem_of,
        })
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The interest a seed word (any form with the same stem) belongs to.
    pub fn interest_of_word(&self, word: &str) -> Option<usize> {
        self.stem_of.get(&crate::text::stem(word)).copied()
    }

    /// The interest of a query (see the module docs), or `None`.
    pub fn assign(&self, query: &str, wv: &WordVectors) -> Option<usize> {
        let words = crate::text::content_words(query);
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for w in &words {
            if let Some(i) = self.interest_of_word(w) {
                *counts.entry(i).or_default() += 1;
            }
        }
        let best = counts.values().copied().max()?;
        let mut top = counts.iter().filter(|(_, c)| **c == best).map(|(i, _)| *i);
        let i = top.next()?;
        if top.next().is_some() {
            return None;
        }
        let v = embed_words(words.iter().map(String::as_str), wv)?;
        (dot(&v, &self.centroids[i]) >= self.coherence_floor).then_some(i)
    }

    /// The interest nearest to `i` by centroid, among those `allowed`.
    pub fn nearest(&self, i: usize, allowed: impl Iterator<Item = usize>) -> Option<usize> {
        allowed.filter(|&j| j != i).max_by(|&a, &b| {
            dot(&self.centroids[i], &self.centroids[a])
                .total_cmp(&dot(&self.centroids[i], &self.centroids[b]))
        })
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(name: &str, words: &[&str]) -> Lexicon {
        Lexicon {
            name: name.into(),
            words: words.iter().map(|w| w.to_string()).collect(),
        }
    }

    /// Two "food" words, two "car" words and a city between them, in 2-d.
    fn toy(floor: f32) -> (World, WordVectors) {
        let rows: [(&str, &[f32]); 7] = [
            ("recipe", &[1.0, 0.0]),
            ("soup", &[0.9, 0.1]),
            ("car", &[0.0, 1.0]),
            ("tires", &[0.1, 0.9]),
            ("dallas", &[0.6, 0.8]),
            ("zzc", &[-1.0, 0.0]),
            ("zzd", &[0.0, -1.0]),
        ];
        let wv = WordVectors::from_rows(&rows);
        let file = InterestFile {
            coherence_floor: floor,
            interests: vec![
                lex("food", &["recipe", "soup"]),
                lex("cars", &["car", "tires"]),
                lex("c", &["zzc"]),
                lex("d", &["zzd"]),
            ],
        };
        match World::new(&file, &wv) {
            Ok(w) => (w, wv),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn assignment_by_stem_majority_ties_and_coherence() {
        let (w, wv) = toy(0.95);
        assert_eq!(
            w.assign("Soup recipes", &wv),
            Some(0),
            "stems match seed words"
        );
        assert_eq!(w.assign("car tires", &wv), Some(1));
        assert_eq!(w.assign("soup car", &wv), None, "a tie names no interest");
        // Two food words and one car word: food by majority, cosine 0.88 to its centroid.
        assert_eq!(w.assign("soup soup car", &wv), None, "below the floor 0.95");
        assert_eq!(
            toy(0.8).0.assign("soup soup car", &wv),
            Some(0),
            "the majority wins"
        );
        assert_eq!(w.assign("dallas", &wv), None, "no seed word");
        // "recipe dallas": the cosine of mean([1,0],[0.6,0.8]) to the food centroid
        // (mean of [1,0] and [0.9,0.1], normalised) is 0.917.
        assert_eq!(w.assign("recipe dallas", &wv), None, "below the floor 0.95");
        let (w, wv) = toy(0.9);
        assert_eq!(
            w.assign("recipe dallas", &wv),
            Some(0),
            "above the floor 0.9"
        );
        assert_eq!(
            w.nearest(0, 0..4),
            Some(1),
            "cars is nearer food than c or d"
        );
    }

    #[test]
    fn a_seed_word_in_two_interests_or_without_vectors_is_an_error() {
        let wv = WordVectors::from_rows(&[("recipe", &[1.0, 0.0]), ("car", &[0.0, 1.0])]);
        let file = |second: &[&str]| InterestFile {
            coherence_floor: 0.5,
            interests: vec![
                lex("food", &["recipe"]),
                lex("cars", second),
                lex("c", &["car"]),
                lex("d", &["car"]),
            ],
        };
        let e = World::new(&file(&["recipes"]), &wv)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("\"recipes\" of \"cars\" is also one of \"food\"")));
        let e = World::new(&file(&["zz"]), &wv).err().map(|e| e.to_string());
        assert!(
            e.as_ref()
                .is_some_and(|e| e.contains("no seed word of \"cars\"")),
            "{e:?}"
        );
    }
}
