use super::{Assets, print_json, style};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tppo::data::jsonl;
use tppo::io::write_file_atomic;
use tppo::labeler::{self, calibrate, labels::LabelRecord, report};

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
    #[arg(long)]
    user: String,
    /// Queries separated by ';'.
    #[arg(long)]
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
    #[command(flatten)]
    assets: Assets,
    #[arg(long)]
    json: bool,
}

pub fn calibrate(a: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let users = jsonl::read_users(&a.data)?;
    let vectors = tppo::vectors::WordVectors::load_dir(&a.assets)?;
    let cfg = tppo::config::LabelerConfig::default();
    let judge = labeler::Labeler::new(cfg, vectors, &users);
    let cal = calibrate::calibrate(&judge, &users);
    let file = calibrate::LabelerFile {
        config: tppo::config::LabelerConfig {
            cos_threshold: cal.cos_threshold,
            pmi_threshold: cal.pmi_threshold,
            ..cfg
        },
        calibration: cal.clone(),
    };
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

fn find_user<'a>(
    users: &'a [tppo::data::User],
    id: &str,
    file: &std::path::Path,
) -> anyhow::Result<&'a tppo::data::User> {
    users
        .iter()
        .find(|u| u.user_id == id)
        .with_context(|| format!("{}: no user with user_id \"{id}\"", file.display()))
}

pub fn judge(a: JudgeArgs) -> anyhow::Result<ExitCode> {
    let users = jsonl::read_users(&a.data)?;
    let user = find_user(&users, &a.user, &a.data)?;
    let (judge, _) = labeler::load(&a.assets.assets, &a.assets.train)?;
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
        println!(
            "query \"{}\": {:.0}% relevant words → {}",
            q.text,
            100.0 * q.relevant_fraction,
            if q.relevant { "relevant" } else { "irrelevant" }
        );
    }
    println!(
        "sentence label: {} ({:.0}% of content words relevant)",
        j.sentence,
        100.0 * j.relevant_fraction
    );
    Ok(ExitCode::SUCCESS)
}

pub fn label(a: LabelArgs) -> anyhow::Result<ExitCode> {
    let users = jsonl::read_users(&a.data)?;
    let (judge, file) = labeler::load(&a.assets.assets, &a.assets.train)?;
    if file.is_none() {
        eprintln!(
            "note: no {}/labeler.json; using uncalibrated default thresholds (run `tppo calibrate`)",
            a.assets.assets.display()
        );
    }
    if let Some(out) = &a.out {
        let pb = style::progress(users.len() as u64, "labeling");
        let mut text = String::new();
        let mut relevant = 0;
        for u in &users {
            let j = judge.judge(&u.history, &u.target_response());
            relevant += usize::from(j.sentence == 2);
            text.push_str(
                &LabelRecord::from_judgement(&u.user_id, &j, "tppo-judge")
                    .to_json()
                    .to_string(),
            );
            text.push('\n');
            pb.inc(1);
        }
        pb.finish_and_clear();
        write_file_atomic(out, text.as_bytes())?;
        let rate = relevant as f64 / users.len().max(1) as f64;
        if a.json && !a.report {
            print_json(
                &serde_json::json!({"out": out, "users": users.len(), "relevant_responses": relevant, "relevance_rate": rate}),
            )?;
        } else if !a.json {
            println!(
                "{} users labeled → {} ({} responses judged relevant, {:.1}%)",
                users.len(),
                out.display(),
                relevant,
                100.0 * rate
            );
        }
    }
    if a.report {
        let agreement = report::agreement(&judge, &users);
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
