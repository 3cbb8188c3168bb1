//! `tppo pipeline`: bundled data → shipped SFT and reward models → PPO and TPPO
//! from the same SFT start per seed (+ a TPPO run at α = 0.5 for the length
//! ablation) → evaluation of every model on held-out users → pairwise comparisons
//! → `report.json` and `report.html` (see [`super::report`]).

use super::eval::{outputs, relevance_of, write_jsonl};
use super::report::{self, Finding, Report, RmCurve, Run};
use super::rl::{Kit, save_run, train};
use super::{Assets, args, style};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tppo::eval;
use tppo::model::policy::SampleConfig;
use tppo::rl::{PpoConfig, RewardMode};

#[derive(Args)]
pub struct PipelineArgs {
    /// quick: ≤ 10 minutes on 2 cores (400 eval users, 10 iterations of 16 rollouts);
    /// default: all 2,000 eval users, 40 iterations of 32 rollouts.
    #[arg(long, default_value = "quick", value_parser = ["quick", "default"])]
    preset: String,
    /// PPO and TPPO runs per mode, seeds 1..=K.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=1000))]
    seeds: u64,
    #[arg(long, default_value = "data/models/sft")]
    sft: PathBuf,
    #[arg(long, default_value = "data/models/rm-token")]
    rm_token: PathBuf,
    #[arg(long, default_value = "data/models/rm-sentence")]
    rm_sentence: PathBuf,
    #[arg(long, default_value = "data/eval.jsonl")]
    eval: PathBuf,
    #[arg(long, default_value = "data/tokenizer.json")]
    tokenizer: PathBuf,
    #[command(flatten)]
    assets: Assets,
    #[arg(long, default_value_t = 2000, value_parser = args::count(1, 1_000_000))]
    resamples: usize,
    #[arg(long, default_value = "runs/pipeline")]
    out: PathBuf,
    /// Runs trained at once (default: one per core; the Flex backend uses one core per run).
    /// The results do not depend on it.
    #[arg(long, value_parser = args::count(1, 256))]
    jobs: Option<usize>,
}

/// One independent piece of the pipeline: evaluate the SFT policy (`run: false`), or
/// train one PPO/TPPO run, save it, and evaluate it (`evaluate`).
struct Job {
    label: String,
    name: &'static str,
    run: bool,
    evaluate: bool,
    cfg: PpoConfig,
    rm: PathBuf,
}

/// What a job produced: its run's metrics, its outputs on the eval users, its timings.
struct Done {
    run: Option<Run>,
    out: Option<Vec<eval::OutputRecord>>,
    timings: Vec<(String, f64)>,
}

impl Job {
    fn eval_sft() -> Self {
        Self {
            label: "sft".into(),
            name: "sft",
            run: false,
            evaluate: true,
            cfg: PpoConfig::default(),
            rm: PathBuf::new(),
        }
    }

    fn run(
        mode: RewardMode,
        name: &'static str,
        seed: u64,
        preset: Preset,
        rm: &std::path::Path,
    ) -> Self {
        Self {
            label: format!("{name}-seed{seed}"),
            name,
            run: true,
            evaluate: true,
            cfg: PpoConfig {
                reward: mode,
                seed,
                iters: preset.iters,
                batch_size: preset.batch_size,
                ..PpoConfig::default()
            },
            rm: rm.to_path_buf(),
        }
    }

    fn execute(
        &self,
        kit: &Kit,
        a: &PipelineArgs,
        users: &[tppo::data::User],
        greedy: &SampleConfig,
        say: &(dyn Fn(String) + Sync),
    ) -> anyhow::Result<Done> {
        let mut timings = Vec::new();
        let (mut run, mut policy_path) = (None, a.sft.clone());
        if self.run {
            say(format!("training {}", self.label));
            let t = Instant::now();
            let (policy, pcfg, metrics) =
                train(kit, self.cfg, &a.sft, &self.rm, &self.label, |_| {})?;
            timings.push((format!("train {}", self.label), t.elapsed().as_secs_f64()));
            policy_path = a.out.join(&self.label);
            if self.evaluate {
                save_run(
                    &policy_path,
                    &policy,
                    pcfg,
                    &kit.tok.fingerprint(),
                    &self.cfg,
                    &metrics,
                )?;
            }
            run = Some(Run {
                name: self.name.into(),
                seed: self.cfg.seed,
                config: self.cfg,
                relevance: None,
                metrics,
            });
        }
        let mut out = None;
        if self.evaluate {
            say(format!(
                "evaluating {} on {} users",
                self.label,
                users.len()
            ));
            let t = Instant::now();
            let o = outputs(kit, &policy_path, &self.label, users, &a.rm_token, greedy)?;
            write_jsonl(&a.out.join(format!("eval-{}.jsonl", self.label)), &o)?;
            timings.push((format!("eval {}", self.label), t.elapsed().as_secs_f64()));
            if let Some(r) = run.as_mut() {
                r.relevance = Some(relevance_of(&o));
            }
            out = Some(o);
        }
        Ok(Done { run, out, timings })
    }
}

/// The sizes of a preset.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Preset {
    pub eval_users: usize,
    pub iters: usize,
    pub batch_size: usize,
    /// Run the α = 0.5 ablation for every seed (else for seed 1 only).
    pub alpha_all_seeds: bool,
}

