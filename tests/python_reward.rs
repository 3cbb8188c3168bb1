//! The Python reward module (python/tppo_reward.py, numpy only) against the Rust
//! rewards on the same inputs: the shipped token reward model's class logits on
//! eval users' target responses, TPPO's token rewards (eq. 4–5) in both placements
//! (src/rl/rewards.rs). The Rust side writes the logits and its rewards to a JSON
//! fixture; the Python module recomputes the rewards from the logits alone.
//!
//! `TPPO_PYTHON=/path/to/python-with-numpy cargo test --release --test python_reward -- --ignored`
//! (scripts/test.sh runs it with the browser-test venv, where it installs numpy).

use tppo::backend::{block_on, cpu, read};
use tppo::model::batch::TailBatch;
use tppo::model::prompt::{MAX_PROMPT, Special, prompt};
use tppo::reward::lwp::LwpConfig;
use tppo::rl::rewards::{span_end, token_rewards};
use tppo::tokenize::Tok;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
#[ignore = "needs a Python with numpy: TPPO_PYTHON=… cargo test --release --test python_reward -- --ignored (scripts/test.sh runs it)"]
fn python_token_rewards_match_the_rust_rewards() {
    let path = |p: &str| std::path::Path::new(ROOT).join(p);
    let tok = Tok::load(&path("data/tokenizer.json")).unwrap();
    let sp = Special::of(&tok).unwrap();
    let users = tppo::data::jsonl::read_users(&path("data/eval.jsonl")).unwrap();
    let device = cpu();
    let rm = tppo::reward::model::load(&path("data/models/rm-token"), &tok.fingerprint(), &device)
        .unwrap();
    // Responses of different lengths: targets, cut to 1, 2 or 3 queries.
    let users = &users[..8];
    let prompts: Vec<Vec<u32>> = users
        .iter()
        .map(|u| prompt(&tok, sp, &u.history, MAX_PROMPT).unwrap().0)
        .collect();
    let responses: Vec<Vec<u32>> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let text = u.targets[..(i % 3) + 1].join("; ");
            let mut ids = tok.encode(&text).unwrap().ids;
            ids.push(sp.eos);
            ids
        })
        .collect();
    let p: Vec<&[u32]> = prompts.iter().map(Vec::as_slice).collect();
    let x: Vec<&[u32]> = responses.iter().map(Vec::as_slice).collect();
    let t = TailBatch::new(&p, &x, sp.pad);
    let logits = block_on(read(rm.logits_tail(&t.seqs, t.r, &device))).unwrap();
    let margins = block_on(rm.margins(&p, &x, sp.pad, &device)).unwrap();
    let cfg = LwpConfig {
        alpha: 0.5,
        sl: 8.0,
    };
    // Right-padded [B, T] for the engines' layout (the lab's tail is left-padded).
    let (b, r) = (x.len(), t.r);
    let mut fx_logits = vec![vec![vec![0.0f32; 3]; r]; b];
    let mut mask = vec![vec![0u8; r]; b];
    let mut word_ids = vec![vec![-1i64; r]; b];
    let mut spread = vec![vec![0.0f32; r]; b];
    let mut end = vec![vec![0.0f32; r]; b];
    for i in 0..b {
        let n = x[i].len();
        let rw = token_rewards(&margins[i], cfg);
        let words = tok.word_of_tokens(x[i]).unwrap();
        let se = span_end(&rw, &words);
        for j in 0..n {
            let k = (i * r + r - n + j) * 3;
            fx_logits[i][j] = logits[k..k + 3].to_vec();
            mask[i][j] = 1;
            word_ids[i][j] = words[j].map_or(-1, |w| w as i64);
            spread[i][j] = rw[j];
            end[i][j] = se[j];
        }
    }
    let fixture = serde_json::json!({
        "alpha": cfg.alpha, "sl": cfg.sl, "tolerance": 1e-5,
        "logits": fx_logits, "mask": mask, "word_ids": word_ids,
        "word_spread": spread, "span_end": end,
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fixture.json");
    std::fs::write(&file, serde_json::to_vec(&fixture).unwrap()).unwrap();
    // The fixture is not trivial: the rewards vary in sign, and span-end moved some.
    assert!(
        spread.iter().flatten().any(|&v| v > 0.01) && spread.iter().flatten().any(|&v| v < -0.01)
    );
    assert_ne!(spread, end);
    let python = std::env::var("TPPO_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .arg(path("python/tppo_reward.py"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(
        out.status.success(),
        "python/tppo_reward.py disagrees with the Rust rewards:\n{text}"
    );
}
