//! The PPO losses over a minibatch of response tokens ([B, R] tensors, `mask` 1 on
//! real response tokens), exactly as TRL's trainer computes them.
//!
//! ```text
//! ratio_t  = exp(log π_θ(a_t|s_t) − log π_old(a_t|s_t))
//! L_policy = mean_t max(−A_t·ratio_t, −A_t·clip(ratio_t, 1−ε, 1+ε))       (eq. 6–7)
//! V^clip_t = V_old,t + clip(V_θ,t − V_old,t, −ε_v, ε_v)
//! L_value  = ½ · mean_t max((V_θ,t − G_t)², (V^clip_t − G_t)²)
//! loss     = L_policy + vf_coef · L_value
//! ```
//! Means run over the valid tokens of the minibatch.

use burn::tensor::Tensor;

fn masked_mean(x: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    (x * mask.clone()).sum() / mask.sum().clamp_min(1.0)
}

pub struct PolicyLoss {
    pub loss: Tensor<1>,
    /// Share of tokens where the clipped term was the larger (TRL `policy/clipfrac`).
    pub clipfrac: Tensor<1>,
    /// ½·mean((log π_θ − log π_old)²) (TRL `policy/approxkl`).
    pub approxkl: Tensor<1>,
}

/// Eq. 6–7. Masked positions may hold anything: they are zeroed before the ratio.
pub fn policy_loss(
    new_logprobs: Tensor<2>,
    old_logprobs: Tensor<2>,
    advantages: Tensor<2>,
    mask: Tensor<2>,
    cliprange: f32,
) -> PolicyLoss {
    let diff = (new_logprobs - old_logprobs) * mask.clone();
    let ratio = diff.clone().exp();
    let adv = advantages * mask.clone();
    let unclipped = -adv.clone() * ratio.clone();
    let clipped = -adv * ratio.clamp(1.0 - cliprange, 1.0 + cliprange);
    let clipfrac = masked_mean(
        clipped.clone().greater(unclipped.clone()).float(),
        mask.clone(),
    );
    let loss = masked_mean(unclipped.max_pair(clipped), mask.clone());
    let approxkl = masked_mean(diff.square(), mask) * 0.5;
    PolicyLoss {
        loss,
        clipfrac,
        approxkl,
    }
}

pub struct ValueLoss {
    pub loss: Tensor<1>,
    /// Share of tokens where the clipped value's error was the larger (TRL `val/clipfrac`).
    pub clipfrac: Tensor<1>,
}

pub fn value_loss(
    values: Tensor<2>,
    old_values: Tensor<2>,
    returns: Tensor<2>,
    mask: Tensor<2>,
    cliprange_value: f32,
) -> ValueLoss {
    let clipped =
        old_values.clone() + (values.clone() - old_values).clamp(-cliprange_value, cliprange_value);
    let l1 = (values - returns.clone()).square();
    let l2 = (clipped - returns).square();
    let clipfrac = masked_mean(l2.clone().greater(l1.clone()).float(), mask.clone());
    let loss = masked_mean(l1.max_pair(l2), mask) * 0.5;
    ValueLoss { loss, clipfrac }
}

/// Mean entropy of softmax(logits) [B, R, V] over valid tokens (no gradient).
pub fn entropy(logits: Tensor<3>, mask: Tensor<2>) -> Tensor<1> {
    masked_mean(crate::model::ops::entropy(logits), mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::tensor::TensorData;

    fn t(rows: [[f32; 3]; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(rows.concat(), [2, 3]), &cpu())
    }

    fn scalar(x: Tensor<1>) -> f32 {
        x.into_scalar::<f32>()
    }

    // Two sequences, 3 tokens; the second holds 2 real tokens (tail-aligned: position 0
    // is padding, filled with values that must not matter).
    fn mask() -> Tensor<2> {
        t([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    }

    #[test]
    fn clipped_policy_loss_by_hand() {
        let old = t([[-1.0, -0.5, -0.2], [7.0, -0.3, -0.1]]);
        let new = t([[-0.8, -0.5, -0.5], [-3.0, -0.1, -0.1]]);
        let adv = t([[1.0, -1.0, 0.5], [9.0, -2.0, 0.0]]);
        // ratios e^0.2 = 1.221403, 1, e^−0.3 = 0.740818 | e^0.2, 1
        // −A·r:        −1.221403, 1, −0.370409          | 2.442806, 0
        // −A·clip(r):  −1.2,      1, −0.4               | 2.4,      0
        // max:         −1.2,      1, −0.370409          | 2.442806, 0   → mean over 5
        let out = policy_loss(new, old, adv, mask(), 0.2);
        let want = (-1.2 + 1.0 - 0.370_409 + 2.442_806 + 0.0) / 5.0;
        assert!((scalar(out.loss) - want).abs() < 1e-5);
        assert!((scalar(out.clipfrac) - 0.2).abs() < 1e-6); // only token 0 of row 0
        // ½·mean(0.2², 0, 0.3², 0.2², 0) = ½·0.17/5
        assert!((scalar(out.approxkl) - 0.017).abs() < 1e-6);
    }

    #[test]
    fn clipped_value_loss_by_hand() {
        let values = t([[0.5, 1.0, 0.0], [5.0, -0.5, 0.0]]);
        let old = t([[0.4, 0.5, 0.1], [-5.0, 0.0, 0.5]]);
        let returns = t([[0.6, 0.6, 0.6], [3.0, 0.2, 0.0]]);
        // clipped: 0.5, 0.7, 0.0 | −0.2, 0.3
        // (V−G)²: 0.01, 0.16, 0.36 | 0.49, 0.0 ; (Vclip−G)²: 0.01, 0.01, 0.36 | 0.16, 0.09
        // max: 0.01, 0.16, 0.36 | 0.49, 0.09 → ½ · 1.11 / 5 = 0.111; clipped larger: 1 of 5
        let out = value_loss(values, old, returns, mask(), 0.2);
        assert!((scalar(out.loss) - 0.111).abs() < 1e-6);
        assert!((scalar(out.clipfrac) - 0.2).abs() < 1e-6);
    }

    #[test]
    fn entropy_of_uniform_and_certain() {
        let device = cpu();
        // Row 0: uniform over 4 → ln 4; row 1: almost certain → ≈ 0.
        let logp = Tensor::<3>::from_data(
            TensorData::new(
                vec![
                    (0.25f32).ln(),
                    (0.25f32).ln(),
                    (0.25f32).ln(),
                    (0.25f32).ln(),
                    0.0,
                    -30.0,
                    -30.0,
                    -30.0,
                ],
                [2, 1, 4],
            ),
            &device,
        );
        let m = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 1.0], [2, 1]), &device);
        let h = scalar(entropy(logp, m));
        assert!((h - (4.0f32).ln() / 2.0).abs() < 1e-5, "{h}");
    }
}
