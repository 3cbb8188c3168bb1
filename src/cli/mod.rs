//! Argument parsing and dispatch.

mod bench;
mod data;
mod eval;
mod export;
mod inspect;
mod label;
mod pipeline;
mod rl;
mod style;
mod tokenizer;
mod train;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tppo",
    version,
    about = "TPPO Lab: token-level PPO for query generation, end to end"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the bundled assets live and which training users feed the judge's statistics.
#[derive(clap::Args, Clone)]
pub struct Assets {
    /// Folder with the word vectors, labeler.json and tokenizer.json.
    #[arg(long, default_value = "data")]
    pub assets: PathBuf,
    /// Training users whose histories give the judge its co-occurrence statistics.
    #[arg(long, default_value = "data/train.jsonl.gz")]
    pub train: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Data files: check, import from AOL, generate from the bundled real queries.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Calibrate the judge's thresholds on the train split and write labeler.json.
    Calibrate(label::CalibrateArgs),
    /// Judge one response for one user: a class and evidence per word, a sentence label.
    Judge(label::JudgeArgs),
    /// Label the targets of every user (a labels JSONL), or report agreement with hidden truth.
    Label(label::LabelArgs),
    /// Train or inspect the tokenizer.
    #[command(subcommand)]
    Tokenizer(tokenizer::TokenizerCommand),
    /// Show one user: history, targets, word labels and token labels.
    Inspect(inspect::InspectArgs),
    /// Supervised fine-tuning of the policy on history → targets.
    Sft(train::SftArgs),
    /// Train the token-level (TPPO) or sentence-level (PPO baseline) reward model on labels.
    TrainRm(train::TrainRmArgs),
    /// Train token reward models for several w = λ_local and write their eval-loss curves (paper Fig. 11).
    AblateW(train::AblateWArgs),
    /// PPO (sentence reward) or TPPO (token rewards) from the SFT policy.
    Ppo(rl::PpoArgs),
    /// Lemma 3.1 on a one-step problem: PPO's policy converging to π* ∝ π_ref·exp(A/β).
    Lemma(rl::LemmaArgs),
    /// Generate, judge and score a policy's responses for held-out users (relevance rate).
    Eval(eval::EvalArgs),
    /// Win / tie / lose of two models' outputs (from `tppo eval`), position-swapped.
    Compare(eval::CompareArgs),
    /// Bundled data → SFT → reward models → PPO and TPPO per seed → evaluation → report.json/html.
    Pipeline(pipeline::PipelineArgs),
    /// Time a PPO iteration, a reward-model step and generation (with and without KV cache) per backend.
    Bench(bench::BenchArgs),
    /// Print the length-weighted penalty lwp(l) (paper eq. 4) for a range of positions.
    Lwp(inspect::LwpArgs),
    /// Labels as a Hugging Face token-classification dataset, SFT data as prompt/completion JSONL.
    #[command(subcommand)]
    Export(export::ExportCommand),
}

pub fn run() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Data(c) => data::run(c),
        Command::Calibrate(a) => label::calibrate(a),
        Command::Judge(a) => label::judge(a),
        Command::Label(a) => label::label(a),
        Command::Tokenizer(c) => tokenizer::run(c),
        Command::Inspect(a) => inspect::inspect(a),
        Command::Lwp(a) => inspect::lwp(a),
        Command::Sft(a) => train::sft(a),
        Command::TrainRm(a) => train::train_rm(a),
        Command::AblateW(a) => train::ablate_w(a),
        Command::Ppo(a) => rl::ppo(a),
        Command::Lemma(a) => rl::lemma(a),
        Command::Eval(a) => eval::eval(a),
        Command::Compare(a) => eval::compare(a),
        Command::Pipeline(a) => pipeline::pipeline(a),
        Command::Bench(a) => bench::bench(a),
        Command::Export(c) => export::run(c),
    }
}

/// Print a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
