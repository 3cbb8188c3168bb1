use super::{args, print_json, style};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tppo::data::jsonl;
use tppo::model::checkpoint::{self, CheckpointInfo};
use tppo::model::prompt::{self, Special};
use tppo::model::sft::{self, SftConfig};
use tppo::tokenize::Tok;

#[derive(Args)]
pub struct SftArgs {
    #[arg(long, default_value = "data/train.jsonl.gz")]
    data: PathBuf,
    #[arg(long, default_value = "data/eval.jsonl")]
    eval: PathBuf,
    #[arg(long, default_value = "data/tokenizer.json")]
    tokenizer: PathBuf,
    /// quick: a few minutes on 2 CPU cores; default: the shipped checkpoint.
    #[arg(long, default_value = "quick", value_parser = ["quick", "default"])]
    preset: String,
    #[arg(long, value_parser = args::count(1, 10_000))]
    epochs: Option<usize>,
    /// Train users to use (0: all).
    #[arg(long, value_parser = args::count(0, 100_000_000))]
    users: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    /// Language-model warm-up epochs (loss on every token) before SFT.
    #[arg(long, value_parser = args::count(0, 10_000))]
    warmup_epochs: Option<usize>,
    /// Adam learning rate (the preset's otherwise).
    #[arg(long, value_parser = args::positive::<f64>)]
    lr: Option<f64>,
    /// Checkpoint path without extension: writes PATH.safetensors, PATH.json and PATH.metrics.json.
    #[arg(long, default_value = "runs/sft")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

pub fn sft(a: SftArgs) -> anyhow::Result<ExitCode> {
    let tok = Tok::load(&a.tokenizer)?;
    let sp = Special::of(&tok)?;
    let mut cfg = SftConfig::preset(&a.preset, tok.vocab_size())
        .with_context(|| format!("unknown preset {:?}: expected quick or default", a.preset))?;
    cfg.epochs = a.epochs.unwrap_or(cfg.epochs);
    cfg.users = a.users.unwrap_or(cfg.users);
    cfg.seed = a.seed.unwrap_or(cfg.seed);
    cfg.warmup_epochs = a.warmup_epochs.unwrap_or(cfg.warmup_epochs);
    cfg.lr = a.lr.unwrap_or(cfg.lr);
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        anyhow::bail!("--lr must be a positive number, got {}", cfg.lr);
    }
    let mut users = jsonl::read_users(&a.data)?;
    if cfg.users > 0 {
        users.truncate(cfg.users);
    }
    let eval_users = jsonl::read_users(&a.eval)?;
    // Over-long histories are cut and over-long targets skipped: both counted and said.
    let fit =
        |us: &[tppo::data::User]| prompt::examples(&tok, sp, us, cfg.max_prompt, cfg.max_response);
    let (train, eval) = (fit(&users)?, fit(&eval_users)?);
    for (what, set) in [("train", &train), ("eval", &eval)] {
        if let Some(note) = set.note(what, cfg.max_prompt, cfg.max_response) {
            eprintln!("note: {note}");
        }
    }
    if train.examples.is_empty() {
        anyhow::bail!("{}: no train user fits the model", a.data.display());
    }
    let left_out = serde_json::json!({
        "train_histories_cut": train.histories_cut, "eval_histories_cut": eval.histories_cut,
        "train_too_long": train.too_long.len(), "eval_too_long": eval.too_long.len(),
    });
    let (train, eval) = (train.examples, eval.examples);
    let device = tppo::backend::cpu().autodiff();
    let policy = cfg.policy.init(&device);
    let steps = (cfg.warmup_epochs + cfg.epochs) * train.len().div_ceil(cfg.batch_size);
    let pb = style::progress(steps as u64, "sft");
    let mut tokens_per_s = 0.0;
    let t0 = std::time::Instant::now();
    let (policy, epochs) = sft::train(policy, &train, &eval, &cfg, sp.pad, &device, |m| {
        tokens_per_s = m.tokens as f64 / m.seconds.max(1e-9);
        pb.set_message(format!("loss {:.3} {:.0} tok/s", m.loss, tokens_per_s));
        pb.inc(1);
    });
    pb.finish_and_clear();
    let info = CheckpointInfo {
        kind: "policy".into(),
        config: cfg.policy,
        tokenizer: tok.fingerprint(),
    };
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    checkpoint::save(&policy, &info, &a.out)?;
    let report = serde_json::json!({
        "config": cfg, "train_users": train.len(), "eval_users": eval.len(),
        "epochs": epochs, "seconds": t0.elapsed().as_secs_f64(), "left_out": left_out,
        "checkpoint": a.out.with_extension("safetensors"),
    });
    tppo::io::write_file_atomic(
        &a.out.with_extension("metrics.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    if a.json {
        print_json(&report)?;
    } else {
        for e in &epochs {
            println!(
                "epoch {}{}: train loss {:.4}, eval loss {:.4} ({:.0} s)",
                e.epoch + 1,
                if e.warmup { " (LM warm-up)" } else { "" },
                e.train_loss,
                e.eval_loss,
                e.seconds
            );
        }
        println!(
            "→ {} ({} users, {:.0} s)",
            a.out.with_extension("safetensors").display(),
            train.len(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

use tppo::reward::{
    data::RmExample,
    model::{Level, RewardModel, RewardModelConfig},
    train::{RmPoint, RmTrainConfig},
};

#[derive(Args, Clone)]
pub struct RmDataArgs {
    /// Labels of train responses (from `tppo label --sft ... --data data/train.jsonl.gz`, or imported).
    #[arg(long)]
    labels: PathBuf,
    /// Labels of eval responses, for the metrics.
    #[arg(long)]
    eval_labels: PathBuf,
    #[arg(long, default_value = "data/train.jsonl.gz")]
    data: PathBuf,
    #[arg(long, default_value = "data/eval.jsonl")]
    eval: PathBuf,
    #[arg(long, default_value = "data/tokenizer.json")]
    tokenizer: PathBuf,
    /// Start the trunk from this policy checkpoint (path without extension); a fresh trunk otherwise.
    #[arg(long)]
    sft: Option<PathBuf>,
    /// quick or default: the trunk size when there is no --sft, and the epochs.
    #[arg(long, default_value = "quick", value_parser = ["quick", "default"])]
    preset: String,
    #[arg(long, value_parser = args::count(1, 10_000))]
    epochs: Option<usize>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Evaluate on the eval labels every N steps (and after the last).
    #[arg(long, default_value_t = RmTrainConfig::default().eval_every, value_parser = args::count(1, 1_000_000))]
    eval_every: usize,
}

#[derive(Args)]
pub struct TrainRmArgs {
    #[arg(long, value_enum, default_value_t = Level::Token)]
    level: Level,
    /// λ_local = w, λ_global = 1 − w (token level only).
    #[arg(long, default_value_t = 0.5, value_parser = args::probability::<f32>)]
    w: f32,
    #[command(flatten)]
    rm: RmDataArgs,
    /// Checkpoint path without extension (PATH.safetensors, PATH.json, PATH.metrics.json).
    #[arg(long, default_value = "runs/rm-token")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AblateWArgs {
    /// Values of w = λ_local (λ_global = 1 − w).
    #[arg(long, value_delimiter = ',', default_value = "0,0.2,0.4,0.6,0.8,1.0", value_parser = args::probability::<f32>)]
    values: Vec<f32>,
    #[command(flatten)]
    rm: RmDataArgs,
    /// Output JSON with the eval-loss curve of each w.
    #[arg(long, default_value = "runs/ablate-w.json")]
    out: PathBuf,
    /// Values trained at once (default: one per core; each run computes on one core).
    #[arg(long, value_parser = args::count(1, 256))]
    jobs: Option<usize>,
    #[arg(long)]
    json: bool,
}

struct RmSetup {
    tok: Tok,
    sp: Special,
    train: Vec<RmExample>,
    eval: Vec<RmExample>,
    epochs: usize,
}

fn rm_setup(a: &RmDataArgs) -> anyhow::Result<RmSetup> {
    let tok = Tok::load(&a.tokenizer)?;
    let sp = Special::of(&tok)?;
    let preset = SftConfig::preset(&a.preset, tok.vocab_size())
        .with_context(|| format!("unknown preset {:?}: expected quick or default", a.preset))?;
    let load = |users: &PathBuf, labels: &PathBuf| -> anyhow::Result<Vec<RmExample>> {
        let us = jsonl::read_users(users)?;
        let ls = tppo::labeler::labels::read(labels)?;
        let ex = tppo::reward::data::examples(
            &tok,
            sp,
            &us,
            &ls,
            preset.max_prompt,
            preset.max_response,
        )?;
        if let Some(note) = ex.note(&labels.display().to_string(), preset.max_response) {
            eprintln!("note: {note}");
        }
        Ok(ex.examples)
    };
    let train = load(&a.data, &a.labels)?;
    let eval = load(&a.eval, &a.eval_labels)?;
    let epochs = a.epochs.unwrap_or(if a.preset == "quick" { 1 } else { 3 });
    Ok(RmSetup {
        tok,
        sp,
        train,
        eval,
        epochs,
    })
}

fn rm_model(
    a: &RmDataArgs,
    s: &RmSetup,
    level: Level,
    device: &burn::tensor::Device,
) -> anyhow::Result<(RewardModel, RewardModelConfig)> {
    Ok(match &a.sft {
        Some(path) => {
            let (bytes, info) = checkpoint::open::<tppo::model::policy::PolicyConfig>(
                path,
                "policy",
                &s.tok.fingerprint(),
            )?;
            let policy = checkpoint::load_into(
                &path.display().to_string(),
                &bytes,
                info.config.init(device),
            )?;
            let cfg = RewardModelConfig {
                trunk: info.config.trunk(),
                level,
            };
            (
                RewardModel::from_trunk(policy.into_trunk(), info.config.d_model, device),
                cfg,
            )
        }
        None => {
            let preset = SftConfig::preset(&a.preset, s.tok.vocab_size()).context("preset")?;
            let cfg = RewardModelConfig {
                trunk: preset.policy.trunk(),
                level,
            };
            (cfg.init(device), cfg)
        }
    })
}

fn rm_train(
    a: &RmDataArgs,
    s: &RmSetup,
    level: Level,
    w: f32,
    what: &str,
) -> anyhow::Result<(RewardModel, RewardModelConfig, RmTrainConfig, Vec<RmPoint>)> {
    let device = tppo::backend::cpu().autodiff();
    let (model, mcfg) = rm_model(a, s, level, &device)?;
    let cfg = RmTrainConfig {
        level,
        w,
        epochs: s.epochs,
        seed: a.seed,
        eval_every: a.eval_every.max(1),
        ..Default::default()
    };
    let pb = style::progress(
        (cfg.epochs * s.train.len().div_ceil(cfg.batch_size)) as u64,
        what,
    );
    let (model, points) =
        tppo::reward::train::train(model, &s.train, &s.eval, &cfg, s.sp.pad, &device, |p| {
            let auc = p.eval.as_ref().and_then(|e| {
                if level == Level::Token {
                    e.token_auc
                } else {
                    e.sentence_auc
                }
            });
            pb.set_message(format!(
                "loss {:.3}{}",
                p.train_loss,
                auc.map(|x| format!(" auc {x:.3}")).unwrap_or_default()
            ));
            pb.inc(1);
        });
    pb.finish_and_clear();
    Ok((model, mcfg, cfg, points))
}

pub fn train_rm(a: TrainRmArgs) -> anyhow::Result<ExitCode> {
    let s = rm_setup(&a.rm)?;
    let t0 = std::time::Instant::now();
    let (model, mcfg, cfg, points) = rm_train(&a.rm, &s, a.level, a.w, "train-rm")?;
    let kind = match a.level {
        Level::Token => "token-rm",
        Level::Sentence => "sentence-rm",
    };
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    checkpoint::save(
        &model,
        &CheckpointInfo {
            kind: kind.into(),
            config: mcfg,
            tokenizer: s.tok.fingerprint(),
        },
        &a.out,
    )?;
    let last = points.iter().rev().find_map(|p| p.eval.clone());
    let report = serde_json::json!({"config": cfg, "model": mcfg, "train_examples": s.train.len(), "eval_examples": s.eval.len(),
        "seconds": t0.elapsed().as_secs_f64(), "final": last, "points": points});
    tppo::io::write_file_atomic(
        &a.out.with_extension("metrics.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    if a.json {
        print_json(&report)?;
    } else if let Some(e) = last {
        let f = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.3}"));
        println!(
            "{kind}: {} train / {} eval responses, {} steps, {:.0} s; eval loss {:.4}, token AUC {}, token accuracy {:.3}, sentence AUC {}, sentence accuracy {:.3} → {}",
            s.train.len(),
            s.eval.len(),
            points.len(),
            t0.elapsed().as_secs_f64(),
            e.loss,
            f(e.token_auc),
            e.token_accuracy,
            f(e.sentence_auc),
            e.sentence_accuracy,
            a.out.with_extension("safetensors").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn ablate_w(a: AblateWArgs) -> anyhow::Result<ExitCode> {
    let s = rm_setup(&a.rm)?;
    // Each w is an independent run: train them side by side, report in order.
    let all = super::par_map(&a.values, a.jobs, |&w| {
        rm_train(&a.rm, &s, Level::Token, w, &format!("w={w}"))
            .map(|(_, _, _, points)| points)
            .with_context(|| format!("w = {w}"))
    })?;
    let mut runs = Vec::new();
    for (&w, points) in a.values.iter().zip(all) {
        let curve: Vec<(usize, f32)> = points
            .iter()
            .filter_map(|p| p.eval.as_ref().map(|e| (p.step, e.loss)))
            .collect();
        let last = points.iter().rev().find_map(|p| p.eval.clone());
        if !a.json {
            let first = curve.first().map_or(f32::NAN, |c| c.1);
            let end = curve.last().map_or(f32::NAN, |c| c.1);
            println!(
                "w = {w:.1}: eval loss {first:.4} → {end:.4} (drop {:.4}); token AUC {}",
                first - end,
                last.as_ref()
                    .and_then(|e| e.token_auc)
                    .map_or("n/a".into(), |x| format!("{x:.3}"))
            );
        }
        runs.push(serde_json::json!({"w": w, "eval_loss": curve, "final": last}));
    }
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let report = serde_json::json!({"values": a.values, "runs": runs});
    tppo::io::write_file_atomic(&a.out, serde_json::to_string_pretty(&report)?.as_bytes())?;
    if a.json {
        print_json(&report)?;
    }
    Ok(ExitCode::SUCCESS)
}
