//! The fused ops on Flex (see [`super`]): each returns `None` when a tensor lives on
//! another backend or the fast path is off on this thread, and the caller
//! ([`crate::model::ops`]) then runs burn's formula.

use super::{kernels, par};
use burn::tensor::{Tensor, TensorData};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, NodeGuard, Ops, OpsKind};
use burn_backend::tensor::FloatTensor;
use burn_flex::{Flex, FlexTensor};
use std::ops::Range;
use std::sync::Arc;

type Ad = Autodiff<Flex>;

/// The offset of the last element of a rows × cols matrix with (row, column) strides.
fn last_index((rs, cs): (usize, usize), rows: usize, cols: usize) -> usize {
    (rows - 1) * rs + (cols - 1) * cs
}

/// Panics unless a [m, k] and b [k, n] lie within slices of the given lengths.
fn check_operands(
    (m, n, k): (usize, usize, usize),
    a_len: usize,
    a_strides: (usize, usize),
    b_len: usize,
    b_strides: (usize, usize),
) {
    assert!(m > 0 && n > 0 && k > 0, "empty matmul");
    assert!(a_len > last_index(a_strides, m, k) && b_len > last_index(b_strides, k, n));
}

/// a [m, k] · b [k, n] through gemm: when `fresh`, appended to `out` as m·n new
/// elements (written, never read, so the spare capacity may hold anything);
/// otherwise added to `out`, which holds exactly m·n. a and b are read with (row,
/// column) strides, so transposes cost nothing.
fn gemm(
    out: &mut Vec<f32>,
    fresh: bool,
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
) {
    check_operands((m, n, k), a.len(), a_strides, b.len(), b_strides);
    let at = if fresh { out.len() } else { 0 };
    assert!(out.capacity() >= at + m * n && (fresh || out.len() == m * n));
    let parallelism = par::gemm_threads(m * n * k);
    // SAFETY: a and b cover the elements their strides reach (asserted above); out
    // has room for m×n contiguous elements after `at` and does not alias a or b
    // (it is borrowed mutably). With `fresh` gemm writes every one of them without
    // reading it, so the length can take them in afterwards.
    unsafe {
        gemm_raw(
            out.as_mut_ptr().add(at),
            n,
            fresh,
            (m, n, k),
            a,
            a_strides,
            b,
            b_strides,
            parallelism,
        );
        out.set_len(at + m * n);
    }
}

