//! Batches of left-padded sequences. With left padding every sequence ends at the
//! last position, so the responses of a batch sit "tail-aligned" at its end: the
//! policy, both reward models, PPO and the evaluation read only the last `r`
//! positions ([`TailBatch`]).

use burn::tensor::{Device, Int, Tensor, TensorData};

/// Left-padded token sequences with their padding mask and positions.
#[derive(Debug, Clone)]
pub struct Padded {
    pub tokens: Vec<i64>,
    pub keep: Vec<f32>,
    pub positions: Vec<i64>,
    pub batch: usize,
    pub len: usize,
}

impl Padded {
    pub fn left(seqs: &[Vec<u32>], pad: u32) -> Self {
        let len = seqs.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut p = Padded {
            tokens: Vec::new(),
            keep: Vec::new(),
            positions: Vec::new(),
            batch: seqs.len(),
            len,
        };
        for s in seqs {
            let n_pad = len - s.len();
            p.tokens.extend(
                std::iter::repeat_n(i64::from(pad), n_pad).chain(s.iter().map(|&x| i64::from(x))),
            );
            p.keep
                .extend(std::iter::repeat_n(0.0, n_pad).chain(std::iter::repeat_n(1.0, s.len())));
            p.positions
                .extend(std::iter::repeat_n(0, n_pad).chain(0..s.len() as i64));
        }
        p
    }

    pub fn tensors(&self, device: &Device) -> (Tensor<2, Int>, Tensor<2>, Tensor<2, Int>) {
        let shape = [self.batch, self.len];
        (
            Tensor::from_data(TensorData::new(self.tokens.clone(), shape), device),
            Tensor::from_data(TensorData::new(self.keep.clone(), shape), device),
            Tensor::from_data(TensorData::new(self.positions.clone(), shape), device),
        )
    }
}

/// Prompts followed by responses, left-padded: the responses fill the last `r`
/// positions of every row (shorter ones padded on their left).
#[derive(Debug, Clone)]
pub struct TailBatch {
    pub seqs: Padded,
    /// The tail length: the longest response (at least 1).
    pub r: usize,
    /// [B · r] the response tokens, `pad` left of shorter ones.
    pub tokens: Vec<u32>,
    /// [B · r] 1.0 on response tokens, 0.0 elsewhere.
    pub mask: Vec<f32>,
    /// Each response's length.
    pub lens: Vec<usize>,
}

impl TailBatch {
    pub fn new(prompts: &[&[u32]], responses: &[&[u32]], pad: u32) -> Self {
        let r = responses.iter().map(|x| x.len()).max().unwrap_or(0).max(1);
        let seqs: Vec<Vec<u32>> = prompts
            .iter()
            .zip(responses)
            .map(|(p, x)| p.iter().chain(x.iter()).copied().collect())
            .collect();
        let mut tokens = Vec::with_capacity(seqs.len() * r);
        let mut mask = Vec::with_capacity(seqs.len() * r);
        for x in responses {
            tokens.extend(std::iter::repeat_n(pad, r - x.len()).chain(x.iter().copied()));
            mask.extend(
                std::iter::repeat_n(0.0, r - x.len()).chain(std::iter::repeat_n(1.0, x.len())),
            );
        }
        Self {
            seqs: Padded::left(&seqs, pad),
            r,
            tokens,
            mask,
            lens: responses.iter().map(|x| x.len()).collect(),
        }
    }

    /// Ragged per-response rows → a tail-aligned [B, r] buffer (zeros on the left).
    pub fn rows(&self, ragged: &[&[f32]]) -> Vec<f32> {
        let r = self.r;
        let mut out = Vec::with_capacity(ragged.len() * r);
        for x in ragged {
            out.extend(std::iter::repeat_n(0.0, r - x.len()).chain(x.iter().copied()));
        }
        out
    }

    /// A tail-aligned [B, r] buffer → each response's values (ragged rows).
    pub fn untail(&self, flat: &[f32]) -> Vec<Vec<f32>> {
        let r = self.r;
        self.lens
            .iter()
            .enumerate()
            .map(|(i, &n)| flat[i * r + r - n..(i + 1) * r].to_vec())
            .collect()
    }

    /// A [B, r] tensor of `values` (tail-aligned) on `device`.
    pub fn tensor(&self, values: Vec<f32>, device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values, [self.seqs.batch, self.r]), device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_alignment_round_trips_by_hand() {
        let t = TailBatch::new(&[&[1, 2, 3], &[4]], &[&[7, 8], &[9, 10, 2]], 0);
        assert_eq!(t.r, 3);
        assert_eq!(t.tokens, vec![0, 7, 8, 9, 10, 2]);
        assert_eq!(t.mask, vec![0.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        // Row 0 is 1 2 3 7 8 (5 long), row 1 is 4 9 10 2 (4 long, one pad on the left).
        assert_eq!(t.seqs.len, 5);
        assert_eq!(t.seqs.tokens, vec![1, 2, 3, 7, 8, 0, 4, 9, 10, 2]);
        assert_eq!(t.seqs.positions, vec![0, 1, 2, 3, 4, 0, 0, 1, 2, 3]);
        let rows: [&[f32]; 2] = [&[0.5, 0.25], &[1.0, 2.0, 3.0]];
        let flat = t.rows(&rows);
        assert_eq!(flat, vec![0.0, 0.5, 0.25, 1.0, 2.0, 3.0]);
        assert_eq!(t.untail(&flat), vec![vec![0.5, 0.25], vec![1.0, 2.0, 3.0]]);
    }
}
