//! The method end to end as a plan of ordinary `tppo` command lines: evaluate the
//! SFT policy; per seed, train PPO and TPPO from the same SFT start (and TPPO at
//! α = 0.5 for the length ablation) and evaluate each on held-out users; then
//! [`collect`] the outputs into pairwise comparisons and `report.json` / `report.html`
//! (and `frontier.json`: every evaluated checkpoint of every run).
//!
//! A plan ([`Plan`]) is written as `plan.json` (the jobs with their outputs),
//! `jobs.txt` (one shell line per job, for `xargs -P` or GNU parallel) and
//! `slurm.sh` (a job array for `sbatch`). [`run_local`] runs the jobs on this
//! machine, a few at a time, each as a child process with its log and exit status
//! under `logs/`; any scheduler that runs the lines does the same job. Every job is
//! deterministic on its own, so the report does not depend on where or in which
//! order the jobs ran.

pub mod report;
pub mod frontier;
pub mod selection;

use crate::error::{Error, Result};
use crate::eval::{self, OutputRecord};
use crate::rl::config::DEFAULT_KL_TARGET;
use crate::rl::{Metrics, PpoConfig, RewardMode};
use report::{Diversity, Inputs, Preset, Report, RmCurve, Run};
use selection::{FrontierPoint, GRID_KL_TARGET, GRID_LR, KL_BUDGET, TuneCell, Tuning};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the pipeline runs on: the preset, the seeds and every input file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// `quick` or `default` ([`Preset`]).
    pub preset: String,
    /// PPO and TPPO runs per mode, seeds 1..=seeds.
    pub seeds: u64,
    pub sft: PathBuf,
    pub rm_token: PathBuf,
    pub rm_sentence: PathBuf,
    /// Held-out users for the final numbers, used for nothing else.
    pub eval: PathBuf,
    /// Validation users: tuning and checkpoint choice.
    pub val: PathBuf,
    pub tokenizer: PathBuf,
    /// The judge's assets folder and training users.
    pub assets: PathBuf,
    pub train: PathBuf,
    /// Bootstrap resamples of the comparisons' intervals.
    pub resamples: usize,
}

/// One job: `tppo` command lines run one after another, and the files they write
/// (relative to the plan's folder). Its id names its files (no dots, so that a
/// checkpoint path keeps its name when an extension is put on it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    /// The model's name in the report (`sft`, `ppo`, `tppo`, `tppo-alpha0.5`) and the seed
    /// of its run (0 for the SFT policy).
    pub model: String,
    pub seed: u64,
    pub commands: Vec<Vec<String>>,
    pub outputs: Vec<String>,
    /// The settings files its commands read (`tppo ppo --settings FILE`), written with
    /// the plan: every setting of the run, in the library's own type.
    #[serde(default)]
    pub settings: Vec<JobSettings>,
}

/// A PPO settings file of a job: where it goes and what it holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSettings {
    pub path: PathBuf,
    pub ppo: PpoConfig,
}

/// The pipeline's two stages: the tuning grid (seed 1, validation users only), then
/// the final runs (every seed, with each mode's chosen config) and their evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Tune,
    Final,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub settings: Settings,
    pub preset: Preset,
    pub stage: Stage,
    /// Where every job writes.
    pub out: PathBuf,
    pub jobs: Vec<Job>,
}

/// A mode's config: the learning rate and the KL target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModeConfig {
    pub lr: f64,
    pub kl_target: f32,
}

impl Default for ModeConfig {
    fn default() -> Self {
        let d = PpoConfig::default();
        Self {
            lr: d.lr,
            kl_target: DEFAULT_KL_TARGET,
        }
    }
}

/// What the plan's file is called for a stage.
fn plan_file(stage: Stage) -> &'static str {
    match stage {
        Stage::Tune => "plan-tune.json",
        Stage::Final => "plan.json",
    }
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

fn p(x: &Path) -> String {
    x.display().to_string()
}

impl Settings {
    /// Every input there and readable (checkpoints by their `.safetensors`), so that a
    /// plan never starts jobs that cannot run.
    pub fn check(&self) -> Result<()> {
        let files = [
            self.sft.with_extension("safetensors"),
            self.rm_token.with_extension("safetensors"),
            self.rm_sentence.with_extension("safetensors"),
            self.eval.clone(),
            self.val.clone(),
            self.tokenizer.clone(),
            self.train.clone(),
        ];
        for f in files.iter().chain(std::iter::once(&self.assets)) {
            std::fs::metadata(f).map_err(|reason| Error::Io { path: p(f), reason })?;
        }
        Ok(())
    }
}

