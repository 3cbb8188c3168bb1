//! Benchmarks of the hot paths at the shipped model size, on any device: a PPO
//! iteration, a reward-model training step, and generation with and without the
//! KV cache. Models are freshly initialised and prompts are random token ids of a
//! fixed length, so a run needs no checkpoint and every backend does the same work
//! (a random policy rarely ends early, so every response has `max_new` tokens).
//!
//! The caller owns the clock (`now` in milliseconds): `web_time::Instant` natively,
//! `performance.now()` in a browser.

use crate::model::policy::{PolicyConfig, SampleConfig};
use crate::reward::data::RmExample;
use crate::reward::model::{Level, RewardModelConfig};
use crate::reward::train::{RmTrainConfig, batch_grads};
use crate::rl::{Ppo, PpoConfig};
use burn::tensor::Device;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    pub policy: PolicyConfig,
    /// Rollouts per PPO iteration, and the batch of the other workloads.
    pub batch: usize,
    pub prompt_len: usize,
    pub max_new: usize,
    /// Timed repetitions (after one untimed warm-up).
    pub reps: usize,
    /// Which workloads run (all by default).
    #[serde(default)]
    pub only: Workloads,
}

/// A selection of workloads (for profiling one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workloads {
    pub generate: bool,
    pub rm_step: bool,
    pub ppo: bool,
}

impl Default for Workloads {
    fn default() -> Self {
        Self {
            generate: true,
            rm_step: true,
            ppo: true,
        }
    }
}

impl Workloads {
    /// From a comma-separated list of `generate`, `rm`, `ppo`.
    pub fn parse(list: &str) -> crate::Result<Self> {
        let mut w = Self {
            generate: false,
            rm_step: false,
            ppo: false,
        };
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "generate" => w.generate = true,
                "rm" => w.rm_step = true,
                "ppo" => w.ppo = true,
                other => {
                    return Err(crate::Error::Invalid(format!(
                        "unknown workload {other:?}: expected generate, rm or ppo"
                    )));
                }
            }
        }
        if !(w.generate || w.rm_step || w.ppo) {
            return Err(crate::Error::Invalid(format!(
                "no workload in {list:?}: expected generate, rm or ppo"
            )));
        }
        Ok(w)
    }
}

impl BenchConfig {
    /// Sizes the policy can run: at least one of everything, the prompt and the new
    /// tokens within its positions.
    pub fn validate(&self) -> crate::Result<()> {
        if self.batch == 0 || self.prompt_len == 0 || self.max_new == 0 || self.reps == 0 {
            return Err(crate::Error::Invalid(
                "bench: batch, prompt length, new tokens and reps must each be at least 1".into(),
            ));
        }
        if self.prompt_len + self.max_new > self.policy.trunk.max_len {
            return Err(crate::Error::Invalid(format!(
                "bench: a prompt of {} tokens and {} new tokens need {} positions, more than the policy's {}",
                self.prompt_len,
                self.max_new,
                self.prompt_len + self.max_new,
                self.policy.trunk.max_len
            )));
        }
        Ok(())
    }
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            // The shipped SFT policy's shape.
            policy: PolicyConfig::shipped(4096),
            batch: 32,
            prompt_len: 128,
            max_new: 32,
            reps: 3,
            only: Workloads::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRow {
    pub backend: String,
    pub workload: String,
    /// Median over the timed repetitions.
    pub ms: f64,
    pub min_ms: f64,
    /// Throughput where it means something (tokens/s), else null.
    pub tokens_per_s: Option<f64>,
    /// GPU compute dispatches per repetition, where the caller counts them (the
    /// browser's bench counts WebGPU's `dispatchWorkgroups` calls), else null.
    #[serde(default)]
    pub dispatches: Option<f64>,
}

fn prompts(cfg: &BenchConfig, seed: u64) -> Vec<Vec<u32>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..cfg.batch)
        .map(|_| {
            (0..cfg.prompt_len)
                .map(|_| rng.random_range(8..cfg.policy.trunk.vocab as u32))
                .collect()
        })
        .collect()
}

/// Counts device work (GPU dispatches so far) for the rows' `dispatches`.
pub type Counter<'a> = Option<&'a dyn Fn() -> f64>;

/// The clock of one workload's repetitions: repetition 0 warms up and is not timed;
/// `count` is read after it and at the end, so `dispatches` is per timed repetition.
struct Clock<'a> {
    now: &'a dyn Fn() -> f64,
    count: Counter<'a>,
    times: Vec<f64>,
    from: Option<f64>,
    t0: f64,
}

impl<'a> Clock<'a> {
    fn new(now: &'a dyn Fn() -> f64, count: Counter<'a>) -> Self {
        Self {
            now,
            count,
            times: Vec::new(),
            from: None,
            t0: 0.0,
        }
    }

    fn start(&mut self, rep: usize) {
        if rep == 1 {
            self.from = self.count.map(|c| c());
        }
        self.t0 = (self.now)();
    }

