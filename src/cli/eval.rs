//! `tppo eval` and `tppo compare`.

use super::{Assets, print_json, style};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tppo::args;
use tppo::data::{User, jsonl};
use tppo::eval::settings::EvalOptions;
use tppo::eval::{self, OutputRecord, slices};
use tppo::kit::Kit;
use tppo::model::policy::SampleConfig;
use tppo::reward::lwp::LwpConfig;

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
    /// Token reward model whose per-token rewards go into the outputs (for the heatmaps).
    #[arg(long, default_value = "data/models/rm-token")]
    rm: PathBuf,
    /// No reward model: the outputs carry no per-token rewards (a policy evaluated
    /// before its reward models exist).
    #[arg(long, conflicts_with = "rm")]
    no_rm: bool,
    #[command(flatten)]
    settings: EvalOptions,
    /// Print the settings this command would run with (JSON, a file for --settings) and stop.
    #[arg(long)]
    print_settings: bool,
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

/// Generate, judge and score one model's responses for `users` on the CPU, with
/// the token rewards of the given lwp.
pub fn outputs(
    kit: &Kit,
    policy_path: &Path,
    name: &str,
    users: &[User],
    rm: Option<&Path>,
    lwp: LwpConfig,
    sample: &SampleConfig,
) -> anyhow::Result<Vec<OutputRecord>> {
    let device = tppo::backend::cpu();
    let fp = kit.fingerprint();
    let policy = tppo::model::checkpoint::load_policy(policy_path, &fp, &device)?;
    let rm = rm
        .map(|rm| tppo::reward::model::load(rm, &fp, &device))
        .transpose()?;
    let sp = style::spinner(&format!("eval {name} on {} users", users.len()));
    let out = tppo::backend::block_on(eval::outputs(
        name,
        &policy,
        kit,
        users,
        rm.as_ref(),
        lwp,
        sample,
        &device,
    ))?;
    sp.finish_and_clear();
    Ok(out)
}

