use super::{print_json, style};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tppo::args;
use tppo::data::jsonl;
use tppo::model::sft::{self, SftConfig};
use tppo::model::sft_settings::SftOptions;
use tppo::tokenize::Tok;

#[derive(Args)]
pub struct SftArgs {
    #[arg(long, default_value = "data/train.jsonl.gz")]
    data: PathBuf,
    /// Validation users: the loss reported per epoch, and the epoch kept (lowest loss).
    #[arg(long, default_value = "data/val.jsonl")]
    eval: PathBuf,
    #[arg(long, default_value = "data/tokenizer.json")]
    tokenizer: PathBuf,
    #[command(flatten)]
    settings: SftOptions,
    /// Print the settings this command would run with (JSON, a file for --settings) and stop.
    #[arg(long)]
    print_settings: bool,
    /// Checkpoint path without extension: writes PATH.safetensors, PATH.json and PATH.metrics.json.
    #[arg(long, default_value = "runs/sft")]
    out: PathBuf,
    /// Also write every epoch's weights to OUT-epochN (to compare them on the validation users).
    #[arg(long)]
    save_epochs: bool,
    #[arg(long)]
    json: bool,
}

pub fn sft(a: SftArgs) -> anyhow::Result<ExitCode> {
    let tok = Tok::load(&a.tokenizer)?;
    let cfg = a.settings.resolve(tok.vocab_size())?;
    if a.print_settings {
        return print_json(&cfg).map(|_| ExitCode::SUCCESS);
    }
    let mut users = jsonl::read_users(&a.data)?;
    if cfg.users > 0 {
        users.truncate(cfg.users);
    }
    let eval_users = jsonl::read_users(&a.eval)?;
    let steps = (cfg.warmup_epochs + cfg.epochs) * users.len().div_ceil(cfg.batch_size);
    let pb = style::progress(steps as u64, "sft");
    let r = sft::run(
        &tok,
        &users,
        &eval_users,
        &cfg,
        &a.out,
        |note| pb.suspend(|| eprintln!("note: {note}")),
        |m| {
            let tokens_per_s = m.tokens as f64 / m.seconds.max(1e-9);
            pb.set_message(format!("loss {:.3} {:.0} tok/s", m.loss, tokens_per_s));
            pb.inc(1);
        },
        a.save_epochs,
    )
    .with_context(|| a.data.display().to_string())?;
    pb.finish_and_clear();
    if a.json {
        return print_json(&r).map(|_| ExitCode::SUCCESS);
    }
    for e in &r.epochs {
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
        r.checkpoint.display(),
        r.train_users,
        r.seconds
    );
    Ok(ExitCode::SUCCESS)
}

use tppo::reward::{
    data::RmExample,
    model::Level,
    settings::RmOptions,
    train::{RmReport, Start},
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
    #[command(flatten)]
    settings: RmOptions,
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
    /// Print the settings this command would run with (JSON, a file for --settings) and stop.
    #[arg(long)]
    print_settings: bool,
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

/// The tokenizer and the train and eval examples of the labels.
fn rm_data(a: &RmDataArgs) -> anyhow::Result<(Tok, Vec<RmExample>, Vec<RmExample>)> {
    let tok = Tok::load(&a.tokenizer)?;
    let note = |n: String| eprintln!("note: {n}");
    let train = tppo::reward::train::load_examples(&tok, &a.data, &a.labels, note)?;
    let eval = tppo::reward::train::load_examples(&tok, &a.eval, &a.eval_labels, note)?;
    Ok((tok, train, eval))
}

/// Train one reward model of `level` and `w` on the data, with a progress bar.
fn rm_run(
    a: &RmDataArgs,
    data: &(Tok, Vec<RmExample>, Vec<RmExample>),
    level: Level,
    w: f32,
    out: Option<&std::path::Path>,
) -> anyhow::Result<RmReport> {
    let (tok, train, eval) = data;
    let cfg = a.settings.resolve(level, w)?;
    let start = match &a.sft {
        Some(p) => Start::Sft(p),
        None => {
            let name = a.settings.preset_name();
            let sft = SftConfig::preset(name, tok.vocab_size())
                .with_context(|| format!("unknown preset {name:?}"))?;
            Start::Fresh(sft.policy.trunk)
        }
    };
    let what = format!("{} w={w}", level.kind());
    let pb = style::progress(
        (cfg.epochs * train.len().div_ceil(cfg.batch_size)) as u64,
        &what,
    );
    let r = tppo::reward::train::run(tok, &start, train, eval, &cfg, out, |p| {
        let auc = p.eval.as_ref().and_then(|e| match level {
            Level::Token => e.token_auc,
            Level::Sentence => e.sentence_auc,
        });
        let auc = auc.map(|x| format!(" auc {x:.3}")).unwrap_or_default();
        pb.set_message(format!("loss {:.3}{auc}", p.train_loss));
        pb.inc(1);
    })?;
    pb.finish_and_clear();
    Ok(r)
}

pub fn train_rm(a: TrainRmArgs) -> anyhow::Result<ExitCode> {
    if a.print_settings {
        return print_json(&a.rm.settings.resolve(a.level, a.w)?).map(|_| ExitCode::SUCCESS);
    }
    let data = rm_data(&a.rm)?;
    let r = rm_run(&a.rm, &data, a.level, a.w, Some(&a.out))?;
    if a.json {
        print_json(&r)?;
    } else if let Some(e) = &r.last {
        let f = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.3}"));
        println!(
            "{}: {} train / {} eval responses, {} steps, {:.0} s; eval loss {:.4}, token AUC {}, token accuracy {:.3}, sentence AUC {}, sentence accuracy {:.3} → {}",
            a.level.kind(),
            r.train_examples,
            r.eval_examples,
            r.points.len(),
            r.seconds,
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
    let data = rm_data(&a.rm)?;
    // Each w is an independent run: train them side by side, report in order.
    let all = tppo::cpu::par::map_jobs(&a.values, a.jobs, |&w| {
        rm_run(&a.rm, &data, Level::Token, w, None)
            .map(|r| r.points)
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
