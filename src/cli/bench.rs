//! `tppo bench`: the hot paths at the shipped model size on every backend this
//! build has (Flex always; native wgpu with `--features gpu`), as a table or JSON.

use super::print_json;
use clap::Args;
use std::process::ExitCode;
use std::time::Instant;
use tppo::bench::{BenchConfig, BenchRow, run};

#[derive(Args)]
pub struct BenchArgs {
    /// Rollouts per PPO iteration (and the batch of the other workloads).
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value_t = 128)]
    prompt_len: usize,
    #[arg(long, default_value_t = 32)]
    max_new: usize,
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Skip the GPU backend even when it is built in.
    #[arg(long)]
    cpu_only: bool,
    #[arg(long)]
    json: bool,
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
        ..BenchConfig::default()
    };
    let start = Instant::now();
    let now = move || start.elapsed().as_secs_f64() * 1000.0;
    let mut devices = vec![("cpu-flex".to_string(), tppo::backend::cpu())];
    if !a.cpu_only {
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
    if a.json {
        print_json(&serde_json::json!({ "config": cfg, "rows": all }))?;
    }
    Ok(ExitCode::SUCCESS)
}