impl Plan {
    /// The jobs of `stage`: for the final stage, `chosen` gives each mode's config
    /// (PPO, TPPO; the defaults when the preset does not tune).
    pub fn new(
        settings: Settings,
        out: &Path,
        stage: Stage,
        chosen: [ModeConfig; 2],
    ) -> Result<Self> {
        let preset = Preset::of(&settings.preset).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown preset {:?}: expected quick or default",
                settings.preset
            ))
        })?;
        let st = &settings;
        let common = |args: &mut Vec<String>| {
            args.extend([
                s("--tokenizer"),
                p(&st.tokenizer),
                s("--assets"),
                p(&st.assets),
                s("--train"),
                p(&st.train),
            ]);
        };
        let eval = |policy: &Path, name: &str| {
            let mut a = vec![
                s("eval"),
                s("--policy"),
                p(policy),
                s("--name"),
                s(name),
                s("--data"),
                p(&st.eval),
                s("--users"),
                s(preset.eval_users),
                s("--rm"),
                p(&st.rm_token),
                s("--out"),
                p(&out.join(format!("eval-{name}.jsonl"))),
            ];
            common(&mut a);
            a
        };
        // One PPO / TPPO training command and its settings file. The file holds every
        // setting of the run; the line repeats the run's identity (reward, seed) and size
        // (iterations, rollouts) for a person reading jobs.txt, with the same values.
        // With `validate`, the command also writes OUT-best; at the final stage
        // (`Stage::Final`), its validated checkpoints also answer the eval users
        // (OUT.eval-points.jsonl: the matched-KL verdicts; the tuning never sees them).
        let train = |reward: RewardMode,
                     seed: u64,
                     cfg: ModeConfig,
                     alpha: Option<f32>,
                     validate: bool,
                     dest: &Path| {
            let mut ppo = PpoConfig {
                reward,
                seed,
                iters: preset.iters,
                batch_size: preset.batch_size,
                lr: cfg.lr,
                kl_target: Some(cfg.kl_target),
                ..PpoConfig::default()
            };
            if let Some(x) = alpha {
                ppo.lwp.alpha = x;
            }
            let rm = if reward.uses_token_rm() {
                &st.rm_token
            } else {
                &st.rm_sentence
            };
            let file = PathBuf::from(format!("{}.settings.json", p(dest)));
            let mut a = vec![
                s("ppo"),
                s("--reward"),
                s(reward.name()),
                s("--seed"),
                s(seed),
                s("--iters"),
                s(ppo.iters),
                s("--batch-size"),
                s(ppo.batch_size),
                s("--settings"),
                p(&file),
                s("--sft"),
                p(&st.sft),
                s("--rm"),
                p(rm),
                s("--out"),
                p(dest),
            ];
            if validate {
                a.extend([
                    s("--val-data"),
                    p(&st.val),
                    s("--val-users"),
                    s(preset.val_users),
                    s("--val-every"),
                    s(preset.val_every),
                    s("--kl-budget"),
                    s(KL_BUDGET),
                ]);
                if stage == Stage::Final {
                    a.extend([
                        s("--eval-data"),
                        p(&st.eval),
                        s("--eval-users"),
                        s(preset.eval_users),
                    ]);
                }
            }
            common(&mut a);
            (a, JobSettings { path: file, ppo })
        };
        let modes = [
            ("ppo", RewardMode::Sentence, chosen[0]),
            ("tppo", RewardMode::Token, chosen[1]),
        ];
        let mut jobs = Vec::new();
        match stage {
            Stage::Tune => {
                for (name, reward, _) in modes {
                    for (i, &lr) in GRID_LR.iter().enumerate() {
                        for (j, &kl) in GRID_KL_TARGET.iter().enumerate() {
                            let id = format!("tune-{name}-lr{i}-kl{j}");
                            let cfg = ModeConfig { lr, kl_target: kl };
                            let (command, settings) =
                                train(reward, 1, cfg, None, true, &out.join(&id));
                            jobs.push(Job {
                                model: name.into(),
                                seed: 1,
                                commands: vec![command],
                                outputs: vec![format!("{id}-best.point.json")],
                                settings: vec![settings],
                                id,
                            });
                        }
                    }
                }
            }
            Stage::Final => {
                jobs.push(Job {
                    id: "sft".into(),
                    model: "sft".into(),
                    seed: 0,
                    commands: vec![eval(&st.sft, "sft")],
                    outputs: vec!["eval-sft.jsonl".into()],
                    settings: Vec::new(),
                });
                for seed in 1..=st.seeds {
                    for (name, reward, cfg) in modes {
                        let id = format!("{name}-seed{seed}");
                        let dest = out.join(&id);
                        let (command, settings) = train(reward, seed, cfg, None, true, &dest);
                        jobs.push(Job {
                            model: name.into(),
                            seed,
                            commands: vec![command, eval(&selection::best_path(&dest), &id)],
                            settings: vec![settings],
                            outputs: vec![
                                format!("{id}.metrics.jsonl"),
                                format!("{id}.frontier.jsonl"),
                                format!("{id}.eval-points.jsonl"),
                                format!("eval-{id}.jsonl"),
                            ],
                            id,
                        });
                    }
                    if seed == 1 || preset.alpha_all_seeds {
                        // The length ablation (Fig. 12): TPPO at α = 0.5, trained only.
                        let id = format!("tppo-alpha0_5-seed{seed}");
                        let (command, settings) = train(
                            RewardMode::Token,
                            seed,
                            chosen[1],
                            Some(0.5),
                            false,
                            &out.join(&id),
                        );
                        jobs.push(Job {
                            model: "tppo-alpha0.5".into(),
                            seed,
                            commands: vec![command],
                            settings: vec![settings],
                            outputs: vec![format!("{id}.metrics.jsonl")],
                            id,
                        });
                    }
                }
                // The controls (issue 31), on the same frontier: the judge as reward (with
                // PPO's config; evaluated, the positive control), and TPPO's two negative
                // controls (with TPPO's config; validation points only).
                for seed in 1..=preset.control_seeds {
                    for (name, reward, cfg, evaluate) in [
                        ("judge", RewardMode::Judge, chosen[0], true),
                        ("tppo-shuffled", RewardMode::TokenShuffled, chosen[1], false),
                        ("tppo-spread", RewardMode::SentenceSpread, chosen[1], false),
                    ] {
                        let id = format!("{name}-seed{seed}");
                        let dest = out.join(&id);
                        let (command, settings) = train(reward, seed, cfg, None, true, &dest);
                        let mut commands = vec![command];
                        let mut outputs = vec![
                            format!("{id}.metrics.jsonl"),
                            format!("{id}.frontier.jsonl"),
                        ];
                        if evaluate {
                            commands.push(eval(&selection::best_path(&dest), &id));
                            outputs.push(format!("eval-{id}.jsonl"));
                        }
                        jobs.push(Job {
                            model: name.into(),
                            seed,
                            commands,
                            outputs,
                            settings: vec![settings],
                            id,
                        });
                    }
                }
            }
        }
        Ok(Self {
            settings,
            preset,
            stage,
            out: out.to_path_buf(),
            jobs,
        })
    }

    /// A job as one shell line (`&&` between its commands), `tppo` being `exe`.
    pub fn shell_line(job: &Job, exe: &str) -> String {
        job.commands
            .iter()
            .map(|c| {
                std::iter::once(exe.to_string())
                    .chain(c.iter().cloned())
                    .map(|a| shell_quote(&a))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join(" && ")
    }

    /// The plan (`plan.json`, or `plan-tune.json` for the tuning stage), `jobs.txt`
    /// and `slurm.sh` in the plan's folder.
    pub fn write(&self, exe: &str) -> Result<()> {
        for f in self.jobs.iter().flat_map(|j| &j.settings) {
            crate::rl::settings::write(&f.path, &f.ppo)?;
        }
        crate::io::write_json(&self.out.join(plan_file(self.stage)), self)?;
        let lines: Vec<String> = self.jobs.iter().map(|j| Self::shell_line(j, exe)).collect();
        crate::io::write_file_atomic(
            &self.out.join("jobs.txt"),
            (lines.join("\n") + "\n").as_bytes(),
        )?;
        let slurm = format!(
            "#!/bin/bash\n\
             # The pipeline's jobs as a Slurm job array: sbatch {dir}/slurm.sh\n\
             # (from the folder `tppo pipeline --plan` ran in), then\n\
             # tppo pipeline --collect {dir}\n\
             #SBATCH --array=1-{n}\n\
             #SBATCH --cpus-per-task=2\n\
             #SBATCH --output={dir}/logs/%a.log\n\
             set -euo pipefail\n\
             cd \"${{SLURM_SUBMIT_DIR:-.}}\"\n\
             line=$(sed -n \"${{SLURM_ARRAY_TASK_ID}}p\" {jobs})\n\
             exec bash -c \"$line\"\n",
            dir = shell_quote(&p(&self.out)),
            n = self.jobs.len(),
            jobs = shell_quote(&p(&self.out.join("jobs.txt"))),
        );
        crate::io::write_file_atomic(&self.out.join("slurm.sh"), slurm.as_bytes())
    }

    pub fn read(dir: &Path, stage: Stage) -> Result<Self> {
        let path = dir.join(plan_file(stage));
        let bytes = crate::io::read_file(&path)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("{}: not a pipeline plan: {e}", path.display())))
    }
}

