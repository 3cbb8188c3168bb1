//! A PPO or TPPO run as both shells drive it: the command line loops over
//! [`Run::step`] (`tppo ppo`, through [`crate::pipeline::selection`] when it
//! validates checkpoints), the page calls it once per frame.
//!
//! Each iteration takes the next `batch_size` training users in a fixed order (the
//! users shuffled by the run's seed), runs one PPO iteration on their prompts
//! ([`super::Ppo`]), decodes the rollouts, and lets the judge rate them: the
//! `objective/judge_relevance` of the metrics. Wall time per iteration is measured
//! here too (`time/iteration_s`).

use super::ppo::Warmup;
use super::{Credit, Metrics, Placement, Ppo, PpoConfig, Rollout};
use crate::data::User;
use crate::error::Result;
use crate::kit::Kit;
use crate::model::checkpoint::{self, CheckpointInfo};
use crate::model::policy::{Policy, PolicyConfig};
use crate::reward::model::RewardModel;
use burn::tensor::Device;

/// Which training users each iteration prompts with: all of them, in an order fixed
/// by the seed, `batch_size` at a time, wrapping around.
#[derive(Debug, Clone)]
pub struct Schedule {
    order: Vec<usize>,
}

impl Schedule {
    pub fn new(users: usize, seed: u64) -> Self {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let mut order: Vec<usize> = (0..users).collect();
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        Self { order }
    }

    /// The users of iteration `it` (0-based).
    pub fn batch(&self, it: usize, batch_size: usize) -> Vec<usize> {
        let n = self.order.len().max(1);
        (0..batch_size)
            .map(|k| self.order[(it * batch_size + k) % n])
            .collect()
    }
}

/// What one iteration produced.
pub struct Step {
    pub metrics: Metrics,
    pub rollout: Rollout,
    /// The training users prompted (indices into [`Kit::train`]).
    pub users: Vec<usize>,
    /// The rollouts as text.
    pub texts: Vec<String>,
}

/// One PPO (`sentence`) or TPPO (`token`) run.
pub struct Run {
    ppo: Ppo,
    schedule: Schedule,
    pub policy_config: PolicyConfig,
    /// What the critic's warm-up did, once it ran (the first step runs it).
    pub warmup: Option<Warmup>,
}

impl Run {
    /// A run from the SFT policy's checkpoint bytes (the start, and the frozen π_ref)
    /// and a reward model; `device` is the plain device (training runs on its
    /// autodiff version).
    pub fn new(
        kit: &Kit,
        cfg: PpoConfig,
        sft: (&str, &[u8]),
        rm: RewardModel,
        device: &Device,
    ) -> Result<Self> {
        let fp = kit.fingerprint();
        let ad = device.clone().autodiff();
        let (reference, policy_config) = checkpoint::policy_from_bytes(sft.0, sft.1, &fp, device)?;
        let policy = checkpoint::load_into(sft.0, sft.1, policy_config.init(&ad))?;
        let word_of: Option<super::ppo::WordOf> =
            (cfg.placement == Placement::SpanEnd).then(|| {
                let tok = kit.tok.clone();
                Box::new(move |ids: &[u32]| tok.word_of_tokens(ids).unwrap_or_default())
                    as super::ppo::WordOf
            });
        let ppo = Ppo::new(
            cfg, policy, reference, rm, kit.sp.eos, kit.sp.pad, ad, word_of,
        )?;
        Ok(Self {
            ppo,
            schedule: Schedule::new(kit.train.len(), cfg.seed),
            policy_config,
            warmup: None,
        })
    }

    /// [`Run::new`] from checkpoint files (paths without extension), on the CPU.
    pub fn from_files(
        kit: &Kit,
        cfg: PpoConfig,
        sft: &std::path::Path,
        rm: &std::path::Path,
    ) -> Result<Self> {
        let device = crate::backend::cpu();
        let file = sft.with_extension("safetensors");
        let bytes = crate::io::read_file(&file)?;
        let rm = crate::reward::model::load(rm, &kit.fingerprint(), &device)?;
        Self::new(kit, cfg, (&file.display().to_string(), &bytes), rm, &device)
    }

