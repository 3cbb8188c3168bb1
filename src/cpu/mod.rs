//! The CPU fast path: fused ops with their own backward on burn's Flex backend,
//! and the SIMD row kernels behind them. It plugs into the model at one place,
//! [`crate::model::ops`], which asks it first and otherwise runs burn's formulas
//! (WebGPU, native wgpu, or this path switched off).
//!
//! - [`fused::token_logprobs`]: log softmax(logits)[token] per position, without the
//!   [B, R, V] log-softmax tensor; backward g·(onehot(token) − softmax(logits));
//! - [`fused::entropy`]: −Σ p·log p of softmax(logits) per position (no gradient);
//! - [`fused::scaled_softmax`]: softmax(q·kᵀ·scale + bias), for attention;
//! - [`fused::gelu`]: x·Φ(x), with an erf that vectorises (libm's `erff` is scalar);
//! - [`fused::self_attention`]: multi-head attention straight from the qkv projection
//!   [B, T, 3·D] to [B, T, D], reading each head's q, k, v in place (no split,
//!   reshape or transpose copies), with a backward that writes d(qkv) in one buffer.
//!   Each block of 32 query rows scores only the keys its rows may attend to (the
//!   causal mask and left padding leave out about half). Its queries can be the last
//!   T_q rows alone ([B, T_q, D] out): a trunk's last block, whose other rows only
//!   give keys and values to the responses' ([`crate::model::trunk::Trunk::forward_tail`]);
//! - [`fused::linear`]: x·W + b as one GEMM into a buffer that starts as the bias rows;
//! - [`fused::layer_norm`]: burn's layer norm as one row kernel with its backward,
//!   instead of the nine ops burn's autodiff records for it;
//! - [`fused::adam`]: one Adam step per parameter in three streaming passes.
//!
//! Under autodiff each op is one graph node with its backward written out, instead
//! of the 4–9 element-wise ops burn records (each a full pass over memory). The
//! same source serves native builds (x86-64 kernels picked at run time for AVX-512
//! or AVX2, rows on rayon's threads, [`par`]) and the browser's wasm32 build (one
//! thread). docs/perf.md has what each buys; `tests/parity.rs` compares a whole
//! model's values, gradients and a PPO update with the path on and off.
//!
//! [`with_fast_path`] turns the path off on one thread (and the pieces it starts),
//! so a test can run the generic burn path on the same device.

pub mod fused;
pub mod kernels;
pub mod par;

use std::cell::Cell;

thread_local! {
    static FAST: Cell<bool> = const { Cell::new(true) };
}

/// Whether the fused ops run on this thread (the default), or burn's formulas.
pub fn fast_path() -> bool {
    FAST.with(Cell::get)
}

/// Turn the fast path on or off on this thread (for async callers, which cannot use
/// [`with_fast_path`]); returns the previous setting, to restore.
pub fn set_fast_path(on: bool) -> bool {
    FAST.with(|c| c.replace(on))
}

/// `f()` with the fast path on or off on this thread (and the pieces [`par`] starts
/// from it); the thread's setting is restored afterwards, even when `f` panics.
pub fn with_fast_path<R>(on: bool, f: impl FnOnce() -> R) -> R {
    with_cell(&FAST, on, f)
}

/// `f()` with the thread-local `key` set to `value`, restored afterwards (even when
/// `f` panics).
fn with_cell<R>(
    key: &'static std::thread::LocalKey<Cell<bool>>,
    value: bool,
    f: impl FnOnce() -> R,
) -> R {
    struct Restore(&'static std::thread::LocalKey<Cell<bool>>, bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            self.0.with(|c| c.set(self.1));
        }
    }
    let _restore = Restore(key, key.with(|c| c.replace(value)));
    f()
}