/// A word for a POSIX shell: as it is when it is plain, else in single quotes.
fn shell_quote(a: &str) -> String {
    let plain = !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

/// How a job ended when [`run_local`] ran it (`logs/ID.status`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub id: String,
    /// The exit code of the first command that failed, or 0.
    pub code: i32,
    pub seconds: f64,
}

/// The status of a job that an earlier run into the same folder finished: its
/// `logs/ID.status` says it succeeded and every output it names is there.
pub fn finished(plan: &Plan, job: &Job) -> Option<Status> {
    let status = plan.out.join("logs").join(format!("{}.status", job.id));
    let st: Status = serde_json::from_slice(&std::fs::read(status).ok()?).ok()?;
    (st.id == job.id && st.code == 0 && job.outputs.iter().all(|o| plan.out.join(o).exists()))
        .then_some(st)
}

/// Run the plan's jobs with the `tppo` binary `exe`, `jobs` at a time, each
/// command's output in `logs/ID.log` and its status in `logs/ID.status`. With
/// `resume`, a job an earlier run finished ([`finished`]) is not run again (a
/// stopped pipeline goes on where it stopped; the plan must be the same one).
/// `on_done` hears about each job as it ends.
pub fn run_local(
    plan: &Plan,
    exe: &Path,
    jobs: Option<usize>,
    resume: bool,
    on_done: impl Fn(&Status) + Sync,
) -> Result<Vec<Status>> {
    let logs = plan.out.join("logs");
    std::fs::create_dir_all(&logs).map_err(|reason| Error::Io {
        path: p(&logs),
        reason,
    })?;
    crate::cpu::par::map_jobs(&plan.jobs, jobs, |job| {
        if let Some(st) = resume.then(|| finished(plan, job)).flatten() {
            return Ok(st);
        }
        let t0 = web_time::Instant::now();
        let log_path = logs.join(format!("{}.log", job.id));
        let io = |reason| Error::Io {
            path: p(&log_path),
            reason,
        };
        let log = std::fs::File::create(&log_path).map_err(io)?;
        let mut code = 0;
        for c in &job.commands {
            let status = std::process::Command::new(exe)
                .args(c)
                .stdout(log.try_clone().map_err(io)?)
                .stderr(log.try_clone().map_err(io)?)
                .status()
                .map_err(|reason| Error::Io {
                    path: p(exe),
                    reason,
                })?;
            if !status.success() {
                code = status.code().unwrap_or(-1);
                break;
            }
        }
        let st = Status {
            id: job.id.clone(),
            code,
            seconds: t0.elapsed().as_secs_f64(),
        };
        crate::io::write_json(&logs.join(format!("{}.status", job.id)), &st)?;
        on_done(&st);
        Ok(st)
    })
}