    pub fn cfg(&self) -> &PpoConfig {
        &self.ppo.cfg
    }

    /// Iterations done.
    pub fn iterations(&self) -> usize {
        self.ppo.iteration_count()
    }

    /// The current policy (no autodiff).
    pub fn policy(&self) -> Policy {
        self.ppo.policy()
    }

    fn prompts(&self, kit: &Kit, users: &[usize]) -> Result<Vec<Vec<u32>>> {
        let prompter = kit.prompter();
        users
            .iter()
            .map(|&i| prompter.prompt(&kit.train[i].history).map(|p| p.0))
            .collect()
    }

    /// The critic's warm-up ([`Ppo::warm_up_value`]) on batches from the far end of
    /// the schedule (users the first iterations do not prompt with).
    pub async fn warm_up(&mut self, kit: &Kit) -> Result<Warmup> {
        if let Some(w) = &self.warmup {
            return Ok(w.clone());
        }
        let cfg = self.ppo.cfg;
        let passes = kit.train.len().div_ceil(cfg.batch_size.max(1)).max(1);
        let users: Vec<Vec<usize>> = (0..cfg.value_warmup)
            .map(|k| self.schedule.batch(passes - 1 - k % passes, cfg.batch_size))
            .collect();
        let batches = users
            .iter()
            .map(|u| self.prompts(kit, u))
            .collect::<Result<Vec<_>>>()?;
        let judge = |k: usize, ro: &Rollout| judge_scores(kit, &users[k], ro);
        let w = self.ppo.warm_up_value(&batches, Some(&judge)).await?;
        self.warmup = Some(w.clone());
        Ok(w)
    }

    /// The plain device the run's policy lives on.
    pub fn device(&self) -> Device {
        self.ppo.device().clone().inner()
    }

    /// π_ref: the frozen SFT policy the KL term holds the run to.
    pub fn reference(&self) -> &Policy {
        self.ppo.reference()
    }

    /// The reward model the run reads (for the judge control, the sentence RM it
    /// shows beside the judge's score).
    pub fn rm(&self) -> &crate::reward::model::RewardModel {
        self.ppo.rm()
    }

    /// One iteration on the next users of the schedule. The first step runs the
    /// critic's warm-up first, unless [`Run::warm_up`] already did.
    pub async fn step(&mut self, kit: &Kit) -> Result<Step> {
        if self.warmup.is_none() && self.ppo.cfg.value_warmup > 0 {
            self.warm_up(kit).await?;
        }
        let t0 = web_time::Instant::now();
        let cfg = self.ppo.cfg;
        let iter = self.ppo.iteration_count();
        let users = self.schedule.batch(iter, cfg.batch_size);
        let prompts = self.prompts(kit, &users)?;
        let judge = |ro: &Rollout| judge_scores(kit, &users, ro);
        let (mut metrics, rollout) = self.ppo.iteration_judged(&prompts, Some(&judge)).await?;
        let texts = rollout
            .responses
            .iter()
            .map(|r| kit.text(r))
            .collect::<Result<Vec<_>>>()?;
        let judged: Vec<&User> = users.iter().map(|&i| &kit.train[i]).collect();
        metrics.judge_relevance = Some(judge_rate(kit, &judged, &texts));
        metrics.gold = gold_rate(kit, &judged, &texts);
        metrics.seconds = t0.elapsed().as_secs_f64();
        Ok(Step {
            metrics,
            rollout,
            users,
            texts,
        })
    }

    /// β of the KL term now.
    pub fn kl_coef(&self) -> f32 {
        self.ppo.kl_coef()
    }

    /// `response` (text, an end token appended) to `user` under this run as it is now:
    /// its tokens (`<eos>` last) and per token its reward, value and advantage
    /// ([`Ppo::explain`]).
    pub async fn credit(
        &self,
        kit: &Kit,
        user: &User,
        response: &str,
    ) -> Result<(Vec<String>, Credit)> {
        let (prompt, _) = kit.prompter().prompt(&user.history)?;
        let enc = kit.tok.encode(response)?;
        let mut ids = enc.ids;
        ids.push(kit.sp.eos);
        let mut tokens = enc.tokens;
        tokens.push("<eos>".into());
        let credit = self.ppo.explain(&prompt, &ids).await?;
        Ok((tokens, credit))
    }

