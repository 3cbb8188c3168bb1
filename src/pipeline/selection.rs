//! Checkpoint selection, and the reward–KL frontier a run traces (Gao et al.
//! 2023): every `every` iterations the policy an iteration samples from is decoded
//! greedily on validation users (disjoint from the final eval users), judged and
//! measured; the best validation relevance among the points whose KL is within
//! `kl_budget` is kept as the run's checkpoint (`OUT-best`).
//!
//! The RL driver ([`crate::rl::run::Run`]) knows nothing of evaluation: this module
//! drives it, and brings the evaluation to it. The experiment's design lives here too:
//! the tuning grid, the KL budget, and how a cell and a checkpoint are chosen.

use crate::error::Result;
use crate::kit::Kit;
use crate::model::policy::{Policy, SampleConfig};
use crate::rl::run::{Run, Step};
use crate::rl::{Metrics, PpoConfig};
use serde::{Deserialize, Serialize};

/// The tuning grid (both modes the same): learning rate × KL target.
/// Around the default preset's 1e-4 and 8 (session 18: the positive control passes
/// there, not at TRL's 3e-5 and 4; targets 2 and 4 gave identical cells before).
pub const GRID_LR: [f64; 3] = [3e-5, 1e-4, 3e-4];
pub const GRID_KL_TARGET: [f32; 2] = [4.0, 8.0];
/// The KL budget (nats per response) within which checkpoints are chosen.
pub const KL_BUDGET: f32 = 4.0;

/// The tuning of one mode: each grid cell's best validation relevance within the budget.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tuning {
    pub mode: String,
    pub cells: Vec<TuneCell>,
    /// The chosen cell's learning rate and KL target.
    pub lr: f64,
    pub kl_target: f32,
    /// The best cell's validation advantage over the default cell, and its standard
    /// error (none: the default cell had no point within the budget).
    #[serde(default)]
    pub advantage: Option<f64>,
    #[serde(default)]
    pub se: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TuneCell {
    pub lr: f64,
    pub kl_target: f32,
    /// The best validation point within the budget (none: every point was over it).
    pub best: Option<FrontierPoint>,
}

impl Tuning {
    /// The cell that runs the seeds: the documented default (`default`: the library's
    /// learning rate and KL target), unless another cell's best validation relevance
    /// within the budget beats the default cell's by more than 2 standard errors of
    /// the difference (issue 31: grid cells that differ by a few users are noise). The
    /// standard error is that of two independent rates, √(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂)
    /// with n the validation users — conservative for the same users answered twice.
    /// With the default cell over the budget everywhere, the best cell within it runs
    /// (the default cannot be compared within the budget); with none, `None`.
    pub fn choose(mode: &str, cells: Vec<TuneCell>, default: (f64, f32)) -> Option<Self> {
        let best = cells
            .iter()
            .filter_map(|c| c.best.as_ref().map(|b| (c, b)))
            .fold(
                None::<(&TuneCell, &FrontierPoint)>,
                |best, (c, b)| match best {
                    Some((_, bb)) if bb.relevance >= b.relevance => best,
                    _ => Some((c, b)),
                },
            )?;
        let base = cells
            .iter()
            .find(|c| (c.lr, c.kl_target) == default)
            .and_then(|c| c.best.as_ref().map(|b| (c, b)));
        let (pick, advantage, se) = match base {
            Some((dc, db)) => {
                let (d, se) = advantage(best.1, db);
                if d > 2.0 * se {
                    (best.0, Some(d), Some(se))
                } else {
                    (dc, Some(d), Some(se))
                }
            }
            None => (best.0, None, None),
        };
        Some(Self {
            mode: mode.into(),
            lr: pick.lr,
            kl_target: pick.kl_target,
            advantage,
            se,
            cells,
        })
    }
}

/// The best cell's validation advantage over the default's, and its standard error.
fn advantage(best: &FrontierPoint, default: &FrontierPoint) -> (f64, f64) {
    let var = |p: &FrontierPoint| {
        let n = p.metrics.users.max(1) as f64;
        p.relevance * (1.0 - p.relevance) / n
    };
    (
        best.relevance - default.relevance,
        (var(best) + var(default)).sqrt(),
    )
}

