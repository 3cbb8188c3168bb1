//! The exact KL divergence of a policy to a reference on given responses (the
//! x-axis of a reward–KL frontier, Gao et al. 2023):
//!
//! ```text
//! KL(x, y) = Σ_t Σ_v π(v | x, y_<t) · (log π(v | x, y_<t) − log π_ref(v | x, y_<t))
//! ```
//!
//! over the response tokens t and the whole vocabulary v, at temperature 1 (the
//! policies' own distributions). PPO's reward uses the one-sample estimator
//! log π(y_t) − log π_ref(y_t), which goes negative on a batch; this sum of
//! per-position KLs never does (Gibbs' inequality), so it measures how far a
//! checkpoint moved.

use super::batch::TailBatch;
use super::policy::Policy;
use burn::tensor::Device;
use burn::tensor::activation::log_softmax;

/// Responses scored per forward pass (a [32, R, vocabulary] buffer per policy).
const CHUNK: usize = 32;

/// Each response's KL of `policy` to `reference` (see the module), summed over its
/// tokens, the response following its prompt.
pub async fn sequence_kl(
    policy: &Policy,
    reference: &Policy,
    prompts: &[Vec<u32>],
    responses: &[Vec<u32>],
    pad: u32,
    device: &Device,
) -> crate::Result<Vec<f32>> {
    let mut out = Vec::with_capacity(responses.len());
    for (p, x) in prompts.chunks(CHUNK).zip(responses.chunks(CHUNK)) {
        let p: Vec<&[u32]> = p.iter().map(Vec::as_slice).collect();
        let x: Vec<&[u32]> = x.iter().map(Vec::as_slice).collect();
        let t = TailBatch::new(&p, &x, pad);
        // The logits at position j predict the token at j + 1: the last r + 1
        // positions, less the last, predict the r response tokens.
        let logp = |m: &Policy| {
            let logits = m.logits_tail(&t.seqs, t.r + 1, device).narrow(1, 0, t.r);
            log_softmax(logits, 2)
        };
        let (lp, lq) = (logp(policy), logp(reference));
        let [b, r, _] = lp.dims();
        let kl = (lp.clone().exp() * (lp - lq)).sum_dim(2).reshape([b, r]);
        let kl = kl * t.tensor(t.mask.clone(), device);
        let rows = t.untail(&crate::backend::read(kl).await?);
        out.extend(rows.iter().map(|r| r.iter().sum::<f32>().max(0.0)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{block_on, cpu};
    use crate::model::batch::Padded;
    use crate::model::policy::PolicyConfig;
    use crate::model::trunk::TrunkConfig;

    fn tiny() -> PolicyConfig {
        PolicyConfig::of(TrunkConfig {
            vocab: 12,
            d_model: 16,
            n_layers: 1,
            n_heads: 2,
            d_ff: 32,
            max_len: 16,
        })
    }

    #[test]
    fn the_exact_kl_against_an_independent_sum_over_the_vocabulary() {
        let device = cpu();
        let (a, b) = (tiny().init(&device), tiny().init(&device));
        let prompts = vec![vec![1, 4, 5], vec![3]];
        let responses = vec![vec![7, 2], vec![6, 8, 9, 2]];
        let got = block_on(sequence_kl(&a, &b, &prompts, &responses, 0, &device)).unwrap();
        // Independently: each whole sequence unpadded, full forward, softmax in f64.
        for (i, (p, x)) in prompts.iter().zip(&responses).enumerate() {
            let seq: Vec<u32> = p.iter().chain(x).copied().collect();
            let probe = Padded::left(std::slice::from_ref(&seq), 0);
            let logits = |m: &Policy| -> Vec<f32> {
                m.forward_full(&probe, &device)
                    .logits
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap()
            };
            let (la, lb) = (logits(&a), logits(&b));
            let v = 12;
            let mut want = 0.0f64;
            for pos in p.len() - 1..seq.len() - 1 {
                let row = |l: &[f32]| -> Vec<f64> {
                    let r: Vec<f64> = l[pos * v..(pos + 1) * v]
                        .iter()
                        .map(|&z| z as f64)
                        .collect();
                    let m = r.iter().cloned().fold(f64::MIN, f64::max);
                    let z: f64 = r.iter().map(|x| (x - m).exp()).sum();
                    r.iter().map(|x| x - m - z.ln()).collect()
                };
                let (pa, pb) = (row(&la), row(&lb));
                want += pa
                    .iter()
                    .zip(&pb)
                    .map(|(a, b)| a.exp() * (a - b))
                    .sum::<f64>();
            }
            assert!(
                (got[i] as f64 - want).abs() < 1e-4 * (1.0 + want),
                "response {i}: {} vs {want}",
                got[i]
            );
            assert!(want > 0.0);
        }
        // A policy to itself: 0.
        let same = block_on(sequence_kl(&a, &a, &prompts, &responses, 0, &device)).unwrap();
        assert!(same.iter().all(|&k| k.abs() < 1e-6), "{same:?}");
    }
}
