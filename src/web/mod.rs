//! The wasm-bindgen layer: a thin shell over the library for the browser lab.
//! [`Lab`] (in a Web Worker) does the work; [`Judge`] is the judge alone;
//! [`lwp_curve`] lets the page recolour token rewards without a round trip.

mod lab;

pub use lab::Lab;
use serde::Serialize;
use wasm_bindgen::prelude::*;

unsafe extern "C" {
    fn __wasm_call_ctors();
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

/// Initialise a backend and report it: WebGPU first, the CPU backend (Flex) otherwise.
#[wasm_bindgen]
pub async fn detect_backend() -> Result<JsValue, JsError> {
    init_once();
    let (_device, info) = crate::backend::detect().await;
    serde_wasm_bindgen::to_value(&info).map_err(|e| JsError::new(&e.to_string()))
}

#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
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
/// own (`bench.html`): a page can register the WebGPU device once.
#[wasm_bindgen]
pub async fn bench(
    backend: String,
    batch: usize,
    prompt_len: usize,
    max_new: usize,
    reps: usize,
) -> Result<JsValue, JsError> {
    init_once();
    let (device, info) = if backend == "cpu" {
        let d = crate::backend::cpu();
        (d, None)
    } else {
        let (d, i) = crate::backend::detect().await;
        (d, Some(i))
    };
    let name = match &info {
        Some(i) if i.backend != "cpu" => format!("{} ({})", i.backend, i.name),
        Some(i) => format!(
            "cpu (fallback: {})",
            i.fallback_reason.clone().unwrap_or_default()
        ),
        None => "cpu".to_string(),
    };
    let cfg = crate::bench::BenchConfig {
        batch,
        prompt_len,
        max_new,
        reps,
        ..Default::default()
    };
    let now = || js_sys::Date::now();
    let rows = crate::bench::run(&cfg, &name, &device, &now, |_| {})
        .await
        .map_err(js_err)?;
    to_js(&serde_json::json!({ "config": cfg, "rows": rows }))
}

/// lwp(l) for l = 1..=n (paper eq. 4), the library's own formula.
#[wasm_bindgen]
pub fn lwp_curve(alpha: f32, sl: f32, n: usize) -> Vec<f32> {
    let cfg = crate::config::LwpConfig { alpha, sl };
    (1..=n).map(|l| crate::reward::lwp::lwp(l, cfg)).collect()
}

/// The AI-feedback judge in the browser: the same code as `tppo judge`.
#[wasm_bindgen]
pub struct Judge {
    labeler: crate::labeler::Labeler,
    users: Vec<crate::data::User>,
}

#[wasm_bindgen]
impl Judge {
    /// Build from the bundled files: word vectors (safetensors), their vocabulary,
    /// the training users (JSONL, gzip allowed) for the co-occurrence statistics,
    /// `labeler.json`, and the users to judge (JSONL).
    #[wasm_bindgen(constructor)]
    pub fn new(
        vectors: &[u8],
        vocab: &str,
        train: &[u8],
        labeler_json: &str,
        users: &[u8],
    ) -> Result<Judge, JsError> {
        init_once();
        let vectors = crate::vectors::WordVectors::from_bytes(vectors, vocab).map_err(js_err)?;
        let train = maybe_gunzip(train)?;
        let train =
            crate::data::jsonl::read_users_bytes("train.jsonl.gz", &train).map_err(js_err)?;
        let file: crate::labeler::calibrate::LabelerFile =
            serde_json::from_str(labeler_json).map_err(|e| js_err(format!("labeler.json: {e}")))?;
        let users = crate::data::jsonl::read_users_bytes("users.jsonl", &maybe_gunzip(users)?)
            .map_err(js_err)?;
        Ok(Judge {
            labeler: crate::labeler::Labeler::new(file.config, vectors, &train),
            users,
        })
    }

    /// Number of users loaded.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The user at `index` (history, targets) as a JS object.
    pub fn user(&self, index: usize) -> Result<JsValue, JsError> {
        let u = self
            .users
            .get(index)
            .ok_or_else(|| js_err(format!("no user at index {index}")))?;
        serde_wasm_bindgen::to_value(u).map_err(js_err)
    }

    /// Judge `response` (queries separated by ';') for the user at `index`:
    /// words with class and evidence, per-query verdicts, the sentence label.
    pub fn judge(&self, index: usize, response: &str) -> Result<JsValue, JsError> {
        let u = self
            .users
            .get(index)
            .ok_or_else(|| js_err(format!("no user at index {index}")))?;
        let j = self.labeler.judge(&u.history, response);
        let words: Vec<serde_json::Value> = j
            .words
            .iter()
            .map(|w| serde_json::json!({"text": w.text, "class": w.class, "evidence": w.evidence.to_string()}))
            .collect();
        let out = serde_json::json!({"words": words, "queries": j.queries, "sentence": j.sentence, "relevant_fraction": j.relevant_fraction});
        out.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(js_err)
    }
}

fn maybe_gunzip(bytes: &[u8]) -> Result<Vec<u8>, JsError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        crate::io::gunzip(bytes).map_err(js_err)
    } else {
        Ok(bytes.to_vec())
    }
}