/// Which users validate, how often, and the KL budget of the kept checkpoint.
pub struct Validation {
    pub users: Vec<crate::data::User>,
    pub every: usize,
    pub kl_budget: f32,
    /// Eval users every validated checkpoint also answers ([`EvalPoint`]), for the
    /// matched-KL verdicts; empty: none. Nothing is chosen on them: they are read
    /// only at the KL levels, after the run.
    pub eval_users: Vec<crate::data::User>,
}

/// A validated checkpoint's answers to the eval users, user by user (the eval file's
/// order): what the matched-KL verdicts interpolate between (`OUT.eval-points.jsonl`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalPoint {
    pub iter: usize,
    /// The checkpoint's exact KL, on the validation users (its frontier point's).
    pub kl: f32,
    pub users: Vec<String>,
    /// 1 where the judge calls the response relevant (Table 2's rate), else 0.
    pub relevance: Vec<f32>,
    /// Gold queries / queries (none without the generator's truth).
    pub gold: Vec<Option<f32>>,
}

impl EvalPoint {
    fn of(iter: usize, kl: f32, out: &[crate::eval::OutputRecord]) -> Self {
        Self {
            iter,
            kl,
            users: out.iter().map(|r| r.user_id.clone()).collect(),
            relevance: out
                .iter()
                .map(|r| f32::from(u8::from(r.judgement.sentence == 2)))
                .collect(),
            gold: out
                .iter()
                .map(|r| {
                    let m = r.metrics.as_ref()?;
                    Some(m.gold? as f32 / m.queries.max(1) as f32)
                })
                .collect(),
        }
    }
}

/// One point of the reward–KL frontier: the policy before iteration `iter` (0: the
/// SFT policy), its greedy outputs on the validation users judged and measured, and
/// its exact KL to π_ref on those outputs ([`crate::model::kl`]: the mean over the
/// validation users of the summed per-token KL over the whole vocabulary; never
/// negative, unlike the rollouts' one-sample estimate `objective/kl`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrontierPoint {
    pub iter: usize,
    pub kl: f32,
    pub relevance: f64,
    pub metrics: crate::eval::metrics::ModelMetrics,
    /// The run's reward model on the same outputs, mean over users: a sentence RM's
    /// score P(2) − P(1) (its last-token margin), or a token RM's mean token margin.
    /// (Absent from frontiers written before it was kept.)
    #[serde(default)]
    pub rm_score: Option<f64>,
    /// Mean response length in tokens, EOS included.
    #[serde(default)]
    pub length: Option<f64>,
}

impl FrontierPoint {
    /// A point a frontier can hold: its KL finite and not negative (an exact KL never
    /// is; a negative one is the one-sample estimate, or a bug), its relevance a rate.
    pub fn check(&self) -> std::result::Result<(), String> {
        if !(self.kl.is_finite() && self.kl >= 0.0) {
            return Err(format!(
                "iteration {}: KL {} is not a KL (finite and ≥ 0 expected: the exact KL of crate::model::kl)",
                self.iter, self.kl
            ));
        }
        if !(0.0..=1.0).contains(&self.relevance) {
            return Err(format!(
                "iteration {}: relevance {} is not a rate in [0, 1]",
                self.iter, self.relevance
            ));
        }
        Ok(())
    }
}

/// A run with validation points (or without, when `validation` is `None`).
pub struct ValidatedRun {
    pub run: Run,
    validation: Option<Validation>,
    frontier: Vec<FrontierPoint>,
    eval_points: Vec<EvalPoint>,
    best: Option<(FrontierPoint, Policy)>,
}

impl ValidatedRun {
    pub fn new(run: Run, validation: Option<Validation>) -> Self {
        Self {
            run,
            validation,
            frontier: Vec::new(),
            eval_points: Vec::new(),
            best: None,
        }
    }

    /// The validation points so far.
    pub fn frontier(&self) -> &[FrontierPoint] {
        &self.frontier
    }

    /// The best validation point within the KL budget, and its policy.
    pub fn best(&self) -> Option<(&FrontierPoint, &Policy)> {
        self.best.as_ref().map(|(p, m)| (p, m))
    }

