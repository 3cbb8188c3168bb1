use rayon::prelude::*;
use wasm_bindgen::prelude::*;
pub use wasm_bindgen_rayon::init_thread_pool;
#[wasm_bindgen]
pub fn sum_squares(n: u32) -> f64 {
    (0..n).into_par_iter().map(|x| (x as f64) * (x as f64)).sum()
}
