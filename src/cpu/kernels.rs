//! Row kernels behind [`super::fused`]: plain loops over row-major `f32` slices,
//! written so the compiler vectorises them (eight independent accumulators, an
//! `exp` without a library call). Natively the rows are spread over rayon's threads.
//!
//! Every kernel is checked against a direct f64 formula in the tests below.

/// x limited to [lo, hi]. Not `f32::clamp`, whose NaN handling kept the row
/// reductions below from vectorising (measured: 2.3 ms against 0.8 ms per 1 M logits).
#[inline(always)]
#[allow(clippy::manual_clamp)]
fn clamp(x: f32, lo: f32, hi: f32) -> f32 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

/// `e^x` in f32, Cephes' `expf`: x = k·ln 2 + r with |r| ≤ ln2/2, e^r by a degree-7
/// polynomial, 2^k through the exponent bits. Relative error below 1e-7 on
/// [−87, 88]; 0 below −87.3 (where f32 turns subnormal), +∞ above 88.7.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2^23 + 127 rounds x·log2(e) to the nearest integer k and leaves k + 127
    // in the low mantissa bits: no libm call, no float→int conversion, so it vectorises.
    const SHIFT: f32 = 12_582_912.0 + 127.0;
    let xc = clamp(x, -87.3, 88.7);
    let kb = xc * LOG2E + SHIFT;
    let k = kb - SHIFT;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    // 2^k: the exponent field k + 127, taken from kb's mantissa (1.5·2^23 is 0x4B40_0000).
    let two_k = f32::from_bits(kb.to_bits().wrapping_sub(0x4B40_0000) << 23);
    if x < -87.3 {
        0.0
    } else if x > 88.7 {
        f32::INFINITY
    } else {
        er * two_k
    }
}

/// erf(x) in f32 as a rational function of x (Eigen's and XLA's `erf` for f32):
/// odd degree-13 numerator over even degree-8 denominator, on x clamped to [−4, 4]
/// (beyond, erf is ±1 in f32). Absolute error below 1e-6.
#[inline(always)]
#[allow(clippy::excessive_precision)]
pub fn erf(x: f32) -> f32 {
    let x = clamp(x, -4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_258_013_06e-10 + 2.770_681_424_959_02e-8;
    p = x2 * p - 2.101_024_020_825_08e-6;
    p = x2 * p - 5.692_506_394_623_46e-5;
    p = x2 * p - 7.349_906_303_268_55e-4;
    p = x2 * p - 2.954_599_808_540_25e-3;
    p = x2 * p - 1.609_603_332_624_15e-2;
    let mut q = x2 * -1.456_607_184_649_96e-5 - 2.133_740_552_789_05e-4;
    q = x2 * q - 1.682_826_974_382_03e-3;
    q = x2 * q - 7.373_329_167_204_68e-3;
    q = x2 * q - 1.426_473_905_141_89e-2;
    x * p / q
}

const L: usize = 8;

// The loops below are written for the compiler to vectorise, and the default x86-64
// target lets it use only 4-wide SSE2: `multiversion` compiles each hot kernel for
// AVX-512 and AVX2 too and picks the widest the CPU has at run time. In the browser
// the one build is wasm32 with simd128 (.cargo/config.toml).
use multiversion::multiversion;

#[inline(always)]
fn max(row: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; L];
    let chunks = row.chunks_exact(L);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..L {
            acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] };
        }
    }
    rest.iter()
        .chain(acc.iter())
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// (Σ e^(x−m), Σ e^(x−m)·x) over a row.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn exp_sums(row: &[f32], m: f32) -> (f32, f32) {
    let (mut s, mut t) = ([0.0f32; L], [0.0f32; L]);
    let chunks = row.chunks_exact(L);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..L {
            let e = exp(c[i] - m);
            s[i] += e;
            t[i] += e * c[i];
        }
    }
    for &x in rest {
        let e = exp(x - m);
        s[0] += e;
        t[0] += e * x;
    }
    (s.iter().sum(), t.iter().sum())
}

