//! The token reward model's losses (paper §3.3, eq. 1–3).
//!
//! Shapes: `logits` [B, T, 3] over the positions of B sequences; `labels`
//! [B, T] token classes 0/1/2; `valid` [B, T] 1.0 for the valid set V (response
//! tokens kept by the attention/activation masks and the probability mask
//! [`probability_mask`]), 0.0 elsewhere; `sentence` [B] the sentence labels 1/2.
//!
//! ```text
//! L_local  = −(1/n) Σ_i Σ_{t∈V_i} w_{y_t} · log P(y_t | s_t, a_t)            (1)
//! L_global =  (1/n) Σ_i ( (1/|V_i|) Σ_{t∈V_i} R_φ(s_t, a_t) − R_global,i )²   (2)
//! L_total  =  λ_local · L_local + λ_global · L_global                        (3)
//! ```
//!
//! In eq. 2 the paper takes R_φ = argmax_c P(c), which has no gradient; here
//! R_φ = Σ_c c·P(c), the expected class, so that the global loss trains the model.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Int, Tensor};
use rand::Rng;
use rand::seq::index::sample;

/// Eq. 1, class-weighted cross-entropy summed over V and averaged over the batch.
pub fn local_loss(
    logits: Tensor<3>,
    labels: Tensor<2, Int>,
    valid: Tensor<2>,
    class_weights: [f32; 3],
) -> Tensor<1> {
    let [b, t, _] = logits.dims();
    let device = logits.device();
    let log_p = log_softmax(logits, 2);
    let picked: Tensor<2> = log_p
        .gather(2, labels.clone().unsqueeze_dim::<3>(2))
        .squeeze_dim(2);
    let w = Tensor::<1>::from_floats(class_weights, &device)
        .select(0, labels.reshape([b * t]))
        .reshape([b, t]);
    (picked * w * valid).sum().neg().div_scalar(b as f32)
}

/// R_φ(s_t, a_t) = Σ_c c·P(c | s_t, a_t), shape [B, T].
pub fn expected_reward(logits: Tensor<3>) -> Tensor<2> {
    let device = logits.device();
    let classes = Tensor::<1>::from_floats([0.0, 1.0, 2.0], &device).reshape([1, 1, 3]);
    (softmax(logits, 2) * classes).sum_dim(2).squeeze_dim(2)
}

/// Eq. 2, MSE between the mean expected token reward over V and the sentence label.
/// A sequence with an empty valid set contributes (0 − R_global)²; callers keep at least one token.
pub fn global_loss(logits: Tensor<3>, valid: Tensor<2>, sentence: Tensor<1>) -> Tensor<1> {
    let r = expected_reward(logits);
    let count: Tensor<1> = valid.clone().sum_dim(1).squeeze_dim(1);
    let mean: Tensor<1> = (r * valid).sum_dim(1).squeeze_dim(1) / count.clamp_min(1.0);
    (mean - sentence).powi_scalar(2).mean()
}

/// Eq. 3.
pub fn total_loss(
    local: Tensor<1>,
    global: Tensor<1>,
    lambda_local: f32,
    lambda_global: f32,
) -> Tensor<1> {
    local.mul_scalar(lambda_local) + global.mul_scalar(lambda_global)
}

