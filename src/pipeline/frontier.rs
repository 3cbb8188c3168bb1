//! The reward–KL frontier of a pipeline's runs (Gao et al. 2023), read at matched
//! KL levels rather than at one chosen checkpoint (issue 31).
//!
//! Each run's validation points ([`FrontierPoint`]: exact KL to the SFT policy, the
//! judge's relevance, gold, the run's RM score, distinct rate, length) are the run's
//! frontier. At each KL level of the preset, a seed's value is read off its frontier
//! by linear interpolation between the two points that bracket the level in KL
//! (points sorted by KL; the SFT point at KL 0 is every run's first). A seed whose
//! points never reach a level has no value there (no extrapolation); the report says
//! how many seeds each reading holds.
//!
//! Where a mode's mean RM score rises from one level to the next while its mean gold
//! falls, the reading at the higher level is marked over-optimised.
//!
//! Matched-KL comparisons pair seed k of one mode with seed k of the other (both
//! answer the same validation users from the same prompt schedule): the difference
//! at a level, seeds as the unit ([`over_seeds`]); "inconclusive" where its interval
//! holds 0. These readings are on the validation users (the frontier's points).
//!
//! **The verdicts** are on the eval users: every validated checkpoint of a final run
//! also answered them ([`EvalPoint`]); at a level, each user's relevance (and gold)
//! is interpolated between the two checkpoints that bracket the level in KL (the
//! validation KL), the same way; the difference A − B per user and seed is a seeds ×
//! users table, read with users and seeds resampled together ([`crossed`]), with its
//! minimum detectable effect; "inconclusive" where its interval holds 0.

use super::selection::{EvalPoint, FrontierPoint};
use crate::eval::stats::{Crossed, SeedEstimate, crossed, over_seeds};
use serde::{Deserialize, Serialize};

/// The KL levels (nats per response) of a preset's frontier, ascending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Levels(pub Vec<f32>);

impl Levels {
    /// The default preset's frontier: ≥ 5 levels from ≤ 0.5 to ≥ 8 nats (a span of
    /// ≥ 16×), as issue 31 asks.
    pub fn default_preset() -> Self {
        Self(vec![0.5, 1.0, 2.0, 4.0, 8.0])
    }

    /// The quick preset's: 3 levels its 10 iterations reach (its runs end near
    /// 0.07–0.7 nats), so that CI exercises the reading.
    pub fn quick_preset() -> Self {
        Self(vec![0.015, 0.03, 0.06])
    }

    /// The levels of a pipeline preset (`quick`, else the default preset's).
    pub fn of(preset: &str) -> Self {
        if preset == "quick" {
            Self::quick_preset()
        } else {
            Self::default_preset()
        }
    }

    /// At least `min_levels` levels, positive and ascending, from ≤ `low` to ≥ `high`.
    pub fn check(&self, min_levels: usize, low: f32, high: f32) -> Result<(), String> {
        let l = &self.0;
        if l.len() < min_levels {
            return Err(format!(
                "a frontier needs at least {min_levels} KL levels, found {} ({l:?})",
                l.len()
            ));
        }
        if l.iter().any(|x| !(x.is_finite() && *x > 0.0)) || l.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!(
                "KL levels must be positive and ascending, found {l:?}"
            ));
        }
        let (first, last) = (l[0], l[l.len() - 1]);
        if first > low || last < high {
            return Err(format!(
                "KL levels must run from ≤ {low} to ≥ {high} nats, found {first} to {last}"
            ));
        }
        Ok(())
    }
}

/// One run's evaluated checkpoints (a row of `frontier.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunFrontier {
    pub id: String,
    pub model: String,
    pub seed: u64,
    pub points: Vec<FrontierPoint>,
}

/// `value` of the frontier `points` at KL `kl`: linear between the two points that
/// bracket it (points sorted by KL), `None` beyond the last point or where a
/// bracketing point has no value.
pub fn at(
    points: &[FrontierPoint],
    kl: f32,
    value: impl Fn(&FrontierPoint) -> Option<f64>,
) -> Option<f64> {
    let mut p: Vec<&FrontierPoint> = points.iter().collect();
    p.sort_by(|a, b| a.kl.total_cmp(&b.kl).then(a.iter.cmp(&b.iter)));
    let hi = p.iter().position(|q| q.kl >= kl)?;
    let b = p[hi];
    if hi == 0 || b.kl == kl {
        return value(b);
    }
    let a = p[hi - 1];
    let t = f64::from(kl - a.kl) / f64::from(b.kl - a.kl);
    Some(value(a)? + t * (value(b)? - value(a)?))
}

