use super::{Assets, args, print_json, style};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tppo::data::jsonl;
use tppo::io::write_file_atomic;
use tppo::labeler::{self, calibrate, labels::LabelRecord, report};
use tppo::model::prompt::MAX_RESPONSE;

#[derive(Args)]
pub struct CalibrateArgs {
    /// Training users: their histories give the statistics and the null.
    #[arg(long, default_value = "data/train.jsonl.gz")]
    data: PathBuf,
    #[arg(long, default_value = "data")]
    assets: PathBuf,
    #[arg(long, default_value = "data/labeler.json")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct JudgeArgs {
    #[arg(long, default_value = "data/eval.jsonl")]
    data: PathBuf,
    #[arg(long, value_parser = args::non_empty)]
    user: String,
    /// Queries separated by ';'.
    #[arg(long, value_parser = args::non_empty)]
    response: String,
    #[command(flatten)]
    assets: Assets,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct LabelArgs {
    #[arg(long, default_value = "data/eval.jsonl")]
    data: PathBuf,
    /// Write a labels JSONL for the targets of every user.
    #[arg(long, required_unless_present = "report")]
    out: Option<PathBuf>,
    /// Print the judge's agreement with the generator's hidden interests.
    #[arg(long)]
    report: bool,
    /// Also label responses sampled from this policy checkpoint (path without extension):
    /// the paper's RLAIF loop, the reward models' training data.
    #[arg(long)]
    sft: Option<PathBuf>,
    /// Also label each target response with one query repeated (the last replaced by
    /// an earlier one), so that the reward models learn what repetition is worth.
    #[arg(long)]
    repeats: bool,
    /// Responses to sample per user from --sft.
    #[arg(long, default_value_t = 2, value_parser = args::count(1, 64))]
    samples: usize,
    /// Sampling temperature for --sft.
    #[arg(long, default_value_t = 0.7, value_parser = args::positive::<f32>)]
    temperature: f32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Label only the first N users (0: all).
    #[arg(long, default_value_t = 0, value_parser = args::count(0, 100_000_000))]
    users: usize,
    #[command(flatten)]
    assets: Assets,
    #[arg(long)]
    json: bool,
}

pub fn calibrate(a: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let users = jsonl::read_users(&a.data)?;
    let vectors = tppo::vectors::WordVectors::load_dir(&a.assets)?;
    let file = calibrate::calibrated_file(vectors, &users);
    let cal = &file.calibration;
    write_file_atomic(&a.out, serde_json::to_string_pretty(&file)?.as_bytes())?;
    if a.json {
        print_json(&file)?;
    } else {
        println!(
            "calibrated on {} users ({} real / {} null words): cosine ≥ {:.3}, PMI ≥ {:.2}; null pass {:.1}% (bound {:.1}%), real pass {:.1}% → {}",
            cal.users,
            cal.words_real,
            cal.words_null,
            cal.cos_threshold,
            cal.pmi_threshold,
            100.0 * cal.measured_null_pass,
            100.0 * cal.null_pass_rate,
            100.0 * cal.measured_real_pass,
            a.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn judge(a: JudgeArgs) -> anyhow::Result<ExitCode> {
    let users = jsonl::read_users(&a.data)?;
    let user = tppo::data::find_user(&users, &a.user, &a.data)?;
    let (judge, _) = labeler::file::load(&a.assets.assets, &a.assets.train)?;
    let j = judge.judge(&user.history, &a.response);
    if a.json {
        print_json(&j)?;
        return Ok(ExitCode::SUCCESS);
    }
    let on = style::enabled();
    for w in &j.words {
        println!(
            "{:<20} {}  {}",
            style::class(&w.text, w.class, on),
            w.class,
            w.evidence
        );
    }
    for q in &j.queries {
        let verdict = match q.repeats {
            Some(k) => format!("repeats query {k}"),
            None if q.relevant => "relevant".into(),
            None => "irrelevant".into(),
        };
        let share = 100.0 * q.relevant_fraction;
        println!(
            "query \"{}\": {share:.0}% relevant words → {verdict}",
            q.text
        );
    }
    println!(
        "sentence label: {} ({:.0}% of content words relevant; {} distinct queries of {})",
        j.sentence,
        100.0 * j.relevant_fraction,
        j.distinct_queries,
        j.queries.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn label(a: LabelArgs) -> anyhow::Result<ExitCode> {
    let users = jsonl::read_users(&a.data)?;
    let kit = a.assets.kit(&a.assets.assets.join("tokenizer.json"))?;
    if !a.assets.assets.join("labeler.json").exists() {
        eprintln!(
            "note: no {}/labeler.json; using uncalibrated default thresholds (run `tppo calibrate`)",
            a.assets.assets.display()
        );
    }
    let users = if a.users > 0 {
        users.into_iter().take(a.users).collect()
    } else {
        users
    };
    if let Some(out) = &a.out {
        // The targets, then (with --sft) the policy's own samples: the RLAIF loop.
        let mut responses = tppo::reward::rlaif::targets(&users);
        if a.repeats {
            responses.extend(tppo::reward::rlaif::repeated_targets(&users));
        }
        if let Some(sft) = &a.sft {
            let device = tppo::backend::cpu();
            let policy = tppo::model::checkpoint::load_policy(sft, &kit.fingerprint(), &device)?;
            let pb = style::progress((a.samples * users.len()) as u64, "sampling");
            responses.extend(tppo::backend::block_on(tppo::reward::rlaif::samples(
                &kit,
                &policy,
                &users,
                a.samples,
                tppo::model::policy::SampleConfig {
                    temperature: a.temperature,
                    seed: a.seed,
                    ..tppo::model::policy::SampleConfig::greedy()
                },
                &device,
                |n| pb.inc(n as u64),
            ))?);
            pb.finish_and_clear();
        }
        let labeled = tppo::reward::rlaif::label(&kit, &users, &responses, MAX_RESPONSE)?;
        tppo::io::write_jsonl(
            out,
            &labeled
                .records
                .iter()
                .map(LabelRecord::to_json)
                .collect::<Vec<_>>(),
        )?;
        let (written, relevant, skipped) =
            (labeled.records.len(), labeled.relevant, labeled.skipped);
        let rate = relevant as f64 / written.max(1) as f64;
        if a.json && !a.report {
            print_json(
                &serde_json::json!({"out": out, "users": users.len(), "responses": written, "skipped_empty_or_too_long": skipped, "relevant_responses": relevant, "relevance_rate": rate}),
            )?;
        } else if !a.json {
            println!(
                "{written} responses of {} users labeled → {} ({relevant} judged relevant, {:.1}%){}",
                users.len(),
                out.display(),
                100.0 * rate,
                if skipped > 0 {
                    format!("; {skipped} empty or over-long samples left out")
                } else {
                    String::new()
                }
            );
        }
    }
    if a.report {
        let agreement = report::agreement(&kit.labeler, &users);
        if a.json {
            print_json(&agreement)?;
        } else {
            println!(
                "agreement with hidden interests on {} ({} users, {} content words of targets):\n  class 2 vs on-interest words: precision {:.3}, recall {:.3}, F1 {:.3} (base rate {:.3})\n  per target query ({}): precision {:.3}, recall {:.3}, accuracy {:.3}",
                a.data.display(),
                agreement.users - agreement.users_without_meta,
                agreement.words,
                agreement.word_precision,
                agreement.word_recall,
                agreement.word_f1,
                agreement.base_rate,
                agreement.queries,
                agreement.query_precision,
                agreement.query_recall,
                agreement.query_accuracy
            );
            if agreement.users_without_meta > 0 {
                println!(
                    "  ({} users have no hidden truth and were left out)",
                    agreement.users_without_meta
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