/// The probability mask (paper §3.3): over the candidate tokens of a batch
/// (`candidate[i]`: a response token, not padding), keep every class-0 token
/// and drop a uniformly random subset of the majority class of {1, 2} so that
/// #label2 : #label1 lies within [1:3, 3:1]. Exactly `min(n_major, 3·n_minor)`
/// majority tokens are kept, so the bound always holds. With no token of one of
/// the two classes the ratio is undefined and nothing is dropped.
pub fn probability_mask(labels: &[u8], candidate: &[bool], rng: &mut impl Rng) -> Vec<bool> {
    let of = |c: u8| -> Vec<usize> {
        (0..labels.len())
            .filter(|&i| candidate[i] && labels[i] == c)
            .collect()
    };
    let (ones, twos) = (of(1), of(2));
    let mut keep: Vec<bool> = candidate.to_vec();
    let (major, minor) = if twos.len() > ones.len() {
        (&twos, &ones)
    } else {
        (&ones, &twos)
    };
    if !minor.is_empty() && major.len() > 3 * minor.len() {
        let kept = 3 * minor.len();
        for &i in major {
            keep[i] = false;
        }
        for j in sample(rng, major.len(), kept) {
            keep[major[j]] = true;
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn dev() -> Device {
        crate::backend::cpu()
    }

    fn close(t: Tensor<1>, want: f64) {
        let got = t.into_data().try_to_vec::<f32>().unwrap()[0] as f64;
        assert!((got - want).abs() < 1e-5, "got {got}, want {want}");
    }

    /// One sequence of 2 tokens, one of 1 token + 1 padding. Logits chosen so the
    /// softmaxes are easy to write down.
    fn example() -> (Tensor<3>, Tensor<2, Int>, Tensor<2>, Tensor<1>) {
        let d = dev();
        let logits = Tensor::<3>::from_data(
            TensorData::new(
                vec![
                    0.0f32,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    2.0f32.ln(),
                    1.0,
                    2.0,
                    3.0,
                    5.0,
                    5.0,
                    5.0,
                ],
                [2, 2, 3],
            ),
            &d,
        );
        let labels = Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 2, 0, 1], [2, 2]), &d);
        let valid =
            Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 1.0, 1.0, 0.0], [2, 2]), &d);
        let sentence = Tensor::<1>::from_floats([2.0, 1.0], &d);
        (logits, labels, valid, sentence)
    }

    // By hand:
    //  token (0,0): logits 0,0,0 → P = 1/3 each; label 1.
    //  token (0,1): logits 0,0,ln2 → P = 1/4, 1/4, 1/2; label 2.
    //  token (1,0): logits 1,2,3 → P = e^1, e^2, e^3 / (e+e²+e³); label 0.
    //  token (1,1): padding (valid 0).
    fn p3() -> [f64; 3] {
        let z = 1f64.exp() + 2f64.exp() + 3f64.exp();
        [1f64.exp() / z, 2f64.exp() / z, 3f64.exp() / z]
    }

    #[test]
    fn weighted_cross_entropy_with_masks_by_hand() {
        let (logits, labels, valid, _) = example();
        let w = [0.5f64, 1.0, 2.0];
        let want = -(w[1] * (1.0f64 / 3.0).ln() + w[2] * 0.5f64.ln() + w[0] * p3()[0].ln()) / 2.0;
        close(local_loss(logits, labels, valid, [0.5, 1.0, 2.0]), want);
    }

    #[test]
    fn global_mse_with_expected_reward_by_hand() {
        let (logits, _, valid, sentence) = example();
        let r00 = 1.0 / 3.0 + 2.0 / 3.0; // Σ c·P = 1
        let r01 = 0.25 + 2.0 * 0.5; // 1.25
        let r10 = p3()[1] + 2.0 * p3()[2];
        let mean0 = (r00 + r01) / 2.0;
        let mean1 = r10; // the padding token is not in V
        let want = ((mean0 - 2.0f64).powi(2) + (mean1 - 1.0f64).powi(2)) / 2.0;
        close(global_loss(logits, valid, sentence), want);
    }

    #[test]
    fn total_is_the_weighted_sum() {
        let d = dev();
        let t = total_loss(
            Tensor::from_floats([2.0], &d),
            Tensor::from_floats([10.0], &d),
            0.4,
            0.6,
        );
        close(t, 0.4 * 2.0 + 0.6 * 10.0);
    }

    #[test]
    fn the_losses_have_gradients() {
        let d = dev().autodiff();
        let (logits, labels, valid, sentence) = example();
        let logits = Tensor::<3>::from_data(logits.into_data(), &d).require_grad();
        let labels = Tensor::<2, Int>::from_data(labels.into_data(), &d);
        let valid = Tensor::<2>::from_data(valid.into_data(), &d);
        let sentence = Tensor::<1>::from_data(sentence.into_data(), &d);
        let loss = total_loss(
            local_loss(logits.clone(), labels, valid.clone(), [1.0; 3]),
            global_loss(logits.clone(), valid, sentence),
            0.5,
            0.5,
        );
        let grads = loss.backward();
        let g = logits
            .grad(&grads)
            .expect("a gradient")
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(g[..9].iter().any(|x| x.abs() > 1e-4));
        // The padding token gets no gradient.
        assert!(g[9..].iter().all(|x| x.abs() < 1e-7), "{g:?}");
    }

    #[test]
    fn mask_keeps_class_0_and_drops_only_the_majority() {
        let labels = [0u8, 1, 2, 2, 2, 2, 2, 2, 2, 2, 0];
        let candidate = [
            true, true, true, true, true, true, true, true, true, true, false,
        ];
        let keep = probability_mask(
            &labels,
            &candidate,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(1),
        );
        assert!(keep[0] && keep[1] && !keep[10]);
        assert_eq!(
            keep.iter()
                .zip(labels)
                .filter(|(k, l)| **k && *l == 2)
                .count(),
            3
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn mask_ratio_stays_within_bounds(
            labels in prop::collection::vec(0u8..3, 0..200),
            skew in 0u8..3,
            seed in 0u64..1000,
        ) {
            // Skew the mix towards one class sometimes, to exercise large ratios.
            let labels: Vec<u8> = labels.iter().enumerate().map(|(i, l)| if skew > 0 && i % 5 != 0 { skew } else { *l }).collect();
            let candidate: Vec<bool> = (0..labels.len()).map(|i| i % 7 != 3).collect();
            let keep = probability_mask(&labels, &candidate, &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            let count = |c: u8, v: &[bool]| labels.iter().zip(v).filter(|(l, k)| **k && **l == c).count();
            let (n1, n2) = (count(1, &keep), count(2, &keep));
            prop_assert_eq!(count(0, &keep), count(0, &candidate));
            prop_assert!(keep.iter().zip(&candidate).all(|(k, c)| !k || *c), "kept a non-candidate");
            if count(1, &candidate) > 0 && count(2, &candidate) > 0 {
                prop_assert!(n2 <= 3 * n1 && n1 <= 3 * n2, "n1={} n2={}", n1, n2);
                // The minority class is never dropped.
                prop_assert_eq!(n1.min(n2), count(1, &candidate).min(count(2, &candidate)));
            } else {
                prop_assert_eq!(&keep, &candidate);
            }
        }
    }
}