impl Preset {
    pub fn of(name: &str) -> Option<Self> {
        match name {
            "quick" => Some(Self {
                eval_users: 400,
                iters: 10,
                batch_size: 16,
                alpha_all_seeds: false,
            }),
            "default" => Some(Self {
                eval_users: 2000,
                iters: 40,
                batch_size: 32,
                alpha_all_seeds: true,
            }),
            _ => None,
        }
    }
}

pub fn pipeline(a: PipelineArgs) -> anyhow::Result<ExitCode> {
    let t_all = Instant::now();
    let preset = Preset::of(&a.preset)
        .with_context(|| format!("unknown preset {:?}: expected quick or default", a.preset))?;
    anyhow::ensure!(a.seeds >= 1, "--seeds must be at least 1");
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let say = |m: String| eprintln!("{} {m}", style::bold("pipeline", style::enabled()));
    let kit = Kit::load(&a.assets, &a.tokenizer)?;
    let users = super::eval::eval_users(&a.eval, preset.eval_users)?;
    let greedy = SampleConfig {
        temperature: 0.0,
        top_k: 0,
        max_new: PpoConfig::default().max_new,
        seed: 0,
    };
    // Every run (and the SFT evaluation) is independent of the others, and the Flex
    // backend computes on one core: run them `--jobs` at a time, then assemble the
    // results in a fixed order, so the report does not depend on the job count.
    let mut jobs = vec![Job::eval_sft()];
    for seed in 1..=a.seeds {
        jobs.push(Job::run(
            RewardMode::Sentence,
            "ppo",
            seed,
            preset,
            &a.rm_sentence,
        ));
        jobs.push(Job::run(
            RewardMode::Token,
            "tppo",
            seed,
            preset,
            &a.rm_token,
        ));
        if seed == 1 || preset.alpha_all_seeds {
            let mut job = Job::run(
                RewardMode::Token,
                "tppo-alpha0.5",
                seed,
                preset,
                &a.rm_token,
            );
            job.cfg.lwp.alpha = 0.5;
            job.evaluate = false;
            jobs.push(job);
        }
    }
    let n_jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    say(format!(
        "{} runs and evaluations on {} users, {n_jobs} at a time",
        jobs.len(),
        users.len()
    ));
    let done = super::par_map(&jobs, Some(n_jobs), |job| {
        job.execute(&kit, &a, &users, &greedy, &say)
            .with_context(|| job.label.clone())
    })?;

    let mut timings: Vec<(String, f64)> = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    let mut diversity = Vec::new();
    let mut sft_out = Vec::new();
    let mut evals: std::collections::BTreeMap<(u64, &str), Vec<eval::OutputRecord>> =
        Default::default();
    for (job, d) in jobs.iter().zip(done) {
        timings.extend(d.timings);
        if let Some(out) = &d.out {
            diversity.push(report::Diversity::of(&job.label, out));
        }
        match (d.run, d.out) {
            (None, Some(out)) => sft_out = out,
            (Some(run), out) => {
                runs.push(run);
                if let Some(out) = out {
                    evals.insert((job.cfg.seed, job.name), out);
                }
            }
            (None, None) => {}
        }
    }
    let mut compares = Vec::new();
    for seed in 1..=a.seeds {
        let (Some(ppo), Some(tppo)) = (evals.get(&(seed, "ppo")), evals.get(&(seed, "tppo")))
        else {
            continue;
        };
        for (pair, x, y) in [
            ("tppo-vs-ppo", tppo, ppo),
            ("tppo-vs-sft", tppo, &sft_out),
            ("ppo-vs-sft", ppo, &sft_out),
        ] {
            let records = eval::compare(x, y, eval::pairwise::DEFAULT_MARGIN)?;
            write_jsonl(
                &a.out.join(format!("compare-{pair}-seed{seed}.jsonl")),
                &records,
            )?;
            compares.push((pair.to_string(), seed, records));
        }
    }

    let rm_curves = [("token", &a.rm_token), ("sentence", &a.rm_sentence)]
        .iter()
        .filter_map(|(level, p)| RmCurve::read(level, &p.with_extension("metrics.json")))
        .collect::<Vec<_>>();
    let total = t_all.elapsed().as_secs_f64();
    // Stage times overlap when runs go side by side: the total says how many did.
    timings.push((format!("total ({n_jobs} runs at a time)"), total));
    let rep = Report::build(
        &a.preset,
        preset,
        a.seeds,
        relevance_of(&sft_out),
        runs,
        &compares,
        rm_curves,
        timings,
        a.resamples,
        diversity,
    );
    let json = serde_json::to_string_pretty(&rep)?;
    tppo::io::write_file_atomic(&a.out.join("report.json"), json.as_bytes())?;
    let html = report::html(&rep, &sft_out)?;
    tppo::io::write_file_atomic(&a.out.join("report.html"), html.as_bytes())?;
    for Finding {
        finding,
        reproduced,
        measured,
        ..
    } in &rep.findings
    {
        println!(
            "{} {finding}: {measured}",
            if *reproduced {
                "reproduced    "
            } else {
                "not reproduced"
            }
        );
    }
    println!(
        "{:.0} s → {} and report.html",
        total,
        a.out.join("report.json").display()
    );
    Ok(ExitCode::SUCCESS)
}
