//! Library tests in a real browser (`wasm-pack test --headless --chrome`), on
//! WebGPU (SwiftShader in headless Chromium) and on the CPU backend:
//! reward-model scoring matches the native result within 1e-4, and a few PPO and
//! TPPO iterations run and change the policy. Run by scripts/test.sh.
#![cfg(target_arch = "wasm32")]

use burn::module::Module;
use burn::tensor::Device;
use tppo::model::checkpoint::{self, CheckpointInfo};
use tppo::model::policy::{Padded, PolicyConfig};
use tppo::model::trunk::TrunkConfig;
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
    let pcfg = PolicyConfig::of(TrunkConfig {
        vocab: 24,
        d_model: 16,
        n_layers: 1,
        n_heads: 2,
        d_ff: 32,
        max_len: 24,
    });
    let trunk = pcfg.trunk;
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

/// Every parameter's values, read from whatever device they live on.
async fn weights<M: Module>(m: &M) -> Vec<f32> {
    use burn::module::{ModuleVisitor, Param};
    use burn::tensor::Tensor;
    struct Flat(Vec<Tensor<1>>);
    impl ModuleVisitor for Flat {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let t = p.val();
            let n = t.shape().num_elements();
            self.0.push(t.reshape([n]));
        }
    }
    let mut f = Flat(Vec::new());
    m.visit(&mut f);
    let mut out = Vec::new();
    for t in f.0 {
        out.extend(tppo::backend::read(t).await.unwrap());
    }
    out
}

/// Where the `i`-th value of [`weights`] lies: the parameter's number (in visiting
/// order), its shape, and the element within it.
fn locate<M: Module>(m: &M, i: usize) -> (usize, Vec<usize>, usize) {
    use burn::module::{ModuleVisitor, Param};
    use burn::tensor::Tensor;
    struct Shapes(Vec<Vec<usize>>);
    impl ModuleVisitor for Shapes {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0.push(p.val().dims().to_vec());
        }
    }
    let mut f = Shapes(Vec::new());
    m.visit(&mut f);
    let mut rest = i;
    for (k, shape) in f.0.into_iter().enumerate() {
        let n: usize = shape.iter().product();
        if rest < n {
            return (k, shape, rest);
        }
        rest -= n;
    }
    panic!("value {i} is past the module's parameters");
}

/// WebGPU (burn's generic ops) against the CPU fast path (and the CPU with the fast
/// path off), from the same weights: the policy's logits, and the weights after one
/// PPO update on the same rollout; from four fixed initialisations.
#[wasm_bindgen_test]
async fn webgpu_and_the_cpu_fast_path_agree_on_values_and_one_update() {
    // Seeded: the per-weight difference depends on the initialisation. Unseeded, this
    // test once failed in CI at 3.4e-4 (session 13); seeds 0–7 give 0.6–1.9e-4 on
    // SwiftShader, the same to three digits with and without the trunk's tail-only
    // last block (docs/perf.md, "The WebGPU test").
    for seed in 0..4 {
        one_update_agrees(seed).await;
    }
}