/// Rows of `width` in `data`, with `out` chunks of `out_width` each, in parallel natively
/// ([`super::par::map_chunks`]).
fn rows<F>(data: &[f32], width: usize, out: &mut [f32], out_width: usize, f: F)
where
    F: Fn(usize, &[f32], &mut [f32]) + Sync + Send,
{
    // Enough rows per task that a task is worth a thread hop (~32k elements).
    let per = (32_768 / width.max(1)).max(1);
    super::par::map_chunks(out, out_width * per, |j, o| {
        for (i, o) in o.chunks_mut(out_width).enumerate() {
            let r = j * per + i;
            f(r, &data[r * width..(r + 1) * width], o);
        }
    });
}

/// log softmax(x)[token] per row of `x` [n, v], and each row's log-sum-exp.
pub fn token_logprobs(x: &[f32], v: usize, tokens: &[u32]) -> (Vec<f32>, Vec<f32>) {
    let mut out = vec![0.0f32; 2 * tokens.len()];
    rows(x, v, &mut out, 2, |r, row, o| {
        let m = max(row);
        let lse = m + exp_sums(row, m).0.ln();
        o[0] = row[tokens[r] as usize] - lse;
        o[1] = lse;
    });
    let (lp, lse) = out.chunks(2).map(|o| (o[0], o[1])).unzip();
    (lp, lse)
}

/// The gradient of [`token_logprobs`]: dx = g · (onehot(token) − softmax(x)) per row.
pub fn token_logprobs_backward(
    x: &[f32],
    v: usize,
    tokens: &[u32],
    lse: &[f32],
    g: &[f32],
) -> Vec<f32> {
    let mut dx = vec![0.0f32; x.len()];
    rows(x, v, &mut dx, v, |r, row, d| {
        softmax_times(row, lse[r], -g[r], d);
        d[tokens[r] as usize] += g[r];
    });
    dx
}

/// d ← c · e^(x − lse), a softmax row times c.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn softmax_times(x: &[f32], lse: f32, c: f32, d: &mut [f32]) {
    for (d, &x) in d.iter_mut().zip(x) {
        *d = c * exp(x - lse);
    }
}

/// Entropy −Σ p·log p of softmax(x) per row of `x` [n, v].
pub fn entropy(x: &[f32], v: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len() / v.max(1)];
    rows(x, v, &mut out, 1, |_, row, o| {
        let m = max(row);
        let (s, t) = exp_sums(row, m);
        // H = log Σe^x − Σ p·x = m + ln s − t/s.
        o[0] = m + s.ln() - t / s;
    });
    out
}

/// softmax(x·scale + bias) per row of `x` [rows, k]; row r uses bias row `bias_row(r)`.
pub fn softmax(
    x: &[f32],
    k: usize,
    scale: f32,
    bias: &[f32],
    bias_row: impl Fn(usize) -> usize + Sync + Send,
) -> Vec<f32> {
    let mut y = vec![0.0f32; x.len()];
    rows(x, k, &mut y, k, |r, row, y| {
        y.copy_from_slice(row);
        softmax_row(y, scale, &bias[bias_row(r) * k..][..k]);
    });
    y
}

/// [`softmax`] of `x` [rows, k] in place, on this thread: row r with the k biases
/// at `bias[r · bias_stride..]` (so a block of a wider bias matrix can be passed).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub fn softmax_in_place(x: &mut [f32], k: usize, scale: f32, bias: &[f32], bias_stride: usize) {
    for (r, row) in x.chunks_mut(k).enumerate() {
        softmax_row(row, scale, &bias[r * bias_stride..][..k]);
    }
}

/// [`softmax_backward`] on this thread, in place: dy ← scale · y ⊙ (dy − Σ dy⊙y).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub fn softmax_backward_in_place(y: &[f32], dy: &mut [f32], k: usize, scale: f32) {
    for (y, dy) in y.chunks(k).zip(dy.chunks_mut(k)) {
        let mut acc = [0.0f32; L];
        let chunks = y.chunks_exact(L).zip(dy.chunks_exact(L));
        let mut dot = 0.0;
        for (a, b) in y[k - k % L..].iter().zip(&dy[k - k % L..]) {
            dot += a * b;
        }
        for (a, b) in chunks {
            for i in 0..L {
                acc[i] += a[i] * b[i];
            }
        }
        let dot = dot + acc.iter().sum::<f32>();
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = scale * y * (*d - dot);
        }
    }
}

