//! `tppo pipeline`: plan the method's jobs ([`tppo::pipeline`]), run them here a few
//! at a time, and collect `report.json` / `report.html`; or only plan (`--plan`, for
//! a scheduler), or only collect (`--collect DIR`).

use super::{Assets, style};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tppo::args;
use tppo::pipeline::{self, Plan, Settings, Stage};

#[derive(Args)]
pub struct PipelineArgs {
    /// quick: a few minutes on 2 cores (2 seeds, 10 iterations of 16 rollouts, 400
    /// eval users, no tuning, 1 seed per control); default: a tuning grid (learning
    /// rate × KL target, seed 1), then 5 seeds of 80 iterations of 64 rollouts and 3
    /// seeds per control, the verdicts on all 2,000 eval users (hours: docs/results.md).
    #[arg(long, default_value = "quick", value_parser = ["quick", "default"])]
    preset: String,
    /// PPO and TPPO runs per mode, seeds 1..=K (default: the preset's).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000))]
    seeds: Option<u64>,
    #[arg(long, default_value = "data/models/sft")]
    sft: PathBuf,
    #[arg(long, default_value = "data/models/rm-token")]
    rm_token: PathBuf,
    #[arg(long, default_value = "data/models/rm-sentence")]
    rm_sentence: PathBuf,
    /// Eval users: the final numbers, and nothing else.
    #[arg(long, default_value = "data/eval.jsonl")]
    eval: PathBuf,
    /// Validation users: the tuning and the choice of each run's checkpoint.
    #[arg(long, default_value = "data/val.jsonl")]
    val: PathBuf,
    #[arg(long, default_value = "data/tokenizer.json")]
    tokenizer: PathBuf,
    #[command(flatten)]
    assets: Assets,
    #[arg(long, default_value_t = 2000, value_parser = args::count(1, 1_000_000))]
    resamples: usize,
    #[arg(long, default_value = "runs/pipeline")]
    out: PathBuf,
    /// Jobs run at once (default: one per core; a training run uses about one core).
    /// The results do not depend on it.
    #[arg(long, value_parser = args::count(1, 256))]
    jobs: Option<usize>,
    /// Only write the plan (plan.json, jobs.txt for xargs -P or GNU parallel,
    /// slurm.sh for sbatch) into --out; run the jobs elsewhere, then --collect. With a
    /// tuning stage: the first --plan plans the grid; once its jobs are done, --plan
    /// again chooses and plans the final stage.
    #[arg(long, conflicts_with = "collect")]
    plan: bool,
    /// Only build the report from the finished jobs' outputs in DIR.
    #[arg(long, value_name = "DIR")]
    collect: Option<PathBuf>,
    /// Go on with a pipeline stopped part way: jobs that an earlier run into the same
    /// --out finished (their logs/ID.status says so and their outputs are there) are
    /// not run again. Only for the same plan: same code, preset and options.
    #[arg(long, conflicts_with_all = ["collect", "plan"])]
    resume: bool,
}

pub fn pipeline(a: PipelineArgs) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let say = |m: String| eprintln!("{} {m}", style::bold("pipeline", style::enabled()));
    let dir = match &a.collect {
        Some(dir) => dir.clone(),
        None => {
            let preset = tppo::pipeline::report::Preset::of(&a.preset)
                .with_context(|| format!("unknown preset {:?}", a.preset))?;
            let settings = Settings {
                preset: a.preset.clone(),
                seeds: a.seeds.unwrap_or(preset.seeds),
                sft: a.sft.clone(),
                rm_token: a.rm_token.clone(),
                rm_sentence: a.rm_sentence.clone(),
                eval: a.eval.clone(),
                val: a.val.clone(),
                tokenizer: a.tokenizer.clone(),
                assets: a.assets.assets.clone(),
                train: a.assets.train.clone(),
                resamples: a.resamples,
            };
            settings.check()?;
            let exe = std::env::current_exe().context("the path of this tppo binary")?;
            let exe_name = exe.display().to_string();
            let run = |plan: &Plan| -> anyhow::Result<()> {
                let earlier = if a.resume {
                    plan.jobs
                        .iter()
                        .filter(|j| pipeline::finished(plan, j).is_some())
                        .count()
                } else {
                    0
                };
                say(format!(
                    "{:?} stage: {} jobs{}, logs in {}",
                    plan.stage,
                    plan.jobs.len(),
                    if a.resume {
                        format!(" ({earlier} finished earlier, not run again)")
                    } else {
                        String::new()
                    },
                    a.out.join("logs").display()
                ));
                let statuses = pipeline::run_local(plan, &exe, a.jobs, a.resume, |st| {
                    let verdict = if st.code == 0 { "done" } else { "FAILED" };
                    say(format!("{} {verdict} ({:.0} s)", st.id, st.seconds))
                })?;
                if let Some(bad) = statuses.iter().find(|s| s.code != 0) {
                    anyhow::bail!(
                        "job {} failed (exit {}): see {}",
                        bad.id,
                        bad.code,
                        a.out.join("logs").join(format!("{}.log", bad.id)).display()
                    );
                }
                Ok(())
            };
            let planned = |stage| -> anyhow::Result<ExitCode> {
                println!(
                    "{stage:?} stage planned → {} (jobs.txt: one shell line a job; slurm.sh: a job array); when they are done: tppo pipeline {}",
                    a.out.display(),
                    match stage {
                        Stage::Tune =>
                            "--plan again (it chooses each mode's config and plans the final stage)"
                                .to_string(),
                        Stage::Final => format!("--collect {}", a.out.display()),
                    }
                );
                Ok(ExitCode::SUCCESS)
            };
            if preset.tune && !a.out.join("tuning.json").exists() {
                let tune = Plan::new(settings.clone(), &a.out, Stage::Tune, [preset.mode(); 2])?;
                if !pipeline::missing(&tune, &a.out).is_empty() {
                    tune.write(&exe_name)?;
                    if a.plan {
                        return planned(Stage::Tune);
                    }
                    run(&tune)?;
                }
                for t in pipeline::choose(&a.out)? {
                    say(format!(
                        "{}: learning rate {:e}, KL target {}",
                        t.mode, t.lr, t.kl_target
                    ));
                }
            }
            let chosen = pipeline::chosen(&a.out, &preset)?;
            let plan = Plan::new(settings, &a.out, Stage::Final, chosen)?;
            plan.write(&exe_name)?;
            if a.plan {
                return planned(Stage::Final);
            }
            run(&plan)?;
            a.out.clone()
        }
    };
    let total = a.collect.is_none().then(|| t0.elapsed().as_secs_f64());
    let c = pipeline::collect(&dir, total)?;
    for (what, ids) in [("missing outputs", &c.missing), ("failed", &c.failed)] {
        if !ids.is_empty() {
            eprintln!(
                "jobs with {what} (left out of the report): {}",
                ids.join(", ")
            );
        }
    }
    for f in &c.report.flags {
        println!("FLAG {f}");
    }
    for f in &c.report.findings {
        let verdict = if f.reproduced {
            "reproduced    "
        } else {
            "not reproduced"
        };
        println!("{verdict} {}: {}", f.finding, f.measured);
    }
    println!(
        "{:.0} s → {} and report.html",
        t0.elapsed().as_secs_f64(),
        dir.join("report.json").display()
    );
    Ok(ExitCode::SUCCESS)
}
