//! Topic discovery over the corpus itself, for the generator.
//!
//! Each query is embedded as the normalised mean of its content words' GloVe
//! vectors; spherical k-means (k-means++ seeding, fixed seed, fixed number of
//! rounds) groups them into topics of related queries ("chicken recipes",
//! "crock pot stew" and "baking bread" share a topic without sharing a word).
//! Topics smaller than `min_size` are dissolved. A topic is named by its three
//! most characteristic words (frequency in the topic × idf).
//!
//! Note for analysis: the labeler uses the same word vectors as one of its
//! signals, so its agreement with these topics is not fully independent.

use crate::vectors::{WordVectors, dot};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

pub struct Topic {
    pub name: String,
    /// Indices into the corpus' query list.
    pub queries: Vec<usize>,
    pub centroid: Vec<f32>,
    /// Most characteristic content words, best first.
    pub top_words: Vec<String>,
}

pub struct Topics {
    pub topics: Vec<Topic>,
    /// Topic of each query (`None`: no known content word, or a dissolved topic).
    pub of_query: Vec<Option<usize>>,
}

/// Normalised mean vector of a query's content words, if any is known.
pub fn embed(query: &str, wv: &WordVectors) -> Option<Vec<f32>> {
    let mut v = vec![0f32; wv.dim()];
    let mut n = 0;
    for w in crate::text::content_words(query) {
        if let Some(x) = wv.get(&w) {
            v.iter_mut().zip(x).for_each(|(a, b)| *a += b);
            n += 1;
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    (n > 0 && norm > 1e-6).then(|| v.into_iter().map(|x| x / norm).collect())
}

pub fn discover(
    queries: &[String],
    wv: &WordVectors,
    k: usize,
    rounds: usize,
    min_size: usize,
    seed: u64,
) -> Topics {
    let dim = wv.dim();
    let embedded: Vec<(usize, Vec<f32>)> = queries
        .iter()
        .enumerate()
        .filter_map(|(i, q)| embed(q, wv).map(|v| (i, v)))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    // k-means++ seeding on a fixed sample (distance = 1 - cosine).
    let sample: Vec<&Vec<f32>> = embedded
        .iter()
        .step_by((embedded.len() / 20_000).max(1))
        .map(|e| &e.1)
        .collect();
    let mut centroids: Vec<Vec<f32>> = vec![sample[rng.random_range(0..sample.len())].clone()];
    let mut best: Vec<f32> = sample.iter().map(|x| 1.0 - dot(x, &centroids[0])).collect();
    while centroids.len() < k.min(sample.len()) {
        let total: f32 = best.iter().map(|d| d.max(0.0) * d.max(0.0)).sum();
        let mut r = rng.random::<f32>() * total;
        let mut pick = sample.len() - 1;
        for (i, d) in best.iter().enumerate() {
            r -= d.max(0.0) * d.max(0.0);
            if r <= 0.0 {
                pick = i;
                break;
            }
        }
        let c = sample[pick].clone();
        for (b, x) in best.iter_mut().zip(&sample) {
            *b = b.min(1.0 - dot(x, &c));
        }
        centroids.push(c);
    }

    let mut assign = vec![0usize; embedded.len()];
    for _ in 0..rounds {
        for (a, (_, x)) in assign.iter_mut().zip(&embedded) {
            *a = argmax(centroids.iter().map(|c| dot(x, c)));
        }
        let mut sums = vec![vec![0f32; dim]; centroids.len()];
        for (a, (_, x)) in assign.iter().zip(&embedded) {
            sums[*a].iter_mut().zip(x).for_each(|(s, v)| *s += v);
        }
        for (c, s) in centroids.iter_mut().zip(sums) {
            let norm = s.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 1e-6 {
                *c = s.into_iter().map(|x| x / norm).collect();
            }
        }
    }

    // Document frequency of words, for naming.
    let mut df: HashMap<String, usize> = HashMap::new();
    for (i, _) in &embedded {
        for w in crate::text::content_words(&queries[*i]) {
            *df.entry(w).or_default() += 1;
        }
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); centroids.len()];
    for (a, (i, _)) in assign.iter().zip(&embedded) {
        members[*a].push(*i);
    }
    let mut topics = Vec::new();
    let mut of_query = vec![None; queries.len()];
    let n_docs = embedded.len() as f32;
    for (members, centroid) in members.into_iter().zip(centroids) {
        if members.len() < min_size {
            continue;
        }
        let mut tf: HashMap<String, usize> = HashMap::new();
        for &i in &members {
            for w in crate::text::content_words(&queries[i]) {
                *tf.entry(w).or_default() += 1;
            }
        }
        let mut scored: Vec<(f32, String)> = tf
            .into_iter()
            .filter(|(w, c)| *c >= 2 && w.chars().any(char::is_alphabetic))
            .map(|(w, c)| (c as f32 * (n_docs / df[&w] as f32).ln(), w))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let top_words: Vec<String> = scored.into_iter().take(12).map(|s| s.1).collect();
        let id = topics.len();
        for &i in &members {
            of_query[i] = Some(id);
        }
        let name = top_words
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        topics.push(Topic {
            name,
            queries: members,
            centroid,
            top_words,
        });
    }
    Topics { topics, of_query }
}

/// The topics as the evaluation needs them (`data/topics.json`): each topic's name
/// (as in the users' `meta.interests`) and centroid.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TopicFile {
    pub topics: Vec<TopicCentroid>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TopicCentroid {
    pub name: String,
    pub centroid: Vec<f32>,
}

impl TopicFile {
    pub fn of(t: &Topics) -> Self {
        Self {
            topics: t
                .topics
                .iter()
                .map(|t| TopicCentroid {
                    name: t.name.clone(),
                    // 5 decimals are plenty for a nearest-centroid choice, and a third of the bytes.
                    centroid: t.centroid.iter().map(|x| (x * 1e5).round() / 1e5).collect(),
                })
                .collect(),
        }
    }

    /// The topic of a query: the centroid nearest (by cosine) to its embedding
    /// ([`embed`]), as the generator's k-means assigns its queries; `None` when none
    /// of its content words has a vector.
    pub fn assign(&self, query: &str, wv: &WordVectors) -> Option<&str> {
        let v = embed(query, wv)?;
        let i = argmax(self.topics.iter().map(|t| dot(&v, &t.centroid)));
        self.topics.get(i).map(|t| t.name.as_str())
    }

    pub fn read(path: &std::path::Path) -> crate::Result<Self> {
        let bytes = crate::io::read_file(path)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            crate::Error::Invalid(format!("{}: not a topics file: {e}", path.display()))
        })
    }
}

fn argmax(it: impl Iterator<Item = f32>) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, v) in it.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}
