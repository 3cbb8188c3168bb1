//! The model's tensor ops, as burn formulas. Each first asks the CPU fast path
//! ([`crate::cpu::fused`]: one graph node with its own backward on Flex) and
//! otherwise computes the same formula in burn's ops (WebGPU, native wgpu, or the
//! fast path switched off). This is the one place where the fast path plugs in;
//! `tests/parity.rs` runs a whole model both ways.

use crate::cpu::fused;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::activation::log_softmax;
use burn::tensor::module::attention as burn_attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Int, Tensor, TensorData};

/// log softmax(logits)[token] for `logits` [B, R, V] and `tokens` (B·R ids, row-major): [B, R].
pub fn token_logprobs(logits: Tensor<3>, tokens: &[u32]) -> Tensor<2> {
    if let Some(lp) = fused::token_logprobs(&logits, tokens) {
        return lp;
    }
    let [b, r, _] = logits.dims();
    let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, r]), &logits.device());
    log_softmax(logits, 2)
        .gather(2, ids.unsqueeze_dim(2))
        .reshape([b, r])
}

/// Entropy of softmax(logits) per position: [B, R, V] → [B, R], without a gradient.
pub fn entropy(logits: Tensor<3>) -> Tensor<2> {
    let logits = logits.detach();
    if let Some(h) = fused::entropy(&logits) {
        return h;
    }
    let [b, r, _] = logits.dims();
    let logp = log_softmax(logits, 2);
    -(logp.clone().exp() * logp).sum_dim(2).reshape([b, r])
}

/// A bias at or below this masks its key (the trunk's masks are −1e9).
const MASKED: f32 = -1e8;

/// softmax(q·kᵀ/√d_head + bias)·v for q [B, H, T, d], k and v [B, H, T_keys, d] and
/// `bias` [B, 1, T, T_keys] (0 where attention is allowed, −1e9 where not).
///
/// A query row whose every key is masked has nothing to attend to and gives 0 (and
/// no gradient), on every path. Such rows are left padding: no real row reads them.
pub fn attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, bias: Tensor<4>) -> Tensor<4> {
    let [b, h, t, d_head] = q.dims();
    let tk = k.dims()[2];
    if let Some(p) = fused::scaled_softmax(&q, &k, &bias, 1.0 / (d_head as f32).sqrt()) {
        return p.matmul(v);
    }
    // burn's attention op (a fused kernel where the backend has one), then 0 for the
    // rows with no allowed key, where softmax over equal scores gave the mean of v.
    let alive = bias.clone().max_dim(3).greater_elem(MASKED).float();
    burn_attention(
        q,
        k,
        v,
        None,
        Some(bias.expand([b, h, t, tk])),
        AttentionModuleOptions::default(),
    ) * alive
}

/// Multi-head self-attention from `qkv` [B, T, 3·D] (q, k, v side by side, each
/// [B, T, D] split into `n_heads` heads of D / n_heads): softmax(q·kᵀ/√d_head + bias)·v
/// per head, heads side by side in [B, T_q, D]. `bias` [B, 1, T_q, T] as in
/// [`attention`]: the queries are the last T_q ≤ T rows (all of them but in a
/// trunk's last block, whose other rows only give keys and values).
pub fn self_attention(qkv: Tensor<3>, bias: Tensor<4>, n_heads: usize) -> Tensor<3> {
    if let Some(y) = fused::self_attention(&qkv, &bias, n_heads) {
        return y;
    }
    let [b, t, d3] = qkv.dims();
    let (d, h, tq) = (d3 / 3, n_heads, bias.dims()[2]);
    let heads = |i: usize| {
        qkv.clone()
            .narrow(2, i * d, d)
            .reshape([b, t, h, d / h])
            .swap_dims(1, 2)
    };
    attention(heads(0).narrow(2, t - tq, tq), heads(1), heads(2), bias)
        .swap_dims(1, 2)
        .reshape([b, tq, d])
}

/// GELU, ½·x·(1 + erf(x/√2)), the exact (not the tanh) form.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if let Some(y) = fused::gelu(&x) {
        return y;
    }
    burn::tensor::activation::gelu(x)
}

/// `ln.forward(x)`, the layer norm over the last axis, for a layer norm built with
/// `epsilon` (burn keeps a module's ε private, so the caller passes the one it built
/// it with).
pub fn layer_norm<const D: usize>(ln: &LayerNorm, x: Tensor<D>, epsilon: f64) -> Tensor<D> {
    if let Some(beta) = &ln.beta
        && let Some(y) = fused::layer_norm(&x, &ln.gamma.val(), &beta.val(), epsilon as f32)
    {
        return y;
    }
    ln.forward(x)
}

/// `layer.forward(x)` for x [B, T, d_in]: x·W + b.
pub fn linear(layer: &Linear, x: Tensor<3>) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let w = layer.weight.val();
    let bias = layer.bias.as_ref().map(|p| p.val());
    if let Some(y) = fused::linear(&x.clone().reshape([b * t, d]), &w, bias.as_ref()) {
        let n = y.dims()[1];
        return y.reshape([b, t, n]);
    }
    layer.forward(x)
}