async fn one_update_agrees(seed: u64) {
    use tppo::model::checkpoint::{load_into, policy_from_bytes, to_bytes};
    let trunk = TrunkConfig {
        vocab: 40,
        d_model: 32,
        n_layers: 2,
        n_heads: 4,
        d_ff: 64,
        max_len: 48,
    };
    let pcfg = PolicyConfig::of(trunk);
    let cpu = tppo::backend::cpu();
    cpu.seed(seed);
    let info = |kind: &str| CheckpointInfo {
        kind: kind.into(),
        config: pcfg,
        tokenizer: "t".to_string(),
    };
    let start = to_bytes(&pcfg.init(&cpu), &info("policy")).unwrap();
    let rm_cfg = RewardModelConfig {
        trunk,
        level: Level::Token,
    };
    let rm0 = rm_cfg.init(&cpu);
    let rm_bytes = to_bytes(
        &rm0,
        &CheckpointInfo {
            kind: "token-rm".into(),
            config: rm_cfg,
            tokenizer: "t".to_string(),
        },
    )
    .unwrap();
    let cfg = PpoConfig {
        reward: RewardMode::Token,
        batch_size: 4,
        max_new: 6,
        lr: 1e-3,
        ppo_epochs: 1,
        minibatches: 1,
        grad_shards: 1,
        ..PpoConfig::default()
    };
    let trainer = |device: &burn::tensor::Device| {
        let ad = device.clone().autodiff();
        let (reference, c) = policy_from_bytes("p", &start, "t", device).unwrap();
        let policy = load_into("p", &start, c.init(&ad)).unwrap();
        let rm = tppo::reward::model::from_bytes("rm", &rm_bytes, "t", device).unwrap();
        Ppo::new(cfg, policy, reference, rm, 2, 0, ad, None).unwrap()
    };
    let prompts: Vec<Vec<u32>> = (0..4).map(|i| (1..4 + 3 * i).collect()).collect();
    let probe = Padded::left(&prompts, 0);
    let ro = trainer(&cpu).rollout(&prompts).await.unwrap();
    let start_policy = trainer(&cpu).policy();
    let before = weights(&start_policy).await;
    let mut results = Vec::new();
    for (name, device, fast) in devices()
        .await
        .into_iter()
        .map(|(n, d)| (n, d, true))
        .chain([("cpu, fast path off".to_string(), cpu.clone(), false)])
    {
        let was = tppo::cpu::set_fast_path(fast);
        let mut t = trainer(&device);
        let logits = tppo::backend::read(t.policy().forward_full(&probe, &device).logits)
            .await
            .unwrap();
        let m = t.update(&ro).await.unwrap();
        let after = weights(&t.policy()).await;
        tppo::cpu::set_fast_path(was);
        assert_eq!(m.skipped_updates, 0, "seed {seed}, {name}");
        results.push((name, logits, after));
    }
    let (_, logits0, after0) = &results[0];
    let step0: Vec<f32> = after0.iter().zip(&before).map(|(a, b)| a - b).collect();
    let moved = step0.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let norm0 = step0.iter().map(|x| x * x).sum::<f32>().sqrt();
    let scale = logits0.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(moved > 0.0);
    // The update Δw of each path against the fast path's. Adam's first step is
    // lr·g/(|g| + ε) per weight, and most gradients here are near ε = 1e-5, where the
    // step is lr·g/ε: a rounding difference of 1e-6 in one gradient moves that
    // weight's step by a tenth of lr. So the update as a whole must agree to 1 %, and
    // no weight by more than half the largest step (lr). WebGPU's largest differences
    // are in the MLP's first layer (GELU's backward): 0.6–1.9e-4 over seeds 0–7, 3.4e-4
    // once unseeded. GELU's backward broken by ×1.01 on the fast path fails at seed 0
    // on both counts' edge: one weight by 6.8e-4, the update by 0.9 % of its norm.
    for (name, logits, after) in &results[1..] {
        let dl = logits0
            .iter()
            .zip(logits)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let (worst, dw) = after0
            .iter()
            .zip(after)
            .map(|(a, b)| (a - b).abs())
            .enumerate()
            .fold((0, 0.0f32), |m, (i, d)| if d > m.1 { (i, d) } else { m });
        let rel = after0
            .iter()
            .zip(after)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt()
            / norm0;
        let (param, shape, element) = locate(&start_policy, worst);
        let at = format!(
            "parameter #{param} {shape:?}, element {element}: step {} here, {} on the fast path",
            after[worst] - before[worst],
            step0[worst]
        );
        web_sys_log(&format!(
            "seed {seed}, {name}: logits within {dl}, update within {rel} of its norm, {dw} per weight at most ({at})"
        ));
        assert!(
            dl < 1e-3 * scale.max(1.0),
            "seed {seed}, {name}: logits differ by {dl} (scale {scale})"
        );
        assert!(
            rel < 1e-2 && dw < 0.5 * moved,
            "seed {seed}, {name}: the update differs by {rel} of its norm, by {dw} at most per weight ({at}; largest step {moved})"
        );
    }
}

fn web_sys_log(s: &str) {
    wasm_bindgen_test::console_log!("{s}");
}