/// One row: y ← softmax(y·scale + b).
#[inline(always)]
fn softmax_row(y: &mut [f32], scale: f32, b: &[f32]) {
    for (y, &b) in y.iter_mut().zip(b) {
        *y = *y * scale + b;
    }
    let m = max(y);
    let mut s = [0.0f32; L];
    let mut chunks = y.chunks_exact_mut(L);
    for c in &mut chunks {
        for i in 0..L {
            c[i] = exp(c[i] - m);
            s[i] += c[i];
        }
    }
    let mut s0 = 0.0;
    for y in chunks.into_remainder() {
        *y = exp(*y - m);
        s0 += *y;
    }
    let inv = 1.0 / (s.iter().sum::<f32>() + s0);
    y.iter_mut().for_each(|y| *y *= inv);
}

/// The gradient of [`softmax`] with respect to x: scale · y ⊙ (dy − Σ dy⊙y) per row
/// ([`softmax_backward_in_place`] on a copy of dy).
pub fn softmax_backward(y: &[f32], dy: &[f32], k: usize, scale: f32) -> Vec<f32> {
    let mut dx = dy.to_vec();
    softmax_backward_in_place(y, &mut dx, k, scale);
    dx
}

/// GELU, x·Φ(x) = ½·x·(1 + erf(x/√2)), element-wise; `width` only groups the work.
pub fn gelu(x: &[f32], width: usize) -> Vec<f32> {
    let mut y = vec![0.0f32; x.len()];
    rows(x, width, &mut y, width, |_, x, y| gelu_row(x, y));
    y
}

#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn gelu_row(x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// The gradient of [`gelu`]: dy · (Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π).
pub fn gelu_backward(x: &[f32], dy: &[f32], width: usize) -> Vec<f32> {
    let mut dx = vec![0.0f32; x.len()];
    rows(x, width, &mut dx, width, |r, x, d| {
        gelu_backward_row(x, &dy[r * width..(r + 1) * width], d);
    });
    dx
}

#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn gelu_backward_row(x: &[f32], dy: &[f32], d: &mut [f32]) {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    for ((d, &x), &g) in d.iter_mut().zip(x).zip(dy) {
        let cdf = 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
        *d = g * (cdf + x * INV_SQRT_2PI * exp(-0.5 * x * x));
    }
}

/// Σ of a row, with [`L`] accumulators so that it vectorises.
#[inline(always)]
fn sum(row: &[f32]) -> f32 {
    let mut acc = [0.0f32; L];
    let chunks = row.chunks_exact(L);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for i in 0..L {
            acc[i] += c[i];
        }
    }
    rest + acc.iter().sum::<f32>()
}

/// Σ a ⊙ b, with [`L`] accumulators so that it vectorises.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; L];
    let (ca, cb) = (a.chunks_exact(L), b.chunks_exact(L));
    let rest: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..L {
            acc[i] += x[i] * y[i];
        }
    }
    rest + acc.iter().sum::<f32>()
}

/// (μ, 1/√(σ² + ε)) of a row, σ² the biased variance (two passes, as burn's layer norm).
#[inline(always)]
fn moments(x: &[f32], eps: f32) -> (f32, f32) {
    let n = x.len() as f32;
    let mean = sum(x) / n;
    let mut acc = [0.0f32; L];
    let chunks = x.chunks_exact(L);
    let mut rest = 0.0;
    for &v in chunks.remainder() {
        rest += (v - mean) * (v - mean);
    }
    for c in chunks {
        for i in 0..L {
            acc[i] += (c[i] - mean) * (c[i] - mean);
        }
    }
    let var = (rest + acc.iter().sum::<f32>()) / n;
    (mean, 1.0 / (var + eps).sqrt())
}

