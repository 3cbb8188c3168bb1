use super::print_json;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tppo::args;
use tppo::data::{aol, corpus, jsonl, synth};
use tppo::io::write_file_atomic;
use tppo::model::prompt::{LengthCheck, length_check};

#[derive(Subcommand)]
pub enum DataCommand {
    /// Validate a users JSONL file; exits non-zero and names every bad line.
    ///
    /// Also warns (without failing) about users that training would cut or skip:
    /// histories longer than the prompt budget, target responses longer than the
    /// response budget, in the tokens of --tokenizer.
    Check {
        file: PathBuf,
        /// The tokenizer that measures prompts and responses for the warnings
        /// (default: data/tokenizer.json when it exists; without one, no length check).
        #[arg(long)]
        tokenizer: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Convert an AOL query log (AnonID, Query, QueryTime, ItemRank, ClickURL) to users JSONL.
    FromAol(FromAolArgs),
    /// Assemble synthetic users from the bundled real queries (deterministic per seed).
    Synth(SynthArgs),
    /// The world's interests (data/interests.json): per interest, how many real queries
    /// it holds in each split and a few of them.
    Interests {
        /// The real queries (TSV: source, qid, query).
        #[arg(long, default_value = "data/trec-queries.tsv")]
        corpus: PathBuf,
        /// Folder with the GloVe vectors and interests.json.
        #[arg(long, default_value = "data")]
        assets: PathBuf,
        /// Example queries to print per interest.
        #[arg(long, default_value_t = 5)]
        examples: usize,
        #[arg(long)]
        json: bool,
    },
    /// Write the judge's co-occurrence statistics over the training histories (the
    /// page loads them instead of the training users before its first view).
    JudgeStats {
        #[arg(long, default_value = "data/train.jsonl.gz")]
        train: PathBuf,
        /// The judge's settings (its thresholds: min_word_df, min_pair_count).
        #[arg(long, default_value = "data/labeler.json")]
        labeler: PathBuf,
        /// `.gz`: written gzip-compressed.
        #[arg(long, default_value = "data/judge-stats.bin.gz")]
        out: PathBuf,
    },
}

#[derive(Args)]
pub struct FromAolArgs {
    #[arg(long)]
    input: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Users with fewer history events than this (before their targets) are skipped and counted.
    #[arg(long, default_value_t = 3, value_parser = args::count(0, tppo::data::schema::MAX_HISTORY as u64))]
    min_history: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct SynthArgs {
    #[arg(long, default_value_t = 200, value_parser = args::count(1, 10_000_000))]
    users: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// train: train-split queries only; eval: targets from the eval split; all: any query.
    #[arg(long, value_enum, default_value_t = synth::Split::All)]
    split: synth::Split,
    /// User ids PREFIX-000000, … (default: the split's name).
    #[arg(long, value_parser = args::non_empty)]
    id_prefix: Option<String>,
    #[arg(long)]
    out: PathBuf,
    /// The real queries (TSV: source, qid, query).
    #[arg(long, default_value = "data/trec-queries.tsv")]
    corpus: PathBuf,
    /// Folder with the GloVe vectors and the interests (interests.json).
    #[arg(long, default_value = "data")]
    assets: PathBuf,
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: DataCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DataCommand::Check {
            file,
            tokenizer,
            json,
        } => {
            let bytes = tppo::io::read_file(&file)?;
            let name = file.display().to_string();
            let checked = jsonl::check_bytes(&name, &bytes);
            let default = PathBuf::from("data/tokenizer.json");
            let tokenizer = tokenizer.or_else(|| default.exists().then_some(default));
            let lengths = match &tokenizer {
                Some(t) => {
                    let tok = tppo::tokenize::Tok::load(t)?;
                    length_check(&tok, &name, &checked.users, &checked.user_lines)?
                }
                None => {
                    eprintln!("note: no tokenizer (--tokenizer): response lengths not checked");
                    LengthCheck::default()
                }
            };
            let warnings = &lengths.too_long;
            if json {
                print_json(&serde_json::json!({
                    "file": file, "lines": checked.lines, "valid_users": checked.users.len(),
                    "errors": checked.errors, "warnings": warnings,
                    "histories_cut": lengths.histories_cut,
                }))?;
            } else {
                for e in &checked.errors {
                    eprintln!("{e}");
                }
                for w in warnings {
                    eprintln!("warning: {w}");
                }
                println!(
                    "{}: {} lines, {} valid users, {} errors, {} warnings; {} histories longer than the {}-token prompt (their oldest events are left out)",
                    file.display(),
                    checked.lines,
                    checked.users.len(),
                    checked.errors.len(),
                    warnings.len(),
                    lengths.histories_cut,
                    tppo::model::prompt::MAX_PROMPT
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
        DataCommand::Interests {
            corpus,
            assets,
            examples,
            json,
        } => {
            let corpus = corpus::load(&corpus)?;
            let wv = tppo::vectors::WordVectors::load_dir(&assets)?;
            let world = tppo::data::interests::load(&assets, &wv)?;
            let rows = synth::interest_sizes(&world, &corpus.queries, &wv, examples);
            if json {
                print_json(&rows)?;
            } else {
                for r in &rows {
                    println!(
                        "{:<30} {:>5} queries ({:>4} eval split): {}",
                        r.interest,
                        r.queries,
                        r.eval_split,
                        r.examples.join(" | ")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DataCommand::JudgeStats {
            train,
            labeler,
            out,
        } => {
            let users = jsonl::read_users(&train)?;
            let file: tppo::labeler::file::LabelerFile =
                serde_json::from_slice(&tppo::io::read_file(&labeler)?).with_context(|| {
                    format!(
                        "{}: a labeler file {{config, calibration}}",
                        labeler.display()
                    )
                })?;
            let stats = tppo::labeler::Labeler::statistics(file.config, &users);
            write_file_atomic(&out, &stats.to_bytes())?;
            println!(
                "{} histories, {} word pairs → {}",
                stats.histories,
                stats.pair_count(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        DataCommand::Synth(a) => {
            let wv = tppo::vectors::WordVectors::load_dir(&a.assets)?;
            let cfg = synth::SynthConfig {
                users: a.users,
                seed: a.seed,
                split: a.split,
                id_prefix: a.id_prefix.clone(),
                ..Default::default()
            };
            let (users, summary) =
                synth::generate_from(cfg, &a.corpus, &a.assets, &wv).context("generating users")?;
            write_file_atomic(&a.out, jsonl::to_jsonl(&users).as_bytes())?;
            if a.json {
                print_json(&summary)?;
            } else {
                let c = &summary.corpus;
                println!(
                    "{} users → {} ({} interests; corpus: {} rows, {} kept, removed {} adult and {} personal-data queries, {} duplicates; {} drifting targets)",
                    summary.users,
                    a.out.display(),
                    summary.interests,
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