/// gemm's call for out[i·out_rs + j] = (a·b)[i, j] (+ out[…] unless `fresh`).
///
/// # Safety
/// Every element reached through `out`, `a` and `b` with their strides must be in
/// bounds, and `out` must not alias `a` or `b`.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_raw(
    out: *mut f32,
    out_rs: usize,
    fresh: bool,
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
    parallelism: gemm::Parallelism,
) {
    // SAFETY: forwarded to the caller.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out,
            1,
            out_rs as isize,
            !fresh,
            a.as_ptr(),
            a_strides.1 as isize,
            a_strides.0 as isize,
            b.as_ptr(),
            b_strides.1 as isize,
            b_strides.0 as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `out[offset + i·out_rs + j]` = (a·b)[i, j] for an m×n product (written, not
/// read, when `fresh`; added to otherwise), single-threaded (callers split the
/// work). Strides as in [`gemm`].
#[allow(clippy::too_many_arguments)]
fn gemm_at(
    out: &mut [f32],
    offset: usize,
    out_rs: usize,
    fresh: bool,
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
) {
    check_operands((m, n, k), a.len(), a_strides, b.len(), b_strides);
    assert!(n <= out_rs && out.len() > offset + last_index((out_rs, 1), m, n));
    // SAFETY: every element gemm reads or writes lies inside a, b or out (asserted
    // above); out is borrowed mutably, so it aliases neither a nor b.
    unsafe {
        let out = out.as_mut_ptr().add(offset);
        let none = gemm::Parallelism::None;
        gemm_raw(
            out,
            out_rs,
            fresh,
            (m, n, k),
            a,
            a_strides,
            b,
            b_strides,
            none,
        );
    }
}

/// x [n, d_in] · w [d_in, d_out] + bias: the buffer starts as the bias rows.
fn linear_forward(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    n: usize,
    d_in: usize,
    d_out: usize,
) -> Vec<f32> {
    let (mut y, fresh) = match bias {
        Some(b) => (b.repeat(n), false),
        None => (Vec::with_capacity(n * d_out), true),
    };
    gemm(&mut y, fresh, (n, d_out, d_in), x, (d_in, 1), w, (d_out, 1));
    y
}

/// The shapes of one self-attention call.
#[derive(Debug, Clone, Copy)]
struct Heads {
    b: usize,
    t: usize,
    /// Query rows: the last `tq` of the `t` (all of them but in a trunk's last block).
    tq: usize,
    d: usize,
    h: usize,
    scale: f32,
}

impl Heads {
    fn dh(&self) -> usize {
        self.d / self.h
    }

    /// The row in the sequence of query row `i`.
    fn row(&self, i: usize) -> usize {
        self.t - self.tq + i
    }
}

/// Query rows per block: each block's scores are computed only over the keys
/// some row of it may attend to.
const BLOCK_ROWS: usize = 32;

/// A bias at or below this masks its key (the trunk's masks are −1e9).
const MASKED: f32 = -1e8;

/// Query rows `rows` of one sequence and the keys `keys` that any of them may
/// attend to (empty when none may attend to any).
#[derive(Debug, Clone)]
struct Span {
    rows: Range<usize>,
    keys: Range<usize>,
}

impl Span {
    /// The span's probabilities, row-major [rows, keys].
    fn area(&self) -> usize {
        self.rows.len() * self.keys.len()
    }
}

/// The first and one past the last allowed key of a bias row, found 16 keys at
/// a time (a chunk holds an allowed key when its largest bias does).
fn allowed(row: &[f32]) -> Option<Range<usize>> {
    const C: usize = 16;
    let any = |c: &[f32]| c.iter().fold(f32::NEG_INFINITY, |m, &b| m.max(b)) > MASKED;
    let (first, last) = (row.chunks(C).position(any)?, row.chunks(C).rposition(any)?);
    let lo = first * C + row[first * C..].iter().position(|&b| b > MASKED)?;
    let hi = row[..((last + 1) * C).min(row.len())]
        .iter()
        .rposition(|&b| b > MASKED)?;
    Some(lo..hi + 1)
}

/// The spans of one sequence's bias [T_q, T] (query rows counted from the first
/// query), and the rows that attend to nothing.
/// Under a causal mask a block of rows ends its keys at its last row, and left
/// padding starts them at the first real token: on the trunk's batches that is
/// about half the scores. Every key a span leaves out has a bias of −1e9, so its
/// probability would have been below 1e-38.
fn spans(bias: &[f32], tq: usize, t: usize) -> (Vec<Span>, Vec<bool>) {
    let mut dead = vec![false; tq];
    let spans = (0..tq)
        .step_by(BLOCK_ROWS)
        .map(|r0| {
            let rows = r0..(r0 + BLOCK_ROWS).min(tq);
            let (mut c0, mut c1) = (t, 0);
            for i in rows.clone() {
                match allowed(&bias[i * t..(i + 1) * t]) {
                    Some(keys) => (c0, c1) = (c0.min(keys.start), c1.max(keys.end)),
                    None => dead[i] = true,
                }
            }
            let keys = if c0 < c1 { c0..c1 } else { 0..0 };
            Span { rows, keys }
        })
        .filter(|s| !s.keys.is_empty())
        .collect();
    (spans, dead)
}

/// One sequence's attention probabilities: the spans, and for each head in turn
/// each span's [rows, keys] block, one after the other.
#[derive(Debug)]
struct Probs {
    spans: Vec<Span>,
    p: Vec<f32>,
}

/// Forward: y [B, T_q, D] and each sequence's probabilities. A query row with no
/// allowed key gets y = 0 (there is nothing to attend to; such rows are left
/// padding, which no real row reads).
fn self_attention_forward(qkv: &[f32], bias: &[f32], s: Heads) -> (Vec<f32>, Vec<Probs>) {
    let Heads {
        t, tq, d, h, scale, ..
    } = s;
    let (dh, d3) = (s.dh(), 3 * d);
    let mut y = vec![0.0f32; s.b * tq * d];
    let sequence = |bi: usize, y: &mut [f32]| {
        let x = &qkv[bi * t * d3..(bi + 1) * t * d3];
        let bias = &bias[bi * tq * t..(bi + 1) * tq * t];
        let (spans, dead) = spans(bias, tq, t);
        let mut p: Vec<f32> = Vec::with_capacity(h * spans.iter().map(Span::area).sum::<usize>());
        for hi in 0..h {
            let (q, k, v) = (&x[hi * dh..], &x[d + hi * dh..], &x[2 * d + hi * dh..]);
            for Span { rows, keys } in &spans {
                let (m, n, at) = (rows.len(), keys.len(), p.len());
                let (qb, kb, vb) = (
                    &q[s.row(rows.start) * d3..],
                    &k[keys.start * d3..],
                    &v[keys.start * d3..],
                );
                // scores = q·kᵀ on the span, appended to p, then the row softmax in place.
                gemm(&mut p, true, (m, n, dh), qb, (d3, 1), kb, (1, d3));
                let pb = &mut p[at..];
                kernels::softmax_in_place(pb, n, scale, &bias[rows.start * t + keys.start..], t);
                for (i, row) in rows.clone().zip(pb.chunks_mut(n)) {
                    if dead[i] {
                        row.fill(0.0);
                    }
                }
                // y_head = p·v, written into the head's columns of y.
                let out = rows.start * d + hi * dh;
                gemm_at(y, out, d, true, (m, dh, n), pb, (n, 1), vb, (d3, 1));
            }
        }
        Probs { spans, p }
    };
    let probs = par::map_chunks(&mut y, tq * d, sequence);
    (y, probs)
}

/// Backward: d(qkv) [B, T, 3·D] from dy [B, T_q, D], over the forward's spans.
fn self_attention_backward(qkv: &[f32], probs: &[Probs], dy: &[f32], s: Heads) -> Vec<f32> {
    let Heads {
        t, tq, d, h, scale, ..
    } = s;
    let (dh, d3) = (s.dh(), 3 * d);
    let mut dqkv = vec![0.0f32; s.b * t * d3];
    let sequence = |bi: usize, dx: &mut [f32]| {
        let Probs { spans, p } = &probs[bi];
        let x = &qkv[bi * t * d3..(bi + 1) * t * d3];
        let dy = &dy[bi * tq * d..(bi + 1) * tq * d];
        let mut dp = Vec::new();
        let mut blocks = p.as_slice();
        for hi in 0..h {
            let (q, k, v) = (&x[hi * dh..], &x[d + hi * dh..], &x[2 * d + hi * dh..]);
            let dyh = &dy[hi * dh..];
            for Span { rows, keys } in spans {
                let (m, n) = (rows.len(), keys.len());
                let (pb, rest) = blocks.split_at(m * n);
                blocks = rest;
                let (qb, kb, vb) = (
                    &q[s.row(rows.start) * d3..],
                    &k[keys.start * d3..],
                    &v[keys.start * d3..],
                );
                let dyb = &dyh[rows.start * d..];
                // Where this block's rows and keys sit in d(qkv): dq, dk, dv.
                let at = |part: usize, row: usize| row * d3 + part * d + hi * dh;
                let (dq, dk, dv) = (
                    at(0, s.row(rows.start)),
                    at(1, keys.start),
                    at(2, keys.start),
                );
                // Each block adds to dk and dv of its keys: dv += pᵀ·dy.
                gemm_at(dx, dv, d3, false, (n, dh, m), pb, (1, n), dyb, (d, 1));
                // dp = dy·vᵀ, then ds = scale · p ⊙ (dp − Σ dp⊙p) in dp's place.
                dp.clear();
                dp.reserve(m * n);
                gemm(&mut dp, true, (m, n, dh), dyb, (d, 1), vb, (1, d3));
                kernels::softmax_backward_in_place(pb, &mut dp, n, scale);
                // dq += ds·k, dk += dsᵀ·q
                gemm_at(dx, dq, d3, false, (m, dh, n), &dp, (n, 1), kb, (d3, 1));
                gemm_at(dx, dk, d3, false, (n, dh, m), &dp, (1, n), qb, (d3, 1));
            }
        }
    };
    par::map_chunks(&mut dqkv, t * d3, sequence);
    dqkv
}

#[derive(Debug)]
struct SelfAttention;

impl Backward<Flex, 1> for SelfAttention {
    /// qkv, each sequence's probabilities and the shapes.
    type State = (FlexTensor, Arc<Vec<Probs>>, Heads);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node);
        if let Some(parent) = parent {
            let (qkv, probs, s) = ops.state;
            let dqkv = with_values(&qkv, |x, _| {
                with_values(&dy, |dy, _| self_attention_backward(x, &probs, dy, s))
            });
            grads.register::<Flex>(parent.id, flex(dqkv, &[s.b, s.t, 3 * s.d]));
        }
    }
}

