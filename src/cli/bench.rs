//! `tppo bench`: the hot paths at the shipped model size on every backend this
//! build has (Flex always; native wgpu with `--features gpu`), as a table or JSON.
//! `--compare-pytorch` also runs `bench/pytorch_ref.py` (the same workloads in
//! PyTorch eager on the CPU) in the same invocation and prints the ratios.

use super::print_json;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tppo::args;
use tppo::bench::{BenchConfig, pytorch, run};

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
            cfg.policy.trunk.d_model,
            cfg.policy.trunk.n_layers,
            cfg.policy.trunk.vocab,
            cfg.batch,
            cfg.prompt_len,
            cfg.max_new,
            cfg.reps
        );
        println!("{}", tppo::bench::header_line());
    }
    let mut all = Vec::new();
    for (name, device) in &devices {
        let rows = tppo::backend::block_on(run(&cfg, name, device, &now, None, |r| {
            if !a.json {
                println!("{}", tppo::bench::row_line(r));
            }
        }))?;
        all.extend(rows);
    }
    let pytorch = if a.compare_pytorch {
        let script = &a.pytorch_script;
        let run = pytorch::run(&a.python, script, &cfg, &a.only, a.torch_threads)?;
        Some(run)
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
        for (workload, ours, theirs, ratio) in pytorch::ratios(&all, py) {
            println!("{workload:<40} {ours:>12.1} {theirs:>12.1} {ratio:>16.2}");
        }
        println!("(a ratio above 1: TPPO Lab is faster)");
    }
    if a.json {
        print_json(&serde_json::json!({ "config": cfg, "rows": all, "pytorch": pytorch }))?;
    }
    Ok(ExitCode::SUCCESS)
}