pub fn eval(a: EvalArgs) -> anyhow::Result<ExitCode> {
    let cfg = a.settings.resolve()?;
    if a.print_settings {
        return print_json(&cfg).map(|_| ExitCode::SUCCESS);
    }
    let kit = a.assets.kit(&a.tokenizer)?;
    let users = jsonl::read_first_users(&a.data, cfg.users)?;
    let run = tppo::rl::run::saved_config(&a.policy).map_or_else(LwpConfig::default, |c| c.lwp);
    let lwp = cfg.lwp(run);
    let name = a.name.clone().unwrap_or_else(|| {
        a.policy
            .file_name()
            .map_or("model".into(), |n| n.to_string_lossy().into_owned())
    });
    let sample = cfg.sample();
    let records = outputs(
        &kit,
        &a.policy,
        &name,
        &users,
        (!a.no_rm).then_some(a.rm.as_path()),
        lwp,
        &sample,
    )?;
    tppo::io::write_jsonl(&a.out, &records)?;
    let r = eval::relevance_of(&records);
    let m = eval::metrics_of(&records);
    if a.json {
        print_json(&serde_json::json!({
            "model": name,
            "users": users.len(),
            "decoding": sample.describe(),
            "relevance": r,
            "metrics": m,
        }))?;
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
        let opt = |x: Option<f64>| x.map_or("–".into(), |v| format!("{v:.3}"));
        println!(
            "  per query ({}): judged relevant {:.3}, gold {}, κ judge–gold {}; distinct {:.3}",
            sample.describe(),
            m.judge_query_rate,
            opt(m.gold),
            opt(m.kappa_judge_gold),
            m.distinct_query_rate,
        );
        println!(
            "  against the users' next queries: hit@3 {:.3}, word F1 {:.3}, stem F1 {:.3}; hidden-interest precision {}; distinct-query rate {:.3}, distinct responses {:.3}; κ judge–reference {}, judge–interest {}",
            m.hit_at_3,
            m.word_f1,
            m.stem_f1,
            opt(m.hidden_interest_precision),
            m.distinct_query_rate,
            m.distinct_responses,
            opt(m.kappa_judge_reference),
            opt(m.kappa_judge_interest),
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct CompareArgs {
    /// Outputs JSONL of model A (from `tppo eval`), or with --runs a run's id (`tppo-seed1`).
    a: PathBuf,
    /// Outputs JSONL of model B, or with --runs a run's id (`ppo-seed2`, `sft`).
    b: PathBuf,
    /// A pipeline folder: A and B name two of its runs (its manifest.json), and each
    /// output carries its run (mode, seed, iteration kept, KL, settings).
    #[arg(long)]
    runs: Option<PathBuf>,
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
    /// Also show win / tie / lose and κ per slice: drift, topic, history, response.
    #[arg(long, value_enum)]
    slice_by: Option<SliceByArg>,
    /// Also split the users by a regular expression (case-insensitive) over
    /// `--slice-over` (history or outputs).
    #[arg(long)]
    slice_regex: Option<String>,
    #[arg(long, value_enum, default_value = "history")]
    slice_over: SliceOverArg,
    /// Also write the comparison as a self-contained static HTML page (its slices:
    /// --slice-by/--slice-regex, drift when neither is given; 8 example users).
    #[arg(long)]
    html: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SliceByArg {
    Drift,
    Topic,
    History,
    Response,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SliceOverArg {
    History,
    Outputs,
}

/// The slice spec of the command line's options (`None` without slicing).
fn slice_spec(a: &CompareArgs) -> Option<slices::SliceSpec> {
    if a.slice_by.is_none() && a.slice_regex.is_none() {
        return None;
    }
    Some(slices::SliceSpec {
        by: match a.slice_by {
            None => slices::SliceBy::All,
            Some(SliceByArg::Drift) => slices::SliceBy::Drift,
            Some(SliceByArg::Topic) => slices::SliceBy::Topic,
            Some(SliceByArg::History) => slices::SliceBy::History,
            Some(SliceByArg::Response) => slices::SliceBy::Response,
        },
        regex: a.slice_regex.clone(),
        over: match a.slice_over {
            SliceOverArg::History => slices::RegexOver::History,
            SliceOverArg::Outputs => slices::RegexOver::Outputs,
        },
    })
}

pub fn compare(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let (ra, rb) = match &a.runs {
        Some(dir) => {
            let m = tppo::pipeline::Manifest::read(dir)?;
            let id = |p: &PathBuf| p.to_string_lossy().into_owned();
            (m.outputs(dir, &id(&a.a))?, m.outputs(dir, &id(&a.b))?)
        }
        None => (
            eval::read_outputs_file(&a.a)?,
            eval::read_outputs_file(&a.b)?,
        ),
    };
    let records = eval::compare(&ra, &rb, a.margin)?;
    let parts = match slice_spec(&a) {
        Some(spec) => Some(slices::slices(&records, &spec, a.resamples, a.seed)?),
        None => None,
    };
    tppo::io::write_jsonl(&a.out, &records)?;
    let s = eval::win_tie_lose(&records, a.resamples, a.seed);
    if let Some(path) = &a.html {
        let spec = slice_spec(&a).unwrap_or(slices::SliceSpec {
            by: slices::SliceBy::Drift,
            regex: None,
            over: slices::RegexOver::History,
        });
        let label = |r: &[OutputRecord], d: &'static str| {
            r.first().map_or(d.to_string(), |x| {
                x.run.as_ref().map_or(x.model.clone(), |l| l.id.clone())
            })
        };
        let name = format!("{}-vs-{}", label(&ra, "A"), label(&rb, "B"));
        let page = tppo::pipeline::report::comparison::render(
            "TPPO Lab comparison",
            &[tppo::pipeline::report::comparison::PairInput {
                pair: &name,
                records: &records,
                summary: &s,
            }],
            &spec,
            8,
            a.resamples,
        )?;
        tppo::io::write_file_atomic(path, page.as_bytes())?;
    }
    if a.json {
        match &parts {
            Some(p) => {
                let p: Vec<_> = p.iter().map(|x| serde_json::json!({"name": x.name, "n": x.members.len(), "summary": x.summary,
                    "kappa_judge_reference": x.kappa_judge_reference, "kappa_judge_interest": x.kappa_judge_interest})).collect();
                print_json(&serde_json::json!({"summary": s, "slices": p}))?
            }
            None => print_json(&s)?,
        }
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
    if let Some(parts) = parts {
        let opt = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.3}"));
        println!(
            "{:<40} {:>5} {:>7} {:>7} {:>7} {:>22} {:>8} {:>8}",
            "slice", "n", "win %", "tie %", "lose %", "net points [95 % CI]", "κ ref", "κ int"
        );
        for p in &parts {
            let x = &p.summary;
            println!(
                "{:<40} {:>5} {:>7.1} {:>7.1} {:>7.1} {:>22} {:>8} {:>8}",
                p.name,
                x.n,
                100.0 * x.win_rate,
                100.0 * x.tie_rate,
                100.0 * x.lose_rate,
                format!(
                    "{:+.1} [{:+.1}, {:+.1}]",
                    100.0 * x.net,
                    100.0 * x.net_ci.lo,
                    100.0 * x.net_ci.hi
                ),
                opt(p.kappa_judge_reference),
                opt(p.kappa_judge_interest)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
