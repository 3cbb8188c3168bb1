//! `tppo eval` and `tppo compare`.

use super::rl::Kit;
use super::{Assets, args, print_json, style};
use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tppo::config::LwpConfig;
use tppo::data::{User, jsonl};
use tppo::eval::{self, OutputRecord, Relevance};
use tppo::model::checkpoint;
use tppo::model::policy::SampleConfig;

#[derive(Args)]
pub struct EvalArgs {
    /// Policy checkpoint (path without extension).
    #[arg(long, default_value = "data/models/sft")]
    policy: PathBuf,
    /// The model's name in the outputs (default: the checkpoint's file name).
    #[arg(long)]
    name: Option<String>,
    #[arg(long, default_value = "data/eval.jsonl")]
    data: PathBuf,
    /// Evaluate the first N users (0: all; the default split has 2,000).
    #[arg(long, default_value_t = 0, value_parser = args::count(0, 100_000_000))]
    users: usize,
    /// Token reward model whose per-token rewards go into the outputs (for the heatmaps).
    #[arg(long, default_value = "data/models/rm-token")]
    rm: PathBuf,
    /// 0: greedy decoding (the default, deterministic).
    #[arg(long, default_value_t = 0.0, value_parser = args::non_negative::<f32>)]
    temperature: f32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value = "data/tokenizer.json")]
    tokenizer: PathBuf,
    #[command(flatten)]
    assets: Assets,
    /// Outputs JSONL, one record per user.
    #[arg(long, default_value = "runs/eval.jsonl")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

/// The first `n` users of a file (0: all).
pub fn eval_users(path: &Path, n: usize) -> anyhow::Result<Vec<User>> {
    let mut users = jsonl::read_users(path)?;
    if n > 0 {
        users.truncate(n);
    }
    Ok(users)
}

/// Generate, judge and score one model's responses for `users`.
pub fn outputs(
    kit: &Kit,
    policy_path: &Path,
    name: &str,
    users: &[User],
    rm: &Path,
    sample: &SampleConfig,
) -> anyhow::Result<Vec<OutputRecord>> {
    let device = tppo::backend::cpu();
    let fp = kit.tok.fingerprint();
    let policy = checkpoint::load_policy(policy_path, &fp, &device)?;
    let rm = checkpoint::load_rm(rm, &fp, &device)?;
    let prompter = kit.prompter();
    let pb = style::progress(users.len().div_ceil(64) as u64, &format!("eval {name}"));
    let mut texts = Vec::with_capacity(users.len());
    for (i, chunk) in users.chunks(64).enumerate() {
        let s = SampleConfig {
            seed: sample.seed.wrapping_add(i as u64),
            ..*sample
        };
        texts.extend(tppo::backend::block_on(tppo::model::respond::respond(
            &policy, &prompter, chunk, &s, 64, &device,
        ))?);
        pb.inc(1);
    }
    pb.finish_and_clear();
    Ok(tppo::backend::block_on(eval::records(
        name,
        users,
        &texts,
        &kit.labeler,
        &prompter,
        Some(&rm),
        LwpConfig::default(),
        &device,
    ))?)
}

pub fn write_jsonl<T: serde::Serialize>(path: &Path, rows: &[T]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut s = String::new();
    for r in rows {
        s.push_str(&serde_json::to_string(r)?);
        s.push('\n');
    }
    Ok(tppo::io::write_file_atomic(path, s.as_bytes())?)
}

pub fn relevance_of(records: &[OutputRecord]) -> Relevance {
    eval::relevance(&records.iter().map(|r| &r.judgement).collect::<Vec<_>>())
}

pub fn eval(a: EvalArgs) -> anyhow::Result<ExitCode> {
    let kit = Kit::load(&a.assets, &a.tokenizer)?;
    let users = eval_users(&a.data, a.users)?;
    let name = a.name.clone().unwrap_or_else(|| {
        a.policy
            .file_name()
            .map_or("model".into(), |n| n.to_string_lossy().into_owned())
    });
    let sample = SampleConfig {
        temperature: a.temperature,
        top_k: 0,
        max_new: tppo::rl::PpoConfig::default().max_new,
        seed: a.seed,
    };
    let records = outputs(&kit, &a.policy, &name, &users, &a.rm, &sample)?;
    write_jsonl(&a.out, &records)?;
    let r = relevance_of(&records);
    if a.json {
        print_json(&r)?;
    } else {
        println!(
            "{}: relevance {:.3} [{:.3}, {:.3}] ({} of {} users) → {}",
            style::bold(&name, style::enabled()),
            r.rate,
            r.ci.lo,
            r.ci.hi,
            r.relevant,
            r.n,
            a.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct CompareArgs {
    /// Outputs JSONL of model A (from `tppo eval`).
    a: PathBuf,
    /// Outputs JSONL of model B.
    b: PathBuf,
    /// Compare records JSONL, one per user.
    #[arg(long, default_value = "runs/compare.jsonl")]
    out: PathBuf,
    #[arg(long, default_value_t = 2000, value_parser = args::count(1, 1_000_000))]
    resamples: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Relevant-word share difference below which the judge calls a tie.
    #[arg(long, default_value_t = tppo::eval::pairwise::DEFAULT_MARGIN, value_parser = args::probability::<f32>)]
    margin: f32,
    #[arg(long)]
    json: bool,
}

pub fn read_outputs(path: &Path) -> anyhow::Result<Vec<OutputRecord>> {
    let bytes = tppo::io::read_file(path)?;
    eval::read_outputs(&path.display().to_string(), &bytes)
        .map_err(|e| tppo::Error::Input(e).into())
}

pub fn compare(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let (ra, rb) = (read_outputs(&a.a)?, read_outputs(&a.b)?);
    let records = eval::compare(&ra, &rb, a.margin)?;
    write_jsonl(&a.out, &records)?;
    let s = eval::win_tie_lose(&records, a.resamples, a.seed);
    if a.json {
        print_json(&s)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (na, nb) = (
        ra.first().map_or("A", |r| r.model.as_str()),
        rb.first().map_or("B", |r| r.model.as_str()),
    );
    println!(
        "{na} vs {nb} over {} users: win {:.1} % [{:.1}, {:.1}], tie {:.1} %, lose {:.1} % [{:.1}, {:.1}]",
        s.n,
        100.0 * s.win_rate,
        100.0 * s.win_ci.lo,
        100.0 * s.win_ci.hi,
        100.0 * s.tie_rate,
        100.0 * s.lose_rate,
        100.0 * s.lose_ci.lo,
        100.0 * s.lose_ci.hi
    );
    println!(
        "net (W−L)/N {:+.1} points [{:+.1}, {:+.1}]; tie-adjusted win rate {:.3}; position consistency {:.3}; sign test p = {:.2e} → {}",
        100.0 * s.net,
        100.0 * s.net_ci.lo,
        100.0 * s.net_ci.hi,
        s.tie_adjusted_win_rate,
        s.position_consistency,
        s.sign_test_p,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
