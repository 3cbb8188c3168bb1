//! The seeded generator of the bundled data set: synthetic users, real queries.
//!
//! The TREC queries ([`super::corpus`]) come without users, so users are
//! assembled from interests a person recognises ([`super::interests`]: curated
//! lexicons that assign real queries to "cooking and recipes", "taxes", …):
//! 1. each user gets 1–3 interests (drawn in proportion to √(queries));
//! 2. a time-ordered history of `min_history..=max_history` searches, each one
//!    of: a query from one of the interests (the first interest weighs double),
//!    a navigational query the user keeps coming back to (`google`, `ebay`),
//!    a reformulation of the previous query (a word dropped, a seed word of the
//!    interest added, or another query of the interest that shares a word with
//!    it), or an off-interest query from anywhere (noise); clicks follow some
//!    searches, with a page title or URL derived from the query;
//! 3. [`N_TARGETS`] targets: real queries from the user's interests, never one of
//!    the history's searches, except that with probability `drift` a target comes
//!    from a *drifting* interest (one the history never showed; half the time the
//!    interest nearest the first one), so that a stated minority of targets cannot
//!    be foreseen from the history.
//!
//! Splits: a query's split is a fixed hash of its text (1 in 10 → eval), so
//! target queries never cross splits. Train users use train-split queries
//! only, for history and targets; eval users take targets from the eval split.
//! The hidden truth is recorded in `meta` for analysis and the gold score:
//! `interests` (names), `drift_interest` (the interest drifting targets come
//! from), and per target `target_interests` (its interest's name),
//! `target_on_interest` and `target_drifts` (its negation). The labeler never
//! reads it. Same corpus + interests + config + seed → identical bytes.

use super::corpus::Corpus;
use super::interests::World;
use super::schema::*;
use crate::vectors::WordVectors;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Split {
    Train,
    Eval,
    #[default]
    All,
}

/// Generator settings; the defaults made the bundled data set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SynthConfig {
    pub users: usize,
    pub seed: u64,
    pub split: Split,
    pub min_history: usize,
    pub max_history: usize,
    pub p_navigational: f64,
    pub p_reformulation: f64,
    pub p_off_interest: f64,
    pub p_click: f64,
    pub drift: f64,
    /// User ids are `PREFIX-000000`, …; the split's name (`train`, `eval`, `user`) by default.
    pub id_prefix: Option<String>,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            users: 200,
            seed: 1,
            split: Split::All,
            min_history: 4,
            max_history: 16,
            p_navigational: 0.08,
            p_reformulation: 0.12,
            p_off_interest: 0.07,
            p_click: 0.25,
            drift: 0.2,
            id_prefix: None,
        }
    }
}

/// Navigational queries: kept only where the corpus itself holds them.
const NAVIGATIONAL: &[&str] = &[
    "google",
    "yahoo",
    "ebay",
    "mapquest",
    "hotmail",
    "msn",
    "myspace",
    "aol",
    "aolmail",
    "walmart",
    "pogo",
    "amazon",
    "weather",
    "yahoo mail",
    "bank of america",
    "white pages",
    "yellow pages",
    "ask jeeves",
    "southwest airlines",
    "craigslist",
    "target",
    "home depot",
];

const SITES: &[&str] = &[
    "en.wikipedia.org",
    "www.about.com",
    "www.answers.com",
    "www.yahoo.com",
    "www.msn.com",
    "www.aol.com",
    "www.ask.com",
    "www.amazon.com",
    "www.ebay.com",
    "www.cnn.com",
];

/// Generate users from files: the corpus at `corpus` and the world of `assets`
/// (`interests.json`), with the word vectors `wv`.
pub fn generate_from(
    cfg: SynthConfig,
    corpus: &std::path::Path,
    assets: &std::path::Path,
    wv: &WordVectors,
) -> crate::Result<(Vec<User>, SynthSummary)> {
    let corpus = super::corpus::load(corpus)?;
    let world = super::interests::load(assets, wv)?;
    Ok(Generator::new(cfg, &corpus, wv, world)?.generate())
}

/// One interest of the world as `tppo data interests` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct InterestSize {
    pub interest: String,
    /// Its corpus queries, all splits.
    pub queries: usize,
    pub eval_split: usize,
    /// Up to `examples` of them, spread evenly over the corpus order.
    pub examples: Vec<String>,
}