/// A value at one level over a mode's seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spread {
    pub per_seed: Vec<(u64, f64)>,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    fn of(per_seed: Vec<(u64, f64)>) -> Option<Self> {
        if per_seed.is_empty() {
            return None;
        }
        let v: Vec<f64> = per_seed.iter().map(|x| x.1).collect();
        Some(Self {
            mean: v.iter().sum::<f64>() / v.len() as f64,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            per_seed,
        })
    }
}

/// A mode's frontier at one KL level.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reading {
    pub kl: f32,
    /// Seeds whose frontier reaches this level.
    pub seeds: usize,
    pub judge: Option<Spread>,
    pub gold: Option<Spread>,
    pub rm_score: Option<Spread>,
    pub distinct: Option<Spread>,
    pub length: Option<Spread>,
    /// The mean RM score rose from the level below while the mean gold fell.
    pub over_optimised: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModeFrontier {
    pub model: String,
    pub seeds: usize,
    pub levels: Vec<Reading>,
}

/// Two modes at one KL level: A − B, seed k against seed k.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Matched {
    pub pair: String,
    pub kl: f32,
    pub judge: Option<SeedEstimate>,
    pub gold: Option<SeedEstimate>,
    /// "A", "B" or "inconclusive" (the judge's t-interval over seeds holds 0, or one
    /// seed only).
    pub verdict: String,
}

/// Two modes at one KL level on the eval users: the verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    pub pair: String,
    pub kl: f32,
    /// Each mode's judge relevance at the level, mean over its seeds and users.
    pub a: f64,
    pub b: f64,
    /// A − B per user and seed, users × seeds resampled (none: a mode misses the level).
    pub judge: Option<Crossed>,
    pub gold: Option<Crossed>,
    /// "A", "B" or "inconclusive" (the judge's interval holds 0), or "not reached".
    pub verdict: String,
}

/// The frontier section of `report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Frontier {
    pub levels: Vec<f32>,
    /// Which users the points are on.
    pub users: String,
    pub modes: Vec<ModeFrontier>,
    pub matched: Vec<Matched>,
    /// The matched-KL verdicts on the eval users (runs that answered them).
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
}

/// A run's answers to the eval users at its validated checkpoints.
pub struct RunEval<'a> {
    pub model: &'a str,
    pub seed: u64,
    pub points: &'a [EvalPoint],
}

/// Each user's value at KL `kl`, linear between the two eval points that bracket
/// it (sorted by KL), as [`at`] reads a frontier; `None` beyond the last point.
pub fn users_at(points: &[EvalPoint], kl: f32, gold: bool) -> Option<Vec<f64>> {
    let mut p: Vec<&EvalPoint> = points.iter().collect();
    p.sort_by(|a, b| a.kl.total_cmp(&b.kl).then(a.iter.cmp(&b.iter)));
    let hi = p.iter().position(|q| q.kl >= kl)?;
    let values = |q: &EvalPoint| -> Option<Vec<f64>> {
        if gold {
            q.gold.iter().map(|g| g.map(f64::from)).collect()
        } else {
            Some(q.relevance.iter().map(|&r| f64::from(r)).collect())
        }
    };
    let b = p[hi];
    if hi == 0 || b.kl == kl {
        return values(b);
    }
    let a = p[hi - 1];
    if a.users != b.users {
        return None;
    }
    let t = f64::from(kl - a.kl) / f64::from(b.kl - a.kl);
    let (va, vb) = (values(a)?, values(b)?);
    Some(va.iter().zip(&vb).map(|(x, y)| x + t * (y - x)).collect())
}