/// Jobs of `plan` whose outputs are not all in `dir`.
pub fn missing(plan: &Plan, dir: &Path) -> Vec<String> {
    plan.jobs
        .iter()
        .filter(|j| j.outputs.iter().any(|o| !dir.join(o).exists()))
        .map(|j| j.id.clone())
        .collect()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = crate::io::read_file(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Invalid(format!("{}: unreadable: {e}", path.display())))
}

/// The tuning stage's choice (`tuning.json`): each mode's grid cells and the chosen
/// cell, from the tuning runs' best validation points within the budget. A mode with
/// no cell within the budget keeps the defaults (and the report flags it).
pub fn choose(dir: &Path) -> Result<Vec<Tuning>> {
    let plan = Plan::read(dir, Stage::Tune)?;
    let mut out = Vec::new();
    for mode in ["ppo", "tppo"] {
        let cells: Vec<TuneCell> = plan
            .jobs
            .iter()
            .filter(|j| j.model == mode)
            .map(|j| {
                let cfg = j.settings.first().map(|f| f.ppo).ok_or_else(|| {
                    Error::Invalid(format!("tuning job {} has no settings file", j.id))
                })?;
                let best = read_json(&dir.join(format!("{}-best.point.json", j.id))).ok();
                Ok(TuneCell {
                    lr: cfg.lr,
                    kl_target: cfg.kl_target.unwrap_or(f32::NAN),
                    best,
                })
            })
            .collect::<Result<_>>()?;
        let d = plan.preset.mode();
        out.push(
            Tuning::choose(mode, cells.clone(), (d.lr, d.kl_target)).unwrap_or(Tuning {
                mode: mode.into(),
                cells,
                lr: d.lr,
                kl_target: d.kl_target,
                advantage: None,
                se: None,
            }),
        );
    }
    crate::io::write_json(&dir.join("tuning.json"), &out)?;
    Ok(out)
}

