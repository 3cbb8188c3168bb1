//! Per-token rewards of one response (paper §3.4; TRL's conventions).
//!
//! ```text
//! kl_t        = log π_old(a_t|s_t) − log π_ref(a_t|s_t)
//! non_score_t = −β · kl_t
//! sentence:  r_t = non_score_t + [t = T−1] · score          (score at the last token, EOS)
//! token:     r_t = non_score_t + lwp(t+1) · (P_t(2) − P_t(1))  (eq. 4–5, TPPO)
//! ```
//!
//! TRL's trainer adds the score at `sequence_length + 1`, the first padding
//! position after EOS when there is one (its issues #1893, #3750). Here the
//! score goes on the last generated token itself; a test pins it.

use crate::reward::lwp;
use crate::reward::lwp::LwpConfig;

/// The environment's reward of one response.
#[derive(Debug, Clone, Copy)]
pub enum Score<'a> {
    /// One number for the whole response (the sentence reward model).
    Sentence(f32),
    /// One number per response token (the token reward model after lwp and placement).
    Token(&'a [f32]),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assembled {
    pub kl: Vec<f32>,
    pub non_score: Vec<f32>,
    pub rewards: Vec<f32>,
}

/// Assemble r_t for the tokens of one response. All slices have the response's length.
pub fn assemble(logprobs: &[f32], ref_logprobs: &[f32], kl_coef: f32, score: Score) -> Assembled {
    let kl: Vec<f32> = logprobs
        .iter()
        .zip(ref_logprobs)
        .map(|(lp, rlp)| lp - rlp)
        .collect();
    let non_score: Vec<f32> = kl.iter().map(|k| -kl_coef * k).collect();
    let mut rewards = non_score.clone();
    match score {
        Score::Sentence(s) => {
            if let Some(last) = rewards.last_mut() {
                *last += s;
            }
        }
        Score::Token(r) => {
            for (x, s) in rewards.iter_mut().zip(r) {
                *x += s;
            }
        }
    }
    Assembled {
        kl,
        non_score,
        rewards,
    }
}

/// Token rewards of TPPO from the token reward model's P(2) − P(1) per token (eq. 5).
pub fn token_rewards(p2_minus_p1: &[f32], cfg: LwpConfig) -> Vec<f32> {
    lwp::apply(p2_minus_p1, cfg)
}

/// The negative control's token rewards: `rewards` permuted within the response by a
/// generator seeded with `seed` (the same rewards, on the wrong tokens).
pub fn shuffled(rewards: &[f32], seed: u64) -> Vec<f32> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut out = rewards.to_vec();
    out.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    out
}

/// The other negative control's token rewards: a sentence score spread evenly over
/// the response's `len` tokens (their sum is the score).
pub fn spread(score: f32, len: usize) -> Vec<f32> {
    vec![score / len.max(1) as f32; len]
}

/// Span-end placement: each word's reward (the mean over its tokens) on its last
/// token, 0 on its other tokens; tokens outside any word (`None`: separators, EOS)
/// keep their own reward. `word_of[i]` is the word of token i.
pub fn span_end(rewards: &[f32], word_of: &[Option<usize>]) -> Vec<f32> {
    let mut out = rewards.to_vec();
    let mut i = 0;
    while i < rewards.len() {
        let Some(w) = word_of.get(i).copied().flatten() else {
            i += 1;
            continue;
        };
        let mut j = i;
        while j + 1 < rewards.len() && word_of.get(j + 1).copied().flatten() == Some(w) {
            j += 1;
        }
        let mean = rewards[i..=j].iter().sum::<f32>() / (j - i + 1) as f32;
        out[i..j].iter_mut().for_each(|x| *x = 0.0);
        out[j] = mean;
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn sentence_score_lands_on_the_last_generated_token() {
        // 3 tokens, the last is EOS. β = 0.1; kl = [0.2, −0.1, 0.0].
        let a = assemble(
            &[-1.0, -0.5, -0.2],
            &[-1.2, -0.4, -0.2],
            0.1,
            Score::Sentence(1.0),
        );
        close(&a.kl, &[0.2, -0.1, 0.0]);
        close(&a.non_score, &[-0.02, 0.01, 0.0]);
        close(&a.rewards, &[-0.02, 0.01, 1.0]);
        // A 2-token response (shorter than the batch's longest) gets it at its own index 1,
        // not at index 2 where TRL's first padding position would be.
        let b = assemble(&[-0.3, -0.1], &[-0.3, -0.6], 0.1, Score::Sentence(-0.5));
        close(&b.rewards, &[0.0, -0.05 - 0.5]);
        assert_eq!(b.rewards.len(), 2);
    }

    #[test]
    fn token_mode_adds_each_token_reward() {
        let a = assemble(
            &[-1.0, -0.5, -0.2],
            &[-1.2, -0.4, -0.2],
            0.1,
            Score::Token(&[0.3, -0.2, 0.0]),
        );
        close(&a.rewards, &[0.28, -0.19, 0.0]);
    }

    #[test]
    fn lwp_shapes_token_rewards() {
        let cfg = LwpConfig {
            alpha: 1.0,
            sl: 1.0,
        };
        // l = 1: 1/(1+e^−6) = 0.997527; l = 7: x = 0 → 1/2; l = 8: 1/(1+e) = 0.268941.
        let mut p = vec![0.0; 8];
        p[0] = 1.0;
        p[6] = 1.0;
        p[7] = -1.0;
        let r = token_rewards(&p, cfg);
        assert!((r[0] - 0.997_527_4).abs() < 1e-6);
        assert!((r[6] - 0.5).abs() < 1e-6);
        assert!((r[7] + 0.268_941_4).abs() < 1e-6);
    }

    #[test]
    fn span_end_moves_a_words_mean_to_its_last_token() {
        // tokens: re levant ; q EOS → words 0,0,-,1,-
        let r = [0.4, 0.2, 0.05, -0.3, 0.01];
        let words = [Some(0), Some(0), None, Some(1), None];
        close(&span_end(&r, &words), &[0.0, 0.3, 0.05, -0.3, 0.01]);
        // The total reward of a word changes from the sum of its tokens to their mean.
        let spread: f32 = r[..2].iter().sum();
        assert!((spread - 0.6).abs() < 1e-6);
    }

    #[test]
    fn the_controls_rewards_by_hand() {
        let r = [0.5, -0.25, 0.125, 0.0, 1.0];
        let a = shuffled(&r, 7);
        // A permutation: the same multiset, so the same sum; fixed by the seed.
        let mut x = a.clone();
        let mut y = r.to_vec();
        x.sort_by(f32::total_cmp);
        y.sort_by(f32::total_cmp);
        assert_eq!(x, y);
        assert_eq!(a, shuffled(&r, 7));
        assert!((0..20).any(|s| shuffled(&r, s) != r.to_vec()));
        close(&spread(0.6, 3), &[0.2, 0.2, 0.2]);
        assert!(spread(1.0, 0).is_empty());
    }
}
