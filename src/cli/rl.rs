//! `tppo ppo` and `tppo lemma`.

use super::{Assets, args, print_json, style};
use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tppo::data::{User, jsonl};
use tppo::labeler::Labeler;
use tppo::model::checkpoint::{self, CheckpointInfo};
use tppo::model::policy::PolicyConfig;
use tppo::model::prompt::{Prompter, Special};
use tppo::rl::{Metrics, Placement, Ppo, PpoConfig, RewardMode};
use tppo::tokenize::Tok;

/// The prompt budget of the shipped SFT policy (its `max_prompt`).
pub const MAX_PROMPT: usize = 192;

/// Tokenizer, judge and training users: what every RL and evaluation command needs.
pub struct Kit {
    pub tok: Tok,
    pub sp: Special,
    pub labeler: Labeler,
    pub train: Vec<User>,
}

impl Kit {
    pub fn load(assets: &Assets, tokenizer: &Path) -> anyhow::Result<Self> {
        let tok = Tok::load(tokenizer)?;
        let sp = Special::of(&tok)?;
        let train = jsonl::read_users(&assets.train)?;
        let (labeler, _) = tppo::labeler::load_with_users(&assets.assets, &train)?;
        Ok(Self {
            tok,
            sp,
            labeler,
            train,
        })
    }

    pub fn prompter(&self) -> Prompter<'_> {
        Prompter {
            tok: &self.tok,
            sp: self.sp,
            max_prompt: MAX_PROMPT,
        }
    }
}

#[derive(Args, Clone)]
pub struct PpoArgs {
    /// sentence: PPO with the sentence reward model; token: TPPO with the token reward model.
    #[arg(long, value_enum, default_value = "token")]
    pub reward: RewardMode,
    /// Token mode: word-spread (the paper's) or span-end (a word's reward on its last token).
    #[arg(long, value_enum, default_value = "word-spread")]
    pub placement: Placement,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_parser = args::count(1, 1_000_000))]
    pub iters: Option<usize>,
    /// Rollouts per iteration.
    #[arg(long, value_parser = args::count(1, 4096))]
    pub batch_size: Option<usize>,
    #[arg(long, value_parser = args::positive::<f64>)]
    pub lr: Option<f64>,
    /// β of the KL term.
    #[arg(long, value_parser = args::non_negative::<f32>)]
    pub kl_coef: Option<f32>,
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
    pub fn config(&self) -> PpoConfig {
        let d = PpoConfig::default();
        let mut c = PpoConfig {
            reward: self.reward,
            placement: self.placement,
            seed: self.seed,
            iters: self.iters.unwrap_or(d.iters),
            batch_size: self.batch_size.unwrap_or(d.batch_size),
            lr: self.lr.unwrap_or(d.lr),
            kl_coef: self.kl_coef.unwrap_or(d.kl_coef),
            max_new: self.max_new.unwrap_or(d.max_new),
            grad_shards: self.grad_shards.unwrap_or(d.grad_shards),
            ..d
        };
        c.lwp.alpha = self.alpha.unwrap_or(c.lwp.alpha);
        c.lwp.sl = self.sl.unwrap_or(c.lwp.sl);
        c
    }

    pub fn rm_path(&self) -> PathBuf {
        self.rm.clone().unwrap_or_else(|| match self.reward {
            RewardMode::Token => PathBuf::from("data/models/rm-token"),
            RewardMode::Sentence => PathBuf::from("data/models/rm-sentence"),
        })
    }
}

/// Share of responses the judge calls relevant (sentence label 2).
pub fn judge_rate(labeler: &Labeler, users: &[&User], texts: &[String]) -> f32 {
    let k = users
        .iter()
        .zip(texts)
        .filter(|(u, t)| labeler.judge(&u.history, t).sentence == 2)
        .count();
    k as f32 / users.len().max(1) as f32
}

