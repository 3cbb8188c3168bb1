//! `tppo pipeline`: bundled data → shipped SFT and reward models → PPO and TPPO
//! from the same SFT start per seed (+ a TPPO run at α = 0.5 for the length
//! ablation) → evaluation of every model on held-out users → pairwise comparisons
//! → `report.json` and `report.html` (see [`super::report`]).

use super::eval::{outputs, relevance_of, write_jsonl};
use super::report::{self, Finding, Report, RmCurve, Run};
use super::rl::{Kit, save_run, train};
use super::{Assets, style};
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
    #[arg(long, default_value = "quick")]
    preset: String,
    /// PPO and TPPO runs per mode, seeds 1..=K.
    #[arg(long, default_value_t = 2)]
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
    #[arg(long, default_value_t = 2000)]
    resamples: usize,
    #[arg(long, default_value = "runs/pipeline")]
    out: PathBuf,
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
    let mut timings: Vec<(String, f64)> = Vec::new();
    let t = Instant::now();
    say(format!(
        "evaluating the SFT policy on {} users",
        users.len()
    ));
    let sft_out = outputs(&kit, &a.sft, "sft", &users, &a.rm_token, &greedy)?;
    write_jsonl(&a.out.join("eval-sft.jsonl"), &sft_out)?;
    timings.push(("eval sft".into(), t.elapsed().as_secs_f64()));

    let mut runs: Vec<Run> = Vec::new();
    let mut compares = Vec::new();
    let mut diversity = vec![report::Diversity::of("sft", &sft_out)];
    for seed in 1..=a.seeds {
        let mut evals = Vec::new();
        for (mode, name) in [(RewardMode::Sentence, "ppo"), (RewardMode::Token, "tppo")] {
            let cfg = PpoConfig {
                reward: mode,
                seed,
                iters: preset.iters,
                batch_size: preset.batch_size,
                ..PpoConfig::default()
            };
            let rm = match mode {
                RewardMode::Token => &a.rm_token,
                RewardMode::Sentence => &a.rm_sentence,
            };
            let label = format!("{name}-seed{seed}");
            say(format!("training {label}"));
            let t = Instant::now();
            let (policy, pcfg, metrics) = train(&kit, cfg, &a.sft, rm, &label, |_| {})?;
            timings.push((format!("train {label}"), t.elapsed().as_secs_f64()));
            let ckpt = a.out.join(&label);
            save_run(&ckpt, &policy, pcfg, &kit.tok.fingerprint(), &cfg, &metrics)?;
            let t = Instant::now();
            let out = outputs(&kit, &ckpt, &label, &users, &a.rm_token, &greedy)?;
            write_jsonl(&a.out.join(format!("eval-{label}.jsonl")), &out)?;
            timings.push((format!("eval {label}"), t.elapsed().as_secs_f64()));
            runs.push(Run {
                name: name.into(),
                seed,
                config: cfg,
                relevance: Some(relevance_of(&out)),
                metrics,
            });
            diversity.push(report::Diversity::of(&label, &out));
            evals.push(out);
        }
        if seed == 1 || preset.alpha_all_seeds {
            let mut cfg = runs[runs.len() - 1].config;
            cfg.lwp.alpha = 0.5;
            let label = format!("tppo-alpha0.5-seed{seed}");
            say(format!("training {label} (length ablation)"));
            let t = Instant::now();
            let (_, _, metrics) = train(&kit, cfg, &a.sft, &a.rm_token, &label, |_| {})?;
            timings.push((format!("train {label}"), t.elapsed().as_secs_f64()));
            runs.push(Run {
                name: "tppo-alpha0.5".into(),
                seed,
                config: cfg,
                relevance: None,
                metrics,
            });
        }
        let (ppo, tppo) = (&evals[0], &evals[1]);
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
    timings.push(("total".into(), total));
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
