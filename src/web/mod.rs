//! The wasm-bindgen layer: a thin shell over the library for the browser lab.
//! For now it starts burn on WebGPU (falling back to the CPU backend, with the
//! reason) and reports which backend it found.

use wasm_bindgen::prelude::*;

unsafe extern "C" {
    fn __wasm_call_ctors();
}

/// Run the static constructors once, before anything touches burn (DESIGN §7:
/// otherwise rustc 1.95's linker may wrap every export in `__wasm_call_ctors`).
fn init_once() {
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
