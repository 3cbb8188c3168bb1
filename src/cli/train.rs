use super::{print_json, style};
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
    #[arg(long, default_value = "quick")]
    preset: String,
    #[arg(long)]
    epochs: Option<usize>,
    /// Train users to use (0: all).
    #[arg(long)]
    users: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
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
    let mut users = jsonl::read_users(&a.data)?;
    if cfg.users > 0 {
        users.truncate(cfg.users);
    }
    let eval_users = jsonl::read_users(&a.eval)?;
    let encode = |us: &[tppo::data::User]| -> anyhow::Result<(Vec<prompt::Example>, usize)> {
        let mut left_out = 0;
        let ex = us
            .iter()
            .map(|u| {
                let e = prompt::example(&tok, sp, u, cfg.max_prompt, cfg.max_response)?;
                left_out += usize::from(e.events_left_out > 0);
                Ok(e)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok((ex, left_out))
    };
    let (train, cut_train) = encode(&users)?;
    let (eval, cut_eval) = encode(&eval_users)?;
    if cut_train + cut_eval > 0 {
        eprintln!(
            "note: {cut_train} train and {cut_eval} eval histories were longer than {} tokens; their oldest events were left out",
            cfg.max_prompt
        );
    }
    let device = tppo::backend::cpu().autodiff();
    let policy = cfg.policy.init(&device);
    let steps = cfg.epochs * train.len().div_ceil(cfg.batch_size);
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
        "epochs": epochs, "seconds": t0.elapsed().as_secs_f64(),
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
                "epoch {}: train loss {:.4}, eval loss {:.4} ({:.0} s)",
                e.epoch + 1,
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
