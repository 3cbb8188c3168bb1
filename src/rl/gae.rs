//! Generalised advantage estimation over the tokens of one response, and
//! whitening over the batch (TRL's conventions).
//!
//! ```text
//! δ_t = r_t + γ·V_{t+1} − V_t          (V_T = 0 after the last token)
//! A_t = δ_t + γ·λ·A_{t+1}
//! returns_t = A_t + V_t
//! ```

/// Advantages and returns of one response.
pub fn gae(rewards: &[f32], values: &[f32], gamma: f32, lam: f32) -> (Vec<f32>, Vec<f32>) {
    let n = rewards.len();
    let mut adv = vec![0.0f32; n];
    let mut last = 0.0f32;
    for t in (0..n).rev() {
        let next = if t + 1 < n { values[t + 1] } else { 0.0 };
        let delta = rewards[t] + gamma * next - values[t];
        last = delta + gamma * lam * last;
        adv[t] = last;
    }
    let returns = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, returns)
}

/// Whiten every token's advantage over the whole batch: (x − mean)/sqrt(var + 1e-8), with
/// the unbiased variance, as TRL's `masked_whiten` (valid tokens only: the rows are ragged).
pub fn whiten(rows: &mut [Vec<f32>]) {
    let n: usize = rows.iter().map(Vec::len).sum();
    if n < 2 {
        return;
    }
    let mean = rows.iter().flatten().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
    let var = rows
        .iter()
        .flatten()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / (n - 1) as f64;
    let scale = 1.0 / (var + 1e-8).sqrt();
    for x in rows.iter_mut().flatten() {
        *x = ((f64::from(*x) - mean) * scale) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn gae_by_hand() {
        // rewards [−0.02, 0.01, 1.0], values [0.5, 0.6, 0.7], γ = 1, λ = 0.95:
        // t=2: δ = 1.0 + 0 − 0.7 = 0.3                 A = 0.3
        // t=1: δ = 0.01 + 0.7 − 0.6 = 0.11             A = 0.11 + 0.95·0.3 = 0.395
        // t=0: δ = −0.02 + 0.6 − 0.5 = 0.08            A = 0.08 + 0.95·0.395 = 0.45525
        let (a, r) = gae(&[-0.02, 0.01, 1.0], &[0.5, 0.6, 0.7], 1.0, 0.95);
        close(&a, &[0.45525, 0.395, 0.3]);
        close(&r, &[0.95525, 0.995, 1.0]);
        // Second sequence, 2 tokens: rewards [0.0, −0.55], values [0.1, −0.2], γ = 0.9, λ = 0.5:
        // t=1: δ = −0.55 − (−0.2) = −0.35              A = −0.35
        // t=0: δ = 0 + 0.9·(−0.2) − 0.1 = −0.28        A = −0.28 + 0.45·(−0.35) = −0.4375
        let (a, r) = gae(&[0.0, -0.55], &[0.1, -0.2], 0.9, 0.5);
        close(&a, &[-0.4375, -0.35]);
        close(&r, &[-0.3375, -0.55]);
    }

    #[test]
    fn whitening_uses_valid_tokens_of_ragged_rows() {
        // Tokens 1, 2, 3 (row 1) and 6 (row 2): mean 3, unbiased var (4+1+0+9)/3 = 14/3.
        let mut rows = vec![vec![1.0, 2.0, 3.0], vec![6.0]];
        whiten(&mut rows);
        let s = (14.0f64 / 3.0).sqrt();
        let want: Vec<f32> = [-2.0, -1.0, 0.0, 3.0]
            .iter()
            .map(|x| (x / s) as f32)
            .collect();
        close(&rows.concat(), &want);
    }
}
