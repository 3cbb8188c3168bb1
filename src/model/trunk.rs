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
    /// `bias` [B, 1, T_q, T_keys]: 0 where attention is allowed, −1e9 where not.
    /// The block's output is for the last `T_q` of the T rows of `x` only (all of
    /// them, except in [`Trunk::forward_tail`]'s last block): every row still gives
    /// its key and value, but rows nobody reads skip the rest of the block.
    fn forward(
        &self,
        x: Tensor<3>,
        bias: Tensor<4>,
        cache: &mut Option<(Tensor<4>, Tensor<4>)>,
        record: bool,
    ) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let tq = bias.dims()[2];
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
            let (q, mut k, mut v) = (heads(0).narrow(2, t - tq, tq), heads(1), heads(2));
            if let Some((past_k, past_v)) = cache.take() {
                k = Tensor::cat(vec![past_k, k], 2);
                v = Tensor::cat(vec![past_v, v], 2);
            }
            *cache = Some((k.clone(), v.clone()));
            ops::attention(q, k, v, bias)
                .swap_dims(1, 2)
                .reshape([b, tq, d])
        };
        let x = if tq == t { x } else { x.narrow(1, t - tq, tq) };
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
        let t = tokens.dims()[1];
        self.forward_last(tokens, keep, positions, cache, t)
    }

    /// The hidden states [B, n, D] of the last `n` positions of whole sequences
    /// (no cache), the same as the last `n` rows of [`Trunk::forward`]'s.
    ///
    /// Only those rows are read (the heads sit on the responses, at the end of
    /// left-padded batches), so the last block gives the others only their keys
    /// and values: its attention, projection and MLP run on `n` rows, not T. On the
    /// bench's 128-token prompts with 16 new tokens that is most of a block's work.
    pub fn forward_tail(
        &self,
        tokens: Tensor<2, Int>,
        keep: Tensor<2>,
        positions: Tensor<2, Int>,
        n: usize,
    ) -> Tensor<3> {
        let n = n.min(tokens.dims()[1]);
        self.forward_last(tokens, keep, positions, &mut self.no_cache(), n)
    }

    /// [`Trunk::forward`], with the hidden states [B, n, D] of the last `n` rows only
    /// (see [`Trunk::forward_tail`]); the cache still gets every row's keys and values.
    /// Generation needs only the last row of a prompt's forward.
    pub fn forward_last(
        &self,
        tokens: Tensor<2, Int>,
        keep: Tensor<2>,
        positions: Tensor<2, Int>,
        cache: &mut KvCache,
        n: usize,
    ) -> Tensor<3> {
        let [b, t] = tokens.dims();
        let n = n.min(t);
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
        let last = self.blocks.len().saturating_sub(1);
        for (i, (block, c)) in self.blocks.iter().zip(cache.layers.iter_mut()).enumerate() {
            let bias = if i == last && n < t {
                bias.clone().narrow(2, t - n, n)
            } else {
                bias.clone()
            };
            x = block.forward(x, bias, c, cache.record);
        }
        if self.blocks.is_empty() && n < t {
            x = x.narrow(1, t - n, n);
        }
        ops::layer_norm(&self.ln_f, x, LN_EPS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::cpu::with_fast_path;
    use crate::model::batch::Padded;
    use crate::optim::grads;
    use burn::optim::GradientsParams;
    use burn::tensor::Distribution;

    fn values<const D: usize>(x: Tensor<D>) -> Vec<f32> {
        x.into_data().try_to_vec::<f32>().unwrap()
    }

    /// The largest difference, relative to the largest magnitude of `want`.
    fn rel_diff(want: &[f32], got: &[f32]) -> f32 {
        assert_eq!(want.len(), got.len());
        let scale = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(scale > 0.0);
        let worst = want
            .iter()
            .zip(got)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        worst / scale
    }

    /// The tail forward against the last rows of the whole forward, on the CPU fast
    /// path and on burn's ops: the hidden states, and every parameter's gradient of
    /// a weighted sum of them (so the rows that are only keys and values must pass
    /// their gradient back through the last block's attention). Left padding of
    /// several lengths; tails of 1 row, of rows that start inside and on a 32-row
    /// block of the fused attention, and of every row.
    #[test]
    fn the_tail_forward_is_the_last_rows_of_the_whole_forward() {
        let device = cpu().autodiff();
        let cfg = TrunkConfig {
            vocab: 40,
            d_model: 32,
            n_layers: 3,
            n_heads: 4,
            d_ff: 48,
            max_len: 80,
        };
        let trunk = cfg.init(&device);
        let seqs: Vec<Vec<u32>> = (0..3)
            .map(|i| (0..30 + 17 * i).map(|j| 1 + (i * 7 + j * 5) % 39).collect())
            .collect();
        let batch = Padded::left(&seqs, 0);
        let t = batch.len;
        assert_eq!(t, 64);
        for fast in [true, false] {
            with_fast_path(fast, || {
                for n in [1, 7, 32, 45, t] {
                    let weights = Tensor::<3>::random(
                        [3, n, cfg.d_model],
                        Distribution::Normal(0.0, 1.0),
                        &device,
                    );
                    let run = |x: Tensor<3>| {
                        let loss = (x.clone() * weights.clone()).sum();
                        let g = GradientsParams::from_grads(loss.backward(), &trunk);
                        (values(x), grads::flat(&trunk, &g))
                    };
                    let (tokens, keep, positions) = batch.tensors(&device);
                    let whole = trunk
                        .forward(tokens, keep, positions, &mut trunk.no_cache())
                        .narrow(1, t - n, n);
                    let (tokens, keep, positions) = batch.tensors(&device);
                    let tail = trunk.forward_tail(tokens, keep, positions, n);
                    assert_eq!(tail.dims(), [3, n, cfg.d_model]);
                    let ((want_x, want_g), (got_x, got_g)) = (run(whole), run(tail));
                    let what = format!("fast path {fast}, tail {n}");
                    if n == t {
                        assert_eq!(want_x, got_x, "{what}: the whole forward, bit for bit");
                        assert_eq!(want_g, got_g, "{what}: gradients, bit for bit");
                    }
                    assert!(rel_diff(&want_x, &got_x) < 2e-5, "{what}: hidden states");
                    assert!(rel_diff(&want_g, &got_g) < 2e-5, "{what}: gradients");
                }
            });
        }
    }

    /// Generation's prompt forward: the last row alone, with a KV cache, against the
    /// whole forward's last row; then one token fed after each cache gives the same
    /// hidden state (the cache holds every row's keys and values either way).
    #[test]
    fn the_last_row_with_a_cache_keeps_every_rows_keys_and_values() {
        let device = cpu();
        let cfg = TrunkConfig {
            vocab: 40,
            d_model: 32,
            n_layers: 2,
            n_heads: 4,
            d_ff: 48,
            max_len: 80,
        };
        let trunk = cfg.init(&device);
        let seqs: Vec<Vec<u32>> = vec![(1..20).collect(), (5..40).collect()];
        let batch = Padded::left(&seqs, 0);
        let t = batch.len;
        let step = |cache: &mut KvCache| {
            let tokens =
                Tensor::<2, Int>::from_data(TensorData::new(vec![7i64, 9], [2, 1]), &device);
            let positions =
                Tensor::<2, Int>::from_data(TensorData::new(vec![19i64, 35], [2, 1]), &device);
            values(trunk.forward(tokens, Tensor::ones([2, 1], &device), positions, cache))
        };
        for fast in [true, false] {
            with_fast_path(fast, || {
                let (tokens, keep, positions) = batch.tensors(&device);
                let mut whole_cache = trunk.new_cache();
                let whole = trunk
                    .forward(tokens, keep, positions, &mut whole_cache)
                    .narrow(1, t - 1, 1);
                let (tokens, keep, positions) = batch.tensors(&device);
                let mut last_cache = trunk.new_cache();
                let last = trunk.forward_last(tokens, keep, positions, &mut last_cache, 1);
                assert_eq!(last.dims(), [2, 1, cfg.d_model]);
                let what = format!("fast path {fast}");
                assert!(
                    rel_diff(&values(whole), &values(last)) < 2e-5,
                    "{what}: last row"
                );
                let (a, b) = (step(&mut whole_cache), step(&mut last_cache));
                assert!(
                    rel_diff(&a, &b) < 2e-5,
                    "{what}: the next token after each cache"
                );
            });
        }
    }
}
