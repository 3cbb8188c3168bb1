//! The paper's RLAIF loop through the command line, at a tiny size: SFT →
//! sample and label responses → train token and sentence reward models → the
//! w ablation. Checks that each step writes what the next one reads.

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
}
