use super::{Assets, print_json, style};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tppo::args;
use tppo::data::jsonl;
use tppo::eval::instrument;
use tppo::io::write_file_atomic;
use tppo::labeler::{self, labels::LabelRecord};
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
    /// The share of another user's next queries that may be judged relevant
    /// (default: the judge's default, LabelerConfig::null_pass_rate).
    #[arg(long, value_parser = args::positive::<f32>)]
    null_pass_rate: Option<f32>,
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
    /// Validate the judge and the gold score on reference responses (tppo::eval::instrument):
    /// on --data and on fresh users of another generator seed.
    #[arg(long)]
    report: bool,
    /// --report: fresh users to generate (0: none).
    #[arg(long, default_value_t = 2000, value_parser = args::count(0, 1_000_000))]
    fresh_users: usize,
    /// --report: the generator seed of the fresh users (one calibration and the
    /// judge's design never saw).
    #[arg(long, default_value_t = 2027)]
    fresh_seed: u64,
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
    let mut cfg = labeler::LabelerConfig::default();
    if let Some(r) = a.null_pass_rate {
        cfg.null_pass_rate = r;
    }
    let file = labeler::file::calibrated_file(&vectors, &users, cfg);
    let cal = &file.calibration;
    write_file_atomic(&a.out, serde_json::to_string_pretty(&file)?.as_bytes())?;
    if a.json {
        print_json(&file)?;
    } else {
        println!(
            "calibrated on {} users ({} own / {} other next queries; {} history searches held out of the statistics): cosine ≥ {:.3}, PMI ≥ {:.2}; another user's queries relevant {:.1}% (bound {:.1}%), own {:.1}% → {}",
            cal.users,
            cal.queries_real,
            cal.queries_null,
            cal.held_out_searches,
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
        let popular = instrument::most_popular(&kit.train, 3);
        let mut sets = vec![(a.data.display().to_string(), users)];
        if a.fresh_users > 0 {
            let cfg = tppo::data::synth::SynthConfig {
                users: a.fresh_users,
                seed: a.fresh_seed,
                split: tppo::data::synth::Split::Eval,
                id_prefix: Some("fresh".into()),
                ..Default::default()
            };
            let assets = &a.assets.assets;
            let (fresh, _) = tppo::data::synth::generate_from(
                cfg,
                &assets.join("trec-queries.tsv"),
                assets,
                kit.labeler.vectors(),
            )?;
            sets.push((
                format!("fresh users (generator seed {})", a.fresh_seed),
                fresh,
            ));
        }
        let out: Vec<(String, instrument::Validation)> = sets
            .iter()
            .map(|(name, us)| {
                (
                    name.clone(),
                    instrument::validate(&kit.labeler, kit.gold.as_ref(), us, &popular),
                )
            })
            .collect();
        if a.json {
            print_json(
                &serde_json::json!({"popular": popular, "sets": out.iter().map(|(n, v)| serde_json::json!({"users": n, "validation": v})).collect::<Vec<_>>()}),
            )?;
        } else {
            println!("the fixed popular response: {}", popular.join("; "));
            for (name, v) in &out {
                println!("\n{name}: {} users", v.users);
                println!(
                    "  {:<52} {:>6} {:>7} {:>7} {:>6}",
                    "reference (per query)", "n", "judge", "target", "gold"
                );
                for r in &v.rows {
                    println!(
                        "  {:<52} {:>6} {:>6.1}% {:>7} {:>6}{}",
                        r.reference,
                        r.queries,
                        100.0 * r.judge,
                        r.target.clone().unwrap_or_default(),
                        r.gold.map_or("–".into(), |g| format!("{:.1}%", 100.0 * g)),
                        match r.met {
                            Some(false) => "  MISSED",
                            _ => "",
                        }
                    );
                }
                println!(
                    "  AUC (share of relevant words, own shown targets vs another user's): {} (target ≥ 0.85)",
                    v.auc.map_or("–".into(), |x| format!("{x:.3}"))
                );
                println!(
                    "  words vs the generator's truth: precision {:.3} (≥ 0.85), recall {:.3} (≥ 0.70)",
                    v.word_precision, v.word_recall
                );
                println!(
                    "  judge valid: {}; gold valid: {}",
                    if v.judge_valid { "yes" } else { "NO" },
                    v.gold_valid.map_or("–", |g| if g { "yes" } else { "NO" })
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
