//! The fixtures the in-browser tests (`tests/web.rs`) compare against: a tiny
//! token reward model's checkpoint and its margins P(2) − P(1) computed natively.
//! This test checks the stored margins against the native computation, so the
//! browser's "matches native within 1e-4" compares with a native number.
//! `TPPO_WRITE_FIXTURES=1 cargo test --release --test web_fixtures` writes them again.
#![cfg(not(target_arch = "wasm32"))]

use tppo::backend::{block_on, cpu};
use tppo::model::checkpoint::{self, CheckpointInfo};
use tppo::model::trunk::TrunkConfig;
use tppo::reward::model::{Level, RewardModelConfig};

const DIR: &str = "tests/fixtures/web";

pub fn prompts() -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    (
        vec![vec![1, 5, 6, 7, 8], vec![1, 9, 10]],
        vec![vec![11, 12, 2], vec![13, 14, 15, 16, 2]],
    )
}

#[test]
fn stored_margins_are_the_native_ones() {
    let device = cpu();
    let cfg = RewardModelConfig {
        trunk: TrunkConfig {
            vocab: 24,
            d_model: 16,
            n_layers: 1,
            n_heads: 2,
            d_ff: 32,
            max_len: 24,
        },
        level: Level::Token,
    };
    let path = format!("{DIR}/tiny-rm.safetensors");
    if std::env::var_os("TPPO_WRITE_FIXTURES").is_some() {
        let info = CheckpointInfo {
            kind: "token-rm".into(),
            config: cfg,
            tokenizer: "fixture".into(),
        };
        let bytes = checkpoint::to_bytes(&cfg.init(&device), &info).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    let info: CheckpointInfo<RewardModelConfig> = checkpoint::read_info(&path, &bytes).unwrap();
    let rm = checkpoint::load_into(&path, &bytes, info.config.init(&device)).unwrap();
    let (p, r) = prompts();
    let pr: Vec<&[u32]> = p.iter().map(Vec::as_slice).collect();
    let rr: Vec<&[u32]> = r.iter().map(Vec::as_slice).collect();
    let margins = block_on(rm.margins(&pr, &rr, 0, &device)).unwrap();
    let json_path = format!("{DIR}/tiny-rm-margins.json");
    if std::env::var_os("TPPO_WRITE_FIXTURES").is_some() {
        std::fs::write(&json_path, serde_json::to_string(&margins).unwrap()).unwrap();
    }
    let stored: Vec<Vec<f32>> =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(stored.len(), margins.len());
    for (a, b) in stored.iter().flatten().zip(margins.iter().flatten()) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    // Not all equal: the model is not degenerate, so the comparison means something.
    let flat: Vec<f32> = margins.concat();
    assert!(flat.iter().any(|m| (m - flat[0]).abs() > 1e-3), "{flat:?}");
}
