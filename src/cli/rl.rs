//! `tppo ppo` and `tppo lemma`.

use super::{Assets, print_json, style};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tppo::args;
use tppo::kit::Kit;
use tppo::pipeline::selection::{ValidatedRun, Validation};
use tppo::rl::run::Run;
use tppo::rl::{Metrics, PpoConfig, PpoOptions};

impl Assets {
    /// The tokenizer, judge and training users.
    pub fn kit(&self, tokenizer: &Path) -> anyhow::Result<Kit> {
        Ok(Kit::load(&self.assets, &self.train, tokenizer)?)
    }
}

#[derive(Args, Clone)]
pub struct PpoArgs {
    /// The run's settings (the library's `PpoConfig`): a settings file and options over it.
    #[command(flatten)]
    pub settings: PpoOptions,
    /// Print the settings this command would run with (JSON, a settings file) and stop.
    #[arg(long)]
    pub print_settings: bool,
    /// Validation users: every --val-every iterations the policy is evaluated on them
    /// (OUT.frontier.jsonl), and the best within --kl-budget is saved as OUT-best.
    #[arg(long)]
    pub val_data: Option<PathBuf>,
    /// The first N validation users (0: all).
    #[arg(long, default_value_t = 0, value_parser = args::count(0, 100_000_000))]
    pub val_users: usize,
    #[arg(long, default_value_t = 5, value_parser = args::count(1, 1_000_000))]
    pub val_every: usize,
    /// Eval users every validated checkpoint also answers (OUT.eval-points.jsonl), for
    /// the matched-KL verdicts; nothing is chosen on them. Needs --val-data.
    #[arg(long, requires = "val_data")]
    pub eval_data: Option<PathBuf>,
    /// The first N eval users (0: all).
    #[arg(long, default_value_t = 0, value_parser = args::count(0, 100_000_000))]
    pub eval_users: usize,
    /// The KL budget (nats per response) within which OUT-best is chosen.
    #[arg(long, default_value_t = 4.0, value_parser = args::positive::<f32>)]
    pub kl_budget: f32,
    /// lwp intensity α (eq. 4).
    #[arg(long, value_parser = args::non_negative::<f32>)]
    pub alpha: Option<f32>,
    /// lwp suggested length sl in tokens (eq. 4).
    #[arg(long, value_parser = args::non_negative::<f32>)]
    pub sl: Option<f32>,
    /// Longest response in tokens, EOS included (at most what the policy's positions leave after the prompt).
    #[arg(long, value_parser = args::count(1, 4096))]
    pub max_new: Option<usize>,
    /// Pieces of each minibatch's gradient, computed side by side on CPU threads (default 2).
    #[arg(long, value_parser = args::count(1, 64))]
    pub grad_shards: Option<usize>,
    /// The SFT policy: the start and the reference π_ref.
    #[arg(long, default_value = "data/models/sft")]
    pub sft: PathBuf,
    /// Reward model (default: data/models/rm-token or rm-sentence for the mode).
    #[arg(long)]
    pub rm: Option<PathBuf>,
    #[arg(long, default_value = "data/tokenizer.json")]
    pub tokenizer: PathBuf,
    #[command(flatten)]
    pub assets: Assets,
    /// Checkpoint path without extension: PATH.safetensors, PATH.json, PATH.metrics.jsonl.
    #[arg(long, default_value = "runs/ppo")]
    pub out: PathBuf,
    /// Print each iteration's metrics as a JSON line on stdout.
    #[arg(long)]
    pub json: bool,
}

impl PpoArgs {
    /// The reward model for `cfg`'s source: --rm, or the shipped one it reads.
    pub fn rm_path(&self, cfg: &PpoConfig) -> PathBuf {
        self.rm.clone().unwrap_or_else(|| {
            PathBuf::from(if cfg.reward.uses_token_rm() {
                "data/models/rm-token"
            } else {
                "data/models/rm-sentence"
            })
        })
    }
}

/// Train one PPO or TPPO run to the end (critic warm-up, iterations, the last
/// validation point); each iteration's metrics go to `on_iter`.
pub fn train(
    kit: &Kit,
    cfg: PpoConfig,
    sft: &Path,
    rm: &Path,
    validation: Option<Validation>,
    label: &str,
    mut on_iter: impl FnMut(&Metrics),
) -> anyhow::Result<(ValidatedRun, Vec<Metrics>)> {
    let mut run = ValidatedRun::new(Run::from_files(kit, cfg, sft, rm)?, validation);
    let pb = style::progress(cfg.iters as u64, label);
    if cfg.value_warmup > 0 {
        pb.set_message(format!("{label} critic warm-up"));
        let w = tppo::backend::block_on(run.run.warm_up(kit))?;
        pb.println(format!(
            "{label}: critic warm-up value loss {:?}, explained variance {:?}",
            w.value_loss, w.var_explained
        ));
    }
    let mut all = Vec::with_capacity(cfg.iters);
    for _ in 0..cfg.iters {
        let m = tppo::backend::block_on(run.step(kit))?.0.metrics;
        pb.set_message(format!(
            "{label} score {:+.3} kl {:.2} rel {:.2}",
            m.scores,
            m.kl,
            m.judge_relevance.unwrap_or(0.0)
        ));
        pb.inc(1);
        on_iter(&m);
        all.push(m);
    }
    tppo::backend::block_on(run.finish(kit))?;
    pb.finish_and_clear();
    Ok((run, all))
}

