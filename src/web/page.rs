//! The wasm-bindgen layer: a thin shell over the library for the browser lab.
//! Its calls reply with the types of [`super::protocol`].
//! [`Lab`] (in a Web Worker) holds the models and runs; [`lwp_curve`], [`shade`] and
//! [`limits`] give the page the library's formulas and numbers, so it computes none
//! itself; [`bench`] is `tppo bench` in the page.

mod lab;

pub use lab::Lab;
use serde::Serialize;
use wasm_bindgen::prelude::*;

unsafe extern "C" {
    fn __wasm_call_ctors();
}

/// The device the page asked for: `"cpu"` (the user's choice), `"no-webgpu"` (the
/// browser has none: the page loaded the CPU-only build), or `"auto"` (WebGPU, else
/// the CPU with the reason).
pub(crate) async fn device_for(
    backend: &str,
) -> (burn::tensor::Device, crate::backend::BackendInfo) {
    match backend {
        "cpu" => crate::backend::cpu_by_request(),
        "no-webgpu" => crate::backend::cpu_because("this browser has no WebGPU (navigator.gpu)"),
        _ => crate::backend::detect().await,
    }
}

/// Run the static constructors once, before anything touches burn (DESIGN §7:
/// otherwise rustc 1.95's linker may wrap every export in `__wasm_call_ctors`, and
/// without them cubecl's type registry is empty). In-browser tests call it first too.
pub fn init_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: called exactly once, before any other wasm code runs burn.
        unsafe { __wasm_call_ctors() };
        console_error_panic_hook::set_once();
    });
}

/// The threaded CPU build (`pkg/cpu/`, built with atomics) exports `initThreadPool(n)`:
/// the page's worker calls it once, before the lab, to start `n` Web Workers for the
/// pieces of [`crate::cpu::par`].
#[cfg(target_feature = "atomics")]
pub use wasm_bindgen_rayon::init_thread_pool;

/// How many threads the CPU work of this build runs on: the pool's size in the
/// threaded build (after `initThreadPool`), 1 otherwise.
#[wasm_bindgen]
pub fn threads() -> usize {
    crate::cpu::par::threads()
}

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// Plain JS objects (maps as objects), as JSON would give.
fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_err)
}

/// `tppo bench` in the browser: the same workloads (src/bench.rs) on WebGPU ("auto")
/// or the CPU backend ("cpu"), timed with the page's clock. Run it in a page of its
/// own (`bench.html`): a page can register the WebGPU device once. `only` picks the
/// workloads as `tppo bench --only` does (`generate,rm,ppo`; empty: all);
/// `dispatches`, when given, returns the running count of GPU dispatches.
#[wasm_bindgen]
pub async fn bench(
    backend: String,
    batch: usize,
    prompt_len: usize,
    max_new: usize,
    reps: usize,
    only: String,
    dispatches: Option<js_sys::Function>,
) -> Result<JsValue, JsError> {
    init_once();
    let only = if only.trim().is_empty() {
        crate::bench::Workloads::default()
    } else {
        crate::bench::Workloads::parse(&only).map_err(js_err)?
    };
    let (device, info) = device_for(&backend).await;
    let name = info.label();
    let cfg = crate::bench::BenchConfig {
        batch,
        prompt_len,
        max_new,
        reps,
        only,
        ..Default::default()
    };
    let now = || js_sys::Date::now();
    // The page's running count of WebGPU dispatches (www/bench-worker.js wraps
    // `dispatchWorkgroups`), read around the timed repetitions.
    let count = dispatches.map(|f| {
        move || {
            f.call0(&JsValue::NULL)
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(f64::NAN)
        }
    });
    let count_ref = count.as_ref().map(|c| c as &dyn Fn() -> f64);
    let rows = crate::bench::run(&cfg, &name, &device, &now, count_ref, |_| {})
        .await
        .map_err(js_err)?;
    to_js(&super::protocol::BenchReply { config: cfg, rows })
}

/// lwp(l) for l = 1..=n (paper eq. 4), the library's own formula.
#[wasm_bindgen]
pub fn lwp_curve(alpha: f32, sl: f32, n: usize) -> Vec<f32> {
    let cfg = crate::reward::lwp::LwpConfig { alpha, sl };
    (1..=n).map(|l| crate::reward::lwp::lwp(l, cfg)).collect()
}

