//! Three fused ops for the hot spots of a PPO step, used by the trunk and the trainer
//! on every backend:
//!
//! - [`token_logprobs`]: log softmax(logits)[token] per position, without the
//!   [B, R, V] log-softmax tensor; backward g·(onehot(token) − softmax(logits));
//! - [`entropy`]: −Σ p·log p of softmax(logits) per position (no gradient);
//! - [`attention`]: softmax(q·kᵀ/√d + bias)·v;
//! - [`gelu`]: x·Φ(x), with an erf that vectorises (libm's `erff` is scalar).
//!
//! On burn's Flex CPU backend (natively) they run the row kernels of
//! [`super::kernels`], and under autodiff they are single graph nodes with the
//! backward written out above, instead of the 4–6 recorded element-wise ops burn
//! decomposes log-softmax and softmax into (each a full pass over memory, forward
//! and backward). Everywhere else (WebGPU, wgpu, the browser's CPU fallback) they
//! are the same formulas in burn's tensor ops. docs/perf.md has what each buys;
//! tests compare the two paths' values and gradients.

use burn::tensor::activation::log_softmax;
use burn::tensor::module::attention as burn_attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Int, Tensor, TensorData};

/// log softmax(logits)[token] for `logits` [B, R, V] and `tokens` (B·R ids, row-major): [B, R].
pub fn token_logprobs(logits: Tensor<3>, tokens: &[u32]) -> Tensor<2> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(lp) = flex::token_logprobs(&logits, tokens) {
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
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(h) = flex::entropy(&logits) {
        return h;
    }
    let [b, r, _] = logits.dims();
    let logp = log_softmax(logits, 2);
    -(logp.clone().exp() * logp).sum_dim(2).reshape([b, r])
}

/// softmax(q·kᵀ/√d_head + bias)·v for q [B, H, T, d], k and v [B, H, T_keys, d] and
/// `bias` [B, 1, T, T_keys] (0 where attention is allowed, −1e9 where not).
pub fn attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, bias: Tensor<4>) -> Tensor<4> {
    let [b, h, t, d_head] = q.dims();
    let tk = k.dims()[2];
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(p) = flex::scaled_softmax(&q, &k, &bias, 1.0 / (d_head as f32).sqrt()) {
        return p.matmul(v);
    }
    #[cfg(target_arch = "wasm32")]
    let _ = d_head; // burn's op derives the same scale from q's shape
    // Other backends: burn's attention op (their fused kernel, or matmul, softmax, matmul).
    burn_attention(
        q,
        k,
        v,
        None,
        Some(bias.expand([b, h, t, tk])),
        AttentionModuleOptions::default(),
    )
}

/// GELU, ½·x·(1 + erf(x/√2)), the exact (not the tanh) form.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(y) = flex::gelu(&x) {
        return y;
    }
    burn::tensor::activation::gelu(x)
}

/// The Flex paths: `None` when a tensor is on another backend.
#[cfg(not(target_arch = "wasm32"))]
mod flex {
    use super::super::kernels;
    use burn::tensor::{Tensor, TensorData};
    use burn_autodiff::Autodiff;
    use burn_autodiff::checkpoint::base::Checkpointer;
    use burn_autodiff::checkpoint::strategy::NoCheckpointing;
    use burn_autodiff::grads::Gradients;
    use burn_autodiff::ops::{Backward, Ops, OpsKind};
    use burn_backend::tensor::FloatTensor;
    use burn_flex::{Flex, FlexTensor};
    use std::sync::Arc;

    type Ad = Autodiff<Flex>;

    /// `f` of a Flex tensor's values (row-major, borrowed when contiguous) and shape.
    fn with_values<R>(t: &FlexTensor, f: impl FnOnce(&[f32], &[usize]) -> R) -> R {
        let t = t.to_contiguous();
        let values = t.as_slice::<f32>().expect("a contiguous f32 tensor");
        f(values, t.layout().shape())
    }

