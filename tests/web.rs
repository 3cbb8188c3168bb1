//! Library tests in a real browser (`wasm-pack test --headless --chrome`), on
//! WebGPU (SwiftShader in headless Chromium) and on the CPU backend:
//! reward-model scoring matches the native result within 1e-4, and a few PPO and
//! TPPO iterations run and change the policy. Run by scripts/test.sh.
#![cfg(target_arch = "wasm32")]

use burn::module::Module;
use burn::tensor::Device;
use tppo::model::checkpoint::{self, CheckpointInfo};
use tppo::model::policy::{Padded, PolicyConfig};
use tppo::reward::model::{Level, RewardModelConfig};
use tppo::rl::{Ppo, PpoConfig, RewardMode};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const RM: &[u8] = include_bytes!("fixtures/web/tiny-rm.safetensors");
const MARGINS: &str = include_str!("fixtures/web/tiny-rm-margins.json");

thread_local! {
    /// A WebGPU device can be registered once per page: every test shares it.
    static GPU: std::cell::RefCell<Option<(Device, tppo::backend::BackendInfo)>> = const { std::cell::RefCell::new(None) };
}

async fn devices() -> Vec<(String, Device)> {
    tppo::web::init_once();
    let mut out = vec![("cpu".to_string(), tppo::backend::cpu())];
    let (device, info) = match GPU.with(|g| g.borrow().clone()) {
        Some(x) => x,
        None => {
            let x = tppo::backend::detect().await;
            GPU.with(|g| *g.borrow_mut() = Some(x.clone()));
            x
        }
    };
    assert_eq!(info.check, 12.0, "{info:?}");
    if info.backend == "webgpu" {
        out.push((format!("webgpu ({})", info.name), device));
    } else {
        panic!("no WebGPU in this browser: {info:?} (start Chromium with --enable-unsafe-webgpu)");
    }
    out
}

#[wasm_bindgen_test]
async fn scoring_matches_native_on_every_backend() {
    let want: Vec<Vec<f32>> = serde_json::from_str(MARGINS).unwrap();
    let prompts: [&[u32]; 2] = [&[1, 5, 6, 7, 8], &[1, 9, 10]];
    let responses: [&[u32]; 2] = [&[11, 12, 2], &[13, 14, 15, 16, 2]];
    for (name, device) in devices().await {
        let info: CheckpointInfo<RewardModelConfig> = checkpoint::read_info("rm", RM).unwrap();
        let rm = checkpoint::load_into("rm", RM, info.config.init(&device)).unwrap();
        let got = rm.margins(&prompts, &responses, 0, &device).await.unwrap();
        for (a, b) in got.iter().flatten().zip(want.iter().flatten()) {
            assert!((a - b).abs() < 1e-4, "{name}: {a} vs native {b}");
        }
    }
}

#[wasm_bindgen_test]
async fn ppo_and_tppo_iterations_change_the_policy() {
    let pcfg = PolicyConfig {
        vocab: 24,
        d_model: 16,
        n_layers: 1,
        n_heads: 2,
        d_ff: 32,
        max_len: 24,
    };
    let trunk = pcfg.trunk();
    let probe = Padded::left(&[vec![1, 5, 6, 7]], 0);
    for (name, device) in devices().await {
        for (reward, level) in [
            (RewardMode::Sentence, Level::Sentence),
            (RewardMode::Token, Level::Token),
        ] {
            let ad = device.clone().autodiff();
            let policy = pcfg.init(&ad);
            let reference = policy.valid();
            let before = tppo::backend::read(reference.forward_full(&probe, &device).logits)
                .await
                .unwrap();
            let rm = RewardModelConfig { trunk, level }.init(&device);
            let cfg = PpoConfig {
                reward,
                batch_size: 4,
                max_new: 6,
                lr: 1e-2,
                ppo_epochs: 1,
                ..PpoConfig::default()
            };
            let mut ppo = Ppo::new(cfg, policy, reference, rm, 2, 0, ad, None).unwrap();
            let prompts = vec![vec![1, 5, 6, 7]; 4];
            for _ in 0..2 {
                let (m, _) = ppo.iteration(&prompts).await.unwrap();
                assert!(
                    m.policy_loss.is_finite() && m.skipped_updates == 0,
                    "{name}: {m:?}"
                );
            }
            let after = tppo::backend::read(ppo.policy().forward_full(&probe, &device).logits)
                .await
                .unwrap();
            let moved = before
                .iter()
                .zip(&after)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                moved > 1e-4,
                "{name} {reward:?}: the policy did not change ({moved})"
            );
        }
    }
}