pub fn ppo(a: PpoArgs) -> anyhow::Result<ExitCode> {
    let cfg = a.settings.resolve()?;
    if a.print_settings {
        print_json(&cfg)?;
        return Ok(ExitCode::SUCCESS);
    }
    let kit = a.assets.kit(&a.tokenizer)?;
    let json = a.json;
    let validation = match &a.val_data {
        Some(path) => Some(Validation {
            users: tppo::data::jsonl::read_first_users(path, a.val_users)?,
            every: a.val_every,
            kl_budget: a.kl_budget,
            eval_users: match &a.eval_data {
                Some(p) => tppo::data::jsonl::read_first_users(p, a.eval_users)?,
                None => Vec::new(),
            },
        }),
        None => None,
    };
    let (run, metrics) = train(
        &kit,
        cfg,
        &a.sft,
        &a.rm_path(&cfg),
        validation,
        "ppo",
        |m| {
            if json {
                println!("{}", serde_json::to_string(m).unwrap_or_default());
            }
        },
    )?;
    run.save(&a.out, &kit.fingerprint(), &metrics)?;
    if !json {
        let (first, last) = (&metrics[0], &metrics[metrics.len() - 1]);
        println!(
            "{} {:?} seed {}: {} iterations, {:.1} s/iteration",
            style::bold("ppo", style::enabled()),
            cfg.reward,
            cfg.seed,
            metrics.len(),
            metrics.iter().map(|m| m.seconds).sum::<f64>() / metrics.len() as f64
        );
        println!(
            "score {:+.4} → {:+.4}, KL {:.3} → {:.3}, judge relevance {:.3} → {:.3}, response length {:.1} → {:.1}",
            first.scores,
            last.scores,
            first.kl,
            last.kl,
            first.judge_relevance.unwrap_or(0.0),
            last.judge_relevance.unwrap_or(0.0),
            first.response_length,
            last.response_length
        );
        if let (Some(a), Some(b)) = (first.gold, last.gold) {
            println!("gold of the rollouts (per query) {a:.3} → {b:.3}");
        }
        if let Some((p, _)) = run.best() {
            println!(
                "best within KL {}: iteration {} (KL {:.2}, validation relevance {:.3}) → {}",
                a.kl_budget,
                p.iter,
                p.kl,
                p.relevance,
                tppo::pipeline::selection::best_path(&a.out).display()
            );
        }
        println!("→ {}", a.out.with_extension("safetensors").display());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct LemmaArgs {
    #[arg(long, default_value_t = 0.5, value_parser = args::positive::<f32>)]
    beta: f32,
    #[arg(long, default_value_t = 150, value_parser = args::count(1, 1_000_000))]
    iters: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

pub fn lemma(a: LemmaArgs) -> anyhow::Result<ExitCode> {
    let cfg = tppo::rl::lemma::LemmaConfig {
        beta: a.beta,
        iters: a.iters,
        seed: a.seed,
        ..Default::default()
    };
    let r = tppo::rl::lemma::run(&cfg);
    if a.json {
        print_json(&r)?;
        return Ok(ExitCode::SUCCESS);
    }
    let fmt = |v: &[f32]| {
        v.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("Lemma 3.1: π* ∝ π_ref·exp(A/β), β = {}", cfg.beta);
    println!("A        {}", fmt(&cfg.advantages));
    println!("π_ref    {}", fmt(&r.pi_ref));
    println!("π*       {}", fmt(&r.pi_star));
    println!("π (PPO)  {}", fmt(&r.pi));
    let k = &r.kl_to_star;
    for i in [0, 1, 5, 10, 25, 50, 100, k.len() - 1] {
        if i < k.len() {
            println!("KL(π‖π*) after {i:>3} iterations: {:.5}", k[i]);
        }
    }
    println!(
        "objective E[A] − β·KL(π‖π_ref): π* {:.4}, trained π {:.4}",
        r.objective_star, r.objective
    );
    Ok(ExitCode::SUCCESS)
}