/// One row of [`layer_norm_backward`]: its dx, added to dγ and dβ (`g` is scratch).
#[allow(clippy::too_many_arguments)]
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn layer_norm_backward_row(
    x: &[f32],
    dy: &[f32],
    gamma: &[f32],
    eps: f32,
    g: &mut [f32],
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let (mean, rstd) = moments(x, eps);
    // x̂ (in dx for now) and g = dy ⊙ γ; dγ += dy ⊙ x̂, dβ += dy.
    for k in 0..x.len() {
        dx[k] = (x[k] - mean) * rstd;
        g[k] = dy[k] * gamma[k];
        dgamma[k] += dy[k] * dx[k];
        dbeta[k] += dy[k];
    }
    let n = x.len() as f32;
    let (mg, mgx) = (sum(g) / n, dot(g, dx) / n);
    for (dx, &g) in dx.iter_mut().zip(g.iter()) {
        *dx = rstd * (g - mg - *dx * mgx);
    }
}

/// Layer norm of each row of `x` [n, d] (d = γ's length): (x − μ)/√(σ² + ε)·γ + β.
pub fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32) -> Vec<f32> {
    let d = gamma.len();
    let mut y = vec![0.0f32; x.len()];
    rows(x, d, &mut y, d, |_, x, y| {
        layer_norm_row(x, gamma, beta, eps, y)
    });
    y
}

#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn layer_norm_row(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, y: &mut [f32]) {
    let (mean, rstd) = moments(x, eps);
    for (((y, &x), &g), &b) in y.iter_mut().zip(x).zip(gamma).zip(beta) {
        *y = (x - mean) * rstd * g + b;
    }
}

/// The gradients of [`layer_norm`] for dy [n, d]: with x̂ = (x − μ)·r, r = 1/√(σ² + ε)
/// and g = dy ⊙ γ,
///   dx = r · (g − mean(g) − x̂ · mean(g ⊙ x̂))   per row,
///   dγ = Σ_rows dy ⊙ x̂,   dβ = Σ_rows dy.
/// The row statistics are recomputed from x (one more read, no saved state). dγ and
/// dβ are summed per block of rows, then over the blocks in order, so the result does
/// not depend on how the blocks were scheduled.
pub fn layer_norm_backward(
    x: &[f32],
    dy: &[f32],
    gamma: &[f32],
    eps: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let d = gamma.len();
    let per = (32_768 / d.max(1)).max(1);
    let mut dx = vec![0.0f32; x.len()];
    // One block of `per` rows: its rows of dx, and its partial [dγ | dβ].
    let block = |j: usize, dx: &mut [f32]| -> Vec<f32> {
        let mut part = vec![0.0f32; 2 * d];
        let (dgamma, dbeta) = part.split_at_mut(d);
        let mut g = vec![0.0f32; d];
        for (i, dx) in dx.chunks_mut(d).enumerate() {
            let r = j * per + i;
            let (x, dy) = (&x[r * d..][..d], &dy[r * d..][..d]);
            layer_norm_backward_row(x, dy, gamma, eps, &mut g, dx, dgamma, dbeta);
        }
        part
    };
    let parts = super::par::map_chunks(&mut dx, per * d, block);
    let mut total = vec![0.0f32; 2 * d];
    for part in &parts {
        total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
    }
    let dbeta = total.split_off(d);
    (dx, total, dbeta)
}

/// The constants of one Adam step (burn's `AdaptiveMomentum`, step t counted from 1).
#[derive(Debug, Clone, Copy)]
pub struct AdamStep {
    pub beta_1: f32,
    pub beta_2: f32,
    /// lr · √(1 − β2^t) / (1 − β1^t)
    pub rate: f32,
    /// ε · √(1 − β2^t)
    pub eps: f32,
}

