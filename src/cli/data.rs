use super::print_json;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tppo::data::{aol, corpus, jsonl, synth};
use tppo::io::write_file_atomic;

#[derive(Subcommand)]
pub enum DataCommand {
    /// Validate a users JSONL file; exits non-zero and names every bad line.
    Check {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Convert an AOL query log (AnonID, Query, QueryTime, ItemRank, ClickURL) to users JSONL.
    FromAol(FromAolArgs),
    /// Assemble synthetic users from the bundled real queries (deterministic per seed).
    Synth(SynthArgs),
}

#[derive(Args)]
pub struct FromAolArgs {
    #[arg(long)]
    input: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Users with fewer history events than this (before their targets) are skipped and counted.
    #[arg(long, default_value_t = 3)]
    min_history: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct SynthArgs {
    #[arg(long, default_value_t = 200)]
    users: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// train: train-split queries only; eval: targets from the eval split; all: any query.
    #[arg(long, value_enum, default_value_t = synth::Split::All)]
    split: synth::Split,
    #[arg(long)]
    out: PathBuf,
    /// The real queries (TSV: source, qid, query).
    #[arg(long, default_value = "data/trec-queries.tsv")]
    corpus: PathBuf,
    /// Folder with the GloVe vectors used to discover topics.
    #[arg(long, default_value = "data")]
    assets: PathBuf,
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: DataCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DataCommand::Check { file, json } => {
            let bytes = tppo::io::read_file(&file)?;
            let checked = jsonl::check_bytes(&file.display().to_string(), &bytes);
            if json {
                print_json(&serde_json::json!({
                    "file": file, "lines": checked.lines, "valid_users": checked.users.len(),
                    "errors": checked.errors,
                }))?;
            } else {
                for e in &checked.errors {
                    eprintln!("{e}");
                }
                println!(
                    "{}: {} lines, {} valid users, {} errors",
                    file.display(),
                    checked.lines,
                    checked.users.len(),
                    checked.errors.len()
                );
            }
            Ok(if checked.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        DataCommand::FromAol(a) => {
            let bytes = tppo::io::read_file(&a.input)?;
            let (users, summary) =
                aol::convert(&a.input.display().to_string(), &bytes, a.min_history)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            write_file_atomic(&a.out, jsonl::to_jsonl(&users).as_bytes())?;
            if a.json {
                print_json(&summary)?;
            } else {
                println!(
                    "{} rows, {} users seen → {} written to {}; skipped: {} with fewer than 3 distinct queries, {} with history shorter than {}; rows: {} empty queries, {} too long, {} repeats merged",
                    summary.rows,
                    summary.users_seen,
                    summary.users_written,
                    a.out.display(),
                    summary.skipped_fewer_than_3_distinct_queries,
                    summary.skipped_short_history,
                    a.min_history,
                    summary.rows_empty_query,
                    summary.rows_text_too_long,
                    summary.repeated_rows_merged
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        DataCommand::Synth(a) => {
            let corpus = corpus::load(&a.corpus)?;
            let wv = tppo::vectors::WordVectors::load_dir(&a.assets)?;
            let cfg = synth::SynthConfig {
                users: a.users,
                seed: a.seed,
                split: a.split,
                ..Default::default()
            };
            let generator =
                synth::Generator::new(cfg, &corpus, &wv).context("building the generator")?;
            let (users, summary) = generator.generate();
            write_file_atomic(&a.out, jsonl::to_jsonl(&users).as_bytes())?;
            if a.json {
                print_json(&summary)?;
            } else {
                let c = &summary.corpus;
                println!(
                    "{} users → {} ({} topics; corpus: {} rows, {} kept, removed {} adult and {} personal-data queries, {} duplicates; {} drifting targets)",
                    summary.users,
                    a.out.display(),
                    summary.topics,
                    c.rows,
                    c.kept,
                    c.removed_adult,
                    c.removed_personal_data,
                    c.duplicates,
                    summary.drifting_targets
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