/// The configs the tuning chose ([PPO, TPPO]), or the preset's without a tuning.
pub fn chosen(dir: &Path, preset: &Preset) -> Result<[ModeConfig; 2]> {
    let path = dir.join("tuning.json");
    if !path.exists() {
        return Ok([preset.mode(); 2]);
    }
    let t: Vec<Tuning> = read_json(&path)?;
    let get = |m: &str| {
        t.iter().find(|x| x.mode == m).map_or_else(
            || preset.mode(),
            |x| ModeConfig {
                lr: x.lr,
                kl_target: x.kl_target,
            },
        )
    };
    Ok([get("ppo"), get("tppo")])
}

/// What [`collect`] found.
pub struct Collected {
    pub report: Report,
    /// The SFT policy's outputs (the report shows the first few).
    pub sft: Vec<OutputRecord>,
    /// Jobs whose outputs are missing, and jobs whose status says they failed.
    pub missing: Vec<String>,
    pub failed: Vec<String>,
}

fn read_metrics(path: &Path) -> Result<Vec<Metrics>> {
    read_lines(path, "metrics")
}

fn read_lines<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<Vec<T>> {
    let bytes = crate::io::read_file(path)?;
    crate::data::jsonl::lines(&bytes)
        .map(|(line, text)| {
            serde_json::from_slice(text).map_err(|e| {
                Error::Invalid(format!("{}:{line}: not a {what} line: {e}", path.display()))
            })
        })
        .collect()
}

/// `manifest.json`: every evaluated run of a pipeline folder with its outputs file and
/// its [`eval::RunLink`], and the comparison files, so that any two runs can be
/// compared (`tppo compare --runs DIR A B`) and each output links to its run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub runs: Vec<ManifestRun>,
    /// `compare-PAIR-seedS.jsonl` files written by [`collect`].
    pub compares: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestRun {
    /// The outputs (`tppo eval`) of the run, relative to the folder.
    pub outputs: String,
    pub link: eval::RunLink,
}

impl Manifest {
    /// Read `DIR/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        read_json(&dir.join("manifest.json")).map_err(|e| {
            Error::Invalid(format!(
                "{}: no readable manifest.json ({e}); `tppo pipeline --collect {}` writes it",
                dir.display(),
                dir.display()
            ))
        })
    }

    /// The outputs of run `id`, each record linked to the run.
    pub fn outputs(&self, dir: &Path, id: &str) -> Result<Vec<OutputRecord>> {
        let run = self.runs.iter().find(|r| r.link.id == id).ok_or_else(|| {
            let ids: Vec<&str> = self.runs.iter().map(|r| r.link.id.as_str()).collect();
            Error::Invalid(format!(
                "{}: no run {id:?} in manifest.json; the runs are {}",
                dir.display(),
                ids.join(", ")
            ))
        })?;
        let mut out = eval::read_outputs_file(&dir.join(&run.outputs))?;
        for r in &mut out {
            r.run = Some(run.link.clone());
        }
        Ok(out)
    }
}

