#![cfg(not(target_arch = "wasm32"))]
//! The PyTorch reference of `tppo bench --compare-pytorch` (bench/pytorch_ref.py)
//! must compute the same function as our policy, or the timing comparison compares
//! different work. This loads one of our checkpoints into the reference and checks
//! logits and values on a left-padded batch.
//!
//! Ignored by default: it needs a Python with torch, which CI does not install
//! (PyPI's Linux wheel brings GBs of CUDA libraries). Run it with
//! `TPPO_PYTHON=/path/to/python cargo test --release --test pytorch_parity -- --ignored`.

use tppo::backend::cpu;
use tppo::model::checkpoint::{self, CheckpointInfo};
use tppo::model::policy::{Padded, PolicyConfig};
use tppo::model::trunk::TrunkConfig;

#[test]
#[ignore = "needs a Python with torch: TPPO_PYTHON=… cargo test --test pytorch_parity -- --ignored"]
fn the_pytorch_reference_computes_what_our_policy_computes() {
    let python = std::env::var("TPPO_PYTHON").unwrap_or_else(|_| "python3".into());
    let device = cpu();
    let cfg = PolicyConfig::of(TrunkConfig {
        vocab: 64,
        d_model: 32,
        n_layers: 2,
        n_heads: 4,
        d_ff: 48,
        max_len: 32,
    });
    let policy = cfg.init(&device);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.safetensors");
    let info = CheckpointInfo {
        kind: "policy".into(),
        config: cfg,
        tokenizer: "none".into(),
    };
    std::fs::write(&path, checkpoint::to_bytes(&policy, &info).unwrap()).unwrap();

    // Ragged rows: the left padding, the positions and the padding mask all matter.
    let seqs: Vec<Vec<u32>> = vec![
        vec![5, 9, 13, 2, 40, 41, 7],
        vec![3, 60, 11],
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ];
    let n = 5;
    let ours = policy.forward_tail(&Padded::left(&seqs, 0), n, &device);
    let logits: Vec<f32> = ours.logits.into_data().try_to_vec::<f32>().unwrap();
    let values: Vec<f32> = ours.values.into_data().try_to_vec::<f32>().unwrap();

    let out = std::process::Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/pytorch_ref.py"))
        .arg("--parity")
        .arg(&path)
        .arg("--seqs")
        .arg(serde_json::to_string(&seqs).unwrap())
        .arg("--tail")
        .arg(n.to_string())
        .output()
        .unwrap_or_else(|e| panic!("could not run {python}: {e}"));
    assert!(
        out.status.success(),
        "{python} bench/pytorch_ref.py --parity failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let flat = |v: &serde_json::Value| -> Vec<f32> {
        let mut out = Vec::new();
        fn walk(v: &serde_json::Value, out: &mut Vec<f32>) {
            match v {
                serde_json::Value::Array(xs) => xs.iter().for_each(|x| walk(x, out)),
                x => out.push(x.as_f64().unwrap() as f32),
            }
        }
        walk(v, &mut out);
        out
    };
    let (t_logits, t_values) = (flat(&theirs["logits"]), flat(&theirs["values"]));
    assert_eq!(t_logits.len(), logits.len());
    assert_eq!(t_values.len(), values.len());
    // Only the real positions: a padded position's output is not defined the same way.
    let keep = Padded::left(&seqs, 0).keep;
    let t = keep.len() / seqs.len();
    let mut worst = 0.0f32;
    for (row, _) in seqs.iter().enumerate() {
        for j in 0..n {
            if keep[row * t + t - n + j] == 0.0 {
                continue;
            }
            let k = row * n + j;
            worst = worst.max((values[k] - t_values[k]).abs());
            for v in 0..cfg.trunk.vocab {
                let i = k * cfg.trunk.vocab + v;
                worst = worst.max((logits[i] - t_logits[i]).abs());
            }
        }
    }
    assert!(worst < 1e-4, "largest difference {worst}");
    eprintln!("PyTorch reference vs ours: largest difference {worst:e}");
}