pub fn self_attention(qkv: &Tensor<3>, bias: &Tensor<4>, n_heads: usize) -> Option<Tensor<3>> {
    if !super::fast_path() {
        return None;
    }
    let [b, t, d3] = qkv.dims();
    let d = d3 / 3;
    let tq = bias.dims()[2];
    if d3 % 3 != 0 || d % n_heads != 0 || tq > t || bias.dims() != [b, 1, tq, t] {
        return None;
    }
    let s = Heads {
        b,
        t,
        tq,
        d,
        h: n_heads,
        scale: 1.0 / ((d / n_heads) as f32).sqrt(),
    };
    let bias = match on(&bias.clone().detach())? {
        On::Plain(x) => x,
        On::Tracked(x) => x.primitive().clone(),
    };
    let forward = |x: &FlexTensor| {
        with_values(x, |x, _| {
            with_values(&bias, |bias, _| self_attention_forward(x, bias, s))
        })
    };
    Some(match on(qkv)? {
        On::Plain(x) => out(flex(forward(&x).0, &[b, tq, d])),
        On::Tracked(x) => {
            let (y, probs) = forward(x.primitive());
            let y = flex(y, &[b, tq, d]);
            let state = || (x.primitive().clone(), Arc::new(probs), s);
            node(SelfAttention, [x.node()], state, y)
        }
    })
}

