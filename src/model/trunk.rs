//! The transformer trunk shared by the policy and the reward models: token and
//! learned position embeddings, pre-norm blocks of causal self-attention and a
//! GELU MLP, a final layer norm. Batches are left-padded (`keep` marks real
//! tokens) and a KV cache lets generation feed one new token per step.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::ops;

/// The layer norms' ε (burn's default), kept here because burn keeps a built
/// layer norm's ε private and the fused op needs it.
const LN_EPS: f64 = 1e-5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrunkConfig {
    pub vocab: usize,
    pub d_model: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub max_len: usize,
}

#[derive(Module, Debug)]
pub struct Block {
    ln1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    ln2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    n_heads: usize,
}

#[derive(Module, Debug)]
pub struct Trunk {
    tok: Embedding,
    pos: Embedding,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    max_len: usize,
}

/// Keys and values of every layer so far ([B, H, T_past, d_head]) and the padding mask of those keys.
pub struct KvCache {
    layers: Vec<Option<(Tensor<4>, Tensor<4>)>>,
    keep: Option<Tensor<2>>,
    /// Whether a forward keeps its keys and values (generation) or not (a forward
    /// over whole sequences, which can then attend straight from the qkv projection).
    record: bool,
}

impl TrunkConfig {
    pub fn init(&self, device: &Device) -> Trunk {
        let block = || Block {
            ln1: LayerNormConfig::new(self.d_model)
                .with_epsilon(LN_EPS)
                .init(device),
            qkv: LinearConfig::new(self.d_model, 3 * self.d_model).init(device),
            proj: LinearConfig::new(self.d_model, self.d_model).init(device),
            ln2: LayerNormConfig::new(self.d_model)
                .with_epsilon(LN_EPS)
                .init(device),
            fc1: LinearConfig::new(self.d_model, self.d_ff).init(device),
            fc2: LinearConfig::new(self.d_ff, self.d_model).init(device),
            n_heads: self.n_heads,
        };
        Trunk {
            tok: EmbeddingConfig::new(self.vocab, self.d_model).init(device),
            pos: EmbeddingConfig::new(self.max_len, self.d_model).init(device),
            blocks: (0..self.n_layers).map(|_| block()).collect(),
            ln_f: LayerNormConfig::new(self.d_model)
                .with_epsilon(LN_EPS)
                .init(device),
            max_len: self.max_len,
        }
    }
}

impl Block {
    /// `bias` [B, 1, T, T_keys]: 0 where attention is allowed, −1e9 where not.
    fn forward(
        &self,
        x: Tensor<3>,
        bias: Tensor<4>,
        cache: &mut Option<(Tensor<4>, Tensor<4>)>,
        record: bool,
    ) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let qkv = ops::linear(&self.qkv, ops::layer_norm(&self.ln1, x.clone(), LN_EPS));
        // softmax(q·kᵀ/√d_head + bias)·v per head: the CPU fast path or burn (model::ops).
        let y = if !record && cache.is_none() {
            ops::self_attention(qkv, bias, self.n_heads)
        } else {
            let (h, dh) = (self.n_heads, d / self.n_heads);
            let heads = |i: usize| {
                qkv.clone()
                    .narrow(2, i * d, d)
                    .reshape([b, t, h, dh])
                    .swap_dims(1, 2)
            };
            let (q, mut k, mut v) = (heads(0), heads(1), heads(2));
            if let Some((past_k, past_v)) = cache.take() {
                k = Tensor::cat(vec![past_k, k], 2);
                v = Tensor::cat(vec![past_v, v], 2);
            }
            *cache = Some((k.clone(), v.clone()));
            ops::attention(q, k, v, bias)
                .swap_dims(1, 2)
                .reshape([b, t, d])
        };
        let x = x + ops::linear(&self.proj, y);
        let h = ops::gelu(ops::linear(
            &self.fc1,
            ops::layer_norm(&self.ln2, x.clone(), LN_EPS),
        ));
        let m = ops::linear(&self.fc2, h);
        x + m
    }
}

impl Trunk {
    /// A cache that keeps each forward's keys and values (for generation).
    pub fn new_cache(&self) -> KvCache {
        KvCache {
            layers: vec![None; self.blocks.len()],
            keep: None,
            record: true,
        }
    }

    /// No cache: a forward over whole sequences (training, scoring).
    pub fn no_cache(&self) -> KvCache {
        KvCache {
            record: false,
            ..self.new_cache()
        }
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Hidden states [B, T, D] of `tokens` [B, T] that follow whatever `cache` holds.
    /// `keep` [B, T] marks real tokens (1.0) and padding (0.0); `positions` [B, T]
    /// are the positions of the real tokens.
    pub fn forward(
        &self,
        tokens: Tensor<2, Int>,
        keep: Tensor<2>,
        positions: Tensor<2, Int>,
        cache: &mut KvCache,
    ) -> Tensor<3> {
        let [b, t] = tokens.dims();
        let device = tokens.device();
        let keys_keep = match cache.keep.take() {
            Some(past) => Tensor::cat(vec![past, keep], 1),
            None => keep,
        };
        cache.keep = Some(keys_keep.clone());
        let tk = keys_keep.dims()[1];
        let past = tk - t;
        // Causal: query i (absolute past + i) sees keys j ≤ past + i; padded keys are never seen.
        let causal: Vec<f32> = (0..t)
            .flat_map(|i| (0..tk).map(move |j| if j <= past + i { 0.0 } else { -1e9 }))
            .collect();
        let causal = Tensor::<4>::from_data(TensorData::new(causal, [1, 1, t, tk]), &device);
        let pad = (keys_keep.reshape([b, 1, 1, tk]) - 1.0).mul_scalar(1e9);
        let bias = causal + pad;
        let mut x = self.tok.forward(tokens) + self.pos.forward(positions);
        for (block, c) in self.blocks.iter().zip(cache.layers.iter_mut()) {
            x = block.forward(x, bias.clone(), c, cache.record);
        }
        ops::layer_norm(&self.ln_f, x, LN_EPS)
    }
}
