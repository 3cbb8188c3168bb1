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
pub const GRID_LR: [f64; 3] = [1e-5, 3e-5, 1e-4];
pub const GRID_KL_TARGET: [f32; 2] = [2.0, 4.0];
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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TuneCell {
    pub lr: f64,
    pub kl_target: f32,
    /// The best validation point within the budget (none: every point was over it).
    pub best: Option<FrontierPoint>,
}

impl Tuning {
    /// The cell with the best validation relevance within the budget (ties: the first
    /// in grid order); `None` with no cell within it.
    pub fn choose(mode: &str, cells: Vec<TuneCell>) -> Option<Self> {
        let pick = cells
            .iter()
            .filter_map(|c| c.best.as_ref().map(|b| (c, b.relevance)))
            .fold(None::<(&TuneCell, f64)>, |best, (c, r)| match best {
                Some((_, br)) if br >= r => best,
                _ => Some((c, r)),
            })?
            .0
            .clone();
        Some(Self {
            mode: mode.into(),
            lr: pick.lr,
            kl_target: pick.kl_target,
            cells,
        })
    }
}

/// Which users validate, how often, and the KL budget of the kept checkpoint.
pub struct Validation {
    pub users: Vec<crate::data::User>,
    pub every: usize,
    pub kl_budget: f32,
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
    best: Option<(FrontierPoint, Policy)>,
}

impl ValidatedRun {
    pub fn new(run: Run, validation: Option<Validation>) -> Self {
        Self {
            run,
            validation,
            frontier: Vec::new(),
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
            None,
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
        Ok(FrontierPoint {
            iter,
            kl: kls.iter().sum::<f32>() / kls.len().max(1) as f32,
            relevance: crate::eval::relevance_of(&out).rate,
            metrics: crate::eval::metrics_of(&out),
        })
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
        self.record(&p, policy);
        Ok(Some(p))
    }

    /// [`Run::save`], then the frontier (`OUT.frontier.jsonl`) and the best
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
        }
    }

    #[test]
    fn tuning_picks_the_best_cell_within_the_budget() {
        let cells = vec![
            TuneCell {
                lr: 1e-5,
                kl_target: 2.0,
                best: Some(point(0.10, 1.0)),
            },
            TuneCell {
                lr: 3e-5,
                kl_target: 2.0,
                best: None,
            },
            TuneCell {
                lr: 1e-4,
                kl_target: 4.0,
                best: Some(point(0.20, 3.5)),
            },
            TuneCell {
                lr: 3e-5,
                kl_target: 4.0,
                best: Some(point(0.20, 3.9)),
            },
        ];
        let t = Tuning::choose("tppo", cells).unwrap();
        // Ties go to the first in grid order.
        assert_eq!((t.lr, t.kl_target), (1e-4, 4.0));
        assert!(
            Tuning::choose(
                "ppo",
                vec![TuneCell {
                    lr: 1e-5,
                    kl_target: 2.0,
                    best: None
                }]
            )
            .is_none()
        );
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
