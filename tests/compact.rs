//! The page's f16 copies of the shipped checkpoints (scripts/compact.py, widened back
//! to f32 on load by `checkpoint::widen`) against the f32 originals, on eval users:
//!
//! - both reward models' margins P(2) − P(1) on target responses: within 0.01;
//! - the SFT policy's greedy responses: the same text for at least 90 % of users
//!   (a near-tie between two tokens may flip), and its logits within 0.05.
//!
//! Measured on the shipped checkpoints (session 8): see the printed numbers
//! (`cargo test --release --test compact -- --nocapture`), quoted in docs/perf.md.

use tppo::backend::{block_on, cpu, read};
use tppo::model::batch::TailBatch;
use tppo::model::checkpoint;
use tppo::model::policy::SampleConfig;
use tppo::model::prompt::{MAX_PROMPT, prompt};
use tppo::reward::model as rm;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn compact(dir: &std::path::Path, names: &[&str]) {
    let files: Vec<String> = names
        .iter()
        .map(|n| format!("{ROOT}/data/models/{n}.safetensors"))
        .collect();
    let st = std::process::Command::new("python3")
        .arg(format!("{ROOT}/scripts/compact.py"))
        .arg("--out")
        .arg(dir)
        .args(&files)
        .status()
        .expect("python3 scripts/compact.py");
    assert!(st.success());
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn f16_copies_keep_the_reward_margins_and_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    compact(dir.path(), &["sft", "rm-token", "rm-sentence"]);
    let kit = tppo::kit::Kit::load(
        &std::path::Path::new(ROOT).join("data"),
        &std::path::Path::new(ROOT).join("data/val.jsonl"),
        &std::path::Path::new(ROOT).join("data/tokenizer.json"),
    )
    .unwrap();
    let (tok, sp, fp) = (&kit.tok, kit.sp, kit.fingerprint());
    let users =
        tppo::data::jsonl::read_users(&std::path::Path::new(ROOT).join("data/eval.jsonl")).unwrap();
    let users = &users[..64];
    let device = cpu();
    let read_bytes = |p: std::path::PathBuf| std::fs::read(p).unwrap();
    let prompts: Vec<Vec<u32>> = users
        .iter()
        .map(|u| prompt(tok, sp, &u.history, MAX_PROMPT).unwrap().0)
        .collect();
    let responses: Vec<Vec<u32>> = users
        .iter()
        .map(|u| {
            let mut ids = tok.encode(&u.targets.join("; ")).unwrap().ids;
            ids.push(sp.eos);
            ids
        })
        .collect();
    let p: Vec<&[u32]> = prompts.iter().map(Vec::as_slice).collect();
    let x: Vec<&[u32]> = responses.iter().map(Vec::as_slice).collect();
    for name in ["rm-token", "rm-sentence"] {
        let f32_bytes =
            read_bytes(std::path::Path::new(ROOT).join(format!("data/models/{name}.safetensors")));
        let f16_bytes = read_bytes(dir.path().join(format!("{name}.safetensors")));
        assert!(
            f16_bytes.len() as f64 <= 0.51 * f32_bytes.len() as f64,
            "{name}: the copy is not half the size"
        );
        let a = rm::from_bytes(name, &f32_bytes, &fp, &device).unwrap();
        let b = rm::from_bytes(name, &f16_bytes, &fp, &device).unwrap();
        let ma: Vec<f32> = block_on(a.margins(&p, &x, sp.pad, &device))
            .unwrap()
            .concat();
        let mb: Vec<f32> = block_on(b.margins(&p, &x, sp.pad, &device))
            .unwrap()
            .concat();
        let d = max_diff(&ma, &mb);
        println!(
            "{name}: {} token margins, largest f16 − f32 difference {d:.2e}",
            ma.len()
        );
        assert!(d <= 0.01, "{name}: margins moved by {d}");
    }
    let f32_bytes = read_bytes(std::path::Path::new(ROOT).join("data/models/sft.safetensors"));
    let f16_bytes = read_bytes(dir.path().join("sft.safetensors"));
    let (a, _) = checkpoint::policy_from_bytes("sft", &f32_bytes, &fp, &device).unwrap();
    let (b, _) = checkpoint::policy_from_bytes("sft", &f16_bytes, &fp, &device).unwrap();
    let t = TailBatch::new(&p[..16], &x[..16], sp.pad);
    let la = block_on(read(a.logits_tail(&t.seqs, t.r, &device))).unwrap();
    let lb = block_on(read(b.logits_tail(&t.seqs, t.r, &device))).unwrap();
    let d = max_diff(&la, &lb);
    let scale = la.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let ra = block_on(tppo::model::respond::respond(
        &a,
        &kit.prompter(),
        users,
        &SampleConfig::greedy(),
        32,
        &device,
    ))
    .unwrap();
    let rb = block_on(tppo::model::respond::respond(
        &b,
        &kit.prompter(),
        users,
        &SampleConfig::greedy(),
        32,
        &device,
    ))
    .unwrap();
    let same = ra.iter().zip(&rb).filter(|(x, y)| x == y).count();
    println!(
        "sft: logits largest difference {d:.2e} (largest |logit| {scale:.1}); greedy responses identical for {same} of {} users",
        ra.len()
    );
    assert!(d <= 0.05, "policy logits moved by {d}");
    assert!(
        same * 10 >= ra.len() * 9,
        "greedy responses identical for only {same} of {}",
        ra.len()
    );
}