    /// `policy`'s greedy outputs on the validation users, judged and measured, with
    /// its exact KL to π_ref on them (the outputs as the judge reads them,
    /// re-encoded, EOS included): a frontier point.
    async fn validate(
        &self,
        kit: &Kit,
        v: &Validation,
        policy: &Policy,
        iter: usize,
    ) -> Result<FrontierPoint> {
        let device = self.run.device();
        let out = crate::eval::outputs(
            "validation",
            policy,
            kit,
            &v.users,
            Some(self.run.rm()),
            self.run.cfg().lwp,
            &SampleConfig::greedy(),
            &device,
        )
        .await?;
        let prompter = kit.prompter();
        let prompts = v
            .users
            .iter()
            .map(|u| prompter.prompt(&u.history).map(|p| p.0))
            .collect::<Result<Vec<_>>>()?;
        let responses = out
            .iter()
            .map(|r| {
                let mut ids = kit.tok.encode(&r.response)?.ids;
                ids.push(kit.sp.eos);
                Ok(ids)
            })
            .collect::<Result<Vec<_>>>()?;
        let kls = crate::model::kl::sequence_kl(
            policy,
            self.run.reference(),
            &prompts,
            &responses,
            kit.sp.pad,
            &device,
        )
        .await?;
        let n = out.len().max(1) as f64;
        let token_rm = self.run.cfg().reward.uses_token_rm();
        let rm_score = out
            .iter()
            .map(|r| {
                let m: Vec<f64> = r.tokens.iter().map(|t| f64::from(t.margin)).collect();
                if token_rm {
                    m.iter().sum::<f64>() / m.len().max(1) as f64
                } else {
                    m.last().copied().unwrap_or(0.0)
                }
            })
            .sum::<f64>()
            / n;
        Ok(FrontierPoint {
            iter,
            kl: kls.iter().sum::<f32>() / kls.len().max(1) as f32,
            relevance: crate::eval::relevance_of(&out).rate,
            metrics: crate::eval::metrics_of(&out),
            rm_score: Some(rm_score),
            length: Some(responses.iter().map(Vec::len).sum::<usize>() as f64 / n),
        })
    }

    /// `policy`'s greedy answers to the eval users, at the KL of its frontier point.
    async fn eval_point(
        &self,
        kit: &Kit,
        v: &Validation,
        policy: &Policy,
        point: &FrontierPoint,
    ) -> Result<Option<EvalPoint>> {
        if v.eval_users.is_empty() {
            return Ok(None);
        }
        let out = crate::eval::outputs(
            "eval",
            policy,
            kit,
            &v.eval_users,
            None,
            self.run.cfg().lwp,
            &SampleConfig::greedy(),
            &self.run.device(),
        )
        .await?;
        Ok(Some(EvalPoint::of(point.iter, point.kl, &out)))
    }

    fn record(&mut self, point: &FrontierPoint, policy: Policy) {
        self.frontier.push(point.clone());
        let budget = self
            .validation
            .as_ref()
            .map_or(f32::INFINITY, |v| v.kl_budget);
        let better = self
            .best
            .as_ref()
            .is_none_or(|(b, _)| point.relevance > b.relevance);
        if point.kl <= budget && better {
            self.best = Some((point.clone(), policy));
        }
    }

    /// One iteration of the run, with a validation point of the policy it started
    /// from every `every` iterations.
    pub async fn step(&mut self, kit: &Kit) -> Result<(Step, Option<FrontierPoint>)> {
        let iter = self.run.iterations();
        let due = self
            .validation
            .as_ref()
            .is_some_and(|v| iter.is_multiple_of(v.every.max(1)));
        let before = due.then(|| self.run.policy());
        let step = self.run.step(kit).await?;
        let mut point = None;
        if let (Some(policy), Some(v)) = (before, &self.validation) {
            // The point of the policy this iteration sampled from.
            let p = self.validate(kit, v, &policy, iter).await?;
            if let Some(e) = self.eval_point(kit, v, &policy, &p).await? {
                self.eval_points.push(e);
            }
            self.record(&p, policy);
            point = Some(p);
        }
        Ok((step, point))
    }

    /// After the last iteration: the final policy's validation point.
    pub async fn finish(&mut self, kit: &Kit) -> Result<Option<FrontierPoint>> {
        let iters = self.run.iterations();
        let done = self.frontier.last().is_some_and(|p| p.iter == iters);
        let Some(v) = self.validation.as_ref().filter(|_| !done) else {
            return Ok(None);
        };
        let policy = self.run.policy();
        let p = self.validate(kit, v, &policy, iters).await?;
        if let Some(e) = self.eval_point(kit, v, &policy, &p).await? {
            self.eval_points.push(e);
        }
        self.record(&p, policy);
        Ok(Some(p))
    }