/// The gradients of y = x·w (+ b) for dy [n, d_out]: dx = dy·wᵀ, dw = xᵀ·dy,
/// db = Σ over rows of dy, each only when asked for.
fn linear_backward(
    x: &FlexTensor,
    w: &FlexTensor,
    dy: &FlexTensor,
    [want_x, want_w, want_b]: [bool; 3],
) -> [Option<FlexTensor>; 3] {
    with_values(dy, |dy, dy_shape| {
        let (n, d_out) = (dy_shape[0], dy_shape[1]);
        with_values(x, |x, x_shape| {
            let d_in = x_shape[1];
            let dx = want_x.then(|| {
                with_values(w, |w, _| {
                    let mut dx = Vec::with_capacity(n * d_in);
                    gemm(
                        &mut dx,
                        true,
                        (n, d_in, d_out),
                        dy,
                        (d_out, 1),
                        w,
                        (1, d_out),
                    );
                    flex(dx, &[n, d_in])
                })
            });
            let dw = want_w.then(|| {
                let mut dw = Vec::with_capacity(d_in * d_out);
                gemm(
                    &mut dw,
                    true,
                    (d_in, d_out, n),
                    x,
                    (1, d_in),
                    dy,
                    (d_out, 1),
                );
                flex(dw, &[d_in, d_out])
            });
            let db = want_b.then(|| {
                let mut db = vec![0.0f32; d_out];
                for row in dy.chunks(d_out) {
                    db.iter_mut().zip(row).for_each(|(s, g)| *s += g);
                }
                flex(db, &[d_out])
            });
            [dx, dw, db]
        })
    })
}

/// x·w + b (parents x, w, b: N = 3) or x·w (parents x, w: N = 2, the LM head),
/// state x [n, d_in] and w [d_in, d_out].
#[derive(Debug)]
struct LinearOp;

impl<const N: usize> Backward<Flex, N> for LinearOp {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, w) = ops.state;
        let want = [0, 1, 2].map(|i| ops.parents.get(i).is_some_and(Option::is_some));
        for (p, g) in ops.parents.iter().zip(linear_backward(&x, &w, &dy, want)) {
            if let (Some(p), Some(g)) = (p, g) {
                grads.register::<Flex>(p.id, g);
            }
        }
    }
}

