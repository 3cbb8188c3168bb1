//! Length-weighted penalty, paper eq. 4–5:
//!
//! ```text
//! lwp(l) = 1 / (1 + exp(α·(l − sl) − 6))        (4)
//! R'(s_t, a_t) = lwp(l) · R(s_t, a_t)           (5)
//! ```
//!
//! `l` is the 1-based position of the token in the response, `sl` the
//! suggested length, `α` the intensity. For `l ≤ sl` the factor is ≈ 1 (at
//! `l = sl` it is 1/(1+e⁻⁶) ≈ 0.9975); past `sl` it falls towards 0, faster
//! for larger α.

use serde::{Deserialize, Serialize};

/// Length-weighted penalty (paper eq. 4–5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LwpConfig {
    /// Penalty intensity α (paper ablation: 0.5 and 1.0).
    pub alpha: f32,
    /// Suggested length `sl` in response tokens. The paper gives no value; the
    /// bundled targets (three queries and two separators) average 18.9 tokens with
    /// the bundled tokenizer (`tppo tokenizer train` prints it), so 20.
    pub sl: f32,
}

impl Default for LwpConfig {
    fn default() -> Self {
        Self {
            alpha: 1.0,
            sl: 20.0,
        }
    }
}

/// Eq. 4.
pub fn lwp(l: usize, cfg: LwpConfig) -> f32 {
    let x = cfg.alpha * (l as f32 - cfg.sl) - 6.0;
    1.0 / (1.0 + x.exp())
}

/// Eq. 5 over a whole response: `rewards[i]` is the reward of token `l = i + 1`.
pub fn apply(rewards: &[f32], cfg: LwpConfig) -> Vec<f32> {
    rewards
        .iter()
        .enumerate()
        .map(|(i, r)| lwp(i + 1, cfg) * r)
        .collect()
}

/// The heatmap colour of a token reward r in [−1, 1]: green for r > 0, red for
/// r < 0, as opaque as |r| (a CSS colour).
pub fn colour(r: f32) -> String {
    let a = r.abs().min(1.0);
    if r >= 0.0 {
        format!("rgba(26,127,55,{a:.3})")
    } else {
        format!("rgba(207,34,46,{a:.3})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(alpha: f32, sl: f32) -> LwpConfig {
        LwpConfig { alpha, sl }
    }

    #[test]
    fn value_at_suggested_length_is_sigmoid_of_six() {
        let expected = 1.0 / (1.0 + (-6.0f64).exp()); // 0.997527...
        assert!((f64::from(lwp(16, cfg(1.0, 16.0))) - expected).abs() < 1e-6);
        assert!((f64::from(lwp(10, cfg(0.5, 10.0))) - expected).abs() < 1e-6);
    }

    #[test]
    fn values_by_hand() {
        // α = 1, sl = 10, l = 16: x = 6 − 6 = 0 → 1/2.
        assert!((lwp(16, cfg(1.0, 10.0)) - 0.5).abs() < 1e-7);
        // α = 0.5, sl = 10, l = 22: x = 0 → 1/2; l = 24: x = 1 → 1/(1+e) = 0.268941.
        assert!((lwp(22, cfg(0.5, 10.0)) - 0.5).abs() < 1e-7);
        assert!((lwp(24, cfg(0.5, 10.0)) - 0.268_941_4).abs() < 1e-6);
        // α = 1, sl = 10, l = 1: x = −15 → 1/(1+e^−15) = 0.99999969.
        assert!((lwp(1, cfg(1.0, 10.0)) - 0.999_999_7).abs() < 1e-6);
    }

    #[test]
    fn monotone_decreasing_in_position() {
        for alpha in [0.1, 0.5, 1.0, 2.0] {
            let c = cfg(alpha, 12.0);
            for l in 1..60 {
                assert!(lwp(l + 1, c) <= lwp(l, c), "α={alpha} l={l}");
            }
            assert!(lwp(59, c) < lwp(1, c));
        }
    }

    #[test]
    fn alpha_scales_the_drop() {
        // Past sl, a larger α gives a smaller factor; before sl + 6/α both are near 1.
        for l in 17..40 {
            assert!(lwp(l, cfg(1.0, 16.0)) < lwp(l, cfg(0.5, 16.0)), "l={l}");
        }
        // The half-way point moves to sl + 6/α.
        assert!((lwp(22, cfg(1.0, 16.0)) - 0.5).abs() < 1e-7);
        assert!((lwp(28, cfg(0.5, 16.0)) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn apply_multiplies_each_position() {
        let c = cfg(1.0, 2.0);
        let out = apply(&[1.0, -2.0, 0.5], c);
        for (i, (o, r)) in out.iter().zip([1.0, -2.0, 0.5]).enumerate() {
            assert!((o - lwp(i + 1, c) * r).abs() < 1e-7);
        }
    }
}
