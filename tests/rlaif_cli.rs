//! The paper's RLAIF loop through the command line, at a tiny size: SFT →
//! sample and label responses → train token and sentence reward models → the
//! w ablation → PPO and TPPO → eval → compare. Checks that each step writes what
//! the next one reads.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;
use std::process::Command;

fn tppo(args: &[&str]) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_tppo"))
        .args(args)
        .arg("--json")
        .output()
        .expect("tppo runs");
    assert!(
        o.status.success(),
        "tppo {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "tppo {args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

/// A command that prints one JSON object per line.
fn tppo_lines(args: &[&str]) -> Vec<serde_json::Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_tppo"))
        .args(args)
        .arg("--json")
        .output()
        .expect("tppo runs");
    assert!(
        o.status.success(),
        "tppo {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn sft_label_train_rm_and_ablate_w() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();

    let sft = tppo(&[
        "sft",
        "--preset",
        "quick",
        "--users",
        "96",
        "--out",
        &p("sft"),
    ]);
    let epochs = sft["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 1);
    assert!(epochs[0]["eval_loss"].as_f64().unwrap().is_finite());
    assert!(Path::new(&p("sft.safetensors")).exists() && Path::new(&p("sft.json")).exists());

    // Targets plus 2 sampled responses per user, labeled by the judge.
    let l = tppo(&[
        "label",
        "--data",
        "data/train.jsonl.gz",
        "--users",
        "64",
        "--sft",
        &p("sft"),
        "--samples",
        "2",
        "--out",
        &p("train-labels.jsonl"),
    ]);
    assert_eq!(
        l["responses"].as_u64().unwrap() + l["skipped_empty_or_too_long"].as_u64().unwrap(),
        64 * 3
    );
    let e = tppo(&[
        "label",
        "--data",
        "data/eval.jsonl",
        "--users",
        "32",
        "--sft",
        &p("sft"),
        "--samples",
        "1",
        "--out",
        &p("eval-labels.jsonl"),
    ]);
    assert!(e["responses"].as_u64().unwrap() >= 32);

    let common = [
        "--labels",
        &p("train-labels.jsonl"),
        "--eval-labels",
        &p("eval-labels.jsonl"),
        "--sft",
        &p("sft"),
    ];
    for level in ["token", "sentence"] {
        let out = p(&format!("rm-{level}"));
        let mut args = vec!["train-rm", "--level", level, "--out", &out];
        args.extend(common);
        let r = tppo(&args);
        assert!(r["final"]["loss"].as_f64().unwrap().is_finite(), "{r}");
        assert!(r["points"].as_array().unwrap().len() >= 2);
        assert!(Path::new(&format!("{out}.safetensors")).exists());
    }

    let ablate = p("ablate.json");
    let mut args = vec!["ablate-w", "--values", "0,1", "--out", &ablate];
    args.extend(common);
    let a = tppo(&args);
    assert_eq!(a["runs"].as_array().unwrap().len(), 2);
    assert!(!a["runs"][0]["eval_loss"].as_array().unwrap().is_empty());

    // PPO (sentence reward) and TPPO (token rewards, span-end placement), then evaluation.
    for (reward, placement, rm) in [
        ("sentence", "word-spread", "rm-sentence"),
        ("token", "span-end", "rm-token"),
    ] {
        let out = p(&format!("ppo-{reward}"));
        let rm = p(rm);
        let sft = p("sft");
        let lines = tppo_lines(&[
            "ppo",
            "--reward",
            reward,
            "--placement",
            placement,
            "--iters",
            "2",
            "--batch-size",
            "4",
            "--max-new",
            "12",
            "--sft",
            &sft,
            "--rm",
            &rm,
            "--out",
            &out,
        ]);
        assert_eq!(lines.len(), 2);
        for m in &lines {
            for key in [
                "objective/scores",
                "objective/kl",
                "policy/clipfrac_avg",
                "loss/value_avg",
            ] {
                assert!(m[key].as_f64().unwrap().is_finite(), "{key}: {m}");
            }
        }
        assert_eq!(
            std::fs::read_to_string(format!("{out}.metrics.jsonl"))
                .unwrap()
                .lines()
                .count(),
            2
        );
        let e = tppo(&[
            "eval",
            "--policy",
            &out,
            "--users",
            "8",
            "--rm",
            &p("rm-token"),
            "--out",
            &p(&format!("eval-{reward}.jsonl")),
        ]);
        assert_eq!(e["relevance"]["n"].as_u64(), Some(8));
        assert_eq!(e["metrics"]["users"].as_u64(), Some(8));
    }
    let c = tppo(&[
        "compare",
        &p("eval-token.jsonl"),
        &p("eval-sentence.jsonl"),
        "--resamples",
        "200",
        "--out",
        &p("compare.jsonl"),
    ]);
    let n = ["wins", "ties", "losses"]
        .iter()
        .map(|k| c[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(n, 8);
    assert_eq!(c["position_consistency"].as_f64(), Some(1.0));
    let records = std::fs::read_to_string(p("compare.jsonl")).unwrap();
    assert_eq!(records.lines().count(), 8);
}
