//! `tppo bench`: the hot paths at the shipped model size on every backend this
//! build has (Flex always; native wgpu with `--features gpu`), as a table or JSON.
//! `--compare-pytorch` also runs `bench/pytorch_ref.py` (the same workloads in
//! PyTorch eager on the CPU) in the same invocation and prints the ratios.

use super::{args, print_json};
use anyhow::Context;
use clap::Args;
use serde::Deserialize;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;
use tppo::bench::{BenchConfig, BenchRow, run};

#[derive(Args)]
pub struct BenchArgs {
    /// Rollouts per PPO iteration (and the batch of the other workloads).
    #[arg(long, default_value_t = 32, value_parser = args::count(1, 1024))]
    batch: usize,
    #[arg(long, default_value_t = 128, value_parser = args::count(1, 4096))]
    prompt_len: usize,
    #[arg(long, default_value_t = 32, value_parser = args::count(1, 4096))]
    max_new: usize,
    #[arg(long, default_value_t = 3, value_parser = args::count(1, 1000))]
    reps: usize,
    /// Only these workloads: a comma-separated list of generate, rm, ppo.
    #[arg(long, default_value = "generate,rm,ppo")]
    only: String,
    /// Skip the GPU backend even when it is built in.
    #[arg(long)]
    cpu_only: bool,
    #[arg(long)]
    json: bool,
    /// Also run the PyTorch eager reference on the CPU and print PyTorch ms / TPPO Lab ms per workload.
    #[arg(long)]
    compare_pytorch: bool,
    /// The Python interpreter with torch installed (for --compare-pytorch).
    #[arg(long, default_value = "python3")]
    python: PathBuf,
    /// The reference script (for --compare-pytorch).
    #[arg(long, default_value = "bench/pytorch_ref.py")]
    pytorch_script: PathBuf,
    /// torch.set_num_threads for the reference (0: torch's default, one per core).
    #[arg(long, default_value_t = 0, value_parser = args::count(0, 1024))]
    torch_threads: usize,
}

fn print_row(r: &BenchRow) {
    println!(
        "{:<12} {:<40} {:>10.1} {:>10.1} {:>12}",
        r.backend,
        r.workload,
        r.ms,
        r.min_ms,
        r.tokens_per_s.map_or("-".into(), |t| format!("{t:.0}"))
    );
}

pub fn bench(a: BenchArgs) -> anyhow::Result<ExitCode> {
    let cfg = BenchConfig {
        batch: a.batch,
        prompt_len: a.prompt_len,
        max_new: a.max_new,
        reps: a.reps,
        only: tppo::bench::Workloads::parse(&a.only).context("--only")?,
        ..BenchConfig::default()
    };
    cfg.validate()?;
    let start = Instant::now();
    let now = move || start.elapsed().as_secs_f64() * 1000.0;
    let mut devices = vec![("cpu-flex".to_string(), tppo::backend::cpu())];
    if !a.cpu_only && !a.compare_pytorch {
        let (device, info) = tppo::backend::block_on(tppo::backend::detect());
        if info.backend != "cpu" {
            devices.push((format!("{} ({})", info.backend, info.name), device));
        } else if let Some(why) = info.fallback_reason {
            eprintln!("no GPU backend: {why}");
        }
    }
    if !a.json {
        println!(
            "policy d_model {} × {} layers, vocab {}; batch {}, prompt {} tokens, {} new tokens; median of {} (after 1 warm-up)",
            cfg.policy.d_model,
            cfg.policy.n_layers,
            cfg.policy.vocab,
            cfg.batch,
            cfg.prompt_len,
            cfg.max_new,
            cfg.reps
        );
        println!(
            "{:<12} {:<40} {:>10} {:>10} {:>12}",
            "backend", "workload", "median ms", "min ms", "tokens/s"
        );
    }
    let mut all = Vec::new();
    for (name, device) in &devices {
        let rows = tppo::backend::block_on(run(&cfg, name, device, &now, |r| {
            if !a.json {
                print_row(r);
            }
        }))?;
        all.extend(rows);
    }
    let pytorch = if a.compare_pytorch {
        Some(run_pytorch(&a, &cfg)?)
    } else {
        None
    };
    if let Some(py) = &pytorch
        && !a.json
    {
        println!(
            "\nPyTorch {} eager, CPU, {} threads ({}):",
            py.torch,
            py.threads,
            a.pytorch_script.display()
        );
        println!(
            "{:<40} {:>12} {:>12} {:>16}",
            "workload", "TPPO Lab ms", "PyTorch ms", "PyTorch / ours"
        );
        for ours in &all {
            if let Some(theirs) = py.rows.iter().find(|r| r.workload == ours.workload) {
                println!(
                    "{:<40} {:>12.1} {:>12.1} {:>16.2}",
                    ours.workload,
                    ours.ms,
                    theirs.ms,
                    theirs.ms / ours.ms
                );
            }
        }
        println!("(a ratio above 1: TPPO Lab is faster)");
    }
    if a.json {
        print_json(&serde_json::json!({ "config": cfg, "rows": all, "pytorch": pytorch }))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What `bench/pytorch_ref.py` prints.
#[derive(Debug, Deserialize, serde::Serialize)]
struct PyTorchRun {
    torch: String,
    threads: usize,
    rows: Vec<PyTorchRow>,
}

#[derive(Debug, Deserialize, serde::Serialize)]
struct PyTorchRow {
    workload: String,
    ms: f64,
    min_ms: f64,
    tokens_per_s: Option<f64>,
}

fn run_pytorch(a: &BenchArgs, cfg: &BenchConfig) -> anyhow::Result<PyTorchRun> {
    let p = &cfg.policy;
    let mut cmd = Command::new(&a.python);
    cmd.arg(&a.pytorch_script);
    for (flag, v) in [
        ("--batch", cfg.batch),
        ("--prompt-len", cfg.prompt_len),
        ("--max-new", cfg.max_new),
        ("--reps", cfg.reps),
        ("--vocab", p.vocab),
        ("--d-model", p.d_model),
        ("--layers", p.n_layers),
        ("--heads", p.n_heads),
        ("--d-ff", p.d_ff),
        ("--max-len", p.max_len),
        ("--threads", a.torch_threads),
    ] {
        cmd.arg(flag).arg(v.to_string());
    }
    cmd.arg("--only").arg(&a.only);
    if !a.json {
        eprintln!("running {cmd:?}");
    }
    let out = cmd.output().with_context(|| {
        format!(
            "could not start {} (pass --python with an interpreter that has torch)",
            a.python.display()
        )
    })?;
    if !out.status.success() {
        anyhow::bail!(
            "{} {} failed ({}):\n{}",
            a.python.display(),
            a.pytorch_script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last).with_context(|| {
        format!(
            "{}: expected one JSON object on the last line of its output, got {last:?}",
            a.pytorch_script.display()
        )
    })
}