fn verdicts(levels: &[f32], eval: &[RunEval], pairs: &[(&str, &str)]) -> Vec<Verdict> {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let of = |m: &str| -> Vec<&RunEval> {
        eval.iter()
            .filter(|r| r.model == m && !r.points.is_empty())
            .collect()
    };
    let mut out = Vec::new();
    for (a, b) in pairs {
        let (ra, rb) = (of(a), of(b));
        if ra.is_empty() || rb.is_empty() {
            continue;
        }
        for &kl in levels {
            // Seed k against seed k, where both reach the level and answered the same users.
            let mut rows_j = Vec::new();
            let mut rows_g = Vec::new();
            let (mut ma, mut mb) = (Vec::new(), Vec::new());
            for x in &ra {
                let Some(y) = rb.iter().find(|y| y.seed == x.seed) else {
                    continue;
                };
                let same = x.points[0].users == y.points[0].users;
                let (Some(ja), Some(jb)) =
                    (users_at(x.points, kl, false), users_at(y.points, kl, false))
                else {
                    continue;
                };
                if !same || ja.len() != jb.len() {
                    continue;
                }
                ma.push(mean(&ja));
                mb.push(mean(&jb));
                rows_j.push(ja.iter().zip(&jb).map(|(p, q)| p - q).collect::<Vec<f64>>());
                if let (Some(ga), Some(gb)) =
                    (users_at(x.points, kl, true), users_at(y.points, kl, true))
                {
                    rows_g.push(ga.iter().zip(&gb).map(|(p, q)| p - q).collect::<Vec<f64>>());
                }
            }
            let judge = (!rows_j.is_empty()).then(|| crossed(&rows_j, 2000, 43));
            let gold = (!rows_g.is_empty() && rows_g.len() == rows_j.len())
                .then(|| crossed(&rows_g, 2000, 47));
            let verdict = match &judge {
                None => "not reached".to_string(),
                Some(c) if c.inconclusive => "inconclusive".to_string(),
                Some(c) if c.mean > 0.0 => (*a).to_string(),
                Some(_) => (*b).to_string(),
            };
            out.push(Verdict {
                pair: format!("{a} − {b}"),
                kl,
                a: mean(&ma),
                b: mean(&mb),
                judge,
                gold,
                verdict,
            });
        }
    }
    out
}

type Value = fn(&FrontierPoint) -> Option<f64>;

const JUDGE: Value = |p| Some(p.relevance);
const GOLD: Value = |p| p.metrics.gold;
const RM: Value = |p| p.rm_score;
const DISTINCT: Value = |p| Some(p.metrics.distinct_query_rate);
const LENGTH: Value = |p| p.length;

fn per_seed(runs: &[&RunFrontier], kl: f32, value: Value) -> Vec<(u64, f64)> {
    runs.iter()
        .filter_map(|r| at(&r.points, kl, value).map(|v| (r.seed, v)))
        .collect()
}

fn mode(model: &str, runs: &[&RunFrontier], levels: &[f32]) -> ModeFrontier {
    let mut out: Vec<Reading> = Vec::new();
    for &kl in levels {
        let judge = Spread::of(per_seed(runs, kl, JUDGE));
        let gold = Spread::of(per_seed(runs, kl, GOLD));
        let rm_score = Spread::of(per_seed(runs, kl, RM));
        let over_optimised = match (out.last(), &rm_score, &gold) {
            (Some(prev), Some(rm), Some(g)) => match (&prev.rm_score, &prev.gold) {
                (Some(prm), Some(pg)) => rm.mean > prm.mean && g.mean < pg.mean,
                _ => false,
            },
            _ => false,
        };
        out.push(Reading {
            kl,
            seeds: judge.as_ref().map_or(0, |s| s.per_seed.len()),
            judge,
            gold,
            rm_score,
            distinct: Spread::of(per_seed(runs, kl, DISTINCT)),
            length: Spread::of(per_seed(runs, kl, LENGTH)),
            over_optimised,
        });
    }
    ModeFrontier {
        model: model.into(),
        seeds: runs.len(),
        levels: out,
    }
}

fn matched(a: &[&RunFrontier], b: &[&RunFrontier], kl: f32, value: Value) -> Option<SeedEstimate> {
    let diffs: Vec<(u64, Vec<f64>)> = a
        .iter()
        .filter_map(|ra| {
            let rb = b.iter().find(|r| r.seed == ra.seed)?;
            Some((
                ra.seed,
                vec![at(&ra.points, kl, value)? - at(&rb.points, kl, value)?],
            ))
        })
        .collect();
    (!diffs.is_empty()).then(|| over_seeds(&diffs, 2000, 41))
}