pub fn linear(x: &Tensor<2>, w: &Tensor<2>, bias: Option<&Tensor<1>>) -> Option<Tensor<2>> {
    if !super::fast_path() {
        return None;
    }
    let [n, d_in] = x.dims();
    let d_out = w.dims()[1];
    let forward = |x: &FlexTensor, w: &FlexTensor, b: Option<&FlexTensor>| {
        with_values(x, |x, _| {
            with_values(w, |w, _| match b {
                Some(b) => with_values(b, |b, _| linear_forward(x, w, Some(b), n, d_in, d_out)),
                None => linear_forward(x, w, None, n, d_in, d_out),
            })
        })
    };
    match (on(x)?, on(w)?, bias.map(on)) {
        (On::Plain(x), On::Plain(w), None) => Some(out(flex(forward(&x, &w, None), &[n, d_out]))),
        (On::Plain(x), On::Plain(w), Some(Some(On::Plain(b)))) => {
            Some(out(flex(forward(&x, &w, Some(&b)), &[n, d_out])))
        }
        (On::Tracked(x), On::Tracked(w), Some(Some(On::Tracked(b)))) => {
            let y = flex(
                forward(x.primitive(), w.primitive(), Some(b.primitive())),
                &[n, d_out],
            );
            let state = || (x.primitive().clone(), w.primitive().clone());
            Some(node(LinearOp, [x.node(), w.node(), b.node()], state, y))
        }
        (On::Tracked(x), On::Tracked(w), None) => {
            let y = flex(forward(x.primitive(), w.primitive(), None), &[n, d_out]);
            let state = || (x.primitive().clone(), w.primitive().clone());
            Some(node(LinearOp, [x.node(), w.node()], state, y))
        }
        // Mixed backends.
        _ => None,
    }
}

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

/// `y` as the output of `op` in the autodiff graph, with `inputs` as its parents;
/// `state` (what the backward needs) is kept only when some input wants a gradient.
fn node<O, S, const N: usize, const D: usize>(
    op: O,
    inputs: [NodeGuard; N],
    state: impl FnOnce() -> S,
    y: FlexTensor,
) -> Tensor<D>
where
    O: Backward<Flex, N, State = S>,
    S: Clone + Send + std::fmt::Debug + 'static,
{
    out_tracked(
        match op
            .prepare::<NoCheckpointing>(inputs)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(state(), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        },
    )
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
    if !super::fast_path() {
        return None;
    }
    let [b, r, v] = logits.dims();
    let forward = |t: &FlexTensor| with_values(t, |x, _| kernels::token_logprobs(x, v, tokens));
    Some(match on(logits)? {
        On::Plain(t) => out(flex(forward(&t).0, &[b, r])),
        On::Tracked(t) => {
            let (lp, lse) = forward(t.primitive());
            let lp = flex(lp, &[b, r]);
            let state = || {
                (
                    t.primitive().clone(),
                    Arc::new(tokens.to_vec()),
                    Arc::new(lse),
                )
            };
            node(TokenLogprobs, [t.node()], state, lp)
        }
    })
}

pub fn entropy(logits: &Tensor<3>) -> Option<Tensor<2>> {
    if !super::fast_path() {
        return None;
    }
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
    if !super::fast_path() {
        return None;
    }
    let forward = |t: &FlexTensor| {
        with_values(t, |x, shape| {
            flex(kernels::gelu(x, shape[shape.len() - 1]), shape)
        })
    };
    Some(match on(x)? {
        On::Plain(t) => out(forward(&t)),
        On::Tracked(t) => {
            let y = forward(t.primitive());
            node(Gelu, [t.node()], || t.primitive().clone(), y)
        }
    })
}