    fn flex(v: Vec<f32>, shape: &[usize]) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(v, shape.to_vec()))
    }

    /// The tensor as (Flex values, its autodiff primitive when it has one).
    pub(super) enum On {
        Plain(FlexTensor),
        Tracked(FloatTensor<Ad>),
    }

    pub(super) fn on<const D: usize>(x: &Tensor<D>) -> Option<On> {
        if let Ok(t) = x.clone().try_into_primitive::<Ad>() {
            return Some(On::Tracked(t));
        }
        x.clone().try_into_primitive::<Flex>().ok().map(On::Plain)
    }

    fn out<const D: usize>(y: FlexTensor) -> Tensor<D> {
        Tensor::from_primitive::<Flex>(y)
    }

    fn out_tracked<const D: usize>(y: FloatTensor<Ad>) -> Tensor<D> {
        Tensor::from_primitive::<Ad>(y)
    }

    #[derive(Debug)]
    struct TokenLogprobs;

    impl Backward<Flex, 1> for TokenLogprobs {
        /// The logits, the tokens and each row's log-sum-exp.
        type State = (FlexTensor, Arc<Vec<u32>>, Arc<Vec<f32>>);

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [parent] = ops.parents;
            let g = grads.consume::<Flex>(&ops.node);
            if let Some(parent) = parent {
                let (logits, tokens, lse) = ops.state;
                let dx = with_values(&logits, |x, shape| {
                    with_values(&g, |g, _| {
                        let v = shape[shape.len() - 1];
                        flex(
                            kernels::token_logprobs_backward(x, v, &tokens, &lse, g),
                            shape,
                        )
                    })
                });
                grads.register::<Flex>(parent.id, dx);
            }
        }
    }

    pub fn token_logprobs(logits: &Tensor<3>, tokens: &[u32]) -> Option<Tensor<2>> {
        let [b, r, v] = logits.dims();
        let forward = |t: &FlexTensor| with_values(t, |x, _| kernels::token_logprobs(x, v, tokens));
        Some(match on(logits)? {
            On::Plain(t) => out(flex(forward(&t).0, &[b, r])),
            On::Tracked(t) => {
                let (lp, lse) = forward(t.primitive());
                let lp = flex(lp, &[b, r]);
                match TokenLogprobs
                    .prepare::<NoCheckpointing>([t.node()])
                    .compute_bound()
                    .stateful()
                {
                    OpsKind::Tracked(prep) => {
                        let state = (
                            t.primitive().clone(),
                            Arc::new(tokens.to_vec()),
                            Arc::new(lse),
                        );
                        out_tracked(prep.finish(state, lp))
                    }
                    OpsKind::UnTracked(prep) => out_tracked(prep.finish(lp)),
                }
            }
        })
    }

    pub fn entropy(logits: &Tensor<3>) -> Option<Tensor<2>> {
        let [b, r, v] = logits.dims();
        let entropy = |t: &FlexTensor| with_values(t, |x, _| flex(kernels::entropy(x, v), &[b, r]));
        let (h, plain) = match on(logits)? {
            On::Plain(t) => (entropy(&t), true),
            On::Tracked(t) => (entropy(t.primitive()), false),
        };
        Some(if plain {
            out(h)
        } else {
            // A leaf on the autodiff device (the entropy is a statistic, not a loss).
            out_tracked(<Ad as burn_backend::AutodiffBackend>::from_inner(h))
        })
    }

    #[derive(Debug)]
    struct Gelu;

    impl Backward<Flex, 1> for Gelu {
        /// The input.
        type State = FlexTensor;

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [parent] = ops.parents;
            let dy = grads.consume::<Flex>(&ops.node);
            if let Some(parent) = parent {
                let dx = with_values(&ops.state, |x, shape| {
                    let w = shape[shape.len() - 1];
                    with_values(&dy, |dy, _| flex(kernels::gelu_backward(x, dy, w), shape))
                });
                grads.register::<Flex>(parent.id, dx);
            }
        }
    }

    pub fn gelu<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
        let forward = |t: &FlexTensor| {
            with_values(t, |x, shape| {
                flex(kernels::gelu(x, shape[shape.len() - 1]), shape)
            })
        };
        Some(match on(x)? {
            On::Plain(t) => out(forward(&t)),
            On::Tracked(t) => {
                let y = forward(t.primitive());
                match Gelu
                    .prepare::<NoCheckpointing>([t.node()])
                    .compute_bound()
                    .stateful()
                {
                    OpsKind::Tracked(prep) => out_tracked(prep.finish(t.primitive().clone(), y)),
                    OpsKind::UnTracked(prep) => out_tracked(prep.finish(y)),
                }
            }
        })
    }

    #[derive(Debug)]
    struct ScaledSoftmax;

    impl Backward<Flex, 1> for ScaledSoftmax {
        /// The output y and the scale.
        type State = (FlexTensor, f32);

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [parent] = ops.parents;
            let dy = grads.consume::<Flex>(&ops.node);
            if let Some(parent) = parent {
                let (y, scale) = ops.state;
                let dx = with_values(&y, |y, shape| {
                    with_values(&dy, |dy, _| {
                        flex(kernels::softmax_backward(y, dy, shape[3], scale), shape)
                    })
                });
                grads.register::<Flex>(parent.id, dx);
            }
        }
    }

    /// softmax(q·kᵀ·scale + bias): q·kᵀ by burn's matmul, the rest by the row kernel,
    /// a graph node with its own backward under autodiff.
    pub fn scaled_softmax(
        q: &Tensor<4>,
        k: &Tensor<4>,
        bias: &Tensor<4>,
        scale: f32,
    ) -> Option<Tensor<4>> {
        let [b, h, t, _] = q.dims();
        let tk = k.dims()[2];
        if bias.dims() != [b, 1, t, tk] {
            return None;
        }
        let scores = q.clone().matmul(k.clone().swap_dims(2, 3));
        let bias = match on(&bias.clone().detach())? {
            On::Plain(x) => x,
            On::Tracked(x) => x.primitive().clone(),
        };
        let forward = |s: &FlexTensor| {
            with_values(s, |x, shape| {
                with_values(&bias, |bias, _| {
                    // Row (b, h, i) of the scores takes bias row (b, i).
                    let y =
                        kernels::softmax(x, tk, scale, bias, |row| (row / (h * t)) * t + row % t);
                    flex(y, shape)
                })
            })
        };
        Some(match on(&scores)? {
            On::Plain(s) => out(forward(&s)),
            On::Tracked(s) => {
                let y = forward(s.primitive());
                match ScaledSoftmax
                    .prepare::<NoCheckpointing>([s.node()])
                    .compute_bound()
                    .stateful()
                {
                    OpsKind::Tracked(prep) => out_tracked(prep.finish((y.clone(), scale), y)),
                    OpsKind::UnTracked(prep) => out_tracked(prep.finish(y)),
                }
            }
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::tensor::Distribution;
    use burn::tensor::activation::softmax;

    fn vec<const D: usize>(x: Tensor<D>) -> Vec<f32> {
        x.into_data().try_to_vec::<f32>().unwrap()
    }

    fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(worst < tol, "{what}: differs by {worst}");
    }

    #[test]
    fn token_logprobs_and_entropy_equal_burns_formulas_with_gradients() {
        let device = cpu().autodiff();
        let (b, r, v) = (3, 5, 301);
        let x = Tensor::<3>::random([b, r, v], Distribution::Normal(0.0, 3.0), &device);
        let tokens: Vec<u32> = (0..(b * r) as u32).map(|i| i * 37 % v as u32).collect();
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, r]), &device);
        let weights = Tensor::<2>::random([b, r], Distribution::Normal(0.0, 1.0), &device);

        let x1 = x.clone().detach().require_grad();
        // The Flex path is the one under test (not the fallback to burn's formulas).
        assert!(matches!(flex::on(&x1), Some(flex::On::Tracked(_))));
        assert!(matches!(
            flex::on(&x1.clone().inner()),
            Some(flex::On::Plain(_))
        ));
        let fused = token_logprobs(x1.clone(), &tokens);
        let g1 = (fused.clone() * weights.clone()).sum().backward();
        let x2 = x.clone().detach().require_grad();
        let plain = log_softmax(x2.clone(), 2)
            .gather(2, ids.unsqueeze_dim(2))
            .reshape([b, r]);
        let g2 = (plain.clone() * weights).sum().backward();
        close(&vec(fused), &vec(plain), 1e-5, "log-probs");
        close(
            &vec(x1.grad(&g1).unwrap()),
            &vec(x2.grad(&g2).unwrap()),
            1e-5,
            "gradients",
        );

        let logp = log_softmax(x.clone(), 2);
        let want = -(logp.clone().exp() * logp).sum_dim(2).reshape([b, r]);
        close(
            &vec(entropy(x.clone())),
            &vec(want.clone()),
            1e-4,
            "entropy",
        );
        // Without autodiff, the same values.
        let inner = x.inner();
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, r]), &cpu());
        let want_lp = log_softmax(inner.clone(), 2)
            .gather(2, ids.unsqueeze_dim(2))
            .reshape([b, r]);
        close(
            &vec(token_logprobs(inner.clone(), &tokens)),
            &vec(want_lp),
            1e-5,
            "plain",
        );
        close(
            &vec(entropy(inner)),
            &vec(want.inner()),
            1e-4,
            "plain entropy",
        );
    }

    #[test]
    fn attention_equals_the_written_out_formula_with_gradients() {
        let device = cpu().autodiff();
        let (b, h, t, tk, d) = (2, 3, 5, 7, 4);
        let n =
            |shape: [usize; 4]| Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let (q, k, v) = (n([b, h, t, d]), n([b, h, tk, d]), n([b, h, tk, d]));
        // Causal over 2 past keys, and key 0 of batch row 1 is padding.
        let bias: Vec<f32> = (0..b)
            .flat_map(|bi| {
                (0..t).flat_map(move |i| {
                    (0..tk).map(move |j| {
                        if j > i + 2 || (bi == 1 && j == 0) {
                            -1e9
                        } else {
                            0.0
                        }
                    })
                })
            })
            .collect();
        let bias = Tensor::<4>::from_data(TensorData::new(bias, [b, 1, t, tk]), &device);
        let w = n([b, h, t, d]);
        let run = |fused: bool| {
            let (q, k, v) = (
                q.clone().require_grad(),
                k.clone().require_grad(),
                v.clone().require_grad(),
            );
            let y = if fused {
                attention(q.clone(), k.clone(), v.clone(), bias.clone())
            } else {
                let scores =
                    q.clone().matmul(k.clone().swap_dims(2, 3)) / (d as f32).sqrt() + bias.clone();
                softmax(scores, 3).matmul(v.clone())
            };
            let g = (y.clone() * w.clone()).sum().backward();
            [
                vec(y),
                vec(q.grad(&g).unwrap()),
                vec(k.grad(&g).unwrap()),
                vec(v.grad(&g).unwrap()),
            ]
        };
        let (fused, plain) = (run(true), run(false));
        for (i, what) in ["output", "dq", "dk", "dv"].iter().enumerate() {
            close(&fused[i], &plain[i], 1e-5, what);
        }
        // And without autodiff.
        let y = attention(q.inner(), k.inner(), v.inner(), bias.inner());
        close(&vec(y), &plain[0], 1e-5, "plain output");
    }

    #[test]
    fn gelu_equals_burns_with_gradients() {
        let device = cpu().autodiff();
        let x = Tensor::<3>::random([2, 3, 70], Distribution::Normal(0.0, 2.0), &device);
        let w = Tensor::<3>::random([2, 3, 70], Distribution::Normal(0.0, 1.0), &device);
        let x1 = x.clone().require_grad();
        assert!(matches!(flex::on(&x1), Some(flex::On::Tracked(_))));
        let y1 = gelu(x1.clone());
        let g1 = (y1.clone() * w.clone()).sum().backward();
        let x2 = x.clone().require_grad();
        let y2 = burn::tensor::activation::gelu(x2.clone());
        let g2 = (y2.clone() * w).sum().backward();
        close(&vec(y1), &vec(y2.clone()), 1e-5, "values");
        close(
            &vec(x1.grad(&g1).unwrap()),
            &vec(x2.grad(&g2).unwrap()),
            1e-5,
            "gradients",
        );
        close(&vec(gelu(x.inner())), &vec(y2.inner()), 1e-5, "plain");
    }
}