/// The frontier of `runs` at `levels`, for `models` in that order, the matched
/// comparisons of `pairs` (A, B) on the validation users, and their verdicts on the
/// eval users of `eval`.
pub fn build(
    levels: &[f32],
    runs: &[RunFrontier],
    eval: &[RunEval],
    models: &[&str],
    pairs: &[(&str, &str)],
) -> Frontier {
    let of = |m: &str| -> Vec<&RunFrontier> {
        runs.iter()
            .filter(|r| r.model == m && !r.points.is_empty())
            .collect()
    };
    let modes = models
        .iter()
        .filter(|m| !of(m).is_empty())
        .map(|m| mode(m, &of(m), levels))
        .collect();
    let mut out = Vec::new();
    for (a, b) in pairs {
        let (ra, rb) = (of(a), of(b));
        if ra.is_empty() || rb.is_empty() {
            continue;
        }
        for &kl in levels {
            let judge = matched(&ra, &rb, kl, JUDGE);
            let verdict = match judge.as_ref().and_then(|j| j.t_interval.as_ref()) {
                Some(i) if i.lo > 0.0 => (*a).to_string(),
                Some(i) if i.hi < 0.0 => (*b).to_string(),
                _ => "inconclusive".to_string(),
            };
            out.push(Matched {
                pair: format!("{a} − {b}"),
                kl,
                judge,
                gold: matched(&ra, &rb, kl, GOLD),
                verdict,
            });
        }
    }
    Frontier {
        levels: levels.to_vec(),
        users: "validation".into(),
        modes,
        matched: out,
        verdicts: verdicts(levels, eval, pairs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::ModelMetrics;

    fn pt(iter: usize, kl: f32, relevance: f64, gold: f64, rm: f64) -> FrontierPoint {
        FrontierPoint {
            iter,
            kl,
            relevance,
            metrics: ModelMetrics {
                gold: Some(gold),
                ..Default::default()
            },
            rm_score: Some(rm),
            length: Some(10.0),
        }
    }

    #[test]
    fn the_default_preset_has_five_levels_to_eight_nats_and_fewer_fail() {
        let d = Levels::default_preset();
        assert!(d.check(5, 0.5, 8.0).is_ok());
        assert!(d.0[d.0.len() - 1] / d.0[0] >= 16.0);
        let four = Levels(vec![0.5, 1.0, 2.0, 8.0]);
        assert!(four.check(5, 0.5, 8.0).unwrap_err().contains("at least 5"));
        let short = Levels(vec![0.5, 1.0, 2.0, 3.0, 4.0]);
        assert!(short.check(5, 0.5, 8.0).unwrap_err().contains("≥ 8"));
        let unsorted = Levels(vec![0.5, 2.0, 1.0, 4.0, 8.0]);
        assert!(unsorted.check(5, 0.5, 8.0).is_err());
        assert!(Levels::quick_preset().check(3, 0.5, 0.06).is_ok());
    }

    #[test]
    fn a_level_is_read_between_the_points_that_bracket_it() {
        // Out of order in iterations (KL fell between 10 and 15): sorted by KL.
        let p = [
            pt(0, 0.0, 0.50, 0.40, 0.0),
            pt(5, 1.0, 0.60, 0.42, 0.2),
            pt(10, 4.0, 0.90, 0.30, 1.0),
            pt(15, 2.0, 0.70, 0.41, 0.5),
        ];
        let j = |kl| at(&p, kl, JUDGE).unwrap();
        assert!((j(0.0) - 0.50).abs() < 1e-12);
        assert!((j(0.5) - 0.55).abs() < 1e-12); // halfway 0 → 1
        assert!((j(2.0) - 0.70).abs() < 1e-12); // on a point
        assert!((j(3.0) - 0.80).abs() < 1e-12); // halfway 2 → 4
        assert!(at(&p, 4.5, JUDGE).is_none(), "no extrapolation");
    }

    #[test]
    fn readings_over_seeds_flag_over_optimisation_and_pair_the_seeds() {
        let run = |model: &str, seed, lift: f64| RunFrontier {
            id: format!("{model}-seed{seed}"),
            model: model.into(),
            seed,
            points: vec![
                pt(0, 0.0, 0.5, 0.40, 0.0),
                pt(5, 1.0, 0.6 + lift, 0.45, 0.5),
                pt(10, 2.0, 0.7 + lift, 0.35, 1.0), // RM up, gold down
            ],
        };
        let runs = vec![
            run("ppo", 1, 0.0),
            run("ppo", 2, 0.02),
            run("tppo", 1, 0.05),
            run("tppo", 2, 0.09),
        ];
        let f = build(
            &[1.0, 2.0, 3.0],
            &runs,
            &[],
            &["ppo", "tppo"],
            &[("tppo", "ppo")],
        );
        assert!(f.verdicts.is_empty(), "no run answered the eval users");
        let ppo = &f.modes[0];
        assert_eq!(ppo.levels[0].seeds, 2);
        assert!((ppo.levels[0].judge.as_ref().unwrap().mean - 0.61).abs() < 1e-12);
        assert!(!ppo.levels[0].over_optimised);
        assert!(
            ppo.levels[1].over_optimised,
            "RM 0.5 → 1.0, gold 0.45 → 0.35"
        );
        assert_eq!(ppo.levels[2].seeds, 0, "3 nats is beyond every seed");
        // TPPO − PPO at 1 nat: seed 1 +0.05, seed 2 +0.07: mean 0.06, t-interval
        // 0.06 ± 12.706 · 0.01414/√2 = 0.06 ± 0.127: holds 0.
        let m = &f.matched[0];
        let j = m.judge.as_ref().unwrap();
        assert!((j.mean - 0.06).abs() < 1e-12);
        let t = j.t_interval.as_ref().unwrap();
        assert!((t.hi - t.lo - 2.0 * 12.706 * 0.01).abs() < 1e-9, "{t:?}");
        assert_eq!(m.verdict, "inconclusive");
        assert!(f.matched[2].judge.is_none());
    }

    fn ep(iter: usize, kl: f32, relevance: &[f32], gold: &[Option<f32>]) -> EvalPoint {
        EvalPoint {
            iter,
            kl,
            users: (0..relevance.len()).map(|u| format!("u{u}")).collect(),
            relevance: relevance.to_vec(),
            gold: gold.to_vec(),
        }
    }

    #[test]
    fn each_users_value_is_read_between_the_eval_points_that_bracket_the_level() {
        let g = |x: f32| Some(x);
        let p = [
            ep(0, 0.0, &[1.0, 0.0], &[g(0.5), g(0.0)]),
            ep(10, 2.0, &[0.0, 0.0], &[g(0.0), None]),
            ep(5, 1.0, &[1.0, 1.0], &[g(1.0), g(1.0)]),
        ];
        assert_eq!(users_at(&p, 0.0, false).unwrap(), vec![1.0, 0.0]);
        assert_eq!(users_at(&p, 0.5, false).unwrap(), vec![1.0, 0.5]);
        assert_eq!(users_at(&p, 1.5, false).unwrap(), vec![0.5, 0.5]);
        assert_eq!(users_at(&p, 0.5, true).unwrap(), vec![0.75, 0.5]);
        assert!(
            users_at(&p, 1.5, true).is_none(),
            "a user without gold at 2 nats"
        );
        assert!(users_at(&p, 2.5, false).is_none(), "no extrapolation");
    }

    #[test]
    fn verdicts_pair_seed_with_seed_on_the_same_users() {
        let g = Some(1.0);
        let run = |r1: [f32; 4]| vec![ep(0, 0.0, &[0.0; 4], &[g; 4]), ep(10, 2.0, &r1, &[g; 4])];
        // At 1 nat each user is halfway between 0 and its value at 2 nats.
        let (a1, a2) = (run([1.0; 4]), run([1.0, 1.0, 1.0, 0.0]));
        let (b1, b2) = (run([0.0; 4]), run([0.0; 4]));
        let eval = [
            RunEval {
                model: "tppo",
                seed: 1,
                points: &a1,
            },
            RunEval {
                model: "tppo",
                seed: 2,
                points: &a2,
            },
            RunEval {
                model: "ppo",
                seed: 1,
                points: &b1,
            },
            RunEval {
                model: "ppo",
                seed: 2,
                points: &b2,
            },
        ];
        let v = verdicts(&[1.0, 4.0], &eval, &[("tppo", "ppo")]);
        assert_eq!(v.len(), 2);
        // Differences at 1 nat: seed 1 all 0.5, seed 2 three of 0.5 and one 0: mean 3.5/8.
        let j = v[0].judge.as_ref().unwrap();
        assert!((j.mean - 3.5 / 8.0).abs() < 1e-12);
        assert!((v[0].a - 3.5 / 8.0).abs() < 1e-12 && v[0].b == 0.0);
        assert_eq!((j.seeds, j.users), (2, 4));
        assert_eq!(v[0].verdict, "tppo", "every resample is above 0");
        assert_eq!(v[0].gold.as_ref().unwrap().mean, 0.0, "gold 1 everywhere");
        assert_eq!(v[1].verdict, "not reached");
        assert!(v[1].judge.is_none());
    }
}