    /// Ends repetition `rep`; true when it was a timed one.
    fn stop(&mut self, rep: usize) -> bool {
        if rep > 0 {
            self.times.push((self.now)() - self.t0);
        }
        rep > 0
    }

    /// The row: median and minimum over the timed repetitions.
    fn row(mut self, backend: &str, workload: &str, tokens: Option<f64>) -> BenchRow {
        self.times.sort_by(f64::total_cmp);
        let ms = self.times[self.times.len() / 2];
        let reps = self.times.len() as f64;
        BenchRow {
            backend: backend.into(),
            workload: workload.into(),
            ms,
            min_ms: self.times[0],
            tokens_per_s: tokens.map(|t| t / (ms / 1000.0)),
            dispatches: self
                .count
                .zip(self.from)
                .map(|(c, from)| (c() - from) / reps),
        }
    }
}

const EOS: u32 = 2;
const PAD: u32 = 0;

/// Run every workload on `device` (training ones on its autodiff twin). `count`, when
/// given, reads a running count of GPU dispatches: each row then says how many one
/// repetition issued (the timed ones; the warm-up is left out).
pub async fn run(
    cfg: &BenchConfig,
    backend: &str,
    device: &Device,
    now: &dyn Fn() -> f64,
    count: Counter<'_>,
    mut on_row: impl FnMut(&BenchRow),
) -> crate::Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    let reps = cfg.reps.max(1);
    let ps = prompts(cfg, 1);

    // Generation, with and without the KV cache.
    let policy = cfg.policy.init(device);
    let sample = SampleConfig {
        temperature: 1.0,
        top_k: 0,
        max_new: cfg.max_new,
        seed: 1,
        no_repeat_query: false,
    };
    let generate = if cfg.only.generate {
        vec![(true, "generate, KV cache"), (false, "generate, no cache")]
    } else {
        Vec::new()
    };
    for (cache, name) in generate {
        let mut clock = Clock::new(now, count);
        let mut tokens = 0usize;
        for i in 0..=reps {
            clock.start(i);
            let out = policy
                .generate(&ps, &sample, EOS, PAD, cache, device)
                .await?;
            if clock.stop(i) {
                tokens = out.iter().map(Vec::len).sum();
            }
        }
        let r = clock.row(backend, name, Some(tokens as f64));
        on_row(&r);
        rows.push(r);
    }

    // A token reward-model training step (eq. 3) on prompt + 20-token responses.
    let ad = device.clone().autodiff();
    let trunk = cfg.policy.trunk;
    if cfg.only.rm_step {
        let mut rm = RewardModelConfig {
            trunk,
            level: Level::Token,
        }
        .init(&ad);
        let mut stepper = crate::optim::Stepper::new(1.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let examples: Vec<RmExample> = ps
            .iter()
            .map(|p| {
                let response: Vec<u32> = (0..20).map(|_| rng.random_range(8..4000)).collect();
                let classes = (0..20).map(|_| rng.random_range(0..3u8)).collect();
                RmExample {
                    prompt: p.clone(),
                    response,
                    classes,
                    repeated: vec![false; 20],
                    sentence: 1 + rng.random_range(0..2u8),
                }
            })
            .collect();
        let refs: Vec<&RmExample> = examples.iter().collect();
        // As the page trains it: the batch's gradient in one piece per core.
        let tcfg = RmTrainConfig {
            grad_shards: crate::cpu::par::PIECES,
            ..RmTrainConfig::default()
        };
        let mut clock = Clock::new(now, count);
        for i in 0..=reps {
            clock.start(i);
            // The trainers' own step (crate::optim): its one read of the loss and the
            // gradient norm waits for everything queued before it.
            let (grads, loss) = batch_grads(&rm, &refs, &tcfg, &mut rng, PAD, &ad);
            rm = stepper
                .step(rm, grads, tcfg.lr, vec![loss.inner()])
                .await?
                .0;
            clock.stop(i);
        }
        let r = clock.row(backend, "reward-model step (token, eq. 3)", None);
        on_row(&r);
        rows.push(r);
    }

    // One PPO iteration: rollout, scoring, 4 epochs × 2 minibatches of updates.
    if cfg.only.ppo {
        let pcfg = PpoConfig {
            batch_size: cfg.batch,
            max_new: cfg.max_new,
            // As the lab runs it: one piece per thread the build has.
            grad_shards: crate::cpu::par::PIECES,
            ..PpoConfig::default()
        };
        let policy = cfg.policy.init(&ad);
        let reference = cfg.policy.init(device);
        let rm = RewardModelConfig {
            trunk,
            level: Level::Token,
        }
        .init(device);
        let mut ppo = Ppo::new(pcfg, policy, reference, rm, EOS, PAD, ad.clone(), None)?;
        let mut clock = Clock::new(now, count);
        let mut tokens = 0.0;
        for i in 0..=reps {
            clock.start(i);
            let (m, _) = ppo.iteration(&ps).await?;
            if clock.stop(i) {
                tokens = f64::from(m.response_length) * cfg.batch as f64;
            }
        }
        let r = clock.row(
            backend,
            "PPO iteration (rollout + 4×2 updates)",
            Some(tokens),
        );
        on_row(&r);
        rows.push(r);
    }
    Ok(rows)
}