    /// Write the policy checkpoint (`OUT.safetensors`, `OUT.json`), its metrics (one
    /// JSON line per iteration, `OUT.metrics.jsonl`) and the run's settings
    /// (`OUT.ppo.json`, which `tppo eval` reads for the run's α and sl).
    pub fn save(
        &self,
        out: &std::path::Path,
        fingerprint: &str,
        metrics: &[Metrics],
    ) -> Result<()> {
        save(
            out,
            &self.policy(),
            self.policy_config,
            fingerprint,
            self.cfg(),
            metrics,
        )
    }
}

/// The positive control's reward ([`super::RewardMode::Judge`]): per response of a
/// rollout of the training users `users`, +1 when the judge calls it relevant, −1
/// otherwise (the range of a reward model's P(2) − P(1)).
pub fn judge_scores(kit: &Kit, users: &[usize], ro: &Rollout) -> Result<Vec<f32>> {
    users
        .iter()
        .zip(&ro.responses)
        .map(|(&u, r)| {
            let text = kit.text(r)?;
            let relevant = kit.labeler.judge(&kit.train[u].history, &text).sentence == 2;
            Ok(if relevant { 1.0 } else { -1.0 })
        })
        .collect()
}

/// Share of responses the judge calls relevant (sentence label 2).
pub fn judge_rate(kit: &Kit, users: &[&User], texts: &[String]) -> f32 {
    let k = users
        .iter()
        .zip(texts)
        .filter(|(u, t)| kit.labeler.judge(&u.history, t).sentence == 2)
        .count();
    k as f32 / users.len().max(1) as f32
}

/// The gold score per query of `texts` (the responses of `users`), the mean over the
/// users the world knows; `None` without a gold score or such users.
pub fn gold_rate(kit: &Kit, users: &[&User], texts: &[String]) -> Option<f32> {
    let gold = kit.gold.as_ref()?;
    let rates: Vec<f64> = users
        .iter()
        .zip(texts)
        .filter_map(|(u, t)| gold.rate(u, t, kit.labeler.vectors()))
        .collect();
    (!rates.is_empty()).then(|| (rates.iter().sum::<f64>() / rates.len() as f64) as f32)
}

/// See [`Run::save`].
pub fn save(
    out: &std::path::Path,
    policy: &Policy,
    policy_config: PolicyConfig,
    fingerprint: &str,
    cfg: &PpoConfig,
    metrics: &[Metrics],
) -> Result<()> {
    let info = CheckpointInfo {
        kind: "policy".into(),
        config: policy_config,
        tokenizer: fingerprint.to_string(),
    };
    checkpoint::save(policy, &info, out)?;
    let mut lines = String::new();
    for m in metrics {
        lines
            .push_str(&serde_json::to_string(m).map_err(|e| crate::Error::Invalid(e.to_string()))?);
        lines.push('\n');
    }
    crate::io::write_file_atomic(&out.with_extension("metrics.jsonl"), lines.as_bytes())?;
    let json =
        serde_json::to_string_pretty(cfg).map_err(|e| crate::Error::Invalid(e.to_string()))?;
    crate::io::write_file_atomic(&out.with_extension("ppo.json"), json.as_bytes())
}

/// The settings a saved run was trained with (`OUT.ppo.json`), when it has them.
pub fn saved_config(out: &std::path::Path) -> Option<PpoConfig> {
    let bytes = crate::io::read_file(&out.with_extension("ppo.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::Schedule;

    #[test]
    fn the_schedule_visits_every_user_once_per_pass_in_a_seeded_order() {
        let s = Schedule::new(10, 3);
        let mut seen: Vec<usize> = (0..5).flat_map(|it| s.batch(it, 2)).collect();
        assert_eq!(s.batch(0, 2), Schedule::new(10, 3).batch(0, 2));
        assert_ne!(s.batch(0, 10), Schedule::new(10, 4).batch(0, 10));
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        // The sixth batch wraps around to the start of the order.
        assert_eq!(s.batch(5, 2), s.batch(0, 2));
    }
}
