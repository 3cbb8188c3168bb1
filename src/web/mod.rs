//! The browser shell. [`protocol`]: the page ↔ worker messages and the lab's
//! replies (typed; compiled everywhere, so native tests check the page's scripts
//! against it); [`presets`]: the guided experiments. On wasm32, `page`: the wasm-bindgen exports — the `Lab` a Web Worker
//! owns, and the library's formulas the page calls.

pub mod presets;
pub mod protocol;

#[cfg(target_arch = "wasm32")]
mod page;
#[cfg(target_arch = "wasm32")]
pub use page::*;