/// The table header matching [`row_line`].
pub fn header_line() -> String {
    format!(
        "{:<12} {:<40} {:>10} {:>10} {:>12}",
        "backend", "workload", "median ms", "min ms", "tokens/s"
    )
}

/// One row as a line of the benchmark's table (the command line and the page print the same).
pub fn row_line(r: &BenchRow) -> String {
    format!(
        "{:<12} {:<40} {:>10.1} {:>10.1} {:>12}",
        r.backend,
        r.workload,
        r.ms,
        r.min_ms,
        r.tokens_per_s.map_or("-".into(), |t| format!("{t:.0}"))
    )
}

/// The same workloads in PyTorch eager (`bench/pytorch_ref.py`), for the ratio table.
pub mod pytorch {
    use super::{BenchConfig, BenchRow};
    use crate::error::{Error, Result};
    use serde::{Deserialize, Serialize};
    use std::path::Path;

    /// What `bench/pytorch_ref.py` prints (one JSON object on its last line).
    #[derive(Debug, Deserialize, Serialize)]
    pub struct Run {
        pub torch: String,
        pub threads: usize,
        pub rows: Vec<Row>,
    }

    #[derive(Debug, Deserialize, Serialize)]
    pub struct Row {
        pub workload: String,
        pub ms: f64,
        pub min_ms: f64,
        pub tokens_per_s: Option<f64>,
    }

    /// Run `script` with `python` at the sizes of `cfg` (`only`: the workload list,
    /// `threads`: torch's thread count, 0 for its default).
    pub fn run(
        python: &Path,
        script: &Path,
        cfg: &BenchConfig,
        only: &str,
        threads: usize,
    ) -> Result<Run> {
        let p = &cfg.policy.trunk;
        let mut cmd = std::process::Command::new(python);
        cmd.arg(script);
        for (flag, v) in [
            ("--batch", cfg.batch),
            ("--prompt-len", cfg.prompt_len),
            ("--max-new", cfg.max_new),
            ("--reps", cfg.reps),
            ("--vocab", p.vocab),
            ("--d-model", p.d_model),
            ("--layers", p.n_layers),
            ("--heads", p.n_heads),
            ("--d-ff", p.d_ff),
            ("--max-len", p.max_len),
            ("--threads", threads),
        ] {
            cmd.arg(flag).arg(v.to_string());
        }
        cmd.arg("--only").arg(only);
        let out = cmd.output().map_err(|e| {
            Error::Invalid(format!(
                "could not start {} ({e}): pass --python with an interpreter that has torch",
                python.display()
            ))
        })?;
        if !out.status.success() {
            return Err(Error::Invalid(format!(
                "{} {} failed ({}):\n{}",
                python.display(),
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().unwrap_or("");
        serde_json::from_str(last).map_err(|e| {
            Error::Invalid(format!(
                "{}: expected one JSON object on the last line of its output, got {last:?}: {e}",
                script.display()
            ))
        })
    }

    /// PyTorch's time ÷ ours per workload both ran (above 1: TPPO Lab is faster).
    pub fn ratios<'a>(ours: &'a [BenchRow], theirs: &'a Run) -> Vec<(&'a str, f64, f64, f64)> {
        ours.iter()
            .filter_map(|o| {
                let t = theirs.rows.iter().find(|r| r.workload == o.workload)?;
                Some((o.workload.as_str(), o.ms, t.ms, t.ms / o.ms))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// The warm-up is neither timed nor counted; the row has the median and minimum of
    /// the timed repetitions and the dispatches per timed repetition.
    #[test]
    fn clock_leaves_out_the_warm_up() {
        let t = Cell::new(0.0);
        let n = Cell::new(0.0);
        let now = || t.get();
        let count = || n.get();
        let mut clock = Clock::new(&now, Some(&count));
        // (ms, dispatches) of repetition 0 (warm-up), then of the three timed ones.
        for (rep, (ms, d)) in [(100.0, 7.0), (10.0, 5.0), (30.0, 5.0), (20.0, 5.0)]
            .into_iter()
            .enumerate()
        {
            clock.start(rep);
            t.set(t.get() + ms);
            n.set(n.get() + d);
            assert_eq!(clock.stop(rep), rep > 0);
        }
        let r = clock.row("cpu", "w", Some(40.0));
        assert_eq!((r.ms, r.min_ms), (20.0, 10.0));
        assert_eq!(r.dispatches, Some(5.0));
        assert_eq!(r.tokens_per_s, Some(40.0 / 0.020));
        // No counter, no dispatches.
        let mut clock = Clock::new(&now, None);
        clock.start(0);
        clock.stop(0);
        clock.start(1);
        clock.stop(1);
        assert_eq!(clock.row("cpu", "w", None).dispatches, None);
    }
}