/// Train one PPO or TPPO run; returns the final policy, its config and the metrics.
pub fn train(
    kit: &Kit,
    cfg: PpoConfig,
    sft: &Path,
    rm: &Path,
    label: &str,
    mut on_iter: impl FnMut(&Metrics),
) -> anyhow::Result<(tppo::model::policy::Policy, PolicyConfig, Vec<Metrics>)> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let fp = kit.tok.fingerprint();
    let device = tppo::backend::cpu().autodiff();
    let plain = tppo::backend::cpu();
    let (bytes, info) = checkpoint::open::<PolicyConfig>(sft, "policy", &fp)?;
    let name = sft.display().to_string();
    let policy = checkpoint::load_into(&name, &bytes, info.config.init(&device))?;
    let reference = checkpoint::load_into(&name, &bytes, info.config.init(&plain))?;
    let rm_model = checkpoint::load_rm(rm, &fp, &plain)?;
    let word_of: Option<tppo::rl::ppo::WordOf> = (cfg.placement == Placement::SpanEnd).then(|| {
        let tok = kit.tok.clone();
        Box::new(move |ids: &[u32]| tok.word_of_tokens(ids).unwrap_or_default())
            as tppo::rl::ppo::WordOf
    });
    let mut ppo = Ppo::new(
        cfg, policy, reference, rm_model, kit.sp.eos, kit.sp.pad, device, word_of,
    )?;
    let prompter = kit.prompter();
    let mut order: Vec<usize> = (0..kit.train.len()).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    order.shuffle(&mut rng);
    let pb = style::progress(cfg.iters as u64, label);
    let mut all = Vec::with_capacity(cfg.iters);
    for it in 0..cfg.iters {
        let t0 = std::time::Instant::now();
        let users: Vec<&User> = (0..cfg.batch_size)
            .map(|k| &kit.train[order[(it * cfg.batch_size + k) % order.len()]])
            .collect();
        let prompts = users
            .iter()
            .map(|u| prompter.prompt(&u.history).map(|p| p.0))
            .collect::<tppo::Result<Vec<_>>>()?;
        let (mut m, ro) = tppo::backend::block_on(ppo.iteration(&prompts))?;
        let texts = ro
            .responses
            .iter()
            .map(|r| {
                let body: Vec<u32> = r.iter().copied().filter(|&t| t != kit.sp.eos).collect();
                kit.tok
                    .decode(&body)
                    .map(|t| tppo::model::respond::clean(&t))
            })
            .collect::<tppo::Result<Vec<_>>>()?;
        m.judge_relevance = Some(judge_rate(&kit.labeler, &users, &texts));
        m.seconds = t0.elapsed().as_secs_f64();
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
    pb.finish_and_clear();
    Ok((ppo.policy(), info.config, all))
}

pub fn ppo(a: PpoArgs) -> anyhow::Result<ExitCode> {
    let kit = Kit::load(&a.assets, &a.tokenizer)?;
    let cfg = a.config();
    let rm = a.rm_path();
    let json = a.json;
    let (policy, pcfg, metrics) = train(&kit, cfg, &a.sft, &rm, "ppo", |m| {
        if json {
            println!("{}", serde_json::to_string(m).unwrap_or_default());
        }
    })?;
    save_run(
        &a.out,
        &policy,
        pcfg,
        &kit.tok.fingerprint(),
        &cfg,
        &metrics,
    )?;
    if !json {
        let (first, last) = (&metrics[0], &metrics[metrics.len() - 1]);
        let on = style::enabled();
        println!(
            "{} {:?} seed {}: {} iterations, {:.1} s/iteration",
            style::bold("ppo", on),
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
        println!("→ {}", a.out.with_extension("safetensors").display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Write the policy checkpoint and its metrics (one JSON line per iteration).
pub fn save_run(
    out: &Path,
    policy: &tppo::model::policy::Policy,
    pcfg: PolicyConfig,
    tokenizer: &str,
    cfg: &PpoConfig,
    metrics: &[Metrics],
) -> anyhow::Result<()> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let info = CheckpointInfo {
        kind: "policy".into(),
        config: pcfg,
        tokenizer: tokenizer.to_string(),
    };
    checkpoint::save(policy, &info, out)?;
    let mut lines = String::new();
    for m in metrics {
        lines.push_str(&serde_json::to_string(m)?);
        lines.push('\n');
    }
    tppo::io::write_file_atomic(&out.with_extension("metrics.jsonl"), lines.as_bytes())?;
    tppo::io::write_file_atomic(
        &out.with_extension("ppo.json"),
        serde_json::to_string_pretty(cfg)?.as_bytes(),
    )?;
    Ok(())
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