pub fn adam<const D: usize>(
    p: &Tensor<D>,
    g: &Tensor<D>,
    moments: Option<(&Tensor<D>, &Tensor<D>)>,
    step: kernels::AdamStep,
) -> Option<[Tensor<D>; 3]> {
    if !super::fast_path() {
        return None;
    }
    let plain = |t: &Tensor<D>| t.clone().try_into_primitive::<Flex>().ok();
    let (p, g) = (plain(p)?, plain(g)?);
    let (m, v) = match moments {
        Some((m, v)) => (Some(plain(m)?), Some(plain(v)?)),
        None => (None, None),
    };
    let (m, v) = (m.map(|t| t.to_contiguous()), v.map(|t| t.to_contiguous()));
    let (m, v) = match (&m, &v) {
        (Some(m), Some(v)) => (Some(m.as_slice::<f32>()?), Some(v.as_slice::<f32>()?)),
        _ => (None, None),
    };
    let (p, m, v) = with_values(&p, |p, shape| {
        with_values(&g, |g, _| {
            let (p, m, v) = kernels::adam(p, g, m, v, step);
            (flex(p, shape), flex(m, shape), flex(v, shape))
        })
    });
    Some([out(p), out(m), out(v)])
}

#[derive(Debug)]
struct LayerNormOp;

impl Backward<Flex, 3> for LayerNormOp {
    /// x, γ and ε.
    type State = (FlexTensor, FlexTensor, f32);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, gamma, eps) = ops.state;
        let grads_xgb = with_values(&x, |x, shape| {
            with_values(&gamma, |gamma, _| {
                with_values(&dy, |dy, _| {
                    let (dx, dg, db) = kernels::layer_norm_backward(x, dy, gamma, eps);
                    let d = [gamma.len()];
                    [flex(dx, shape), flex(dg, &d), flex(db, &d)]
                })
            })
        });
        for (p, g) in ops.parents.iter().zip(grads_xgb) {
            if let Some(p) = p {
                grads.register::<Flex>(p.id, g);
            }
        }
    }
}

