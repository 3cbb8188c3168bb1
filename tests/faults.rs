//! Faults while saving: a process killed at random points during checkpoint saves
//! leaves the previous checkpoint loadable (writes go to a temporary file that is
//! renamed over the old one only when complete).
//!
//! The child is this test binary itself, re-run with `TPPO_SAVE_LOOP` set: its
//! `save_loop_child` test then saves the same checkpoint path again and again.
#![cfg(not(target_arch = "wasm32"))]

use rand::{Rng, SeedableRng};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use tppo::backend::cpu;
use tppo::model::checkpoint::{self, CheckpointInfo};
use tppo::model::policy::PolicyConfig;

fn cfg() -> PolicyConfig {
    // The shipped size: a 6 MB file, so a save takes long enough to be interrupted.
    PolicyConfig::shipped(4096)
}

fn info(tokenizer: &str) -> CheckpointInfo<PolicyConfig> {
    CheckpointInfo {
        kind: "policy".into(),
        config: cfg(),
        tokenizer: tokenizer.into(),
    }
}

#[test]
fn save_loop_child() {
    let Some(path) = std::env::var_os("TPPO_SAVE_LOOP") else {
        return; // an ordinary test run: nothing to do
    };
    let model = cfg().init(&cpu());
    for i in 0u64.. {
        checkpoint::save(&model, &info(&format!("save-{i}")), Path::new(&path)).unwrap();
    }
}

fn loadable(path: &Path) -> Result<String, String> {
    let file = path.with_extension("safetensors");
    let bytes = std::fs::read(&file).map_err(|e| e.to_string())?;
    let read: CheckpointInfo<PolicyConfig> =
        checkpoint::read_info("ckpt", &bytes).map_err(|e| e.to_string())?;
    checkpoint::load_into("ckpt", &bytes, read.config.init(&cpu())).map_err(|e| e.to_string())?;
    Ok(read.tokenizer)
}

#[test]
fn killed_while_saving_leaves_a_loadable_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy");
    checkpoint::save(&cfg().init(&cpu()), &info("first"), &path).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut mid_write = 0;
    let mut saved = std::collections::HashSet::new();
    for kill in 0..20 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "save_loop_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TPPO_SAVE_LOOP", &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(150..900)));
        child.kill().unwrap();
        child.wait().unwrap();
        let tmp_left = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().contains(".tmp"));
        mid_write += usize::from(tmp_left);
        for e in std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
        {
            if e.file_name().to_string_lossy().contains(".tmp") {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
        match loadable(&path) {
            Ok(t) => {
                saved.insert(t);
            }
            Err(e) => panic!("kill {kill}: the checkpoint does not load: {e}"),
        }
    }
    // The child does nothing but save (serialise, write, sync, rename), so a kill after
    // its first save lands inside one; some must have cut a write itself short.
    assert!(mid_write >= 1, "none of 20 kills interrupted a write");
    assert!(
        saved.len() > 1,
        "the child never completed a save: {saved:?}"
    );
    eprintln!(
        "20 kills, {mid_write} during a write; checkpoints seen: {}",
        saved.len()
    );
}