/// An f32 setting as the f64 its shortest decimal form reads as (0.05, not 0.0500000007).
fn short(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// The link of a final job's run (its saved config and kept checkpoint).
fn link_of(job: &Job, config: &PpoConfig, best: Option<&FrontierPoint>) -> eval::RunLink {
    eval::RunLink {
        id: job.id.clone(),
        model: job.model.clone(),
        seed: job.seed,
        checkpoint: format!("{}-best.safetensors", job.id),
        iteration: best.map(|b| b.iter),
        kl: best.map(|b| b.kl),
        settings: Some(serde_json::json!({
            "lr": config.lr, "kl_target": config.kl_target.map(short), "kl_coef_start": short(config.kl_coef),
            "rollouts": config.batch_size, "alpha": short(config.lwp.alpha), "sl": short(config.lwp.sl),
        })),
    }
}

/// Build the report from the outputs of a plan's final jobs in `dir` (however they
/// ran): the pairwise comparisons (written as `compare-PAIR-seedS.jsonl`),
/// `report.json` and, with the `html` feature, `report.html`. A job with missing
/// outputs is listed and left out; the report covers what is there. `total` is the
/// wall time of the whole run, when known.
pub fn collect(dir: &Path, total: Option<f64>) -> Result<Collected> {
    let plan = Plan::read(dir, Stage::Final)?;
    let missing = missing(&plan, dir);
    let mut failed = Vec::new();
    let mut timings = Vec::new();
    let stages = [Plan::read(dir, Stage::Tune).ok(), Some(plan.clone())];
    for job in stages.iter().flatten().flat_map(|p| &p.jobs) {
        let status = dir.join("logs").join(format!("{}.status", job.id));
        if let Ok(st) = read_json::<Status>(&status) {
            timings.push((job.id.clone(), st.seconds));
            if st.code != 0 {
                failed.push(job.id.clone());
            }
        }
    }
    let done = |id: &str| !missing.iter().any(|m| m == id);
    if !done("sft") {
        return Err(Error::Invalid(format!(
            "{}: the SFT evaluation (job sft) has no output yet",
            dir.display()
        )));
    }
    let mut sft = eval::read_outputs_file(&dir.join("eval-sft.jsonl"))?;
    let sft_link = eval::RunLink {
        id: "sft".into(),
        model: "sft".into(),
        seed: 0,
        checkpoint: plan
            .settings
            .sft
            .with_extension("safetensors")
            .display()
            .to_string(),
        iteration: None,
        kl: None,
        settings: None,
    };
    for r in &mut sft {
        r.run = Some(sft_link.clone());
    }
    let mut manifest = Manifest {
        runs: vec![ManifestRun {
            outputs: "eval-sft.jsonl".into(),
            link: sft_link,
        }],
        compares: Vec::new(),
    };
    let mut diversity = vec![Diversity::of("sft", &sft)];
    let mut runs = Vec::new();
    let mut evals: std::collections::BTreeMap<(String, u64), Vec<OutputRecord>> =
        Default::default();
    for job in plan.jobs.iter().filter(|j| j.id != "sft" && done(&j.id)) {
        let stem = dir.join(&job.id);
        let config: PpoConfig = crate::rl::run::saved_config(&stem).ok_or_else(|| {
            Error::Invalid(format!("job {}: no readable {}.ppo.json", job.id, job.id))
        })?;
        let metrics = read_metrics(&stem.with_extension("metrics.jsonl"))?;
        // A run without validation (the α ablation) has no frontier file; one that is
        // there must read whole, every point with a KL that can be one.
        let frontier_path = stem.with_extension("frontier.jsonl");
        let frontier: Vec<FrontierPoint> = if frontier_path.exists() {
            read_lines(&frontier_path, "frontier")?
        } else {
            Vec::new()
        };
        for (i, point) in frontier.iter().enumerate() {
            point.check().map_err(|e| {
                Error::Invalid(format!("{}:{}: {e}", frontier_path.display(), i + 1))
            })?;
        }
        let eval_points_path = stem.with_extension("eval-points.jsonl");
        let eval_points: Vec<selection::EvalPoint> = if eval_points_path.exists() {
            read_lines(&eval_points_path, "eval points")?
        } else {
            Vec::new()
        };
        let best: Option<FrontierPoint> =
            read_json(&selection::best_path(&stem).with_extension("point.json")).ok();
        let out_path = dir.join(format!("eval-{}.jsonl", job.id));
        let (relevance, eval_metrics) = if out_path.exists() {
            let link = link_of(job, &config, best.as_ref());
            let mut out = eval::read_outputs_file(&out_path)?;
            for r in &mut out {
                r.run = Some(link.clone());
            }
            manifest.runs.push(ManifestRun {
                outputs: format!("eval-{}.jsonl", job.id),
                link,
            });
            diversity.push(Diversity::of(&job.id, &out));
            let r = (Some(eval::relevance_of(&out)), Some(eval::metrics_of(&out)));
            evals.insert((job.model.clone(), job.seed), out);
            r
        } else {
            (None, None)
        };
        runs.push(Run {
            name: job.model.clone(),
            seed: job.seed,
            config,
            relevance,
            eval_metrics,
            metrics,
            frontier,
            eval_points,
            best,
        });
    }
    let mut compares = Vec::new();
    for seed in 1..=plan.settings.seeds {
        let get = |n: &str| evals.get(&(n.to_string(), seed));
        let (Some(ppo), Some(tppo)) = (get("ppo"), get("tppo")) else {
            continue;
        };
        for (pair, x, y) in [
            ("tppo-vs-ppo", tppo, ppo),
            ("tppo-vs-sft", tppo, &sft),
            ("ppo-vs-sft", ppo, &sft),
        ] {
            let records = eval::compare(x, y, eval::pairwise::DEFAULT_MARGIN)?;
            let file = format!("compare-{pair}-seed{seed}.jsonl");
            crate::io::write_jsonl(&dir.join(&file), &records)?;
            manifest.compares.push(file);
            compares.push((pair.to_string(), seed, records));
        }
    }
    // The positive control against the SFT policy, seed by seed.
    for seed in 1..=plan.preset.control_seeds {
        if let Some(judge) = evals.get(&("judge".to_string(), seed)) {
            let records = eval::compare(judge, &sft, eval::pairwise::DEFAULT_MARGIN)?;
            let file = format!("compare-judge-vs-sft-seed{seed}.jsonl");
            crate::io::write_jsonl(&dir.join(&file), &records)?;
            manifest.compares.push(file);
            compares.push(("judge-vs-sft".to_string(), seed, records));
        }
    }
    let st = &plan.settings;
    let rm_curves = [("token", &st.rm_token), ("sentence", &st.rm_sentence)]
        .iter()
        .filter_map(|(level, p)| RmCurve::read(level, &p.with_extension("metrics.json")))
        .collect();
    if let Some(t) = total {
        // Job times overlap when jobs run side by side: the total says how long it took.
        timings.push(("total".into(), t));
    }
    let tuning: Vec<Tuning> = read_json(&dir.join("tuning.json")).unwrap_or_default();
    let outputs = |model: &str| -> Vec<(u64, &[OutputRecord])> {
        evals
            .iter()
            .filter(|((m, _), _)| m == model)
            .map(|((_, s), o)| (*s, o.as_slice()))
            .collect()
    };
    // The reference rows: the frozen judge and the gold score on the eval users'
    // reference responses (eval::instrument), beside the models.
    let references = {
        let train = crate::data::jsonl::read_users(&st.train)?;
        let (judge, _) = crate::labeler::file::load_with_users(&st.assets, &train)?;
        let gold = crate::kit::load_gold(&st.assets, judge.vectors())?;
        // The users the models answered, as their outputs carry them.
        let users: Vec<crate::data::User> = sft
            .iter()
            .map(|o| crate::data::User {
                user_id: o.user_id.clone(),
                history: o.history.clone(),
                targets: o.targets.clone(),
                meta: o.meta.clone(),
            })
            .collect();
        let popular = crate::eval::instrument::most_popular(&train, 3);
        Some(crate::eval::instrument::validate(
            &judge,
            gold.as_ref(),
            &users,
            &popular,
        ))
    };
    let report = Report::build(Inputs {
        preset_name: &st.preset,
        sizes: plan.preset,
        seeds: st.seeds,
        sft: &sft,
        outputs: vec![("ppo", outputs("ppo")), ("tppo", outputs("tppo"))],
        runs,
        compares: &compares,
        tuning,
        rm_curves,
        timings,
        resamples: st.resamples,
        diversity,
        references,
    });
    crate::io::write_json(&dir.join("report.json"), &report)?;
    // Every evaluated checkpoint of every run: KL, RM score, judge, gold, distinct
    // rate, length (issue 31).
    crate::io::write_json(
        &dir.join("frontier.json"),
        &report::run_frontiers(&report.runs),
    )?;
    crate::io::write_json(&dir.join("manifest.json"), &manifest)?;
    #[cfg(feature = "html")]
    crate::io::write_file_atomic(
        &dir.join("report.html"),
        crate::pipeline::report::html::render(&report, &sft)?.as_bytes(),
    )?;
    Ok(Collected {
        report,
        sft,
        missing,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_links_a_runs_outputs_and_names_the_runs_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let link = eval::RunLink {
            id: "tppo-seed2".into(),
            model: "tppo".into(),
            seed: 2,
            checkpoint: "tppo-seed2-best.safetensors".into(),
            iteration: Some(7),
            kl: Some(1.5),
            settings: Some(serde_json::json!({"lr": 1e-5})),
        };
        let m = Manifest {
            runs: vec![ManifestRun {
                outputs: "eval-tppo-seed2.jsonl".into(),
                link: link.clone(),
            }],
            compares: vec![],
        };
        crate::io::write_json(&dir.path().join("manifest.json"), &m).unwrap();
        let rec = serde_json::json!({"user_id": "u1", "model": "tppo", "history": [], "response": "a b",
            "judgement": {"response": "a b", "words": [], "queries": [], "relevant_fraction": 0.0, "sentence": 1}});
        std::fs::write(dir.path().join("eval-tppo-seed2.jsonl"), format!("{rec}\n")).unwrap();
        let m = Manifest::read(dir.path()).unwrap();
        let out = m.outputs(dir.path(), "tppo-seed2").unwrap();
        assert_eq!(out[0].run.as_ref(), Some(&link));
        assert_eq!(
            link.describe(),
            "tppo-seed2 (tppo, seed 2, iteration 7, KL 1.500): lr 0.00001 · tppo-seed2-best.safetensors"
        );
        let e = m.outputs(dir.path(), "ppo-seed9").unwrap_err().to_string();
        assert!(
            e.contains("no run \"ppo-seed9\"") && e.contains("tppo-seed2"),
            "{e}"
        );
        assert_eq!(short(0.05), 0.05);
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("data/models/sft"), "data/models/sft");
        assert_eq!(shell_quote("my runs/x"), "'my runs/x'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    /// The quick preset's settings with the shipped paths (its tests' plans).
    fn quick_settings() -> Settings {
        Settings {
            preset: "quick".into(),
            seeds: 2,
            sft: "data/models/sft".into(),
            rm_token: "data/models/rm-token".into(),
            rm_sentence: "data/models/rm-sentence".into(),
            eval: "data/eval.jsonl".into(),
            val: "data/val.jsonl".into(),
            tokenizer: "data/tokenizer.json".into(),
            assets: "data".into(),
            train: "data/train.jsonl.gz".into(),
            resamples: 2000,
        }
    }

    #[test]
    fn a_job_counts_as_finished_only_with_a_success_status_and_all_its_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            seeds: 1,
            ..quick_settings()
        };
        let plan = Plan::new(
            settings,
            dir.path(),
            Stage::Final,
            [ModeConfig::default(); 2],
        )
        .unwrap();
        let job = &plan.jobs[1];
        assert!(!job.outputs.is_empty());
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        let status = |code: i32| {
            let st = Status {
                id: job.id.clone(),
                code,
                seconds: 1.0,
            };
            crate::io::write_json(
                &dir.path().join("logs").join(format!("{}.status", job.id)),
                &st,
            )
            .unwrap();
        };
        assert!(finished(&plan, job).is_none(), "no status");
        status(0);
        assert!(finished(&plan, job).is_none(), "no outputs yet");
        for o in &job.outputs {
            std::fs::write(dir.path().join(o), b"x").unwrap();
        }
        assert_eq!(finished(&plan, job).map(|s| s.code), Some(0));
        status(3);
        assert!(finished(&plan, job).is_none(), "a failed job runs again");
        status(0);
        std::fs::remove_file(dir.path().join(&job.outputs[0])).unwrap();
        assert!(finished(&plan, job).is_none(), "an output gone");
        assert!(finished(&plan, &plan.jobs[0]).is_none(), "another job");
    }

    #[test]
    fn the_quick_plan_has_the_jobs_of_the_quick_pipeline() {
        // (see below: the default preset's tuning stage too)
        let settings = quick_settings();
        let plan = Plan::new(
            settings.clone(),
            Path::new("out"),
            Stage::Final,
            [ModeConfig::default(); 2],
        )
        .unwrap();
        let ids: Vec<&str> = plan.jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(
            ids[..6],
            [
                "sft",
                "ppo-seed1",
                "tppo-seed1",
                "tppo-alpha0_5-seed1",
                "ppo-seed2",
                "tppo-seed2"
            ]
        );
        // Then the controls (issue 31): one seed each in the quick preset.
        assert_eq!(
            ids[6..],
            ["judge-seed1", "tppo-shuffled-seed1", "tppo-spread-seed1"]
        );
        assert_eq!(
            plan.jobs[6].commands.len(),
            2,
            "the positive control is evaluated"
        );
        assert_eq!(plan.jobs[6].settings[0].ppo.reward, RewardMode::Judge);
        assert_eq!(
            plan.jobs[7].settings[0].ppo.reward,
            RewardMode::TokenShuffled
        );
        assert_eq!(
            plan.jobs[8].settings[0].ppo.reward,
            RewardMode::SentenceSpread
        );
        let line = Plan::shell_line(&plan.jobs[1], "tppo");
        assert!(
            line.starts_with("tppo ppo --reward sentence --seed 1 --iters 10 --batch-size 16"),
            "{line}"
        );
        assert!(
            line.contains(" && tppo eval --policy out/ppo-seed1-best --name ppo-seed1"),
            "{line}"
        );
        assert_eq!(
            plan.jobs[3].commands.len(),
            1,
            "the α ablation is not evaluated"
        );
    }
}