    /// [`Run::save`], then the frontier (`OUT.frontier.jsonl`), the eval users'
    /// answers at its points (`OUT.eval-points.jsonl`, with eval users) and the best
    /// checkpoint (`OUT-best`, with its point as `OUT-best.point.json`).
    pub fn save(
        &self,
        out: &std::path::Path,
        fingerprint: &str,
        metrics: &[Metrics],
    ) -> Result<()> {
        self.run.save(out, fingerprint, metrics)?;
        if !self.frontier.is_empty() {
            crate::io::write_jsonl(&out.with_extension("frontier.jsonl"), &self.frontier)?;
        }
        if !self.eval_points.is_empty() {
            crate::io::write_jsonl(&out.with_extension("eval-points.jsonl"), &self.eval_points)?;
        }
        if let Some((point, policy)) = &self.best {
            let best = best_path(out);
            let cfg: &PpoConfig = self.run.cfg();
            crate::rl::run::save(&best, policy, self.run.policy_config, fingerprint, cfg, &[])?;
            crate::io::write_json(&best.with_extension("point.json"), point)?;
        }
        Ok(())
    }
}

/// Where [`ValidatedRun::save`] puts the best checkpoint of the run saved at `out`:
/// `OUT-best`.
pub fn best_path(out: &std::path::Path) -> std::path::PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!("{name}-best"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::ModelMetrics;

    fn point(relevance: f64, kl: f32) -> FrontierPoint {
        FrontierPoint {
            iter: 0,
            kl,
            relevance,
            metrics: ModelMetrics::default(),
            rm_score: None,
            length: None,
        }
    }

    fn cell(lr: f64, kl_target: f32, best: Option<FrontierPoint>) -> TuneCell {
        TuneCell {
            lr,
            kl_target,
            best,
        }
    }

    fn on(users: usize, mut p: FrontierPoint) -> FrontierPoint {
        p.metrics.users = users;
        p
    }

    #[test]
    fn tuning_keeps_the_default_unless_a_cell_beats_it_by_two_standard_errors() {
        let default = (3e-5, 4.0);
        // 500 users: the default at 0.80, a cell at 0.84. SE = √(.8·.2/500 + .84·.16/500)
        // = √(0.00032 + 0.0002688) = 0.024265; 2 SE = 0.04853 > 0.04: the default stays.
        let cells = vec![
            cell(1e-5, 2.0, Some(on(500, point(0.84, 1.0)))),
            cell(3e-5, 4.0, Some(on(500, point(0.80, 2.0)))),
            cell(1e-4, 4.0, None),
        ];
        let t = Tuning::choose("tppo", cells, default).unwrap();
        assert_eq!((t.lr, t.kl_target), default);
        assert!((t.advantage.unwrap() - 0.04).abs() < 1e-12);
        assert!((t.se.unwrap() - 0.024_265).abs() < 1e-6, "{:?}", t.se);
        // 0.86 against 0.80: SE = √(0.00032 + .86·.14/500) = 0.023681; 2 SE = 0.04736 < 0.06.
        let cells = vec![
            cell(1e-5, 2.0, Some(on(500, point(0.86, 1.0)))),
            cell(3e-5, 4.0, Some(on(500, point(0.80, 2.0)))),
        ];
        let t = Tuning::choose("tppo", cells, default).unwrap();
        assert_eq!((t.lr, t.kl_target), (1e-5, 2.0));
        // Ties between other cells go to the first in grid order; the default cell over
        // the budget everywhere: the best within it runs.
        let cells = vec![
            cell(1e-4, 4.0, Some(on(500, point(0.20, 3.5)))),
            cell(3e-5, 4.0, None),
            cell(1e-5, 4.0, Some(on(500, point(0.20, 3.9)))),
        ];
        let t = Tuning::choose("tppo", cells, default).unwrap();
        assert_eq!((t.lr, t.kl_target, t.advantage), (1e-4, 4.0, None));
        assert!(Tuning::choose("ppo", vec![cell(1e-5, 2.0, None)], default).is_none());
    }

    #[test]
    fn a_frontier_point_with_a_negative_or_missing_kl_is_refused() {
        assert!(point(0.5, 0.0).check().is_ok());
        assert!(point(0.5, 3.2).check().is_ok());
        for kl in [-0.063, f32::NAN, f32::INFINITY] {
            let err = point(0.5, kl).check().unwrap_err();
            assert!(err.contains("is not a KL"), "{err}");
        }
        assert!(point(1.5, 1.0).check().is_err());
    }
}