/// Eq. 5 on a response's margins P(2) − P(1) with the page's α and sl: each token's
/// reward r_t = lwp(t)·margin_t and the colour the heatmap paints it.
#[wasm_bindgen]
pub fn shade(margins: Vec<f32>, alpha: f32, sl: f32) -> Result<JsValue, JsError> {
    let rewards = crate::reward::lwp::apply(&margins, crate::reward::lwp::LwpConfig { alpha, sl });
    let colours: Vec<String> = rewards
        .iter()
        .map(|&r| crate::reward::lwp::colour(r))
        .collect();
    to_js(&super::protocol::Shaded { rewards, colours })
}

/// The heatmap colours of token rewards (already shaped by eq. 5).
#[wasm_bindgen]
pub fn colours(rewards: Vec<f32>) -> Vec<String> {
    rewards
        .iter()
        .map(|&r| crate::reward::lwp::colour(r))
        .collect()
}

/// The limits the page enforces, from the library (one place for each number).
#[wasm_bindgen]
pub fn limits() -> Result<JsValue, JsError> {
    to_js(&super::protocol::Limits::of_library())
}

/// The settings the page's forms start from (the library's; a setting in the URL wins).
#[wasm_bindgen]
pub fn defaults() -> Result<JsValue, JsError> {
    to_js(&super::protocol::PageDefaults::default())
}

/// The guided experiments ([`super::presets::all`]).
#[wasm_bindgen]
pub fn presets() -> Result<JsValue, JsError> {
    to_js(&super::presets::all())
}

/// Lemma 3.1's toy ([`crate::rl::lemma::run`]) at the page's settings
/// ([`super::protocol::LemmaSettings`]).
#[wasm_bindgen]
pub fn lemma(settings: JsValue) -> Result<JsValue, JsError> {
    let s: super::protocol::LemmaSettings =
        serde_wasm_bindgen::from_value(settings).map_err(js_err)?;
    let cfg = s.config().map_err(js_err)?;
    to_js(&crate::rl::lemma::run(&cfg))
}

/// The workbench's slices (issue 17) of each pair of a comparison: `pairs` as the
/// lab's `compare` or `import_jsonl` gave them ({pair, records}), `spec` a
/// [`crate::eval::slices::SliceSpec`]. Per pair, its slices with win / tie / lose,
/// intervals and κ.
#[wasm_bindgen]
pub fn slices(pairs: JsValue, spec: JsValue) -> Result<JsValue, JsError> {
    #[derive(serde::Deserialize)]
    struct Pair {
        pair: String,
        records: Vec<crate::eval::CompareRecord>,
    }
    let pairs: Vec<Pair> = serde_wasm_bindgen::from_value(pairs).map_err(js_err)?;
    let spec: crate::eval::slices::SliceSpec =
        serde_wasm_bindgen::from_value(spec).map_err(js_err)?;
    let mut out = Vec::new();
    for p in pairs.iter() {
        let parts = crate::eval::slices::slices(&p.records, &spec, 1000, 1).map_err(js_err)?;
        out.push(super::protocol::PairSlices {
            pair: p.pair.clone(),
            slices: parts,
        });
    }
    to_js(&out)
}

/// The last comparison as a self-contained static HTML page
/// ([`crate::pipeline::report::comparison`]): `pairs` as for [`slices`] (with each pair's
/// `summary`), sliced by `spec`, with 8 example users per pair.
#[wasm_bindgen]
pub fn comparison_html(pairs: JsValue, spec: JsValue) -> Result<String, JsError> {
    #[derive(serde::Deserialize)]
    struct Pair {
        pair: String,
        records: Vec<crate::eval::CompareRecord>,
        summary: crate::eval::pairwise::WinTieLose,
    }
    let pairs: Vec<Pair> = serde_wasm_bindgen::from_value(pairs).map_err(js_err)?;
    let spec: crate::eval::slices::SliceSpec =
        serde_wasm_bindgen::from_value(spec).map_err(js_err)?;
    let inputs: Vec<crate::pipeline::report::comparison::PairInput> = pairs
        .iter()
        .map(|p| crate::pipeline::report::comparison::PairInput {
            pair: &p.pair,
            records: &p.records,
            summary: &p.summary,
        })
        .collect();
    crate::pipeline::report::comparison::render("TPPO Lab comparison", &inputs, &spec, 8, 1000)
        .map_err(js_err)
}