/// Each interest's queries among `queries` (each assigned once).
pub fn interest_sizes(
    world: &World,
    queries: &[String],
    wv: &WordVectors,
    examples: usize,
) -> Vec<InterestSize> {
    let mut mine: Vec<Vec<&String>> = vec![Vec::new(); world.len()];
    for q in queries {
        if let Some(i) = world.assign(q, wv) {
            mine[i].push(q);
        }
    }
    world
        .names
        .iter()
        .zip(mine)
        .map(|(name, mine)| {
            let step = (mine.len() / examples.max(1)).max(1);
            InterestSize {
                interest: name.clone(),
                queries: mine.len(),
                eval_split: mine.iter().filter(|q| split_of(q) == Split::Eval).count(),
                examples: mine
                    .iter()
                    .step_by(step)
                    .take(examples)
                    .map(|q| q.to_string())
                    .collect(),
            }
        })
        .collect()
}

/// Which split a query belongs to: a fixed FNV-1a hash of its text.
pub fn split_of(query: &str) -> Split {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in query.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    if h.is_multiple_of(10) {
        Split::Eval
    } else {
        Split::Train
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SynthSummary {
    pub users: usize,
    pub interests: usize,
    pub corpus: super::corpus::CorpusSummary,
    /// Corpus queries of no interest (the noise pool only).
    pub queries_without_interest: usize,
    pub drifting_targets: usize,
}

pub struct Generator<'a> {
    cfg: SynthConfig,
    corpus: &'a Corpus,
    world: World,
    /// Interest of each corpus query.
    of_query: Vec<Option<usize>>,
    /// Per interest: its queries usable in histories and as targets in this split.
    hist_pool: Vec<Vec<usize>>,
    target_pool: Vec<Vec<usize>>,
    usable: Vec<usize>,
    navigational: Vec<String>,
    any_pool: Vec<usize>,
}

impl<'a> Generator<'a> {
    pub fn new(
        cfg: SynthConfig,
        corpus: &'a Corpus,
        wv: &WordVectors,
        world: World,
    ) -> crate::Result<Self> {
        let of_query: Vec<Option<usize>> =
            corpus.queries.iter().map(|q| world.assign(q, wv)).collect();
        let in_split = |q: &str, s: Split| s == Split::All || split_of(q) == s;
        let hist_split = if cfg.split == Split::Train {
            Split::Train
        } else {
            Split::All
        };
        let target_split = cfg.split;
        let mut hist_pool = vec![Vec::new(); world.len()];
        let mut target_pool = vec![Vec::new(); world.len()];
        for (i, t) in of_query.iter().enumerate() {
            let Some(t) = *t else { continue };
            let q = &corpus.queries[i];
            if in_split(q, hist_split) {
                hist_pool[t].push(i);
            }
            if in_split(q, target_split) {
                target_pool[t].push(i);
            }
        }
        let usable: Vec<usize> = (0..world.len())
            .filter(|&t| hist_pool[t].len() >= 10 && target_pool[t].len() >= 6)
            .collect();
        if usable.len() < 4 {
            return Err(crate::Error::Invalid(format!(
                "the corpus gave only {} usable interests; the generator needs at least 4",
                usable.len()
            )));
        }
        let known: std::collections::HashSet<&str> =
            corpus.queries.iter().map(String::as_str).collect();
        let navigational = NAVIGATIONAL
            .iter()
            .filter(|q| known.contains(*q))
            .map(|q| q.to_string())
            .collect();
        let any_pool = (0..corpus.queries.len())
            .filter(|&i| in_split(&corpus.queries[i], hist_split))
            .collect();
        Ok(Self {
            cfg,
            corpus,
            world,
            of_query,
            hist_pool,
            target_pool,
            usable,
            navigational,
            any_pool,
        })
    }

    fn q(&self, i: usize) -> &str {
        &self.corpus.queries[i]
    }

    /// Generate every user, with a summary of what was made.
    pub fn generate(&self) -> (Vec<User>, SynthSummary) {
        let prefix = self
            .cfg
            .id_prefix
            .as_deref()
            .unwrap_or(match self.cfg.split {
                Split::Train => "train",
                Split::Eval => "eval",
                Split::All => "user",
            });
        let mut drifting = 0;
        let users: Vec<User> = (0..self.cfg.users)
            .map(|i| {
                // One stream per user: a user does not change when N changes.
                let mut rng = ChaCha8Rng::seed_from_u64(
                    self.cfg.seed.wrapping_mul(0x9E3779B97F4A7C15) ^ i as u64,
                );
                let u = self.user(format!("{prefix}-{i:06}"), &mut rng);
                drifting += u
                    .meta
                    .as_ref()
                    .and_then(|m| m["target_on_interest"].as_array())
                    .map_or(0, |a| {
                        a.iter()
                            .filter(|b| b == &&serde_json::Value::Bool(false))
                            .count()
                    });
                u
            })
            .collect();
        let summary = SynthSummary {
            users: users.len(),
            interests: self.world.len(),
            corpus: self.corpus.summary.clone(),
            queries_without_interest: self.of_query.iter().filter(|t| t.is_none()).count(),
            drifting_targets: drifting,
        };
        (users, summary)
    }

    fn user(&self, user_id: String, rng: &mut ChaCha8Rng) -> User {
        let cfg = &self.cfg;
        // 1. Interests.
        let n_interests = match rng.random::<f64>() {
            x if x < 0.4 => 1,
            x if x < 0.8 => 2,
            _ => 3,
        };
        let mut interests: Vec<usize> = Vec::new();
        while interests.len() < n_interests {
            let t = *self
                .usable
                .choose_weighted(rng, |&t| (self.hist_pool[t].len() as f64).sqrt())
                .expect("usable interests are non-empty");
            if !interests.contains(&t) {
                interests.push(t);
            }
        }
        let favourite_nav: Vec<String> =
            self.navigational.choose_multiple(rng, 2).cloned().collect();

        // 2. History.
        let n_search = rng.random_range(cfg.min_history..=cfg.max_history);
        let mut clock = 1_141_171_200 + rng.random_range(0..60 * 86_400); // 2006-03-01 + up to 60 days
        let mut history: Vec<Event> = Vec::new();
        let mut last_query: Option<(String, Option<usize>)> = None;
        for _ in 0..n_search {
            clock += if rng.random::<f64>() < 0.2 {
                rng.random_range(3_600..172_800)
            } else {
                rng.random_range(10..400)
            };
            let r = rng.random::<f64>();
            let (query, topic) = if r < cfg.p_navigational && !favourite_nav.is_empty() {
                (favourite_nav.choose(rng).cloned().unwrap_or_default(), None)
            } else if r < cfg.p_navigational + cfg.p_reformulation
                && last_query.as_ref().is_some_and(|l| l.1.is_some())
            {
                let (prev, t) = last_query.clone().unwrap_or_default();
                (self.reformulate(&prev, t.unwrap_or(interests[0]), rng), t)
            } else if r < cfg.p_navigational + cfg.p_reformulation + cfg.p_off_interest {
                let i = *self.any_pool.choose(rng).expect("corpus is non-empty");
                (self.q(i).to_string(), None)
            } else {
                let t = if rng.random::<f64>() < 0.5 {
                    interests[0]
                } else {
                    *interests.choose(rng).unwrap_or(&interests[0])
                };
                let i = *self.hist_pool[t]
                    .choose(rng)
                    .expect("usable interests have queries");
                (self.q(i).to_string(), Some(t))
            };
            if cfg.split == Split::Train && split_of(&query) == Split::Eval {
                continue; // a reformulation or navigational query that belongs to the eval split
            }
            history.push(Event {
                kind: EventKind::Search,
                text: query.clone(),
                time: Some(format_time(clock)),
            });
            if rng.random::<f64>() < cfg.p_click {
                clock += rng.random_range(2..90);
                let nav = topic.is_none() && favourite_nav.contains(&query);
                history.push(Event {
                    kind: EventKind::Click,
                    text: click_text(&query, nav, rng),
                    time: Some(format_time(clock)),
                });
            }
            last_query = Some((query, topic));
        }

        // 3. Targets.
        let seen: std::collections::HashSet<&str> =
            history.iter().map(|e| e.text.as_str()).collect();
        let searches: Vec<&str> = history
            .iter()
            .filter(|e| e.kind == EventKind::Search)
            .map(|e| e.text.as_str())
            .collect();
        let drift_topic = self.drift_topic(&interests, rng);
        let mut targets: Vec<String> = Vec::new();
        let mut target_topics = Vec::new();
        let mut on_interest = Vec::new();
        let mut tries = 0;
        while targets.len() < N_TARGETS {
            tries += 1;
            let drift = rng.random::<f64>() < cfg.drift && tries < 200;
            let t = if drift {
                drift_topic
            } else {
                *interests.choose(rng).unwrap_or(&interests[0])
            };
            let pool = if tries < 100 {
                &self.target_pool[t]
            } else {
                &self.target_pool[self.usable[tries % self.usable.len()]]
            };
            let Some(&i) = pool.choose(rng) else { continue };
            let q = self.q(i);
            // A target is a *new* query: never a copy or near-copy of a history
            // search (crate::text::copies), nor of an earlier target.
            if seen.contains(q)
                || targets.iter().any(|x| x == q)
                || crate::text::copies(q, &searches).is_some()
            {
                continue;
            }
            targets.push(q.to_string());
            let real = self.of_query[i].unwrap_or(t);
            target_topics.push(self.world.names[real].clone());
            on_interest.push(interests.contains(&real));
        }
        let drifts: Vec<bool> = on_interest.iter().map(|o| !o).collect();
        let meta = serde_json::json!({
            "interests": interests.iter().map(|&t| self.world.names[t].clone()).collect::<Vec<_>>(),
            "drift_interest": self.world.names[drift_topic],
            "target_interests": target_topics,
            "target_on_interest": on_interest,
            "target_drifts": drifts,
        });
        User {
            user_id,
            history,
            targets,
            meta: Some(meta),
        }
    }

    fn drift_topic(&self, interests: &[usize], rng: &mut ChaCha8Rng) -> usize {
        let candidates: Vec<usize> = self
            .usable
            .iter()
            .copied()
            .filter(|t| !interests.contains(t))
            .collect();
        if rng.random::<f64>() < 0.5
            && let Some(t) = self.world.nearest(interests[0], candidates.iter().copied())
        {
            return t;
        }
        *candidates.choose(rng).unwrap_or(&interests[0])
    }

    /// A reformulation of `prev`: drop a word, add a seed word of the interest, or
    /// another query of the interest sharing a word.
    /// A new string passes the content filter too; if it would not, `prev` is kept.
    fn reformulate(&self, prev: &str, topic: usize, rng: &mut ChaCha8Rng) -> String {
        let q = self.reformulation(prev, topic, rng);
        if super::filter::removal_reason(&q).is_some() {
            prev.to_string()
        } else {
            q
        }
    }

    fn reformulation(&self, prev: &str, topic: usize, rng: &mut ChaCha8Rng) -> String {
        let words: Vec<&str> = prev.split(' ').collect();
        match rng.random_range(0..3) {
            0 if words.len() >= 2 => {
                let drop = rng.random_range(0..words.len());
                words
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != drop)
                    .map(|(_, w)| *w)
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            1 => {
                let seeds = &self.world.words[topic];
                let start = rng.random_range(0..seeds.len());
                let extra = (0..seeds.len())
                    .map(|k| &seeds[(start + k) % seeds.len()])
                    .find(|w| !words.contains(&w.as_str()));
                match extra {
                    Some(w) => format!("{prev} {w}"),
                    None => prev.to_string(),
                }
            }
            _ => {
                let content = crate::text::content_words(prev);
                let pool = &self.hist_pool[topic];
                let start = rng.random_range(0..pool.len());
                (0..pool.len())
                    .map(|k| self.q(pool[(start + k) % pool.len()]))
                    .find(|q| {
                        *q != prev
                            && crate::text::content_words(q)
                                .iter()
                                .any(|w| content.contains(w))
                    })
                    .unwrap_or(prev)
                    .to_string()
            }
        }
    }
}

fn click_text(query: &str, navigational: bool, rng: &mut ChaCha8Rng) -> String {
    let slug: String = crate::text::words(query)
        .into_iter()
        .map(|w| &query[w.start..w.end])
        .filter(|w| crate::text::is_alnum_word(w))
        .collect::<Vec<_>>()
        .join("-");
    if navigational {
        return format!("www.{}.com", slug.replace('-', ""));
    }
    let site = SITES.choose(rng).unwrap_or(&SITES[0]);
    if rng.random::<bool>() {
        let title: Vec<String> = query
            .split(' ')
            .map(|w| {
                let mut c = w.chars();
                c.next().map_or(String::new(), |f| {
                    f.to_uppercase().collect::<String>() + c.as_str()
                })
            })
            .collect();
        let name = site.trim_start_matches("www.").trim_start_matches("en.");
        format!("{} - {}", title.join(" "), name)
    } else if site.starts_with("en.wikipedia") {
        format!("{site}/wiki/{}", slug.replace('-', "_"))
    } else {
        format!("{site}/{slug}")
    }
}

/// Unix seconds → `YYYY-MM-DD HH:MM:SS` (UTC; civil-from-days, H. Hinnant).
pub fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formatting_matches_known_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_141_171_200), "2006-03-01 00:00:00");
        assert_eq!(format_time(951_782_400 + 86_399), "2000-02-29 23:59:59");
    }

    #[test]
    fn split_hash_is_fixed() {
        let eval = (0..1000)
            .filter(|i| split_of(&format!("query {i}")) == Split::Eval)
            .count();
        assert!((60..140).contains(&eval), "about 1 in 10, got {eval}");
        assert_eq!(split_of("google"), split_of("google"));
    }
}