/// One Adam step on a parameter's values p with gradient g and moments m, v (None
/// at the first step, i.e. zeros): returns the new (p, m, v),
///   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²,  p ← p − rate·m / (√v + eps).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub fn adam(
    p: &[f32],
    g: &[f32],
    m: Option<&[f32]>,
    v: Option<&[f32]>,
    k: AdamStep,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = p.len();
    assert!(g.len() == n && m.is_none_or(|m| m.len() == n) && v.is_none_or(|v| v.len() == n));
    let (b1, b2) = (k.beta_1, k.beta_2);
    let m: Vec<f32> = match m {
        Some(m) => m
            .iter()
            .zip(g)
            .map(|(m, g)| m * b1 + g * (1.0 - b1))
            .collect(),
        None => g.iter().map(|g| g * (1.0 - b1)).collect(),
    };
    let v: Vec<f32> = match v {
        Some(v) => v
            .iter()
            .zip(g)
            .map(|(v, g)| v * b2 + g * g * (1.0 - b2))
            .collect(),
        None => g.iter().map(|g| g * g * (1.0 - b2)).collect(),
    };
    let p = p
        .iter()
        .zip(&m)
        .zip(&v)
        .map(|((p, m), v)| p - k.rate * m / (v.sqrt() + k.eps))
        .collect();
    (p, m, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(n: usize, spread: f32, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(-spread..spread)).collect()
    }

    fn log_softmax_f64(row: &[f32]) -> Vec<f64> {
        let m = row
            .iter()
            .fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x)));
        let lse = m + row
            .iter()
            .map(|&x| (f64::from(x) - m).exp())
            .sum::<f64>()
            .ln();
        row.iter().map(|&x| f64::from(x) - lse).collect()
    }

    /// Layer norm of one row in f64, the reference of the layer-norm tests.
    fn layer_norm_f64(x: &[f64], gamma: &[f64], beta: &[f64], eps: f64) -> Vec<f64> {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let r = 1.0 / (var + eps).sqrt();
        (0..x.len())
            .map(|k| (x[k] - mean) * r * gamma[k] + beta[k])
            .collect()
    }

    #[test]
    fn layer_norm_and_its_gradients_match_f64_and_central_differences() {
        // 230 rows of 300: the backward's row blocks hold 109 rows, so three blocks.
        let (n, d, eps) = (230, 300, 1e-5);
        let x: Vec<f32> = random(n * d, 3.0, 11)
            .iter()
            .enumerate()
            .map(|(i, v)| v + (i / d) as f32 * 0.01) // a different mean per row
            .collect();
        let gamma: Vec<f32> = random(d, 1.0, 12).iter().map(|g| 1.0 + g).collect();
        let beta = random(d, 0.5, 13);
        let w = random(n * d, 1.0, 14); // the loss Σ w ⊙ y
        let f64s = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
        let (x64, g64, b64, w64) = (f64s(&x), f64s(&gamma), f64s(&beta), f64s(&w));
        let loss = |x: &[f64], g: &[f64], b: &[f64]| -> f64 {
            x.chunks(d)
                .zip(w64.chunks(d))
                .map(|(x, w)| {
                    let y = layer_norm_f64(x, g, b, eps);
                    y.iter().zip(w).map(|(y, w)| y * w).sum::<f64>()
                })
                .sum()
        };
        let y = layer_norm(&x, &gamma, &beta, eps as f32);
        for (r, row) in y.chunks(d).enumerate() {
            let want = layer_norm_f64(&x64[r * d..][..d], &g64, &b64, eps);
            for (a, b) in row.iter().zip(&want) {
                assert!((f64::from(*a) - b).abs() < 1e-5, "y: {a} against {b}");
            }
        }
        let (dx, dgamma, dbeta) = layer_norm_backward(&x, &w, &gamma, eps as f32);
        let h = 1e-4;
        let central = |f: &dyn Fn(f64) -> f64| (f(h) - f(-h)) / (2.0 * h);
        let close = |got: f32, want: f64, what: &str| {
            let tol = 1e-3 * (1.0 + want.abs());
            assert!(
                (f64::from(got) - want).abs() < tol,
                "{what}: {got} against {want}"
            );
        };
        // Perturbing x[i] moves only its row: check every 7th element by its row's loss.
        for i in (0..n * d).step_by(7) {
            let r = i / d;
            let want = central(&|e| {
                let mut row = x64[r * d..][..d].to_vec();
                row[i % d] += e;
                let y = layer_norm_f64(&row, &g64, &b64, eps);
                y.iter().zip(&w64[r * d..][..d]).map(|(y, w)| y * w).sum()
            });
            close(dx[i], want, "dx");
        }
        for k in (0..d).step_by(5) {
            let want = central(&|e| {
                let mut g = g64.clone();
                g[k] += e;
                loss(&x64, &g, &b64)
            });
            close(dgamma[k], want, "dγ");
            let want = central(&|e| {
                let mut b = b64.clone();
                b[k] += e;
                loss(&x64, &g64, &b)
            });
            close(dbeta[k], want, "dβ");
        }
    }

    #[test]
    fn exp_matches_f64_to_about_one_ulp_and_saturates() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * i as f32 / 200_000.0;
            let want = f64::from(x).exp();
            worst = worst.max((f64::from(exp(x)) - want).abs() / want);
        }
        assert!(worst < 1.5e-7, "largest relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1e9), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(100.0), f32::INFINITY);
    }

    #[test]
    fn token_logprobs_and_entropy_match_log_softmax() {
        let (n, v) = (37, 1003); // not multiples of the lane count
        let x = random(n * v, 12.0, 1);
        let tokens: Vec<u32> = (0..n as u32).map(|i| (i * 97) % v as u32).collect();
        let (lp, lse) = token_logprobs(&x, v, &tokens);
        let h = entropy(&x, v);
        for r in 0..n {
            let ls = log_softmax_f64(&x[r * v..(r + 1) * v]);
            let want_lp = ls[tokens[r] as usize];
            let want_h: f64 = -ls.iter().map(|l| l.exp() * l).sum::<f64>();
            assert!(
                (f64::from(lp[r]) - want_lp).abs() < 1e-5,
                "row {r}: {} vs {want_lp}",
                lp[r]
            );
            assert!(
                (f64::from(h[r]) - want_h).abs() < 1e-4,
                "row {r}: {} vs {want_h}",
                h[r]
            );
            let want_lse = f64::from(x[r * v]) - ls[0];
            assert!((f64::from(lse[r]) - want_lse).abs() < 1e-4);
        }
        // Uniform logits: entropy ln v, every log-prob −ln v.
        let (lp, _) = token_logprobs(&vec![3.0; 2 * 64], 64, &[0, 63]);
        assert!(lp.iter().all(|l| (l + (64f32).ln()).abs() < 1e-6), "{lp:?}");
        assert!((entropy(&[3.0; 64], 64)[0] - (64f32).ln()).abs() < 1e-5);
    }

    #[test]
    fn token_logprobs_gradient_is_onehot_minus_softmax() {
        // Against central differences of the f64 log-softmax.
        let (n, v) = (3, 11);
        let x = random(n * v, 3.0, 2);
        let tokens = [4u32, 0, 10];
        let g = [1.0f32, -0.5, 2.0];
        let (_, lse) = token_logprobs(&x, v, &tokens);
        let dx = token_logprobs_backward(&x, v, &tokens, &lse, &g);
        let eps = 1e-3f32;
        for r in 0..n {
            for j in 0..v {
                let f = |d: f32| {
                    let mut row = x[r * v..(r + 1) * v].to_vec();
                    row[j] += d;
                    log_softmax_f64(&row)[tokens[r] as usize]
                };
                let num = f64::from(g[r]) * (f(eps) - f(-eps)) / (2.0 * f64::from(eps));
                let got = f64::from(dx[r * v + j]);
                assert!((got - num).abs() < 1e-3, "row {r} col {j}: {got} vs {num}");
            }
        }
    }

    #[test]
    fn softmax_with_bias_and_its_gradient() {
        let (rows_n, k) = (6, 13);
        let x = random(rows_n * k, 4.0, 3);
        // Two bias rows; row r uses bias row r % 2. Masked keys get −1e9.
        let mut bias = vec![0.0f32; 2 * k];
        bias[k - 1] = -1e9;
        bias[k + 2] = -1e9;
        bias[k + 5] = 0.5;
        let scale = 0.25;
        let y = softmax(&x, k, scale, &bias, |r| r % 2);
        let reference = |r: usize, x: &[f32]| -> Vec<f64> {
            let z: Vec<f32> = (0..k)
                .map(|j| x[j] * scale + bias[(r % 2) * k + j])
                .collect();
            log_softmax_f64(&z).iter().map(|l| l.exp()).collect()
        };
        for r in 0..rows_n {
            let want = reference(r, &x[r * k..(r + 1) * k]);
            for j in 0..k {
                assert!((f64::from(y[r * k + j]) - want[j]).abs() < 1e-6);
            }
        }
        assert_eq!(y[k - 1], 0.0);
        assert_eq!(y[k + 2], 0.0);
        // d/dx of Σ dy·y against central differences.
        let dy = random(rows_n * k, 1.0, 4);
        let dx = softmax_backward(&y, &dy, k, scale);
        let mut in_place = dy.clone();
        softmax_backward_in_place(&y, &mut in_place, k, scale);
        assert!(dx.iter().zip(&in_place).all(|(a, b)| (a - b).abs() < 1e-6));
        let eps = 1e-3f32;
        for r in 0..rows_n {
            for j in 0..k {
                let f = |d: f32| {
                    let mut row = x[r * k..(r + 1) * k].to_vec();
                    row[j] += d;
                    let p = reference(r, &row);
                    (0..k).map(|i| f64::from(dy[r * k + i]) * p[i]).sum::<f64>()
                };
                let num = (f(eps) - f(-eps)) / (2.0 * f64::from(eps));
                let got = f64::from(dx[r * k + j]);
                assert!((got - num).abs() < 1e-4, "row {r} col {j}: {got} vs {num}");
            }
        }
    }

    #[test]
    fn many_rows_split_over_threads_give_the_rows_in_order() {
        // 3,000 rows of 50: several rayon tasks, each row's answer at its own index.
        let (n, v) = (3000, 50);
        let mut x = vec![0.0f32; n * v];
        for r in 0..n {
            x[r * v + r % v] = 10.0 + (r % 7) as f32;
        }
        let tokens: Vec<u32> = (0..n).map(|r| (r % v) as u32).collect();
        let (lp, _) = token_logprobs(&x, v, &tokens);
        for (r, &lp) in lp.iter().enumerate() {
            let hi = 10.0 + (r % 7) as f64;
            let want = hi - (hi.exp() + (v - 1) as f64).ln();
            assert!((f64::from(lp) - want).abs() < 1e-5, "row {r}");
        }
    }

    #[test]
    fn erf_matches_libm_and_gelu_has_its_derivative() {
        let mut worst = 0.0f64;
        for i in 0..=120_000 {
            let x = -6.0 + 12.0 * f64::from(i) / 120_000.0;
            worst = worst.max((f64::from(erf(x as f32)) - libm::erf(x)).abs());
        }
        assert!(worst < 1e-6, "largest absolute error {worst}");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(9.0), 1.0);
        let x = random(3 * 40, 5.0, 5);
        let y = gelu(&x, 40);
        for (&x, &y) in x.iter().zip(&y) {
            let want = 0.5 * f64::from(x) * (1.0 + libm::erf(f64::from(x) / 2f64.sqrt()));
            assert!(
                (f64::from(y) - want).abs() < 1e-5,
                "gelu({x}) = {y}, want {want}"
            );
        }
        let dy = random(3 * 40, 1.0, 6);
        let dx = gelu_backward(&x, &dy, 40);
        let g = |x: f64| 0.5 * x * (1.0 + libm::erf(x / 2f64.sqrt()));
        for ((&x, &dy), &dx) in x.iter().zip(&dy).zip(&dx) {
            let x = f64::from(x);
            let num = f64::from(dy) * (g(x + 1e-4) - g(x - 1e-4)) / 2e-4;
            assert!((f64::from(dx) - num).abs() < 1e-5, "at {x}: {dx} vs {num}");
        }
    }
}