pub fn layer_norm<const D: usize>(
    x: &Tensor<D>,
    gamma: &Tensor<1>,
    beta: &Tensor<1>,
    eps: f32,
) -> Option<Tensor<D>> {
    if !super::fast_path() {
        return None;
    }
    let forward = |x: &FlexTensor, g: &FlexTensor, b: &FlexTensor| {
        with_values(x, |x, shape| {
            with_values(g, |g, _| {
                with_values(b, |b, _| flex(kernels::layer_norm(x, g, b, eps), shape))
            })
        })
    };
    match (on(x)?, on(gamma)?, on(beta)?) {
        // burn's Flex has a plain layer-norm forward of its own; this path takes the
        // same kernel as the tracked one, so inference and training share one formula.
        (On::Plain(x), On::Plain(g), On::Plain(b)) => Some(out(forward(&x, &g, &b))),
        (On::Tracked(x), On::Tracked(g), On::Tracked(b)) => {
            let y = forward(x.primitive(), g.primitive(), b.primitive());
            let state = || (x.primitive().clone(), g.primitive().clone(), eps);
            Some(node(LayerNormOp, [x.node(), g.node(), b.node()], state, y))
        }
        _ => None,
    }
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
    if !super::fast_path() {
        return None;
    }
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
                let y = kernels::softmax(x, tk, scale, bias, |row| (row / (h * t)) * t + row % t);
                flex(y, shape)
            })
        })
    };
    Some(match on(&scores)? {
        On::Plain(s) => out(forward(&s)),
        On::Tracked(s) => {
            let y = forward(s.primitive());
            let state = (y.clone(), scale); // cheap: the buffer is shared
            node(ScaledSoftmax, [s.node()], || state, y)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::model::ops;
    use burn::module::Module;
    use burn::tensor::Distribution;
    use burn::tensor::Int;
    use burn::tensor::activation::log_softmax;
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
        assert!(matches!(on(&x1), Some(On::Tracked(_))));
        assert!(matches!(on(&x1.clone().inner()), Some(On::Plain(_))));
        let fused = ops::token_logprobs(x1.clone(), &tokens);
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
            &vec(ops::entropy(x.clone())),
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
            &vec(ops::token_logprobs(inner.clone(), &tokens)),
            &vec(want_lp),
            1e-5,
            "plain",
        );
        close(
            &vec(ops::entropy(inner)),
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
                ops::attention(q.clone(), k.clone(), v.clone(), bias.clone())
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
        let y = ops::attention(q.inner(), k.inner(), v.inner(), bias.inner());
        close(&vec(y), &plain[0], 1e-5, "plain output");
    }

    #[test]
    fn gelu_equals_burns_with_gradients() {
        let device = cpu().autodiff();
        let x = Tensor::<3>::random([2, 3, 70], Distribution::Normal(0.0, 2.0), &device);
        let w = Tensor::<3>::random([2, 3, 70], Distribution::Normal(0.0, 1.0), &device);
        let x1 = x.clone().require_grad();
        assert!(matches!(on(&x1), Some(On::Tracked(_))));
        let y1 = ops::gelu(x1.clone());
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
        close(&vec(ops::gelu(x.inner())), &vec(y2.inner()), 1e-5, "plain");
    }

    #[test]
    fn layer_norm_equals_burns_with_gradients() {
        use burn::module::Param;
        use burn::nn::LayerNormConfig;
        let device = cpu().autodiff();
        let (d, eps) = (24, 1e-5);
        let mut ln = LayerNormConfig::new(d).with_epsilon(eps).init(&device);
        let random =
            |shape: [usize; 1]| Tensor::<1>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        ln.gamma = Param::from_tensor(random([d]) + 1.0);
        ln.beta = Some(Param::from_tensor(random([d])));
        let x = Tensor::<3>::random([3, 7, d], Distribution::Normal(0.5, 2.0), &device);
        let w = Tensor::<3>::random([3, 7, d], Distribution::Normal(0.0, 1.0), &device);
        let beta = || ln.beta.as_ref().map(|b| b.val()).unwrap();
        let run = |fused: bool| {
            let x = x.clone().require_grad();
            let xi = x.clone() * 1.0;
            let y = if fused {
                assert!(
                    layer_norm(&xi, &ln.gamma.val(), &beta(), eps as f32).is_some(),
                    "the Flex path is the one under test"
                );
                ops::layer_norm(&ln, xi, eps)
            } else {
                ln.forward(xi)
            };
            let g = (y.clone() * w.clone()).sum().backward();
            [
                vec(y),
                vec(x.grad(&g).unwrap()),
                vec(ln.gamma.val().grad(&g).unwrap()),
                vec(beta().grad(&g).unwrap()),
            ]
        };
        let (fused, plain) = (run(true), run(false));
        for (i, what) in ["output", "dx", "dγ", "dβ"].iter().enumerate() {
            close(&fused[i], &plain[i], 1e-5, what);
        }
        let inner = ln.valid();
        close(
            &vec(ops::layer_norm(&inner, x.clone().inner(), eps)),
            &vec(inner.forward(x.inner())),
            1e-5,
            "plain",
        );
    }

    #[test]
    fn linear_equals_burns_with_gradients() {
        use burn::nn::LinearConfig;
        let device = cpu().autodiff();
        for bias in [true, false] {
            let layer = LinearConfig::new(9, 13).with_bias(bias).init(&device);
            let x = Tensor::<3>::random([2, 5, 9], Distribution::Normal(0.0, 1.0), &device);
            let w = Tensor::<3>::random([2, 5, 13], Distribution::Normal(0.0, 1.0), &device);
            let run = |fused: bool| {
                let x = x.clone().require_grad();
                let xi = x.clone() * 1.0;
                let y = if fused {
                    ops::linear(&layer, xi)
                } else {
                    layer.forward(xi)
                };
                let g = (y.clone() * w.clone()).sum().backward();
                let mut out = vec![
                    vec(y),
                    vec(x.grad(&g).unwrap()),
                    vec(layer.weight.val().grad(&g).unwrap()),
                ];
                if let Some(b) = &layer.bias {
                    out.push(vec(b.val().grad(&g).unwrap()));
                }
                out
            };
            let (fused, plain) = (run(true), run(false));
            for (i, what) in ["output", "dx", "dw", "db"]
                .iter()
                .enumerate()
                .take(fused.len())
            {
                close(&fused[i], &plain[i], 1e-5, what);
            }
            let inner = layer.valid();
            close(
                &vec(ops::linear(&inner, x.clone().inner())),
                &vec(inner.forward(x.clone().inner())),
                1e-5,
                "plain",
            );
        }
        // The Flex path is the one under test, with and without a bias.
        let layer = LinearConfig::new(9, 13).init(&device);
        let x = Tensor::<2>::random([4, 9], Distribution::Normal(0.0, 1.0), &device).require_grad()
            * 1.0;
        let b = layer.bias.as_ref().map(|p| p.val());
        assert!(linear(&x, &layer.weight.val(), b.as_ref()).is_some());
        assert!(linear(&x, &layer.weight.val(), None).is_some());
    }

    #[test]
    fn self_attention_equals_split_heads_attention_with_gradients() {
        let device = cpu().autodiff();
        // 70 positions: three blocks of query rows (BLOCK_ROWS = 32).
        let (b, t, d, h) = (4, 70, 8, 2);
        let qkv = Tensor::<3>::random([b, t, 3 * d], Distribution::Normal(0.0, 1.0), &device);
        // Row 0 causal; rows 1 and 2 causal with 5 and 40 left-padding keys (40 spans a
        // whole block); row 3 not causal, its first 3 keys padding.
        let pad = [0, 5, 40, 3];
        let masked = |bi: usize, i: usize, j: usize| j < pad[bi] || (bi < 3 && j > i);
        let bias: Vec<f32> = (0..b)
            .flat_map(|bi| {
                (0..t).flat_map(move |i| {
                    (0..t).map(move |j| if masked(bi, i, j) { -1e9 } else { 0.0 })
                })
            })
            .collect();
        // A query row that may attend to no key (left padding under the causal mask).
        let dead = |bi: usize, i: usize| (0..t).all(|j| masked(bi, i, j));
        let bias = Tensor::<4>::from_data(TensorData::new(bias, [b, 1, t, t]), &device);
        // The loss weights: zero on dead rows, whose outputs the two paths define differently.
        let w: Vec<f32> = vec(Tensor::<3>::random(
            [b, t, d],
            Distribution::Normal(0.0, 1.0),
            &device,
        ));
        let w: Vec<f32> = w
            .chunks(d)
            .enumerate()
            .flat_map(|(r, row)| {
                let keep = if dead(r / t, r % t) { 0.0 } else { 1.0 };
                row.iter().map(move |x| x * keep)
            })
            .collect();
        let w = Tensor::<3>::from_data(TensorData::new(w, [b, t, d]), &device);
        let run = |fused: bool| {
            let x = qkv.clone().require_grad();
            let xi = x.clone() * 1.0;
            let y = if fused {
                assert!(
                    self_attention(&xi, &bias, h).is_some(),
                    "the Flex path is the one under test"
                );
                ops::self_attention(xi, bias.clone(), h)
            } else {
                let heads = |i: usize| {
                    xi.clone()
                        .narrow(2, i * d, d)
                        .reshape([b, t, h, d / h])
                        .swap_dims(1, 2)
                };
                let scores = heads(0).matmul(heads(1).swap_dims(2, 3)) / ((d / h) as f32).sqrt()
                    + bias.clone();
                softmax(scores, 3)
                    .matmul(heads(2))
                    .swap_dims(1, 2)
                    .reshape([b, t, d])
            };
            let g = (y.clone() * w.clone()).sum().backward();
            [vec(y), vec(x.grad(&g).unwrap())]
        };
        let (fused, plain) = (run(true), run(false));
        // Outputs of the rows that attend to something; dead rows give 0 on the fused path.
        let live = |y: &[f32]| -> Vec<f32> {
            y.chunks(d)
                .enumerate()
                .filter(|(r, _)| !dead(r / t, r % t))
                .flat_map(|(_, row)| row.to_vec())
                .collect()
        };
        close(&live(&fused[0]), &live(&plain[0]), 1e-5, "output");
        close(&fused[1], &plain[1], 1e-5, "d(qkv)");
        let n_dead = (0..b * t).filter(|&r| dead(r / t, r % t)).count();
        assert_eq!(
            n_dead,
            5 + 40,
            "the test has dead rows in a mixed and a whole block"
        );
        for (r, row) in fused[0].chunks(d).enumerate() {
            if dead(r / t, r % t) {
                assert!(row.iter().all(|&y| y == 0.0), "dead row {r}: {row:?}");
            }
        }
        let y = ops::self_attention(qkv.inner(), bias.inner(), h);
        close(&live(&vec(y)), &live(&plain[0]), 1e-5, "plain output");
    }
}
